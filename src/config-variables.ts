/**
 * Every environment variable nova reads, in one list: config.ts takes each one's schema and
 * default from here, and docs/configuration.md's tables and .env.example are generated from it
 * (`npm run docs:generate`; a test fails when either differs from what this list makes, and
 * another when the parser reads a variable this list does not name).
 *
 * `schema` is the parser's check of one value. A variable without one is text that config.ts
 * checks itself (URLs, names, credentials, lists), and `accepts` says what it takes.
 * `meaning` is Markdown for the docs; .env.example gets it as plain text.
 */
import { z } from 'zod';

export const GROUPS = {
  general: 'General',
  postgres: 'PostgreSQL (system of record)',
  mongo: 'MongoDB (logs and telemetry; without MONGO_URL telemetry is off)',
  telemetry: 'Telemetry writer (the buffer between the log* calls and MongoDB)',
  elastic: 'Elasticsearch (search; servers 8.11 to 8.19)',
  embeddings: 'Embeddings (semantic and hybrid search; optional)',
  service: 'HTTP service (`nova serve`)',
  kibana: 'Kibana (optional; reported by /api/health)',
  otel: 'OpenTelemetry (the standard variables, read by the SDK that `npm start` preloads)',
} as const;

export type Group = keyof typeof GROUPS;

export interface Variable {
  group: Group;
  meaning: string;
  schema?: z.ZodType;
  /** Used when the variable is unset or empty. */
  default?: string | number;
  /** The default in words, when it is not one fixed value. */
  defaultText?: string;
  /** What a value without a schema may be. */
  accepts?: string;
  /** The value .env.example shows (else the default). */
  example?: string;
  /** A credential, or a URL that may carry one: never echoed, never logged. */
  secret?: true;
}

const ints = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const ms = (max: number) => ints(1, max);
const POSTGRES_URL = 'a `postgresql://` URL';
const HTTP_URL = 'an `http://` or `https://` URL';

