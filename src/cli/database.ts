/**
 * Which PostgreSQL a command talks to: the configured one (DATABASE_URL or POSTGRES_*), or,
 * for commands that allow it, the embedded one under .nova/postgres (started on demand).
 */
import { resolve } from 'node:path';
import { appRoleOf } from '../bootstrap/postgres/app-role.js';
import { seedDemoData } from '../bootstrap/postgres/demo.js';
import { bootstrapPostgres } from '../bootstrap/postgres/index.js';
import { loadConfig, type NovaConfig, requirePostgres } from '../config.js';
import { createNovaDb, type NovaDb } from '../lib/db/index.js';
import { PostgresStore } from '../lib/db/postgres.js';

export const DEFAULT_EMBEDDED_ROOT = resolve('.nova/postgres');

export interface Session {
  /** novaDb, logged in as the application role (url). */
  db: NovaDb;
  url: string;
  /** The schema owner's login, for the bootstrap; the same as url when none is configured. */
  ownerUrl: string;
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
    return {
      db,
      url: pg.url,
      ownerUrl: pg.ownerUrl ?? pg.url,
      embedded: false,
      close: () => db.close(),
    };
  }
  // Loaded on demand: only `nova local` without configuration needs the embedded server.
  const { embeddedRootFor, startEmbeddedPostgres } = await import(
    '../bootstrap/postgres/embedded.js'
  );
  const root = embeddedRootFor(embeddedRoot);
  const server = await startEmbeddedPostgres({ root });
  const url = server.appUrlFor('postgres');
  const db = createNovaDb({ ...config, postgres: { ...EMBEDDED_POOL, url } });
  return {
    db,
    url,
    ownerUrl: server.urlFor('postgres'),
    embedded: true,
    dataDir: root,
    close: async () => {
      await db.close();
      await server.stop();
    },
  };
}

const EMBEDDED_POOL = { poolSize: 10, connectTimeoutMs: 5000, retryAttempts: 4 };
/** The owner's connections: the bootstrap's seed, one transaction at a time. */
const OWNER_POOL = { poolSize: 2, connectTimeoutMs: 5000, retryAttempts: 4 };

/**
 * `nova bootstrap postgres` on the session's database, as its owner: with a separate owner
 * login, the application role (the session's) is set up too.
 */
export async function bootstrapSession(session: Session, options: { dryRun?: boolean } = {}) {
  const appRole = appRoleOf(session.url, session.ownerUrl);
  if (appRole === undefined) {
    return bootstrapPostgres(session.url, session.db.postgres, options);
  }
  const owner = new PostgresStore({ ...OWNER_POOL, url: session.ownerUrl });
  try {
    return await bootstrapPostgres(session.ownerUrl, owner, { ...options, appRole });
  } finally {
    await owner.close();
  }
}

/**
 * Migrations and base data, then the demo data: always into the embedded database, into a
 * configured one only when asked (a DATABASE_URL may well be a real one).
 */
export async function prepareDatabase(session: Session, { demo = false } = {}) {
  const report = await bootstrapSession(session);
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
