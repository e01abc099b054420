/**
 * `nova bootstrap postgres` step 1: apply committed migrations, offline.
 *
 * Why not `prisma migrate deploy`: Prisma 7's CLI needs a native schema engine that it
 * downloads from Prisma's CDN, which machines reaching only the npm registry cannot fetch
 * (see shared/ENVIRONMENT.md). This runner applies the same files and keeps the same
 * `_prisma_migrations` table (same DDL, same checksums, same lock), so on a connected
 * machine `prisma migrate status` and `prisma migrate deploy` agree with what it applied.
 *
 * Differences from Prisma, on purpose:
 * - each migration runs in one transaction with its bookkeeping row, so a failing migration
 *   leaves nothing behind (opt out per file with a first line `-- nova:no-transaction`);
 * - a migration edited after it was applied is an error, not a warning.
 */
import pg from 'pg';
import { NovaError } from '../../lib/errors.js';
import { type MigrationFile, readMigrations } from './migrations.js';

/** Prisma Migrate's advisory lock key: we and `prisma migrate` never run at the same time. */
const PRISMA_ADVISORY_LOCK = 72707369;

/** Prisma Migrate's own table definition. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Applied, but the file changed since. */
  modified: string[];
  /** Started and never finished (a failed no-transaction migration). */
  failed: string[];
  /** In the database but not in prisma/migrations (the database is ahead of this code). */
  unknown: string[];
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

async function readApplied(client: pg.Client): Promise<AppliedRow[]> {
  const exists = await client.query<{ t: string | null }>(
    `SELECT to_regclass('"_prisma_migrations"') AS t`,
  );
  if (!exists.rows[0]?.t) return [];
  const result = await client.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at
       FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
  return result.rows;
}

function compare(files: MigrationFile[], rows: AppliedRow[]): MigrationStatus {
  const byName = new Map(rows.map((row) => [row.migration_name, row]));
  const names = new Set(files.map((f) => f.name));
  const status: MigrationStatus = {
    applied: [],
    pending: [],
    modified: [],
    failed: [],
    unknown: [],
  };
  for (const file of files) {
    const row = byName.get(file.name);
    if (!row) status.pending.push(file.name);
    else if (!row.finished_at) status.failed.push(file.name);
    else if (row.checksum !== file.checksum) status.modified.push(file.name);
    else status.applied.push(file.name);
  }
  status.unknown = rows.map((r) => r.migration_name).filter((name) => !names.has(name));
  return status;
}

export async function withClient<T>(
  url: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'nova-migrate' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function migrationStatus(url: string, dir?: string): Promise<MigrationStatus> {
  const files = readMigrations(dir);
  return withClient(url, async (client) => compare(files, await readApplied(client)));
}

async function applyOne(client: pg.Client, file: MigrationFile): Promise<void> {
  const id = crypto.randomUUID();
  const record = `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
                  VALUES ($1, $2, $3, now(), 0)`;
  const finish = `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`;
  if (file.transactional) {
    await client.query('BEGIN');
    try {
      await client.query(record, [id, file.checksum, file.name]);
      await client.query(file.sql);
      await client.query(finish, [id]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
    return;
  }
  // Outside a transaction a failure can leave partial changes: record it as Prisma does
  // (finished_at NULL, logs set) so status reports it and a human resolves it.
  await client.query(record, [id, file.checksum, file.name]);
  try {
    await client.query(file.sql);
  } catch (error) {
    await client.query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [
      id,
      String(error),
    ]);
    throw error;
  }
  await client.query(finish, [id]);
}

function describe(error: unknown): string {
  const e = error as { message?: string; position?: string; code?: string };
  return [
    e.message ?? String(error),
    e.code ? `SQLSTATE ${e.code}` : '',
    e.position ? `at character ${e.position}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** Migrations as a role that may not create tables: the application role, most likely. */
function notTheOwner(cause: unknown): NovaError {
  return new NovaError(
    'CONFIG_INVALID',
    'the login may not create tables in schema public: migrations run as the schema owner; set DATABASE_OWNER_URL to its login (DATABASE_URL stays the application role)',
    { field: 'DATABASE_OWNER_URL', cause },
  );
}

/** Applies every pending migration in order. Idempotent: a second run applies nothing. */
export async function migrate(url: string, dir?: string): Promise<MigrateResult> {
  const files = readMigrations(dir);
  return withClient(url, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE).catch((error: unknown) => {
        throw (error as { code?: string }).code === '42501' ? notTheOwner(error) : error;
      });
      const status = compare(files, await readApplied(client));
      const blocking = status.failed[0] ?? status.modified[0];
      if (blocking) {
        const why = status.failed.includes(blocking)
          ? 'started but never finished; fix the database, then mark it with `prisma migrate resolve`'
          : 'was edited after it was applied; restore the file and add a new migration instead';
        throw new NovaError('MIGRATION_FAILED', `migration ${blocking} ${why}`, {
          field: blocking,
        });
      }
      const applied: string[] = [];
      for (const file of files.filter((f) => status.pending.includes(f.name))) {
        try {
          await applyOne(client, file);
        } catch (error) {
          throw new NovaError(
            'MIGRATION_FAILED',
            `migration ${file.name} failed: ${describe(error)}`,
            {
              field: file.name,
              cause: error,
            },
          );
        }
        applied.push(file.name);
      }
      return { applied, alreadyApplied: status.applied.length };
    } finally {
      // An unlock failure needs no handling: the lock ends with the session, closed next.
      await client
        .query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK])
        .catch(() => undefined);
    }
  });
}