export const VARIABLES = {
  NODE_ENV: {
    group: 'general',
    meaning:
      '`production` (the image sets it): a deployed process; it never starts an embedded PostgreSQL (`DATABASE_URL` is required) and `nova serve` refuses a superuser or table-owning login',
    accepts: '`production` or anything else',
  },

  DATABASE_URL: {
    group: 'postgres',
    meaning:
      'the PostgreSQL login of the service and `novaDb`: the application role, never a superuser; or the `POSTGRES_*` parts below. Unset everywhere: `nova local` and `nova serve` start an embedded PostgreSQL',
    accepts: POSTGRES_URL,
    example: 'postgresql://nova_app:secure_password@localhost:5432/nova_universe',
    secret: true,
  },
  DATABASE_OWNER_URL: {
    group: 'postgres',
    meaning:
      "the schema owner's login, used only by `nova bootstrap postgres`: migrations, and the application role `DATABASE_URL` names ([Database roles](operations.md#database-roles)); unset: the bootstrap runs as `DATABASE_URL`'s user and manages no role",
    accepts: POSTGRES_URL,
    example: 'postgresql://nova:owner_password@localhost:5432/nova_universe',
    secret: true,
  },
  POSTGRES_HOST: {
    group: 'postgres',
    meaning:
      'used with the next four when `DATABASE_URL` is unset (all but the port required then)',
    accepts: 'a host name or IP address',
    example: 'localhost',
  },
  POSTGRES_PORT: { group: 'postgres', meaning: 'its port', schema: ints(1, 65535), default: 5432 },
  POSTGRES_DB: { group: 'postgres', meaning: 'the database', example: 'nova_universe' },
  POSTGRES_USER: { group: 'postgres', meaning: 'the login', example: 'nova_app' },
  POSTGRES_PASSWORD: {
    group: 'postgres',
    meaning: 'its password',
    example: 'secure_password',
    secret: true,
  },
  POSTGRES_POOL_SIZE: {
    group: 'postgres',
    meaning: 'connections in the pool (shared by Prisma and the SQL write path)',
    schema: ints(1, 500),
    default: 10,
  },
  POSTGRES_CONNECT_TIMEOUT_MS: {
    group: 'postgres',
    meaning: 'how long to wait for a connection (ms)',
    schema: ms(600_000),
    default: 5000,
  },
  POSTGRES_RETRY_ATTEMPTS: {
    group: 'postgres',
    meaning: 'attempts for an operation that failed on a transient connection error',
    schema: ints(1, 20),
    default: 4,
  },

  MONGO_URL: {
    group: 'mongo',
    meaning: 'hosts and options; a replica set names itself',
    accepts: 'a `mongodb://` or `mongodb+srv://` URL the MongoDB driver accepts',
    example: 'mongodb://m1,m2,m3/?replicaSet=rs0',
    secret: true,
  },
  MONGO_DB_NAME: { group: 'mongo', meaning: 'the logs database', default: 'nova_logs' },
  MONGO_USER: {
    group: 'mongo',
    meaning:
      'the application user (readWrite on the logs database only; `nova bootstrap mongo` creates it); credentials in `MONGO_URL` also work',
    example: 'nova_user',
  },
  MONGO_PASSWORD: { group: 'mongo', meaning: 'its password', secret: true },
  MONGO_AUTH_SOURCE: {
    group: 'mongo',
    meaning: 'where the application user is defined',
    defaultText: '`MONGO_DB_NAME`',
  },
  MONGO_ADMIN_USER: {
    group: 'mongo',
    meaning: 'an administrator in `admin`, used only by `nova bootstrap mongo` to manage the user',
    example: 'root',
  },
  MONGO_ADMIN_PASSWORD: { group: 'mongo', meaning: 'its password', secret: true },
  MONGO_TLS_CA_FILE: {
    group: 'mongo',
    meaning: 'CA certificate; setting it turns TLS on',
    accepts: 'a file path',
    example: '/etc/nova/mongo-ca.pem',
  },
  MONGO_POOL_SIZE: {
    group: 'mongo',
    meaning: 'connections per server',
    schema: ints(1, 1000),
    default: 20,
  },
  MONGO_SERVER_SELECTION_TIMEOUT_MS: {
    group: 'mongo',
    meaning: 'how long an operation waits for a usable server (ms)',
    schema: ms(600_000),
    default: 5000,
  },
  MONGO_RETENTION: {
    group: 'mongo',
    meaning:
      "TTL per collection, overriding the design's (audit_logs 90d, system_logs 30d, user_activity 30d, performance_metrics 7d, error_logs 90d, api_usage 30d, search_analytics 90d)",
    accepts: '`collection=duration,…`: at least 1m, whole seconds',
    defaultText: "the design's",
    example: 'performance_metrics=14d,api_usage=12h',
  },
  MONGO_WRITE_CONCERN: {
    group: 'mongo',
    meaning: 'write concern per collection',
    accepts: '`collection=majority` or `collection=N` (1–99), comma-separated',
    defaultText: 'audit_logs=majority, the others 1',
    example: 'audit_logs=majority,api_usage=1',
  },

  OTEL_SERVICE_NAME: {
    group: 'telemetry',
    meaning: '`service` stamped on telemetry events and on traces',
    default: 'nova-api',
  },
  TELEMETRY_BUFFER_SIZE: {
    group: 'telemetry',
    meaning: 'events held at most, per store; beyond it new events are dropped and counted',
    schema: ints(1, 10_000_000),
    default: 10_000,
  },
  TELEMETRY_BATCH_SIZE: {
    group: 'telemetry',
    meaning: 'events per insert or `_bulk` (not above the buffer)',
    schema: ints(1, 100_000),
    default: 500,
  },
  TELEMETRY_FLUSH_INTERVAL_MS: {
    group: 'telemetry',
    meaning: 'the longest wait before buffered events are written (ms)',
    schema: ms(3_600_000),
    default: 1000,
  },
  TELEMETRY_WRITE_TIMEOUT_MS: {
    group: 'telemetry',
    meaning: 'a slower write counts as failed and is retried (ms)',
    schema: ms(600_000),
    default: 10_000,
  },
  TELEMETRY_SHUTDOWN_TIMEOUT_MS: {
    group: 'telemetry',
    meaning: 'how long the final flush may take (ms)',
    schema: ms(600_000),
    default: 5000,
  },

  ELASTIC_URL: {
    group: 'elastic',
    meaning: 'one node or several, comma-separated (client 8.11)',
    accepts: 'http(s) URLs, comma-separated',
    example: 'https://es1:9200,https://es2:9200',
  },
  ELASTIC_USERNAME: {
    group: 'elastic',
    meaning: "the service's user (or `ELASTIC_API_KEY` instead); never the administrator",
    example: 'nova_app',
  },
  ELASTIC_PASSWORD: {
    group: 'elastic',
    meaning: 'its password',
    accepts: 'at least 6 characters',
    secret: true,
  },
  ELASTIC_API_KEY: {
    group: 'elastic',
    meaning: 'an API key instead of the user and password',
    secret: true,
  },
  ELASTIC_ADMIN_USERNAME: {
    group: 'elastic',
    meaning: '`elastic`, used only by `nova bootstrap elastic` (role, user, kibana_system)',
    example: 'elastic',
  },
  ELASTIC_ADMIN_PASSWORD: { group: 'elastic', meaning: 'its password', secret: true },
  KIBANA_SYSTEM_PASSWORD: {
    group: 'elastic',
    meaning: "kibana_system's password, set by `nova bootstrap elastic` through the security API",
    accepts: 'at least 6 characters',
    secret: true,
  },
  ELASTIC_CA_FILE: {
    group: 'elastic',
    meaning: 'CA certificate for HTTPS',
    accepts: 'a file path',
    example: '/etc/nova/es-ca.pem',
  },
  ELASTIC_REQUEST_TIMEOUT_MS: {
    group: 'elastic',
    meaning: 'per request (ms)',
    schema: ms(600_000),
    default: 10_000,
  },
  ELASTIC_MAX_RETRIES: {
    group: 'elastic',
    meaning:
      'retries on 429/502/503/504, timeouts and refused connections, with backoff (client timeouts of searches are not retried)',
    schema: ints(0, 10),
    default: 3,
  },
  ELASTIC_EMBEDDING_DIMS: {
    group: 'elastic',
    meaning:
      '`nova_ai_context` embedding size (dense_vector, cosine, indexed); the embedding model must return exactly this many',
    schema: ints(1, 4096),
    default: 1536,
  },

  EMBEDDING_URL: {
    group: 'embeddings',
    meaning:
      'an OpenAI-compatible embeddings API; unset: semantic and hybrid search fail with `CONFIG_INVALID` naming `EMBEDDING_URL`',
    accepts: `${HTTP_URL}, without credentials`,
    example: 'https://api.openai.com/v1',
  },
  EMBEDDING_MODEL: {
    group: 'embeddings',
    meaning: 'the model (required with `EMBEDDING_URL`)',
    example: 'text-embedding-3-small',
  },
  EMBEDDING_API_KEY: { group: 'embeddings', meaning: 'sent as a bearer token', secret: true },
  EMBEDDING_TIMEOUT_MS: {
    group: 'embeddings',
    meaning: 'per request (ms); 429, 5xx and timeouts are retried twice',
    schema: ms(600_000),
    default: 10_000,
  },

  NOVA_HTTP_HOST: {
    group: 'service',
    meaning: 'where `nova serve` listens (0.0.0.0 in a container)',
    default: '127.0.0.1',
  },
  NOVA_HTTP_PORT: {
    group: 'service',
    meaning: 'its port; 0 picks a free one',
    schema: ints(0, 65535),
    default: 3000,
  },
  PORT: {
    group: 'service',
    meaning:
      'the port when `NOVA_HTTP_PORT` is unset, as hosting platforms (Cloud Run, Heroku, Render) set it; the image sets no `NOVA_HTTP_PORT`, so `PORT` reaches it',
    schema: ints(0, 65535),
    example: '8080',
  },
  NOVA_HEALTH_INTERVAL_MS: {
    group: 'service',
    meaning: "how long a dependency probe's result is reused by /api/health and /readyz (ms)",
    schema: ms(600_000),
    default: 5000,
  },
  NOVA_SHUTDOWN_TIMEOUT_MS: {
    group: 'service',
    meaning: 'the bound on an orderly stop after SIGTERM (ms)',
    schema: ms(600_000),
    default: 10_000,
  },
  NOVA_HTTP_MAX_CONNECTIONS: {
    group: 'service',
    meaning:
      'open connections at most; more are closed on arrival and counted in `nova.http.connections.dropped` (a flood of slow clients cannot take every file descriptor)',
    schema: ints(1, 1_000_000),
    default: 4096,
  },
  NOVA_HTTP_HEADERS_TIMEOUT_MS: {
    group: 'service',
    meaning:
      "a request's headers must arrive within this, else 408 and the connection closes (checked every second); not above the next",
    schema: ms(600_000),
    default: 10_000,
  },
  NOVA_HTTP_REQUEST_TIMEOUT_MS: {
    group: 'service',
    meaning: 'the same for the whole request (ms)',
    schema: ms(600_000),
    default: 10_000,
  },
  NOVA_METRICS_TOKEN: {
    group: 'service',
    meaning: '`/metrics` then needs it as a bearer token; unset: open to whoever reaches the port',
    schema: z.string().min(16),
    secret: true,
  },
  NOVA_AUTH_FAILURES_PER_MINUTE: {
    group: 'service',
    meaning:
      'failed token authentications a client may have in a minute; past it, its requests with credentials get 429 `RATE_LIMITED` (with `Retry-After`) until the minute ends, without a lookup; 0: no limit',
    schema: ints(0, 1_000_000),
    default: 30,
  },
  NOVA_AUTH_RATE_PER_SECOND: {
    group: 'service',
    meaning:
      "requests with credentials per client and second (bursts of twice that), checked before the token is looked up; 0: no limit. The client is the connection's address, or, from a proxy named in `NOVA_TRUST_PROXY`, the one its `X-Forwarded-For` names",
    schema: ints(0, 1_000_000),
    default: 1000,
  },
  NOVA_TRUST_PROXY: {
    group: 'service',
    meaning:
      "proxies whose `X-Forwarded-For` names the client, for the per-client limits and the logs; any other sender's header is ignored",
    accepts: 'IP addresses or CIDRs, comma-separated',
    example: '10.0.0.0/8',
  },
  NOVA_AUTH_CACHE_TTL_MS: {
    group: 'service',
    meaning:
      "how long `nova serve` keeps an authenticated token's user and permissions in memory (ms; 0: not at all); a revoke or a role change made anywhere takes effect at once",
    schema: ints(0, 3_600_000),
    default: 30_000,
  },
  NOVA_AUTH_CACHE_MAX_ENTRIES: {
    group: 'service',
    meaning: 'for how many tokens at most (the least recently used go first)',
    schema: ints(1, 10_000_000),
    default: 10_000,
  },
  NOVA_ANALYTICS_CONCURRENCY: {
    group: 'service',
    meaning:
      'analytics queries (`/api/analytics/*`) running at once in a process; more are refused 429 `RATE_LIMITED` with `Retry-After: 1`, not queued',
    schema: ints(1, 1000),
    default: 4,
  },
  NOVA_TOKEN: {
    group: 'service',
    meaning: 'the API token `nova smoke` sends when neither `--token` nor `--token-file` is given',
    secret: true,
  },

  KIBANA_URL: {
    group: 'kibana',
    meaning:
      'Kibana, with its base path if it has one; reported by `/api/health` (unset: `not_configured`) and used by `nova bootstrap kibana`',
    accepts: `${HTTP_URL}, without credentials`,
    example: 'http://127.0.0.1:5601',
  },
  KIBANA_USERNAME: {
    group: 'kibana',
    meaning: "credentials for Kibana's APIs (or `KIBANA_API_KEY` instead)",
  },
  KIBANA_PASSWORD: { group: 'kibana', meaning: 'its password', secret: true },
  KIBANA_API_KEY: { group: 'kibana', meaning: 'an API key instead', secret: true },
  KIBANA_REQUEST_TIMEOUT_MS: {
    group: 'kibana',
    meaning: 'per request (ms)',
    schema: ms(600_000),
    default: 10_000,
  },

  OTEL_EXPORTER_OTLP_ENDPOINT: {
    group: 'otel',
    meaning:
      'export traces and metrics over OTLP; unset: nothing is sent, metrics are still served on `GET /metrics`. The exporters also read the rest of `OTEL_EXPORTER_OTLP_*` (headers, timeout, certificates)',
    accepts: HTTP_URL,
    example: 'http://127.0.0.1:4318',
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    group: 'otel',
    meaning: 'the same, for traces only',
    accepts: HTTP_URL,
  },
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: {
    group: 'otel',
    meaning: 'the same, for metrics only',
    accepts: HTTP_URL,
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: {
    group: 'otel',
    meaning: 'the OTLP protocol (port 4318 for HTTP, 4317 for gRPC)',
    accepts: '`http/protobuf`, `grpc` or `http/json`',
    default: 'http/protobuf',
  },
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: {
    group: 'otel',
    meaning: 'the same, for traces only',
    defaultText: '`OTEL_EXPORTER_OTLP_PROTOCOL`',
    example: 'grpc',
  },
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: {
    group: 'otel',
    meaning: 'the same, for metrics only',
    defaultText: '`OTEL_EXPORTER_OTLP_PROTOCOL`',
    example: 'grpc',
  },
  OTEL_TRACES_EXPORTER: {
    group: 'otel',
    meaning: 'replaces the choice the endpoint makes',
    accepts: '`otlp` or `none`',
    defaultText: '`otlp` with an endpoint',
    example: 'otlp',
  },
  OTEL_METRICS_EXPORTER: {
    group: 'otel',
    meaning: 'replaces the choice the endpoint makes',
    accepts: '`otlp`, `prometheus` or `none`, comma-separated',
    defaultText: '`prometheus`, and `otlp` with an endpoint',
    example: 'otlp,prometheus',
  },
  OTEL_TRACES_SAMPLER: {
    group: 'otel',
    meaning:
      'head sampling; in production `parentbased_traceidratio` (the Docker stack and Kubernetes set it)',
    defaultText: 'every request',
    example: 'parentbased_traceidratio',
  },
  OTEL_TRACES_SAMPLER_ARG: {
    group: 'otel',
    meaning: "the sampler's ratio",
    accepts: '0 to 1',
    example: '0.1',
  },
  OTEL_SDK_DISABLED: {
    group: 'otel',
    meaning: '`true`: no SDK, no patching, nothing traced or exported (metrics stay on `/metrics`)',
    example: 'true',
  },
} as const satisfies Record<string, Variable>;

export type VariableName = keyof typeof VARIABLES;

/** The value a variable's schema parses to; text for those without one. */
export type ValueOf<N extends VariableName> = (typeof VARIABLES)[N] extends {
  schema: z.ZodType<infer T>;
}
  ? T
  : string;
