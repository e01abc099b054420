/** What the benchmarks share: a throwaway PostgreSQL database and the median of rounds. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/bootstrap/postgres/embedded.js';

/**
 * An embedded PostgreSQL unless DATABASE_URL is set, in which case a nova_bench_* database is
 * created on that server and dropped afterwards.
 */
export async function benchDatabase(): Promise<{ url: string; cleanup: () => Promise<void> }> {
  const name = `nova_bench_${Date.now().toString(36)}`;
  if (process.env.DATABASE_URL) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      cleanup: async () => {
        await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
        await admin.end();
      },
    };
  }
  const root = mkdtempSync(join(tmpdir(), 'nova-bench-'));
  const server = await startEmbeddedPostgres({ root, ephemeral: true });
  return {
    url: server.url,
    cleanup: async () => {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
