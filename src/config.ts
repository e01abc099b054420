/**
 * Environment -> typed, validated configuration, parsed once at the edge (the CLI, the
 * service, tests). Library code receives a `NovaConfig` and never reads process.env.
 *
 * Variable names are the design document's; each one's schema, default and meaning are in
 * config-variables.ts, which the docs are generated from. A missing or malformed value fails with one
 * NovaError (code CONFIG_INVALID) naming the variable; values are never echoed, since several
 * are secrets.
 */

import { isIP } from 'node:net';
import { MongoClient, MongoError } from 'mongodb';
import { z } from 'zod';
import { VARIABLES, type ValueOf, type Variable, type VariableName } from './config-variables.js';
import { formatDuration, parseDuration } from './lib/duration.js';
import { NovaError } from './lib/errors.js';
import {
  DEFAULT_WRITE_CONCERN,
  defaultRetentionMs,
  isTelemetryCollection,
  TELEMETRY_COLLECTIONS,
  type TelemetryCollection,
  type WriteAcknowledgement,
} from './lib/telemetry/collections.js';

export interface PostgresConfig {
  /** Full connection string; built from POSTGRES_* when DATABASE_URL is unset. */
  url: string;
  /**
   * DATABASE_OWNER_URL: the schema owner's login, used only by `nova bootstrap` (migrations,
   * and the application role DATABASE_URL names: src/bootstrap/postgres/app-role.ts).
   * Unset: the bootstrap runs as DATABASE_URL's user and leaves roles alone.
   */
  ownerUrl?: string;
  /** Connections in the pool (POSTGRES_POOL_SIZE, default 10). */
  poolSize: number;
  /** Milliseconds to wait for a connection (POSTGRES_CONNECT_TIMEOUT_MS, default 5000). */
  connectTimeoutMs: number;
  /** Attempts for an operation that failed on a transient connection error (default 4). */
  retryAttempts: number;
}

export interface MongoConfig {
  /** MONGO_URL: hosts and options, e.g. mongodb://h1,h2,h3/?replicaSet=rs0. */
  url: string;
  /** The logs database (MONGO_DB_NAME, default nova_logs). */
  dbName: string;
  /** Application user (MONGO_USER / MONGO_PASSWORD); credentials in MONGO_URL also work. */
  user: string | undefined;
  password: string | undefined;
  /** Where the application user is defined (MONGO_AUTH_SOURCE, default: the logs database). */
  authSource: string;
  /**
   * Administrator (MONGO_ADMIN_USER / MONGO_ADMIN_PASSWORD, defined in `admin`), used only by
   * `nova bootstrap mongo` to create or update the application user.
   */
  admin: { user: string; password: string } | undefined;
  /** CA certificate for TLS (MONGO_TLS_CA_FILE); setting it turns TLS on. */
  tlsCaFile: string | undefined;
  /** Connections per server (MONGO_POOL_SIZE, default 20). */
  poolSize: number;
  /** How long an operation waits for a usable server (MONGO_SERVER_SELECTION_TIMEOUT_MS, default 5000). */
  serverSelectionTimeoutMs: number;
  /** TTL per collection in ms: the design's defaults, overridden by MONGO_RETENTION. */
  retentionMs: Record<TelemetryCollection, number>;
  /** Write concern per collection: defaults overridden by MONGO_WRITE_CONCERN. */
  writeConcern: Record<TelemetryCollection, WriteAcknowledgement>;
}

/** The telemetry writer's buffer and timing (TELEMETRY_*); defaults suit one service process. */
export interface TelemetryConfig {
  /** Stamped on every event as `service` (OTEL_SERVICE_NAME, default nova-api). */
  serviceName: string;
  /** Events held in memory at most; beyond it new events are dropped (default 10000). */
  bufferSize: number;
  /** Events per insertMany (default 500). */
  batchSize: number;
  /** Longest wait before buffered events are written (default 1000 ms). */
  flushIntervalMs: number;
  /** A write that takes longer counts as failed and is retried (default 10000 ms). */
  writeTimeoutMs: number;
  /** How long shutdown may spend flushing (default 5000 ms). */
  shutdownTimeoutMs: number;
}

