/**
 * A private, migrated database per test file, cloned from the template the global setup
 * built, with a NovaDb on it. Dropped in afterAll.
 */
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { bootstrapPostgres } from '../../src/bootstrap/postgres/index.js';
import { loadConfig, type NovaConfig } from '../../src/config.js';
import { createNovaDb, type NovaDb } from '../../src/lib/db/index.js';
import { createPool } from '../../src/lib/db/postgres/client.js';
import { databaseUrl, loginUrl } from './global-setup.js';

export interface TestDatabase {
  /** The application role's URL: what `db` logs in with, as the service would. */
  url: string;
  /** The owner's (a superuser here): migrations, bootstrap, and `sql`. */
  ownerUrl: string;
  name: string;
  db: NovaDb;
  /** Raw SQL on the same database, for assertions the API does not expose (row counts). */
  sql<T extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ): Promise<T[]>;
  count(table: string): Promise<number>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export function testConfig(
  url: string,
  overrides: Partial<NonNullable<NovaConfig['postgres']>> = {},
): NovaConfig {
  return {
    ...loadConfig({}),
    postgres: { url, poolSize: 5, connectTimeoutMs: 2000, retryAttempts: 3, ...overrides },
  };
}

/** An empty database (no migrations), dropped after the file. Returns its URL. */
export async function createEmptyDatabase(): Promise<string> {
  const name = `nova_test_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  afterAll(() => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  return databaseUrl(inject('pgAdminUrl'), name);
}

/** Creates the database now (call at module level with top-level await) and drops it after the file. */
export async function useTestDatabase({ seed = true } = {}): Promise<TestDatabase> {
  const name = `nova_test_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`));
  const ownerUrl = databaseUrl(inject('pgAdminUrl'), name);
  const url = loginUrl(ownerUrl, inject('pgAppLogin'));
  const db = createNovaDb(testConfig(url), { retryBaseDelayMs: 5 });
  // Migrations as the owner (none left: the template has them), the seed through novaDb.
  if (seed) await bootstrapPostgres(ownerUrl, db.postgres);
  // The owner's: assertions and set-ups beyond what the application role may do.
  const pool = createPool({
    url: ownerUrl,
    poolSize: 2,
    connectTimeoutMs: 2000,
    retryAttempts: 1,
  });
  afterAll(async () => {
    await db.close();
    await pool.end();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  const sql = async <T extends pg.QueryResultRow>(text: string, params?: unknown[]) =>
    (await pool.query<T>(text, params)).rows;
  const count = async (table: string) =>
    Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`))[0]?.n ?? 0);
  return { url, ownerUrl, name, db, sql, count };
}

/** Row counts of every table a write may touch: compared before and after a failing call. */
export async function snapshotCounts(t: TestDatabase) {
  const tables = [
    'users',
    'roles',
    'permissions',
    'user_roles',
    'role_permissions',
    'passkeys',
    'support_tickets',
    'knowledge_base_articles',
    'system_config',
    'audit_logs',
    'search_outbox',
  ];
  const counts: Record<string, number> = {};
  for (const table of tables) counts[table] = await t.count(table);
  return counts;
}

let sequence = 0;
/** A unique, valid email per call. */
export const uniqueEmail = (prefix = 'user') =>
  `${prefix}.${Date.now().toString(36)}.${++sequence}@example.com`;
