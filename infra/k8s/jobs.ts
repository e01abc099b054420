/**
 * The one-shot steps as Jobs, from the service image:
 *
 * - `nova-bootstrap-<hash>`: `nova bootstrap all` (migrations, roles and grants, MongoDB
 *   collections, Elasticsearch templates and users), then the search indices refilled from
 *   PostgreSQL (`nova reindex tickets`, `nova reindex kb`). Init containers run in order and
 *   each must succeed before the next starts.
 * - `nova-dashboards-<hash>`: `nova bootstrap kibana` (the saved objects in dashboards/).
 *
 * Ordering: each step waits for its stores itself (`--wait`), and a failed pod is retried with
 * backoff, so the rendered manifests converge when applied all at once; the Pulumi program
 * also makes the Jobs only after the operators report the stores ready.
 *
 * A Job's pod template cannot be changed, so each Job is named for a hash of its spec: a new
 * image, setting or Secret name makes a new Job, which runs again (every step is idempotent:
 * with nothing to do it changes nothing); an unchanged one is left alone.
 */
import { createHash } from 'node:crypto';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { ONE_SHOT_MEMORY_MB } from '../settings.js';
import type { Role } from './environment.js';
import { memory } from './meta.js';
import { labels, STORE_CLIENT } from './names.js';
import { distinctVolumes, novaContainer, podSecurity } from './pods.js';
import type { KubernetesSettings } from './settings.js';

/** How long a step waits for its stores to accept connections. */
const WAIT = '10m';

interface Step {
  name: string;
  role: Role;
  args: string[];
}

const STEPS: Record<'bootstrap' | 'dashboards', Step[]> = {
  bootstrap: [
    { name: 'bootstrap', role: 'bootstrap', args: ['bootstrap', 'all', '--wait', WAIT] },
    { name: 'reindex-tickets', role: 'reindex', args: ['reindex', 'tickets'] },
    { name: 'reindex-kb', role: 'reindex', args: ['reindex', 'kb'] },
  ],
  dashboards: [
    { name: 'dashboards', role: 'dashboards', args: ['bootstrap', 'kibana', '--wait', WAIT] },
  ],
};

export type JobName = keyof typeof STEPS;

/** Eight hex digits of the spec's SHA-256: stable across runs, new whenever the spec changes. */
export const specHash = (spec: unknown) =>
  createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 8);

export function oneShotJob(settings: KubernetesSettings, job: JobName): IJob {
  const steps = STEPS[job].map((step) =>
    novaContainer(settings, step.role, step.name, step.args, memory(ONE_SHOT_MEMORY_MB, 100)),
  );
  const containers: IContainer[] = steps.map(({ container }) => container);
  const component = `nova-${job}`;
  const spec: IJob['spec'] = {
    backoffLimit: 6,
    template: {
      metadata: { labels: { ...labels(component), ...STORE_CLIENT } },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: podSecurity,
        initContainers: containers.slice(0, -1),
        containers: containers.slice(-1),
        volumes: distinctVolumes(steps.map(({ volumes }) => volumes)),
      },
    },
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${component}-${specHash(spec)}`, labels: labels(component) },
    spec,
  };
}
