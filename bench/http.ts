/**
 * `npm run bench:http`: the service's HTTP overhead, measured side by side in one run.
 *
 * Three servers, each in its own process, on the same PostgreSQL:
 *   - `nova serve` with OpenTelemetry on (the --import preload, exporting traces and metrics
 *     over OTLP to a local sink that accepts and discards them),
 *   - `nova serve` with OTEL_SDK_DISABLED=true,
 *   - a bare node:http server answering the same JSON body as /api/health (the baseline).
 * autocannon drives /api/health and /livez on each in turn (a warm-up, then the measured
 * window), and the figures are printed with their ratio to the baseline. The health probes'
 * PostgreSQL queries are counted from pg_stat_statements: they depend on time (one per
 * NOVA_HEALTH_INTERVAL_MS), not on load. Figures are printed, never asserted.
 *
 *   BENCH_SECONDS (10), BENCH_CONNECTIONS (50)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort } from '../src/bootstrap/postgres/embedded.js';
import { benchDatabase } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_SECONDS = Math.min(2, SECONDS);

interface Figures {
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(url: string, seconds: number): Promise<Figures> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds });
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

async function measure(url: string): Promise<Figures> {
  await load(url, WARMUP_SECONDS);
  return load(url, SECONDS);
}

/** `nova serve` from dist/, until `stop()`; resolves once it serves. */
async function serve(env: Record<string, string>, preload: boolean) {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [...(preload ? ['--import', './dist/telemetry/register.js'] : []), 'dist/cli.js', 'serve'],
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
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A sink for OTLP/HTTP: accepts everything, keeps nothing. */
const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
});

async function probeQueries(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ calls: string }>(
      `SELECT coalesce(sum(calls), 0)::text AS calls FROM pg_stat_statements
        WHERE query ILIKE '%current_setting%server_version%'`,
    );
    return Number(rows[0]?.calls ?? 0);
  } catch {
    return undefined;
  } finally {
    await client.end();
  }
}

async function main() {
  const database = await benchDatabase();
  const servers: { stop(): Promise<unknown> }[] = [];
  try {
    const env = { DATABASE_URL: database.url, NOVA_HEALTH_INTERVAL_MS: '5000' };
    const bootstrap = spawn(process.execPath, ['dist/cli.js', 'bootstrap', 'postgres'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    await new Promise((resolve) => bootstrap.on('exit', resolve));
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').catch(() => undefined);
    await admin.end();

    const otlp = await listen(sink);
    const on = await serve({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp }, true);
    servers.push(on);
    const off = await serve({ ...env, OTEL_SDK_DISABLED: 'true' }, true);
    servers.push(off);
    const body = await (await fetch(`${off.url}/api/health`)).text();
    const bare = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
    });
    const bareUrl = await listen(bare);
    servers.push({ stop: () => new Promise((resolve) => bare.close(resolve)) });

    const queriesBefore = await probeQueries(database.url);
    const started = performance.now();
    const rows: [string, Figures][] = [
      ['bare node:http (same JSON)', await measure(bareUrl)],
      ['/api/health, OpenTelemetry on', await measure(`${on.url}/api/health`)],
      ['/api/health, OpenTelemetry off', await measure(`${off.url}/api/health`)],
      ['/livez, OpenTelemetry on', await measure(`${on.url}/livez`)],
      ['/livez, OpenTelemetry off', await measure(`${off.url}/livez`)],
    ];
    const elapsedS = (performance.now() - started) / 1000;
    const queriesAfter = await probeQueries(database.url);

    const baseline = rows[0]?.[1].rps ?? 1;
    const served = rows.slice(1, 3).reduce((sum, [, f]) => sum + f.rps * SECONDS, 0);
    process.stdout.write(
      `${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per target, one process per server, ${process.platform} ${process.arch}, Node ${process.versions.node}\n`,
    );
    process.stdout.write(
      `${'target'.padEnd(34)}${'req/s'.padStart(10)}${'p99 ms'.padStart(9)}${'ratio'.padStart(8)}${'errors'.padStart(8)}${'non-2xx'.padStart(9)}\n`,
    );
    for (const [name, f] of rows) {
      process.stdout.write(
        `${name.padEnd(34)}${f.rps.toFixed(0).padStart(10)}${f.p99.toFixed(1).padStart(9)}${(f.rps / baseline).toFixed(2).padStart(8)}${String(f.errors).padStart(8)}${String(f.non2xx).padStart(9)}\n`,
      );
    }
    process.stdout.write("ratio = req/s / the bare server's req/s (same machine, same run)\n");
    if (queriesBefore !== undefined && queriesAfter !== undefined) {
      process.stdout.write(
        `PostgreSQL health probes: ${queriesAfter - queriesBefore} queries for about ${Math.round(served)} /api/health requests in ${elapsedS.toFixed(0)} s (two servers, one probe per 5 s each)\n`,
      );
    } else {
      process.stdout.write('PostgreSQL health probes: pg_stat_statements not available\n');
    }
  } finally {
    for (const server of servers.reverse()) await server.stop();
    sink.close();
    await database.cleanup();
  }
}

await main();
