/**
 * The benchmarks' service processes: `nova serve` from dist/ (or any server) in a process of
 * its own on 127.0.0.1, stopped with SIGTERM, and an admin's API token in the bench database.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '../src/bootstrap/postgres/embedded.js';
import { loadConfig } from '../src/config.js';
import { createNovaDb } from '../src/lib/db/index.js';

/** A server process listening on 127.0.0.1:`port`, stopped with SIGTERM. */
export function running(child: ChildProcess, port: number | string) {
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    /** CPU time the process has used so far (all its threads), in ms; undefined off Linux. */
    cpuMs: () => processCpuMs(child.pid),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * user + system time of a process, in ms, from /proc (clock ticks of 10 ms, as Linux reports
 * them to user space): undefined where there is no /proc.
 */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * The Node options `npm start` (and the image) run the service with, e.g.
 * --min-semi-space-size=8 --max-semi-space-size=8 --no-allocation-site-pretenuring: read from
 * package.json, so the benchmarks measure what ships.
 */
export const SERVICE_NODE_OPTIONS: string[] = (() => {
  const { scripts } = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  ) as { scripts: Record<string, string> };
  const flags = /\bnode\s+((?:--[\w-]+(?:=\S+)?\s+)*)--import\b/.exec(scripts.start ?? '')?.[1];
  return flags?.trim().split(/\s+/).filter(Boolean) ?? [];
})();

/** `nova serve` from dist/, until `stop()`; resolves once it serves. */
export async function serve(env: Record<string, string>, preload: boolean) {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...SERVICE_NODE_OPTIONS,
      ...(preload ? ['--import', './dist/telemetry/register.js'] : []),
      'dist/cli.js',
      'serve',
    ],
    {
      env: { ...process.env, ...env, NOVA_HTTP_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 60_000;
  while (!stderr.includes('serving on')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`nova serve did not start:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return running(child, port);
}

/** A token for a user holding health:details (the admin role), made in the bench database. */
export async function detailsToken(url: string): Promise<string> {
  const db = createNovaDb({
    ...loadConfig({}),
    postgres: { url, poolSize: 2, connectTimeoutMs: 5000, retryAttempts: 2 },
  });
  try {
    const user = await db.createUser({
      email: 'bench@example.com',
      firstName: 'Bench',
      lastName: 'Mark',
    });
    await db.postgres.assignRole(user.id, 'admin');
    return (await db.postgres.createApiToken(user.id, { name: 'bench' })).token;
  } finally {
    await db.close();
  }
}
