/**
 * The names the Kubernetes objects share: the custom resources, the Services and Secrets the
 * operators make from them (their naming is the operators', cited where used), and the
 * Secrets the user (or the Pulumi program) provides. The rendered manifests refer to Secrets
 * by these names only, never by value.
 */
export const POSTGRES_CLUSTER = 'nova-postgres';
export const MONGO_RESOURCE = 'nova-mongodb';
export const ELASTIC_RESOURCE = 'nova-elasticsearch';
export const KIBANA_RESOURCE = 'nova-kibana';
export const SERVICE_NAME = 'nova-api';
/** The port the service listens on in its container, and its Service's. */
export const SERVICE_PORT = 3000;

/** CloudNativePG: the read-write Service, and its CA (the server certificates' issuer). */
export const postgresHost = `${POSTGRES_CLUSTER}-rw`;
export const POSTGRES_CA_SECRET = `${POSTGRES_CLUSTER}-ca`;
/** CloudNativePG's generated Secret for the initdb owner (keys username, password). */
export const POSTGRES_OWNER_SECRET = `${POSTGRES_CLUSTER}-app`;
/** MongoDBCommunity: the headless Service its StatefulSet's members are named under. */
export const mongoMemberHost = (member: number) =>
  `${MONGO_RESOURCE}-${member}.${MONGO_RESOURCE}-svc:27017`;
/** ECK: the HTTP Services, the `elastic` user's Secret and the HTTP CAs. */
export const elasticHost = `${ELASTIC_RESOURCE}-es-http`;
export const ELASTIC_ADMIN_SECRET = `${ELASTIC_RESOURCE}-es-elastic-user`;
export const ELASTIC_CA_SECRET = `${ELASTIC_RESOURCE}-es-http-certs-public`;
export const kibanaHost = `${KIBANA_RESOURCE}-kb-http`;
export const KIBANA_CA_SECRET = `${KIBANA_RESOURCE}-kb-http-certs-public`;

/**
 * The Secrets the operators cannot make: the application's passwords and MongoDB's
 * administrator's. Each holds the key `password` (and, for the PostgreSQL login, which
 * CloudNativePG reads as a basic-auth Secret, `username`). Values must be URL-safe: the
 * service's connection strings are put together from them.
 */
export const USER_SECRETS = {
  postgresApp: 'nova-postgres-app-login',
  mongoAdmin: 'nova-mongodb-admin',
  mongoApp: 'nova-mongodb-app',
  elasticApp: 'nova-elasticsearch-app',
} as const;

/** MongoDB's administrator in the MongoDBCommunity resource (the Docker stack's is `root`). */
export const MONGO_ADMIN_USER = 'nova-admin';

/** Labels every object carries; selectors use the component label. */
export const PART_OF = { 'app.kubernetes.io/part-of': 'nova-universe' } as const;
export const labels = (component: string) => ({
  'app.kubernetes.io/name': component,
  ...PART_OF,
});

/**
 * The label that lets a pod reach the stores (NetworkPolicies): the service and the one-shot
 * Jobs carry it, nothing else.
 */
export const STORE_CLIENT = { 'nova-universe.io/store-client': 'true' } as const;

/**
 * The pod labels each operator puts on its workload's pods, which the NetworkPolicies select:
 * CloudNativePG `cnpg.io/cluster`, the MongoDB operator's StatefulSet `app: <name>-svc`, ECK
 * `elasticsearch.k8s.elastic.co/cluster-name` and `kibana.k8s.elastic.co/name`.
 */
export const STORE_PODS = {
  postgres: { 'cnpg.io/cluster': POSTGRES_CLUSTER },
  mongo: { app: `${MONGO_RESOURCE}-svc` },
  elastic: { 'elasticsearch.k8s.elastic.co/cluster-name': ELASTIC_RESOURCE },
  kibana: { 'kibana.k8s.elastic.co/name': KIBANA_RESOURCE },
} as const;
