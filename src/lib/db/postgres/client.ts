/**
 * The Prisma client factory: Prisma 7's query compiler (WASM, no Rust engine) over a `pg`
 * pool through @prisma/adapter-pg. One client per process is kept by PostgresStore.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import type { PostgresConfig } from '../../../config.js';
import { PrismaClient } from '../../../generated/prisma/client.js';

/** Columns no read returns unless it asks for them by name (`omit: { passwordHash: false }`). */
const OMIT_BY_DEFAULT = { user: { passwordHash: true } } as const;

export function createPrismaClient(config: PostgresConfig) {
  const adapter = new PrismaPg({
    connectionString: config.url,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectTimeoutMs,
    application_name: 'nova',
  });
  return new PrismaClient({ adapter, omit: OMIT_BY_DEFAULT });
}

export type Db = ReturnType<typeof createPrismaClient>;
/** The client handed to `$transaction(async (tx) => ...)` callbacks. */
export type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];
