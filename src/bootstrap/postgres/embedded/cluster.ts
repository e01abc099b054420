/**
 * The embedded PostgreSQL's two processes: `initdb` once per data folder, then `postgres`.
 *
 * Both run as the server user (see server-user.ts) with a minimal environment: none of our
 * secrets (ELASTIC_PASSWORD …) reach a process of another user's. initdb writes into a
 * staging folder renamed to `data` when it succeeds, so `data` is a whole cluster or absent,
 * and its password file lives in the server's private folder (mode 0600 from creation) for
 * that one run only; leftovers of an interrupted run are removed by the next.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { NovaError } from '../../../lib/errors.js';
import { writePrivateFile } from '../../../lib/private-path.js';
import type { ServerUser } from './server-user.js';

export interface ClusterProcessOptions {
  /** The platform package's `native` folder (bin/, lib/, share/), runnable by `user`. */
  native: string;
  user: ServerUser;
  /** Receives every line either program prints. */
  onLine: (line: string) => void;
}

/** PostgreSQL's login role; also the only role of a fresh cluster. */
export const SUPERUSER = 'postgres';
/** The login the service uses; created by the bootstrap (app-role.ts), never a superuser. */
export const APP_ROLE = 'nova_app';
const READY = 'database system is ready to accept connections';
const STOP_GRACE_MS = 15_000;

function spawnAs(
  program: 'initdb' | 'postgres',
  args: string[],
  { native, user, onLine }: ClusterProcessOptions,
  cwd: string,
): { child: ChildProcess; lastLines: () => string } {
  const child = spawn(join(native, 'bin', program), args, {
    cwd,
    // The server in a session of its own: Ctrl-C reaches the service alone, which stops the
    // server last, after its own orderly stop (which may still write to it). The exit hooks
    // below stop it whenever this process ends otherwise.
    detached: program === 'postgres',
    stdio: ['ignore', 'pipe', 'pipe'],
    // Messages in English (readiness is read from them), and nothing else of ours.
    env: { LC_ALL: 'C', PATH: '/usr/local/bin:/usr/bin:/bin' },
    ...(user.dropsPrivileges ? { uid: user.uid, gid: user.gid } : {}),
  });
  const recent: string[] = [];
  const remember = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      onLine(line);
      recent.push(line.trim().slice(0, 300));
      if (recent.length > 3) recent.shift();
    }
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  return { child, lastLines: () => recent.join(' | ') };
}

/** Why a program could not even start, with the fix. */
function spawnFailure(program: string, native: string, error: NodeJS.ErrnoException) {
  const where = join(native, 'bin', program);
  const fix =
    error.code === 'EACCES'
      ? 'the server user cannot run it: reinstall (npm ci) or run as a non-root user'
      : 'reinstall (npm ci), which installs the PostgreSQL programs for this platform';
  return new NovaError('UNAVAILABLE', `could not run ${where} (${error.code}): ${fix}`, {
    cause: error,
  });
}

/** Creates a cluster in `dataDir` (absent), owned by the server user, with this password. */
export async function initCluster(
  options: ClusterProcessOptions & { root: string; dataDir: string; password: string },
): Promise<void> {
  const { root, dataDir, password, user } = options;
  const staging = `${dataDir}.initdb`;
  const passwordFile = join(root, '.initdb-password');
  rmSync(staging, { recursive: true, force: true });
  rmSync(passwordFile, { force: true });
  installExitHooks();
  leftovers.add(passwordFile);
  writePrivateFile(passwordFile, `${password}\n`, user.dropsPrivileges ? user : undefined);
  try {
    const { child, lastLines } = spawnAs(
      'initdb',
      [
        `--pgdata=${staging}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      options,
      root,
    );
    track(child);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (error) => reject(spawnFailure('initdb', options.native, error)));
      child.once('close', resolve);
    });
    if (code !== 0) {
      throw new NovaError('UNAVAILABLE', `initdb failed (exit ${code}): ${lastLines()}`);
    }
  } finally {
    rmSync(passwordFile, { force: true });
    leftovers.delete(passwordFile);
  }
  renameSync(staging, dataDir);
}

export interface RunningCluster {
  /** Fast shutdown (SIGINT), then immediate (SIGQUIT) past a grace period. */
  stop(): Promise<void>;
}

// Programs still running when this process ends (process.exit, an uncaught exception, a
// signal nobody handles) are told to stop rather than left behind, and files registered for
// removal (initdb's password file) are removed; an orderly stop has done both already.
const running = new Set<ChildProcess>();
const leftovers = new Set<string>();
const stopAll = () => {
  for (const child of running) child.kill('SIGINT');
  for (const file of leftovers) rmSync(file, { force: true });
};
let hooksInstalled = false;
function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', stopAll);
  // A signal the program handles (nova serve's orderly stop) is left to it. Otherwise the
  // servers are stopped and the signal raised again, now with Node's default action (the
  // process ends as it would have, with the status a signal gives).
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      if (process.listenerCount(name) > 1) return;
      stopAll();
      process.off(name, onSignal);
      process.kill(process.pid, name);
      // As PID 1 (a container without an init) the default action does nothing.
      process.exit(128 + constants.signals[name]);
    };
    process.on(name, onSignal);
  }
}
function track(child: ChildProcess) {
  installExitHooks();
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** Starts `postgres` on 127.0.0.1:`port` (TCP only: no Unix socket in a shared folder). */
export async function startCluster(
  options: ClusterProcessOptions & { dataDir: string; port: number; timeoutMs?: number },
): Promise<RunningCluster> {
  const { dataDir, port, timeoutMs = 60_000 } = options;
  const { child, lastLines } = spawnAs(
    'postgres',
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
    ],
    options,
    dataDir,
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  track(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGQUIT');
      reject(new NovaError('UNAVAILABLE', `PostgreSQL did not start in ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    child.stderr?.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes(READY)) settle();
    });
    child.once('error', (error) => settle(spawnFailure('postgres', options.native, error)));
    child.once('exit', (code) =>
      settle(
        new NovaError(
          'UNAVAILABLE',
          `PostgreSQL in ${dataDir} exited at start (code ${code}; is another nova process using it?)${lastLines() ? `: ${lastLines()}` : ''}`,
        ),
      ),
    );
  });
  return {
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGQUIT'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