export interface ElasticConfig {
  /** ELASTIC_URL: one node, or several separated by commas. */
  url: string;
  /** The service's credentials: ELASTIC_USERNAME / ELASTIC_PASSWORD, or ELASTIC_API_KEY. */
  username: string | undefined;
  password: string | undefined;
  apiKey: string | undefined;
  /**
   * The `elastic` superuser (ELASTIC_ADMIN_USERNAME / ELASTIC_ADMIN_PASSWORD), used only by
   * `nova bootstrap elastic` for the security steps (application role and user, kibana_system).
   */
  admin: { username: string; password: string } | undefined;
  /** kibana_system's password, set by bootstrap through the security API (KIBANA_SYSTEM_PASSWORD). */
  kibanaSystemPassword: string | undefined;
  /** CA certificate for HTTPS (ELASTIC_CA_FILE). */
  caFile: string | undefined;
  /** Per-request timeout (ELASTIC_REQUEST_TIMEOUT_MS, default 10000). */
  requestTimeoutMs: number;
  /** Retries on 429/502/503/504 and connection errors (ELASTIC_MAX_RETRIES, default 3). */
  maxRetries: number;
  /** nova_ai_context embedding dimensions (ELASTIC_EMBEDDING_DIMS, default 1536). */
  embeddingDims: number;
}

/** An OpenAI-compatible embeddings endpoint, for semantic and hybrid search. */
export interface EmbeddingsConfig {
  /** EMBEDDING_URL: the API base, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1. */
  url: string;
  /** EMBEDDING_MODEL, e.g. text-embedding-3-small. */
  model: string;
  /** EMBEDDING_API_KEY, sent as a bearer token when set. */
  apiKey: string | undefined;
  /** The vector size the model must return: ELASTIC_EMBEDDING_DIMS (the index's dims). */
  dims: number;
  /** EMBEDDING_TIMEOUT_MS (default 10000). */
  timeoutMs: number;
}

/** Kibana, as the health report (and its bootstrap) reach it. */
export interface KibanaConfig {
  /** KIBANA_URL, e.g. http://127.0.0.1:5601 (with its base path, if Kibana has one). */
  url: string;
  /** KIBANA_USERNAME / KIBANA_PASSWORD, or KIBANA_API_KEY; none: anonymous requests. */
  username: string | undefined;
  password: string | undefined;
  apiKey: string | undefined;
  /** KIBANA_REQUEST_TIMEOUT_MS (default 10000). */
  requestTimeoutMs: number;
}

/** The HTTP service (`nova serve`). */
export interface ServiceConfig {
  /** NOVA_HTTP_HOST (default 127.0.0.1; 0.0.0.0 in a container). */
  host: string;
  /** NOVA_HTTP_PORT, else PORT (what hosting platforms set), else 3000; 0 picks a free one. */
  port: number;
  /** How long a dependency probe's result is reused: NOVA_HEALTH_INTERVAL_MS (default 5000). */
  healthIntervalMs: number;
  /** How long shutdown may take before the process exits anyway: NOVA_SHUTDOWN_TIMEOUT_MS (10000). */
  shutdownTimeoutMs: number;
  /**
   * Authenticated API-token principals kept in memory (src/lib/db/postgres/principal-cache.ts):
   * NOVA_AUTH_CACHE_TTL_MS (default 30000; 0 turns the cache off) and
   * NOVA_AUTH_CACHE_MAX_ENTRIES (default 10000).
   */
  authCache?: { ttlMs: number; maxEntries: number } | undefined;
  /** Slow or idle clients: src/service/connections.ts. */
  connections: ConnectionLimits;
  /** Per-client limits on credentialed requests: src/service/client-limits.ts. */
  clientLimits: ClientLimits;
  /** NOVA_METRICS_TOKEN: /metrics needs it as a bearer token (at least 16 characters). */
  metricsToken?: string | undefined;
  /** NOVA_ANALYTICS_CONCURRENCY: analytics queries at once (default 4); more get 429. */
  analyticsConcurrency: number;
  /**
   * NOVA_TRUST_PROXY: the proxies (addresses or CIDRs, comma-separated) whose
   * X-Forwarded-For names the client, for the per-client limits and the logs; none by default.
   */
  trustProxy: string[];
}

