/**
 * NetworkPolicies: nothing moves in the namespace unless a policy below allows it.
 *
 * - DNS, for every pod.
 * - The stores take connections from the pods labelled STORE_CLIENT (the service and the
 *   Jobs), from their own members (replication, cluster transport), and from the operator
 *   that must reach them: CloudNativePG's, on 8000 (each instance's status) and 5432
 *   (CloudNativePG docs, networking.md); ECK's, on 9200 (ECK docs, network policies). The
 *   MongoDB operator works through the Kubernetes API only, and is let in nowhere.
 * - Kibana reaches Elasticsearch; nothing else reaches Kibana but the clients.
 * - PostgreSQL's and MongoDB's pods reach the Kubernetes API (CloudNativePG's instance
 *   manager watches its Cluster; the MongoDB agent's hooks annotate their pod). The API
 *   server has no pod labels to select, so that is TCP 443 and 6443 to any address.
 * - The service's port is open to every namespace: it is the service (an ingress controller
 *   or a mesh in front of it decides who calls).
 */
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import { metadata } from './meta.js';
import { labels, SERVICE_NAME, SERVICE_PORT, STORE_CLIENT, STORE_PODS } from './names.js';

/** Where the operators run when the program installs them (infra/k8s/operators.ts). */
export const OPERATOR_NAMESPACES = {
  postgres: 'cnpg-system',
  mongo: 'mongodb-operator',
  elastic: 'elastic-system',
} as const;

const tcp = (...ports: number[]): INetworkPolicyPort[] =>
  ports.map((port) => ({ protocol: 'TCP', port }));
const pods = (matchLabels: Record<string, string>): INetworkPolicyPeer => ({
  podSelector: { matchLabels },
});
const namespace = (name: string): INetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
});
const clients = pods(STORE_CLIENT);
const KUBERNETES_API: { to: INetworkPolicyPeer[]; ports: INetworkPolicyPort[] } = {
  to: [{ ipBlock: { cidr: '0.0.0.0/0' } }],
  ports: tcp(443, 6443),
};

type Spec = NonNullable<INetworkPolicy['spec']>;

/** A policy for the pods `podSelector` matches, of the types its rules cover. */
function policy(
  name: string,
  podSelector: Record<string, string>,
  rules: Pick<Spec, 'ingress' | 'egress'>,
): INetworkPolicy {
  const policyTypes: Spec['policyTypes'] = [];
  if (rules.ingress) policyTypes.push('Ingress');
  if (rules.egress) policyTypes.push('Egress');
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(name, 'network-policy'),
    spec: { podSelector: { matchLabels: podSelector }, policyTypes, ...rules },
  };
}

export function networkPolicies(): INetworkPolicy[] {
  const store = (
    key: keyof typeof STORE_PODS,
    ports: number[],
    peerPorts: number[],
    extra: {
      ingress?: INetworkPolicyPeer[];
      api?: boolean;
      operator?: { namespace: string; ports: number[] };
    } = {},
  ) =>
    policy(`nova-${key}`, STORE_PODS[key], {
      ingress: [
        { from: [clients, ...(extra.ingress ?? [])], ports: tcp(...ports) },
        { from: [pods(STORE_PODS[key])], ports: tcp(...peerPorts) },
        ...(extra.operator
          ? [{ from: [namespace(extra.operator.namespace)], ports: tcp(...extra.operator.ports) }]
          : []),
      ],
      egress: [
        { to: [pods(STORE_PODS[key])], ports: tcp(...peerPorts) },
        ...(extra.api ? [KUBERNETES_API] : []),
      ],
    });
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata('nova-default-deny', 'network-policy'),
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    },
    policy(
      'nova-dns',
      {},
      {
        egress: [
          {
            to: [
              { namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
            ],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    ),
    store('postgres', [5432], [5432, 8000], {
      api: true,
      operator: { namespace: OPERATOR_NAMESPACES.postgres, ports: [5432, 8000] },
    }),
    store('mongo', [27017], [27017], { api: true }),
    store('elastic', [9200], [9200, 9300], {
      ingress: [pods(STORE_PODS.kibana)],
      operator: { namespace: OPERATOR_NAMESPACES.elastic, ports: [9200] },
    }),
    policy('nova-kibana', STORE_PODS.kibana, {
      ingress: [{ from: [clients], ports: tcp(5601) }],
      egress: [{ to: [pods(STORE_PODS.elastic)], ports: tcp(9200) }],
    }),
    policy('nova-store-clients', STORE_CLIENT, {
      egress: [
        { to: [pods(STORE_PODS.postgres)], ports: tcp(5432) },
        { to: [pods(STORE_PODS.mongo)], ports: tcp(27017) },
        { to: [pods(STORE_PODS.elastic)], ports: tcp(9200) },
        { to: [pods(STORE_PODS.kibana)], ports: tcp(5601) },
      ],
    }),
    policy('nova-api-ingress', labels(SERVICE_NAME), {
      ingress: [{ from: [{ namespaceSelector: {} }], ports: tcp(SERVICE_PORT) }],
    }),
  ];
}
