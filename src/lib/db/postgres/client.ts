/**
 * The connection pool and the Prisma client on top of it. One `pg` pool per process
 * (POSTGRES_POOL_SIZE connections) serves both Prisma (through @prisma/adapter-pg, Prisma 7's
 * query compiler, no Rust engine) and the plain-SQL write path in ./sql.ts.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { PostgresConfig } from '../../../config.js';
import { PrismaClient } from '../../../generated/prisma/client.js';

/** Columns no read returns unless it asks for them by name (`omit: { passwordHash: false }`). */
const OMIT_BY_DEFAULT = { user: { passwordHash: true } } as const;

export function createPool(config: PostgresConfig): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectTimeoutMs,
    application_name: 'nova',
  });
  // An idle connection the server dropped emits 'error' on the pool; without a listener that
  // would crash the process. The next checkout simply opens a new connection.
  pool.on('error', () => undefined);
  return pool;
}

export function createPrismaClient(pool: pg.Pool) {
  return new PrismaClient({ adapter: new PrismaPg(pool), omit: OMIT_BY_DEFAULT });
}

export type Db = ReturnType<typeof createPrismaClient>;
/** The client handed to `$transaction(async (tx) => ...)` callbacks. */
export type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];
