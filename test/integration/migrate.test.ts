/**
 * The offline migration runner against real PostgreSQL: Prisma-compatible bookkeeping,
 * idempotency, atomic failure, concurrency, edited-migration detection, and schema drift.
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate, migrationStatus } from '../../src/bootstrap/postgres/migrate.js';
import {
  checksumOf,
  DEFAULT_MIGRATIONS_DIR,
  readMigrations,
} from '../../src/bootstrap/postgres/migrations.js';
import { createEmptyDatabase, useTestDatabase } from '../support/database.js';

const emptyDatabase = createEmptyDatabase;
async function query<T extends pg.QueryResultRow>(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}
/** A copy of the committed migrations plus extra ones, in a temp folder. */
function migrationsWith(extra: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'nova-migrations-'));
  cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

describe('migrate', () => {
  it('applies every migration once and records it the way Prisma Migrate does', async () => {
    const url = await emptyDatabase();
    const files = readMigrations();
    expect(await migrate(url)).toEqual({ applied: files.map((f) => f.name), alreadyApplied: 0 });
    expect(await migrate(url)).toEqual({ applied: [], alreadyApplied: files.length });
    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date;
      applied_steps_count: number;
      logs: null;
    }>(
      url,
      'SELECT migration_name, checksum, finished_at, applied_steps_count, logs FROM _prisma_migrations ORDER BY started_at',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
    for (const [i, row] of rows.entries()) {
      expect(row.checksum).toBe(files[i]?.checksum);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it('runs concurrent invocations one at a time (advisory lock): each migration applied once', async () => {
    const url = await emptyDatabase();
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, readMigrations().length]);
    const [row] = await query<{ n: string }>(url, 'SELECT count(*) AS n FROM _prisma_migrations');
    expect(Number(row?.n)).toBe(readMigrations().length);
  });

  it('rolls a failing migration back completely, bookkeeping included, and names it', async () => {
    const url = await emptyDatabase();
    const dir = migrationsWith({
      '29990101000000_broken': 'CREATE TABLE half_done (id INT);\nSELECT * FROM no_such_table;\n',
    });
    const error = await migrate(url, dir).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', field: '29990101000000_broken' });
    expect(String((error as Error).message)).toMatch(/no_such_table/);
    const [table] = await query<{ t: string | null }>(url, `SELECT to_regclass('half_done') AS t`);
    expect(table?.t).toBeNull();
    const status = await migrationStatus(url, dir);
    expect(status.pending).toEqual(['29990101000000_broken']);
    expect(status.applied).toEqual(readMigrations().map((m) => m.name));
  });

  it('refuses to continue when an applied migration was edited', async () => {
    const url = await emptyDatabase();
    const dir = migrationsWith({ '29990101000000_extra': 'CREATE TABLE extra_one (id INT);\n' });
    await migrate(url, dir);
    writeFileSync(
      join(dir, '29990101000000_extra', 'migration.sql'),
      'CREATE TABLE extra_two (id INT);\n',
    );
    expect((await migrationStatus(url, dir)).modified).toEqual(['29990101000000_extra']);
    await expect(migrate(url, dir)).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
      field: '29990101000000_extra',
    });
  });

  it('records a failed no-transaction migration as Prisma does (unfinished, with logs)', async () => {
    const url = await emptyDatabase();
    const dir = migrationsWith({
      '29990101000000_concurrently': '-- nova:no-transaction\nSELECT * FROM no_such_table;\n',
    });
    await expect(migrate(url, dir)).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    expect((await migrationStatus(url, dir)).failed).toEqual(['29990101000000_concurrently']);
    await expect(migrate(url, dir)).rejects.toThrow(/never finished/);
  });

  it('uses Prisma Migrate checksums (SHA-256 hex of the file)', () => {
    expect(checksumOf('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(checksumOf('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

const t = await useTestDatabase({ seed: false });

describe('schema drift', () => {
  it('has a table and column for every model and scalar field of the generated client', async () => {
    const model = (
      t.db.postgres.prisma as unknown as {
        _runtimeDataModel: {
          models: Record<
            string,
            {
              dbName: string | null;
              fields: Array<{ name: string; kind: string; dbName?: string | null }>;
            }
          >;
        };
      }
    )._runtimeDataModel;
    const columns = await t.sql<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const have = new Set(columns.map((c) => `${c.table_name}.${c.column_name}`));
    const missing: string[] = [];
    for (const [name, m] of Object.entries(model.models)) {
      for (const field of m.fields.filter((f) => f.kind !== 'object')) {
        const key = `${m.dbName ?? name}.${field.dbName ?? field.name}`;
        if (!have.has(key)) missing.push(key);
      }
    }
    expect(Object.keys(model.models).length).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });
});
