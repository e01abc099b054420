/**
 * What every rendered object shares: its shape, its metadata, and the small builders the
 * objects repeat (resources, claims). The objects carry no namespace: `kubectl -n`, kustomize's
 * `namespace:` and the Pulumi program each put them in the one the user chose.
 */
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import { labels } from './names.js';

/** Any Kubernetes object: the built-in kinds are typed where they are made. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const metadata = (name: string, component: string) => ({ name, labels: labels(component) });

/**
 * Memory requested and limited alike (a container that may use more than it asked for is
 * the first to be killed when a node runs short); CPU requested, not limited, so a busy
 * process is throttled only by its neighbours' requests.
 */
export const memory = (memoryMb: number, cpuMillis: number): IResourceRequirements => ({
  requests: { memory: `${memoryMb}Mi`, cpu: `${cpuMillis}m` },
  limits: { memory: `${memoryMb}Mi` },
});

/** A volumeClaimTemplate: one ReadWriteOnce volume per member. */
export const pvc = (
  name: string,
  storageGi: number,
  storageClass: string | undefined,
): Omit<IPersistentVolumeClaim, 'apiVersion' | 'kind'> => ({
  metadata: { name },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: `${storageGi}Gi` } },
    ...(storageClass ? { storageClassName: storageClass } : {}),
  },
});
