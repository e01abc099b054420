/**
 * Reads the committed migrations under prisma/migrations: one folder per migration, applied
 * in name order, each holding migration.sql. The checksum is Prisma Migrate's (SHA-256 hex of
 * the file's bytes), so rows we write to `_prisma_migrations` are rows `prisma migrate status`
 * recognises.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
  /** First line `-- nova:no-transaction`: for statements PostgreSQL refuses inside a transaction. */
  transactional: boolean;
}

/** prisma/migrations of this package, wherever it is installed or built to. */
export const DEFAULT_MIGRATIONS_DIR = resolve(
  fileURLToPath(new URL('.', import.meta.url)),
  '../../../prisma/migrations',
);

export const checksumOf = (sql: string) => createHash('sha256').update(sql, 'utf8').digest('hex');

export function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  if (!existsSync(dir)) throw new Error(`migrations folder not found: ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return {
        name,
        sql,
        checksum: checksumOf(sql),
        transactional: !/^--\s*nova:no-transaction\b/.test(sql),
      };
    });
}
