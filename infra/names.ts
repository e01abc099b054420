/**
 * Names the design and the images fix: containers as the design's operations guide uses them
 * (each is also its host name on the stack network), and the stores' built-in administrators.
 */
export const mongoMemberName = (n: number) => `nova-mongodb-${n}`;
/**
 * Member n listens on its own port (27017, 27018, 27019): the same `name:port` then reaches
 * it from the stack network and, with nova:mongoHostAccess, from the operator's machine, where
 * each member is published on its port and the names resolve to the bind address.
 */
export const mongoMemberPort = (n: number) => 27_016 + n;
export const mongoMemberHost = (n: number) => `${mongoMemberName(n)}:${mongoMemberPort(n)}`;
export const elasticNodeName = (n: number) => `nova-elasticsearch-${n}`;
export const KIBANA_CONTAINER = 'nova-kibana';
export const OTEL_COLLECTOR_CONTAINER = 'nova-otel-collector';

/** MongoDB's administrator, made by the image from MONGO_INITDB_ROOT_* at first start. */
export const MONGO_ROOT_USER = 'root';
/** Elasticsearch's built-in superuser, whose password the nodes seed (ELASTIC_PASSWORD). */
export const ELASTIC_ADMIN_USER = 'elastic';

/** Where each member's keyFile is, and the official image's mongodb user and group. */
export const MONGO_KEYFILE = '/etc/mongo/keyfile';
export const MONGODB_UID = '999';

/**
 * The application's login in PostgreSQL, MongoDB and Elasticsearch (each made by
 * `nova bootstrap`): what the service uses, never an administrator.
 */
export const APP_USER = 'nova_app';
