/**
 * The Kubernetes target's policy rules, as pure checks on plain objects: the policy pack runs
 * them on the Pulumi program's resources (policies.ts) and the tests run them on the rendered
 * YAML in k8s/, so both paths answer to the same rules:
 *
 * - every container sets its memory limit and CPU and memory requests;
 * - every long-running container (Deployments, StatefulSets, DaemonSets) has readiness and
 *   liveness probes;
 * - no floating image (`latest`, a bare major or major.minor): images.ts decides;
 * - pods run as non-root;
 * - no hostPath volume, no hostNetwork, hostPID or hostIPC;
 * - a PodDisruptionBudget never blocks a drain: what it lets go must be at least one pod of
 *   the replicas its workload keeps (a 1-replica workload with minAvailable 1 blocks every
 *   node drain).
 *
 * Pods the operators make from a custom resource are checked where the resource describes
 * them (Elasticsearch's and Kibana's podTemplates, the MongoDB StatefulSet override, the
 * PostgreSQL Cluster's resources); what an operator adds itself is its own.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { imageProblem } from '../images.js';
import type { K8sObject } from '../k8s/meta.js';

type Pod = Partial<IPodSpec> & { containers?: Partial<IContainer>[] };
interface PodAt {
  /** Where the pod spec is, for the message: `Deployment nova-api`. */
  where: string;
  pod: Pod;
  /** Whether the containers serve (probes required) or run once. */
  longRunning: boolean;
  /** Whether the object states the pod's security context (false: the operator's own). */
  ownSecurity: boolean;
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

const at = (object: K8sObject) => `${object.kind} ${object.metadata.name}`;
// biome-ignore lint/suspicious/noExplicitAny: the objects' specs are walked, not typed
const spec = (object: K8sObject) => (object.spec ?? {}) as any;

/** Every pod spec an object describes. */
export function podsOf(object: K8sObject): PodAt[] {
  const where = at(object);
  const s = spec(object);
  if (WORKLOADS.has(object.kind) || object.kind === 'Job') {
    const pod = s.template?.spec;
    return pod ? [{ where, pod, longRunning: object.kind !== 'Job', ownSecurity: true }] : [];
  }
  if (object.kind === 'CronJob') {
    const pod = s.jobTemplate?.spec?.template?.spec;
    return pod ? [{ where, pod, longRunning: false, ownSecurity: true }] : [];
  }
  if (object.kind === 'Elasticsearch') {
    return (s.nodeSets ?? []).map((set: { name: string; podTemplate?: { spec?: Pod } }) => ({
      where: `${where} nodeSet ${set.name}`,
      pod: set.podTemplate?.spec ?? {},
      longRunning: false,
      ownSecurity: true,
    }));
  }
  if (object.kind === 'Kibana') {
    return [{ where, pod: s.podTemplate?.spec ?? {}, longRunning: false, ownSecurity: true }];
  }
  if (object.kind === 'MongoDBCommunity') {
    const pod = s.statefulSet?.spec?.template?.spec ?? {};
    return [{ where, pod, longRunning: false, ownSecurity: false }];
  }
  return [];
}

function containerViolations({ where, pod, longRunning }: PodAt): string[] {
  const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
  return containers.flatMap((container) => {
    const name = `${where} container ${container.name}`;
    const { requests, limits } = container.resources ?? {};
    const image = container.image ? imageProblem(container.image) : undefined;
    const isInit = (pod.initContainers ?? []).includes(container as IContainer);
    return [
      ...(limits?.memory ? [] : [`${name} has no memory limit`]),
      ...(requests?.memory && requests?.cpu ? [] : [`${name} requests no CPU or memory`]),
      ...(image ? [`${name}: ${image}`] : []),
      ...(longRunning && !isInit && !container.readinessProbe
        ? [`${name} has no readiness probe`]
        : []),
      ...(longRunning && !isInit && !container.livenessProbe
        ? [`${name} has no liveness probe`]
        : []),
    ];
  });
}

function podViolations(at: PodAt): string[] {
  const { where, pod, ownSecurity } = at;
  const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
  const nonRoot =
    pod.securityContext?.runAsNonRoot === true ||
    (containers.length > 0 && containers.every((c) => c.securityContext?.runAsNonRoot === true));
  return [
    ...(ownSecurity && !nonRoot ? [`${where} may run as root: set runAsNonRoot`] : []),
    ...(pod.volumes ?? [])
      .filter((volume) => volume.hostPath)
      .map((volume) => `${where} mounts the host path ${volume.hostPath?.path} (${volume.name})`),
    ...(['hostNetwork', 'hostPID', 'hostIPC'] as const)
      .filter((field) => pod[field])
      .map((field) => `${where} sets ${field}`),
  ];
}

/** The CloudNativePG Cluster's own fields: its image and its instances' resources. */
function postgresClusterViolations(object: K8sObject): string[] {
  if (object.kind !== 'Cluster') return [];
  const s = spec(object);
  const image = s.imageName ? imageProblem(s.imageName) : undefined;
  return [
    ...(image ? [`${at(object)}: ${image}`] : []),
    ...(s.resources?.limits?.memory ? [] : [`${at(object)} has no memory limit`]),
    ...(s.resources?.requests?.memory && s.resources?.requests?.cpu
      ? []
      : [`${at(object)} requests no CPU or memory`]),
  ];
}

/** The rules that judge one object alone. */
export function objectViolations(object: K8sObject): string[] {
  return [
    ...podsOf(object).flatMap((pod) => [...containerViolations(pod), ...podViolations(pod)]),
    ...postgresClusterViolations(object),
  ];
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** How many pods of `total` a minAvailable / maxUnavailable value means (percent rounds up). */
const count = (value: number | string, total: number) =>
  typeof value === 'number' ? value : Math.ceil((Number.parseFloat(value) / 100) * total);

/**
 * The rule that needs the whole set: each PodDisruptionBudget against the replicas of the
 * workload it selects (a Deployment's `replicas`, or its autoscaler's `minReplicas`).
 */
export function disruptionViolations(objects: K8sObject[]): string[] {
  return objects
    .filter((object) => object.kind === 'PodDisruptionBudget')
    .flatMap((budget) => {
      const s = spec(budget);
      const selector: Record<string, string> = s.selector?.matchLabels ?? {};
      const workload = objects.find(
        (object) =>
          WORKLOADS.has(object.kind) && matches(selector, spec(object).template?.metadata?.labels),
      );
      if (!workload) return [`${at(budget)} selects no workload`];
      const autoscaler = objects.find(
        (object) =>
          object.kind === 'HorizontalPodAutoscaler' &&
          spec(object).scaleTargetRef?.name === workload.metadata.name,
      );
      const replicas: number =
        spec(autoscaler ?? workload)[autoscaler ? 'minReplicas' : 'replicas'] ?? 1;
      const allowed =
        s.maxUnavailable !== undefined
          ? count(s.maxUnavailable, replicas)
          : replicas - count(s.minAvailable ?? 0, replicas);
      return allowed >= 1
        ? []
        : [
            `${at(budget)} lets no pod of ${at(workload)}'s ${replicas} go: it would block every node drain`,
          ];
    });
}

/** Every rule over a set of objects. */
export const kubernetesViolations = (objects: K8sObject[]) => [
  ...objects.flatMap(objectViolations),
  ...disruptionViolations(objects),
];
