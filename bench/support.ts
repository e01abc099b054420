/**
 * What the benchmarks share: a throwaway PostgreSQL database, the median of rounds, and the
 * line that says what ran them.
 */
import { availableParallelism, cpus } from 'node:os';
import pg from 'pg';
import {
  startEmbeddedPostgres,
  temporaryEmbeddedRoot,
} from '../src/bootstrap/postgres/embedded.js';

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
  const { root, remove } = temporaryEmbeddedRoot('nova-bench-');
  const server = await startEmbeddedPostgres({ root, ephemeral: true });
  return {
    url: server.url,
    cleanup: async () => {
      await server.stop();
      remove();
    },
  };
}

export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * The runtime and machine behind a benchmark's figures, first in every header: figures from
 * another Node (V8) or CPU are not comparable. E.g.
 * `Node 24.22.3 (V8 13.6.233.17-node.63), linux-x64, 2 cores, AMD EPYC 7763 64-Core Processor`.
 */
export function runtimeLine(): string {
  const model = cpus()[0]?.model.trim() || 'unknown CPU';
  return `Node ${process.versions.node} (V8 ${process.versions.v8}), ${process.platform}-${process.arch}, ${availableParallelism()} cores, ${model}`;
}
