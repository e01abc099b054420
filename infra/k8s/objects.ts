/**
 * The whole data tier on Kubernetes as plain objects: the one source of truth that both the
 * Pulumi program (program.ts) and `npm run k8s:render` (the YAML in k8s/) are made from.
 * In dependency order: the stores' custom resources, then what uses them.
 */

import { oneShotJob } from './jobs.js';
import type { K8sObject } from './meta.js';
import { networkPolicies } from './network.js';
import {
  serviceAccount,
  serviceAutoscaler,
  serviceDeployment,
  serviceDisruptionBudget,
  serviceService,
} from './service.js';
import type { KubernetesSettings } from './settings.js';
import { elasticsearch, kibana, mongoReplicaSet, postgresCluster } from './stores.js';

export interface DataTier {
  stores: { postgres: K8sObject; mongo: K8sObject; elastic: K8sObject; kibana: K8sObject };
  network: K8sObject[];
  service: K8sObject[];
  jobs: { bootstrap: K8sObject; dashboards: K8sObject };
}

const copyOf = <T>(value: T): T => JSON.parse(JSON.stringify(value));

export function dataTier(settings: KubernetesSettings): DataTier {
  // A copy that shares nothing: the builders reuse constant parts (security contexts,
  // selectors, peers), and a caller that edits one object must not edit its neighbours
  // (structuredClone would keep the sharing). The objects are plain JSON.
  return copyOf({
    stores: {
      postgres: postgresCluster(settings),
      mongo: mongoReplicaSet(settings),
      elastic: elasticsearch(settings),
      kibana: kibana(settings),
    },
    network: networkPolicies() as K8sObject[],
    service: [
      serviceAccount(),
      serviceDeployment(settings),
      serviceService(),
      serviceDisruptionBudget(settings),
      serviceAutoscaler(settings),
    ] as K8sObject[],
    jobs: {
      bootstrap: oneShotJob(settings, 'bootstrap') as K8sObject,
      dashboards: oneShotJob(settings, 'dashboards') as K8sObject,
    },
  });
}

/** Every object, in the order a plain `kubectl apply` should meet them. */
export const allObjects = (tier: DataTier): K8sObject[] => [
  ...tier.network,
  ...Object.values(tier.stores),
  ...tier.service,
  tier.jobs.bootstrap,
  tier.jobs.dashboards,
];
