/**
 * The three operators, from their official Helm charts at pinned versions, each in its own
 * namespace (network.ts's OPERATOR_NAMESPACES), with their CRDs. `nova:operators: preinstalled`
 * skips this: the cluster's administrator installed them (the versions below, or ones whose
 * CRDs accept the same resources).
 *
 * Chart versions: CloudNativePG's chart is numbered apart from the operator (the chart whose
 * appVersion is 1.30.0); ECK's and MCK's charts carry the operator's version.
 */
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { OPERATOR_NAMESPACES } from './network.js';

export const OPERATOR_CHARTS = {
  postgres: {
    chart: 'cloudnative-pg',
    // cloudnative-pg/charts, charts/cloudnative-pg/Chart.yaml at cloudnative-pg-v0.29.0.
    version: '0.29.0',
    repo: 'https://cloudnative-pg.github.io/charts',
    namespace: OPERATOR_NAMESPACES.postgres,
    values: (_namespace: string) => ({}),
  },
  mongo: {
    chart: 'mongodb-kubernetes',
    version: '1.10.0',
    repo: 'https://mongodb.github.io/helm-charts',
    namespace: OPERATOR_NAMESPACES.mongo,
    // The operator watches the data tier's namespace, where the chart also makes the
    // database pods' ServiceAccount and Role.
    values: (namespace: string) => ({ operator: { watchNamespace: namespace } }),
  },
  elastic: {
    chart: 'eck-operator',
    version: '3.5.0',
    repo: 'https://helm.elastic.co',
    namespace: OPERATOR_NAMESPACES.elastic,
    values: (namespace: string) => ({ managedNamespaces: [namespace] }),
  },
} as const;

export type Operator = keyof typeof OPERATOR_CHARTS;

/**
 * One Helm release per operator; waits until the operator's workloads are ready. They depend
 * on the data tier's namespace: the MongoDB chart makes its database pods' ServiceAccount and
 * Role there (helm_chart/templates/database-roles.yaml), and must go before it on destroy.
 */
export function installOperators(
  prefix: string,
  namespace: string,
  opts: { parent: pulumi.Resource; dependsOn: pulumi.Resource[] },
): Record<Operator, k8s.helm.v3.Release> {
  const release = (operator: Operator) => {
    const { chart, version, repo, namespace: home, values } = OPERATOR_CHARTS[operator];
    return new k8s.helm.v3.Release(
      `${prefix}-${operator}-operator`,
      {
        chart,
        version,
        repositoryOpts: { repo },
        namespace: home,
        createNamespace: true,
        values: values(namespace),
      },
      opts,
    );
  };
  return { postgres: release('postgres'), mongo: release('mongo'), elastic: release('elastic') };
}
