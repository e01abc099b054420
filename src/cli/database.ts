/**
 * Which PostgreSQL a command talks to: the configured one (DATABASE_URL or POSTGRES_*), or,
 * for commands that allow it, the embedded one under .nova/postgres (started on demand).
 */
import { resolve } from 'node:path';
import { seedDemoData } from '../bootstrap/postgres/demo.js';
import { bootstrapPostgres } from '../bootstrap/postgres/index.js';
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
  if (config.postgres || !allowEmbedded || config.production) {
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

/**
 * Migrations and base data, then the demo data: always into the embedded database, into a
 * configured one only when asked (a DATABASE_URL may well be a real one).
 */
export async function prepareDatabase(session: Session, { demo = false } = {}) {
  const report = await bootstrapPostgres(session.url, session.db.postgres);
  const wantDemo = session.embedded || demo;
  const demoCreated = wantDemo ? await seedDemoData(session.db.postgres) : false;
  return { report, wantDemo, demoCreated };
}

/** `PostgreSQL: <url, password masked> (embedded, data in <folder>)`. */
export const databaseLine = (session: Session) =>
  `PostgreSQL: ${redactUrl(session.url)}${session.embedded ? ` (embedded, data in ${session.dataDir})` : ''}`;

/** The URL with its password (in the userinfo or a ?password= parameter) masked. */
export function redactUrl(raw: string): string {
  const url = URL.parse(raw); // null rather than a throw (Node 22+)
  if (!url) return '<unparseable URL>';
  if (url.password) url.password = '***';
  if (url.searchParams.has('password')) url.searchParams.set('password', '***');
  return url.toString().replace('%2A%2A%2A', '***');
}