export interface ClientLimits {
  /** NOVA_AUTH_RATE_PER_SECOND (1000): credentialed requests per client; 0 turns it off. */
  requestsPerSecond: number;
  /** NOVA_AUTH_FAILURES_PER_MINUTE (30): failed authentications per client; 0: no limit. */
  failuresPerMinute: number;
}

export interface ConnectionLimits {
  /** Open connections at most; more are closed at once: NOVA_HTTP_MAX_CONNECTIONS (4096). */
  maxConnections: number;
  /** A request's headers must arrive within: NOVA_HTTP_HEADERS_TIMEOUT_MS (10000). */
  headersTimeoutMs: number;
  /** The whole request (headers and body): NOVA_HTTP_REQUEST_TIMEOUT_MS (10000). */
  requestTimeoutMs: number;
}

export interface NovaConfig {
  /** undefined when no PostgreSQL is configured: the CLI then offers the embedded one. */
  postgres: PostgresConfig | undefined;
  mongo: MongoConfig | undefined;
  elastic: ElasticConfig | undefined;
  /** undefined without EMBEDDING_URL: semantic and hybrid search then fail as not configured. */
  embeddings: EmbeddingsConfig | undefined;
  /** undefined without KIBANA_URL: the health report then says not_configured. */
  kibana: KibanaConfig | undefined;
  telemetry: TelemetryConfig;
  service: ServiceConfig;
  /**
   * NODE_ENV=production (the image sets it): a deployed process, which never starts an embedded
   * PostgreSQL in its own file system; without one configured it fails instead.
   */
  production: boolean;
}

type Env = Record<string, string | undefined>;

const nonEmpty = z.string().trim().min(1);

function read<N extends VariableName>(env: Env, name: N, fallback?: ValueOf<N>): ValueOf<N> {
  const variable: Variable = VARIABLES[name];
  const raw = env[name];
  if (raw === undefined || raw === '') {
    const value = fallback ?? variable.default;
    if (value !== undefined) return value as ValueOf<N>;
    throw new NovaError('CONFIG_INVALID', `${name} is required`, { field: name });
  }
  const parsed = (variable.schema ?? nonEmpty).safeParse(raw);
  if (!parsed.success) {
    const reason = parsed.error.issues[0]?.message ?? 'invalid value';
    throw new NovaError('CONFIG_INVALID', `${name} is malformed: ${reason}`, { field: name });
  }
  return parsed.data as ValueOf<N>;
}

/**
 * The URL once per host: a MongoDB seed list names several in one authority
 * (`mongodb://h1:27017,h2:27017/?replicaSet=rs0`), which the WHATWG parser refuses whole.
 */
function perHost(value: string): URL[] {
  const parts = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/i.exec(value);
  if (!parts?.[2]?.includes(',')) return [new URL(value)];
  const [, scheme, authority = '', rest] = parts;
  const credentials = authority.slice(0, authority.lastIndexOf('@') + 1);
  return authority
    .slice(credentials.length)
    .split(',')
    .map((host) => new URL(`${scheme}${credentials}${host}${rest}`));
}

function urlVar(env: Env, name: VariableName, protocols: readonly string[]): string {
  const value = read(env, name);
  let urls: URL[];
  try {
    urls = perHost(value);
  } catch {
    throw new NovaError('CONFIG_INVALID', `${name} is not a valid URL`, { field: name });
  }
  for (const url of urls) {
    if (!protocols.includes(url.protocol)) {
      throw new NovaError('CONFIG_INVALID', `${name} must start with ${protocols.join(' or ')}//`, {
        field: name,
      });
    }
    if (!url.hostname) {
      throw new NovaError('CONFIG_INVALID', `${name} must name a host`, { field: name });
    }
  }
  if (urls.length > 1 && urls[0]?.protocol !== 'mongodb:') {
    throw new NovaError('CONFIG_INVALID', `${name} names one host`, { field: name });
  }
  return value;
}

