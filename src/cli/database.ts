/**
 * Which PostgreSQL a command talks to: the configured one (DATABASE_URL or POSTGRES_*), or,
 * for commands that allow it, the embedded one under .nova/postgres (started on demand).
 */
import { resolve } from 'node:path';
import { type NovaConfig, loadConfig, requirePostgres } from '../config.js';
import { startEmbeddedPostgres } from '../bootstrap/postgres/embedded.js';
import { type NovaDb, createNovaDb } from '../lib/db/index.js';

export const DEFAULT_EMBEDDED_ROOT = resolve('.nova/postgres');

export interface Session {
  db: NovaDb;
  url: string;
  /** True when this process started an embedded PostgreSQL. */
  embedded: boolean;
  close(): Promise<void>;
}

export async function openSession({ allowEmbedded = false, embeddedRoot = DEFAULT_EMBEDDED_ROOT } = {}): Promise<Session> {
  const config: NovaConfig = loadConfig();
  if (config.postgres || !allowEmbedded) {
    const pg = requirePostgres(config);
    const db = createNovaDb(config);
    return { db, url: pg.url, embedded: false, close: () => db.close() };
  }
  const server = await startEmbeddedPostgres({ root: embeddedRoot });
  const url = server.urlFor('postgres');
  const db = createNovaDb({
    ...config,
    postgres: { url, poolSize: 10, connectTimeoutMs: 5000, retryAttempts: 4 },
  });
  return {
    db,
    url,
    embedded: true,
    close: async () => {
      await db.close();
      await server.stop();
    },
  };
}
