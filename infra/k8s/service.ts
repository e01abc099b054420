/**
 * The service on Kubernetes: a Deployment of at least two pods spread over nodes, probed the
 * way Kubernetes reads probes (/readyz: take traffic; /livez: restart; a startup probe so a
 * slow first start is not killed), drained on SIGTERM, behind a ClusterIP Service, with a
 * PodDisruptionBudget and a HorizontalPodAutoscaler that owns the replica count.
 *
 * The drain: on deletion the pod leaves the Service's endpoints while preStop sleeps, so the
 * load balancers stop sending before the service gets SIGTERM; then it refuses new work and
 * finishes what it has (NOVA_SHUTDOWN_TIMEOUT_MS) within terminationGracePeriodSeconds.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { metadata } from './meta.js';
import { labels, SERVICE_NAME, SERVICE_PORT, STORE_CLIENT } from './names.js';
import { novaContainer, podSecurity } from './pods.js';
import type { KubernetesSettings } from './settings.js';

/** How long preStop holds the pod in Terminating before SIGTERM (endpoint removal spreads). */
export const PRE_STOP_SECONDS = 10;
/** The service's own drain bound (NOVA_SHUTDOWN_TIMEOUT_MS), within the grace period. */
const DRAIN_SECONDS = 30;

const selector = labels(SERVICE_NAME);

export function serviceDeployment(settings: KubernetesSettings): IDeployment {
  const { service } = settings;
  const { container, volumes } = novaContainer(settings, 'service', SERVICE_NAME, ['serve'], {
    requests: { memory: `${service.memoryMb}Mi`, cpu: `${service.cpuMillis}m` },
    limits: { memory: `${service.memoryMb}Mi` },
  });
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: 'http' },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(SERVICE_NAME, SERVICE_NAME),
    spec: {
      // No `replicas`: the HorizontalPodAutoscaler owns the count (from nova:serviceReplicas
      // up), and an apply that set it would fight the autoscaler.
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { ...selector, ...STORE_CLIENT } },
        spec: {
          serviceAccountName: SERVICE_NAME,
          automountServiceAccountToken: false,
          securityContext: podSecurity,
          terminationGracePeriodSeconds: PRE_STOP_SECONDS + DRAIN_SECONDS + 5,
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
            },
          ],
          containers: [
            {
              ...container,
              env: [
                ...(container.env ?? []),
                { name: 'NOVA_SHUTDOWN_TIMEOUT_MS', value: String(DRAIN_SECONDS * 1000) },
              ],
              ports: [{ name: 'http', containerPort: SERVICE_PORT }],
              startupProbe: probe('/livez', 2, 30),
              livenessProbe: probe('/livez', 10, 3),
              readinessProbe: probe('/readyz', 5, 2),
              lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
            },
          ],
          volumes,
        },
      },
    },
  };
}

export const serviceAccount = (): IServiceAccount => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: metadata(SERVICE_NAME, SERVICE_NAME),
  automountServiceAccountToken: false,
});

export const serviceService = (): IService => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: metadata(SERVICE_NAME, SERVICE_NAME),
  spec: {
    type: 'ClusterIP',
    selector,
    ports: [{ name: 'http', port: SERVICE_PORT, targetPort: 'http' }],
  },
});

/**
 * At most one pod down at a time through voluntary disruptions; with a single replica a
 * minAvailable of 1 would block every node drain, so then nothing is held.
 */
export function serviceDisruptionBudget(settings: KubernetesSettings): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(SERVICE_NAME, SERVICE_NAME),
    spec: {
      selector: { matchLabels: selector },
      ...(settings.service.replicas > 1 ? { maxUnavailable: 1 } : { maxUnavailable: '100%' }),
    },
  };
}

export function serviceAutoscaler(settings: KubernetesSettings): IHorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: metadata(SERVICE_NAME, SERVICE_NAME),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: SERVICE_NAME },
      minReplicas: settings.service.replicas,
      maxReplicas: settings.service.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
    },
  };
}
