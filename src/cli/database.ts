/**
 * Which PostgreSQL a command talks to: the configured one (DATABASE_URL or POSTGRES_*), or,
 * for commands that allow it, the embedded one under .nova/postgres (started on demand).
 */
import { resolve } from 'node:path';
import { loadConfig, type NovaConfig, requirePostgres } from '../config.js';
import { createNovaDb, type NovaDb } from '../lib/db/index.js';

export const DEFAULT_EMBEDDED_ROOT = resolve('.nova/postgres');

export interface Session {
  db: NovaDb;
  url: string;
  /** True when this process started an embedded PostgreSQL. */
  embedded: boolean;
  /** Where the embedded server keeps its data (embedded sessions only). */
  dataDir?: string;
  close(): Promise<void>;
}

export async function openSession({
  allowEmbedded = false,
  embeddedRoot = DEFAULT_EMBEDDED_ROOT,
} = {}): Promise<Session> {
  const config: NovaConfig = loadConfig();
  if (config.postgres || !allowEmbedded) {
    const pg = requirePostgres(config);
    const db = createNovaDb(config);
    return { db, url: pg.url, embedded: false, close: () => db.close() };
  }
  // Loaded on demand: only `nova local` without configuration needs the embedded server.
  const { embeddedRootFor, startEmbeddedPostgres } = await import(
    '../bootstrap/postgres/embedded.js'
  );
  const root = embeddedRootFor(embeddedRoot);
  const server = await startEmbeddedPostgres({ root });
  const url = server.urlFor('postgres');
  const db = createNovaDb({
    ...config,
    postgres: { url, poolSize: 10, connectTimeoutMs: 5000, retryAttempts: 4 },
  });
  return {
    db,
    url,
    embedded: true,
    dataDir: root,
    close: async () => {
      await db.close();
      await server.stop();
    },
  };
}