/** A host name or IP literal; the URL setter silently ignores invalid ones, so check first. */
function hostVar(env: Env, name: VariableName): string {
  const value = read(env, name);
  const host = value.includes(':') && !value.startsWith('[') ? `[${value}]` : value; // bare IPv6
  const url = new URL('postgresql://placeholder');
  url.hostname = host;
  if (url.hostname === 'placeholder' || /[\s/?#@]/.test(value)) {
    throw new NovaError('CONFIG_INVALID', `${name} is malformed: not a host name or IP address`, {
      field: name,
    });
  }
  return host;
}

const has = (env: Env, ...names: string[]) => names.some((n) => (env[n] ?? '') !== '');

function postgresUrl(env: Env): string | undefined {
  if (has(env, 'DATABASE_URL')) return urlVar(env, 'DATABASE_URL', ['postgresql:', 'postgres:']);
  if (!has(env, 'POSTGRES_HOST', 'POSTGRES_DB', 'POSTGRES_USER', 'POSTGRES_PASSWORD')) {
    return undefined;
  }
  const url = new URL('postgresql://placeholder');
  url.hostname = hostVar(env, 'POSTGRES_HOST');
  url.port = String(read(env, 'POSTGRES_PORT'));
  url.pathname = `/${encodeURIComponent(read(env, 'POSTGRES_DB'))}`;
  url.username = encodeURIComponent(read(env, 'POSTGRES_USER'));
  url.password = encodeURIComponent(read(env, 'POSTGRES_PASSWORD'));
  return url.toString();
}

/**
 * "collection=value,collection=value" for per-collection overrides. Unknown collections and
 * malformed values are errors naming the variable, never silently ignored.
 */
function collectionMap<T>(
  env: Env,
  name: string,
  defaults: Record<TelemetryCollection, T>,
  parseValue: (text: string) => T | undefined,
  expected: string,
): Record<TelemetryCollection, T> {
  const result = { ...defaults };
  const raw = env[name]?.trim();
  if (!raw) return result;
  for (const entry of raw.split(',')) {
    const [key = '', value = '', ...more] = entry.split('=').map((part) => part.trim());
    const fail = (why: string) => {
      throw new NovaError('CONFIG_INVALID', `${name} is malformed: ${why}`, { field: name });
    };
    if (more.length > 0 || !key || !value) fail(`"${entry.trim()}" is not collection=value`);
    if (!isTelemetryCollection(key)) {
      fail(`unknown collection "${key}" (known: ${TELEMETRY_COLLECTIONS.join(', ')})`);
    }
    const parsed = parseValue(value);
    if (parsed === undefined) fail(`${key}: expected ${expected}, got "${value}"`);
    result[key as TelemetryCollection] = parsed as T;
  }
  return result;
}

/** MongoDB stores expireAfterSeconds as a 32-bit integer; the TTL monitor runs every 60 s. */
const MAX_TTL_MS = 2_147_483_647 * 1000;
const parseRetention = (text: string) => {
  const ms = parseDuration(text);
  return ms !== undefined && ms >= 60_000 && ms <= MAX_TTL_MS && ms % 1000 === 0 ? ms : undefined;
};
const parseAcknowledgement = (text: string): WriteAcknowledgement | undefined => {
  if (text === 'majority') return 'majority';
  return /^[1-9]\d?$/.test(text) ? Number(text) : undefined;
};

function credentials(env: Env, userVar: string, passwordVar: string) {
  const user = env[userVar] || undefined;
  const password = env[passwordVar] || undefined;
  if (user && !password) {
    throw new NovaError('CONFIG_INVALID', `${passwordVar} is required with ${userVar}`, {
      field: passwordVar,
    });
  }
  if (password && !user) {
    throw new NovaError('CONFIG_INVALID', `${userVar} is required with ${passwordVar}`, {
      field: userVar,
    });
  }
  return user && password ? { user, password } : undefined;
}

/** `<PREFIX>_USERNAME`/`<PREFIX>_PASSWORD` or `<PREFIX>_API_KEY`, at most one of the two. */
function loginOrApiKey(env: Env, prefix: string) {
  const login = credentials(env, `${prefix}_USERNAME`, `${prefix}_PASSWORD`);
  const apiKey = env[`${prefix}_API_KEY`] || undefined;
  if (login && apiKey) {
    throw new NovaError(
      'CONFIG_INVALID',
      `set ${prefix}_API_KEY or ${prefix}_USERNAME/${prefix}_PASSWORD, not both`,
      { field: `${prefix}_API_KEY` },
    );
  }
  return { login, apiKey };
}

/**
 * MONGO_URL as the driver itself reads it: the driver parses a URL only when its client is
 * made, and a client it could not make would be retried by the telemetry writer forever.
 * Making one connects nothing (that happens on first use).
 */
function driverAccepted(url: string): string {
  try {
    new MongoClient(url);
  } catch (error) {
    if (!(error instanceof MongoError)) throw error;
    throw new NovaError(
      'CONFIG_INVALID',
      `MONGO_URL is refused by the MongoDB driver: ${error.message}`,
      {
        field: 'MONGO_URL',
      },
    );
  }
  return url;
}

function mongoConfig(env: Env): MongoConfig | undefined {
  if (!has(env, 'MONGO_URL')) return undefined;
  const dbName = read(env, 'MONGO_DB_NAME');
  const app = credentials(env, 'MONGO_USER', 'MONGO_PASSWORD');
  const admin = credentials(env, 'MONGO_ADMIN_USER', 'MONGO_ADMIN_PASSWORD');
  const authSource = read(env, 'MONGO_AUTH_SOURCE', dbName);
  if (app && admin && authSource === 'admin' && app.user === admin.user) {
    // Bootstrap gives the application user readWrite on the logs database only (updateUser
    // replaces its roles): were it the administrator, that would lock the administrator out.
    throw new NovaError(
      'CONFIG_INVALID',
      'MONGO_USER must not be the administrator (MONGO_ADMIN_USER in the admin database): the service gets its own least-privilege user',
      { field: 'MONGO_USER' },
    );
  }
  return {
    url: driverAccepted(urlVar(env, 'MONGO_URL', ['mongodb:', 'mongodb+srv:'])),
    dbName,
    user: app?.user,
    password: app?.password,
    authSource,
    admin,
    tlsCaFile: env.MONGO_TLS_CA_FILE || undefined,
    poolSize: read(env, 'MONGO_POOL_SIZE'),
    serverSelectionTimeoutMs: read(env, 'MONGO_SERVER_SELECTION_TIMEOUT_MS'),
    retentionMs: collectionMap(
      env,
      'MONGO_RETENTION',
      defaultRetentionMs(),
      parseRetention,
      `a duration such as 90d, 12h or 30m (at least 1m, whole seconds, at most ${formatDuration(MAX_TTL_MS)})`,
    ),
    writeConcern: collectionMap(
      env,
      'MONGO_WRITE_CONCERN',
      { ...DEFAULT_WRITE_CONCERN },
      parseAcknowledgement,
      'majority or a member count 1-99',
    ),
  };
}

function elasticConfig(env: Env): ElasticConfig | undefined {
  if (!has(env, 'ELASTIC_URL')) return undefined;
  const nodes = read(env, 'ELASTIC_URL').split(',');
  for (const node of nodes)
    urlVar({ ELASTIC_URL: node.trim() }, 'ELASTIC_URL', ['http:', 'https:']);
  const { login: app, apiKey } = loginOrApiKey(env, 'ELASTIC');
  const admin = credentials(env, 'ELASTIC_ADMIN_USERNAME', 'ELASTIC_ADMIN_PASSWORD');
  if (app && admin && app.user === admin.user) {
    // Bootstrap gives the application user one least-privilege role: never the admin.
    throw new NovaError(
      'CONFIG_INVALID',
      'ELASTIC_USERNAME must not be the administrator (ELASTIC_ADMIN_USERNAME): the service gets its own least-privilege user',
      { field: 'ELASTIC_USERNAME' },
    );
  }
  const kibanaSystemPassword = env.KIBANA_SYSTEM_PASSWORD || undefined;
  // Elasticsearch refuses shorter passwords for the users bootstrap sets them on
  // (Validation.Users.validatePassword: "passwords must be at least [6] characters long").
  for (const [name, password] of [
    ['KIBANA_SYSTEM_PASSWORD', kibanaSystemPassword],
    ['ELASTIC_PASSWORD', app?.password],
  ] as const) {
    if (password !== undefined && password.length < 6) {
      throw new NovaError('CONFIG_INVALID', `${name} must be at least 6 characters`, {
        field: name,
      });
    }
  }
  return {
    url: nodes.map((n) => n.trim()).join(','),
    username: app?.user,
    password: app?.password,
    apiKey,
    admin: admin && { username: admin.user, password: admin.password },
    kibanaSystemPassword,
    caFile: env.ELASTIC_CA_FILE || undefined,
    requestTimeoutMs: read(env, 'ELASTIC_REQUEST_TIMEOUT_MS'),
    maxRetries: read(env, 'ELASTIC_MAX_RETRIES'),
    embeddingDims: read(env, 'ELASTIC_EMBEDDING_DIMS'),
  };
}

/** An HTTP API's base URL without a trailing slash; credentials belong in their own variables. */
function apiBaseUrl(env: Env, name: VariableName, credentialVars: string): string {
  const url = new URL(urlVar(env, name, ['http:', 'https:']));
  if (url.username || url.password) {
    throw new NovaError(
      'CONFIG_INVALID',
      `${name} must not contain credentials: use ${credentialVars}`,
      {
        field: name,
      },
    );
  }
  return url.toString().replace(/\/+$/, '');
}

function embeddingsConfig(env: Env): EmbeddingsConfig | undefined {
  if (!has(env, 'EMBEDDING_URL')) return undefined;
  return {
    url: apiBaseUrl(env, 'EMBEDDING_URL', 'EMBEDDING_API_KEY'),
    model: read(env, 'EMBEDDING_MODEL'),
    apiKey: env.EMBEDDING_API_KEY || undefined,
    dims: read(env, 'ELASTIC_EMBEDDING_DIMS'),
    timeoutMs: read(env, 'EMBEDDING_TIMEOUT_MS'),
  };
}

function kibanaConfig(env: Env): KibanaConfig | undefined {
  if (!has(env, 'KIBANA_URL')) return undefined;
  const { login, apiKey } = loginOrApiKey(env, 'KIBANA');
  return {
    url: apiBaseUrl(env, 'KIBANA_URL', 'KIBANA_USERNAME/KIBANA_PASSWORD or KIBANA_API_KEY'),
    username: login?.user,
    password: login?.password,
    apiKey,
    requestTimeoutMs: read(env, 'KIBANA_REQUEST_TIMEOUT_MS'),
  };
}

function telemetryConfig(env: Env): TelemetryConfig {
  const bufferSize = read(env, 'TELEMETRY_BUFFER_SIZE');
  const batchSize = read(env, 'TELEMETRY_BATCH_SIZE');
  if (batchSize > bufferSize) {
    throw new NovaError(
      'CONFIG_INVALID',
      'TELEMETRY_BATCH_SIZE must not exceed TELEMETRY_BUFFER_SIZE',
      {
        field: 'TELEMETRY_BATCH_SIZE',
      },
    );
  }
  return {
    serviceName: read(env, 'OTEL_SERVICE_NAME'),
    bufferSize,
    batchSize,
    flushIntervalMs: read(env, 'TELEMETRY_FLUSH_INTERVAL_MS'),
    writeTimeoutMs: read(env, 'TELEMETRY_WRITE_TIMEOUT_MS'),
    shutdownTimeoutMs: read(env, 'TELEMETRY_SHUTDOWN_TIMEOUT_MS'),
  };
}

/**
 * NOVA_HTTP_PORT when set, else PORT: the variable most hosting platforms (Cloud Run, Heroku,
 * Render) set for the port they route to. An error names the variable the port came from.
 */
function servicePort(env: Env): number {
  const name = env.NOVA_HTTP_PORT ? 'NOVA_HTTP_PORT' : 'PORT';
  return read(env, name, VARIABLES.NOVA_HTTP_PORT.default);
}

function authCacheConfig(env: Env): ServiceConfig['authCache'] {
  const ttlMs = read(env, 'NOVA_AUTH_CACHE_TTL_MS');
  if (ttlMs === 0) return undefined;
  return {
    ttlMs,
    maxEntries: read(env, 'NOVA_AUTH_CACHE_MAX_ENTRIES'),
  };
}

/** NOVA_TRUST_PROXY: IPv4/IPv6 addresses or CIDRs; anything else is refused, naming it. */
function proxyList(env: Env): string[] {
  const entries = (env.NOVA_TRUST_PROXY ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !validBits || extra !== undefined) {
      throw new NovaError(
        'CONFIG_INVALID',
        `NOVA_TRUST_PROXY is malformed: ${entry} is not an IP address or CIDR`,
        { field: 'NOVA_TRUST_PROXY' },
      );
    }
  }
  return entries;
}

