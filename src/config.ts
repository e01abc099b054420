/**
 * Environment -> typed, validated configuration, parsed once at the edge (the CLI, the
 * service, tests). Library code receives a `NovaConfig` and never reads process.env.
 *
 * Variable names are the design document's. A missing or malformed value fails with one
 * NovaError (code CONFIG_INVALID) naming the variable; values are never echoed, since several
 * are secrets.
 */
import { z } from 'zod';
import { NovaError } from './lib/errors.js';

export interface PostgresConfig {
  /** Full connection string; built from POSTGRES_* when DATABASE_URL is unset. */
  url: string;
  /** Connections in the pool (POSTGRES_POOL_SIZE, default 10). */
  poolSize: number;
  /** Milliseconds to wait for a connection (POSTGRES_CONNECT_TIMEOUT_MS, default 5000). */
  connectTimeoutMs: number;
  /** Attempts for an operation that failed on a transient connection error (default 4). */
  retryAttempts: number;
}

export interface MongoConfig {
  url: string;
  dbName: string;
  user: string | undefined;
  password: string | undefined;
}

export interface ElasticConfig {
  url: string;
  username: string | undefined;
  password: string | undefined;
}

export interface NovaConfig {
  /** undefined when no PostgreSQL is configured: the CLI then offers the embedded one. */
  postgres: PostgresConfig | undefined;
  mongo: MongoConfig | undefined;
  elastic: ElasticConfig | undefined;
}

type Env = Record<string, string | undefined>;

const nonEmpty = z.string().trim().min(1);
const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);

function read<T>(env: Env, name: string, schema: z.ZodType<T>, fallback?: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new NovaError('CONFIG_INVALID', `${name} is required`, { field: name });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const reason = parsed.error.issues[0]?.message ?? 'invalid value';
    throw new NovaError('CONFIG_INVALID', `${name} is malformed: ${reason}`, { field: name });
  }
  return parsed.data;
}

function urlVar(env: Env, name: string, protocols: readonly string[]): string {
  const value = read(env, name, nonEmpty);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new NovaError('CONFIG_INVALID', `${name} is not a valid URL`, { field: name });
  }
  if (!protocols.includes(url.protocol)) {
    throw new NovaError('CONFIG_INVALID', `${name} must start with ${protocols.join(' or ')}//`, {
      field: name,
    });
  }
  if (!url.hostname) {
    throw new NovaError('CONFIG_INVALID', `${name} must name a host`, { field: name });
  }
  return value;
}

/** A host name or IP literal; the URL setter silently ignores invalid ones, so check first. */
function hostVar(env: Env, name: string): string {
  const value = read(env, name, nonEmpty);
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
  url.port = String(read(env, 'POSTGRES_PORT', port, 5432));
  url.pathname = `/${encodeURIComponent(read(env, 'POSTGRES_DB', nonEmpty))}`;
  url.username = encodeURIComponent(read(env, 'POSTGRES_USER', nonEmpty));
  url.password = encodeURIComponent(read(env, 'POSTGRES_PASSWORD', nonEmpty));
  return url.toString();
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
            poolSize: read(env, 'POSTGRES_POOL_SIZE', positiveInt(500), 10),
            connectTimeoutMs: read(env, 'POSTGRES_CONNECT_TIMEOUT_MS', positiveInt(600_000), 5000),
            retryAttempts: read(env, 'POSTGRES_RETRY_ATTEMPTS', positiveInt(20), 4),
          },
    mongo: has(env, 'MONGO_URL')
      ? {
          url: urlVar(env, 'MONGO_URL', ['mongodb:', 'mongodb+srv:']),
          dbName: read(env, 'MONGO_DB_NAME', nonEmpty, 'nova_logs'),
          user: env.MONGO_USER || undefined,
          password: env.MONGO_PASSWORD || undefined,
        }
      : undefined,
    elastic: has(env, 'ELASTIC_URL')
      ? {
          url: urlVar(env, 'ELASTIC_URL', ['http:', 'https:']),
          username: env.ELASTIC_USERNAME || undefined,
          password: env.ELASTIC_PASSWORD || undefined,
        }
      : undefined,
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
