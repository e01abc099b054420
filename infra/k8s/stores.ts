/**
 * One custom resource per store, for its operator to run:
 *
 * - PostgreSQL: a CloudNativePG `Cluster`. initdb makes the database and its owner (whose
 *   generated Secret the bootstrap Job reads); the application's login is a managed role with
 *   no privilege beyond LOGIN; `nova bootstrap` grants it the tables, as on every target.
 * - MongoDB: a `MongoDBCommunity` replica set with SCRAM and two users, the administrator
 *   (root, for the bootstrap) and the application's (readWrite on the logs database, the
 *   roles `nova bootstrap` reconciles it to, so the two never disagree).
 * - Elasticsearch and Kibana: ECK resources, HTTP TLS self-signed by ECK (its default), under
 *   the Basic licence.
 *
 * The field names are the CRDs' (vendored in crds/, validated against them in the tests).
 */
import { APP_USER } from '../names.js';
import type { K8sObject } from './meta.js';
import { memory, metadata, pvc } from './meta.js';
import {
  ELASTIC_RESOURCE,
  KIBANA_RESOURCE,
  MONGO_ADMIN_USER,
  MONGO_RESOURCE,
  POSTGRES_CLUSTER,
  USER_SECRETS,
} from './names.js';
import type { KubernetesSettings } from './settings.js';

/**
 * The pod security context of Elasticsearch's and Kibana's pods. ECK puts its own (fsGroup
 * 1000, seccomp RuntimeDefault) only on a pod template that sets none (elastic/cloud-on-k8s
 * v3.5.0, nodespec/podspec.go and kibana/securitycontext.go), so this one restates it: without
 * fsGroup, uid 1000 cannot write a cloud disk's root-owned volume. runAsNonRoot is added:
 * ECK says it on Elasticsearch's container (8.8 and later) but not on Kibana's.
 */
export const ECK_POD_SECURITY = {
  runAsNonRoot: true,
  fsGroup: 1000,
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

/** The logs database: where the MongoDB application user is defined (MONGO_AUTH_SOURCE's default). */
const LOGS_DATABASE = 'nova_logs';

export function postgresCluster(settings: KubernetesSettings): K8sObject {
  const { postgres } = settings;
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: metadata(POSTGRES_CLUSTER, 'postgres'),
    spec: {
      instances: postgres.instances,
      imageName: postgres.image,
      // A single instance's PodDisruptionBudget would block every node drain.
      enablePDB: postgres.instances > 1,
      postgresql: {
        // CloudNativePG adds pg_stat_statements to shared_preload_libraries itself when any
        // pg_stat_statements.* parameter is set (shared_preload_libraries is its to manage).
        parameters: { 'pg_stat_statements.max': '10000', 'pg_stat_statements.track': 'all' },
      },
      bootstrap: { initdb: { database: postgres.database, owner: postgres.owner } },
      managed: {
        roles: [
          {
            name: APP_USER,
            ensure: 'present',
            login: true,
            superuser: false,
            createdb: false,
            createrole: false,
            replication: false,
            bypassrls: false,
            inherit: true,
            passwordSecret: { name: USER_SECRETS.postgresApp },
          },
        ],
      },
      storage: {
        size: `${postgres.storageGi}Gi`,
        ...(settings.storageClass ? { storageClass: settings.storageClass } : {}),
      },
      resources: memory(postgres.memoryMb, 250),
      affinity: { enablePodAntiAffinity: true, topologyKey: 'kubernetes.io/hostname' },
    },
  };
}

export function mongoReplicaSet(settings: KubernetesSettings): K8sObject {
  const { mongo } = settings;
  const user = (
    name: string,
    db: string,
    secret: string,
    roles: { name: string; db: string }[],
  ) => ({
    name,
    db,
    passwordSecretRef: { name: secret, key: 'password' },
    roles,
    // The operator keeps each user's SCRAM credentials in this Secret (a DNS name: no `_`).
    scramCredentialsSecretName: name.replaceAll('_', '-'),
  });
  return {
    apiVersion: 'mongodbcommunity.mongodb.com/v1',
    kind: 'MongoDBCommunity',
    metadata: metadata(MONGO_RESOURCE, 'mongodb'),
    spec: {
      members: mongo.members,
      type: 'ReplicaSet',
      version: mongo.version,
      security: {
        authentication: { modes: ['SCRAM'] },
        ...(mongo.tls
          ? {
              tls: {
                enabled: true,
                certificateKeySecretRef: { name: `${MONGO_RESOURCE}-tls` },
                caCertificateSecretRef: { name: `${MONGO_RESOURCE}-ca` },
              },
            }
          : {}),
      },
      users: [
        user(MONGO_ADMIN_USER, 'admin', USER_SECRETS.mongoAdmin, [{ name: 'root', db: 'admin' }]),
        user(APP_USER, LOGS_DATABASE, USER_SECRETS.mongoApp, [
          { name: 'readWrite', db: LOGS_DATABASE },
        ]),
      ],
      statefulSet: {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'mongod', resources: memory(mongo.memoryMb, 250) },
                { name: 'mongodb-agent', resources: memory(256, 50) },
              ],
            },
          },
          volumeClaimTemplates: [pvc('data-volume', mongo.storageGi, settings.storageClass)],
        },
      },
    },
  };
}

export function elasticsearch(settings: KubernetesSettings): K8sObject {
  const { elastic } = settings;
  return {
    apiVersion: 'elasticsearch.k8s.elastic.co/v1',
    kind: 'Elasticsearch',
    metadata: metadata(ELASTIC_RESOURCE, 'elasticsearch'),
    spec: {
      version: elastic.version,
      // ECK's default, stated: HTTPS with a CA of ECK's own, published in
      // nova-elasticsearch-es-http-certs-public for the clients to verify against.
      http: { tls: { selfSignedCertificate: { disabled: false } } },
      nodeSets: [
        {
          name: 'default',
          count: elastic.nodes,
          // mmap needs vm.max_map_count raised on every node (a privileged init container);
          // niofs needs nothing, at some cost on large indices.
          config: { 'node.store.allow_mmap': false },
          podTemplate: {
            spec: {
              securityContext: ECK_POD_SECURITY,
              containers: [
                {
                  name: 'elasticsearch',
                  env: [
                    {
                      name: 'ES_JAVA_OPTS',
                      value: `-Xms${elastic.heapMb}m -Xmx${elastic.heapMb}m`,
                    },
                  ],
                  resources: memory(elastic.memoryMb, 500),
                },
              ],
            },
          },
          volumeClaimTemplates: [
            pvc('elasticsearch-data', elastic.storageGi, settings.storageClass),
          ],
        },
      ],
    },
  };
}

export function kibana(settings: KubernetesSettings): K8sObject {
  return {
    apiVersion: 'kibana.k8s.elastic.co/v1',
    kind: 'Kibana',
    metadata: metadata(KIBANA_RESOURCE, 'kibana'),
    spec: {
      version: settings.elastic.version,
      count: settings.kibana.count,
      // ECK gives Kibana its Elasticsearch credentials (a service-account token) itself.
      elasticsearchRef: { name: ELASTIC_RESOURCE },
      http: { tls: { selfSignedCertificate: { disabled: false } } },
      podTemplate: {
        spec: {
          securityContext: ECK_POD_SECURITY,
          containers: [{ name: 'kibana', resources: memory(settings.kibana.memoryMb, 250) }],
        },
      },
    },
  };
}
