/**
 * The pod template the service and the one-shot Jobs share: the service image as a non-root
 * user with a read-only root filesystem and no capabilities, the CAs it verifies the stores
 * with, a writable /tmp, and no Kubernetes API token (the service never calls the API).
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { casOf, caVolumes, environment, type Role } from './environment.js';
import type { KubernetesSettings } from './settings.js';

/** The official Node image's `node` user, which the service image runs as (Dockerfile USER). */
const NODE_UID = 1000;

export const podSecurity: IPodSpec['securityContext'] = {
  runAsNonRoot: true,
  runAsUser: NODE_UID,
  runAsGroup: NODE_UID,
  fsGroup: NODE_UID,
  seccompProfile: { type: 'RuntimeDefault' },
};

export const containerSecurity: IContainer['securityContext'] = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/** One container running `nova <args>` in `role`'s environment, and the volumes it mounts. */
export function novaContainer(
  settings: KubernetesSettings,
  role: Role,
  name: string,
  args: string[],
  resources: IContainer['resources'],
): { container: IContainer; volumes: NonNullable<IPodSpec['volumes']> } {
  const { volumes, mounts } = caVolumes(casOf(settings, role));
  return {
    container: {
      name,
      image: settings.service.image,
      args,
      env: environment(settings, role),
      resources,
      securityContext: containerSecurity,
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...mounts],
    },
    volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }, ...volumes],
  };
}

/** Volumes of several containers in one pod, each name once. */
export const distinctVolumes = (lists: NonNullable<IPodSpec['volumes']>[]) => [
  ...new Map(lists.flat().map((volume) => [volume.name, volume])).values(),
];