function connectionLimits(env: Env): ConnectionLimits {
  const headersTimeoutMs = read(env, 'NOVA_HTTP_HEADERS_TIMEOUT_MS');
  const requestTimeoutMs = read(env, 'NOVA_HTTP_REQUEST_TIMEOUT_MS');
  // Node refuses a headers timeout longer than the request's (the headers are part of it).
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new NovaError(
      'CONFIG_INVALID',
      'NOVA_HTTP_HEADERS_TIMEOUT_MS must not exceed NOVA_HTTP_REQUEST_TIMEOUT_MS',
      { field: 'NOVA_HTTP_HEADERS_TIMEOUT_MS' },
    );
  }
  return {
    maxConnections: read(env, 'NOVA_HTTP_MAX_CONNECTIONS'),
    headersTimeoutMs,
    requestTimeoutMs,
  };
}

/** Parses the environment. Throws NovaError CONFIG_INVALID naming the first bad variable. */
export function loadConfig(env: Env = process.env): NovaConfig {
  const pgUrl = postgresUrl(env);
  return {
    postgres:
      pgUrl === undefined
        ? undefined
        : {
            url: pgUrl,
            ...(has(env, 'DATABASE_OWNER_URL') && {
              ownerUrl: urlVar(env, 'DATABASE_OWNER_URL', ['postgresql:', 'postgres:']),
            }),
            poolSize: read(env, 'POSTGRES_POOL_SIZE'),
            connectTimeoutMs: read(env, 'POSTGRES_CONNECT_TIMEOUT_MS'),
            retryAttempts: read(env, 'POSTGRES_RETRY_ATTEMPTS'),
          },
    mongo: mongoConfig(env),
    elastic: elasticConfig(env),
    embeddings: embeddingsConfig(env),
    kibana: kibanaConfig(env),
    telemetry: telemetryConfig(env),
    service: {
      host: read(env, 'NOVA_HTTP_HOST'),
      port: servicePort(env),
      healthIntervalMs: read(env, 'NOVA_HEALTH_INTERVAL_MS'),
      shutdownTimeoutMs: read(env, 'NOVA_SHUTDOWN_TIMEOUT_MS'),
      authCache: authCacheConfig(env),
      connections: connectionLimits(env),
      analyticsConcurrency: read(env, 'NOVA_ANALYTICS_CONCURRENCY'),
      trustProxy: proxyList(env),
      clientLimits: {
        requestsPerSecond: read(env, 'NOVA_AUTH_RATE_PER_SECOND'),
        failuresPerMinute: read(env, 'NOVA_AUTH_FAILURES_PER_MINUTE'),
      },
      metricsToken: env.NOVA_METRICS_TOKEN ? read(env, 'NOVA_METRICS_TOKEN') : undefined,
    },
    production: env.NODE_ENV === 'production',
  };
}

/** The PostgreSQL section, or a clear error when none is configured. */
export function requirePostgres(config: NovaConfig): PostgresConfig {
  if (config.postgres) return config.postgres;
  throw new NovaError(
    'CONFIG_INVALID',
    'DATABASE_URL is required (or POSTGRES_HOST, POSTGRES_DB, POSTGRES_USER, POSTGRES_PASSWORD)',
    { field: 'DATABASE_URL' },
  );
}
