/**
 * `npm run bench:http`: the service's HTTP overhead, measured side by side in one run.
 *
 * Four servers, each in its own process, on the same PostgreSQL:
 *   - `nova serve` with OpenTelemetry on (the --import preload, every request traced and
 *     exported over OTLP to a local sink that accepts and discards them, as configured by
 *     default),
 *   - the same with head sampling at 10 % (OTEL_TRACES_SAMPLER=parentbased_traceidratio),
 *   - `nova serve` with OTEL_SDK_DISABLED=true,
 *   - a bare node:http server answering the same JSON body as /api/health (the baseline),
 *   - and, for reference, Fastify alone answering it with one access-log line per request:
 *     the floor the service stands on before authentication, metrics and telemetry.
 * autocannon drives /api/health and /livez on each (a warm-up, then rounds in which every
 * target gets its window, in a rotated order), and the figures are printed with their ratio
 * to the baseline, taken within each round. The health probes'
 * PostgreSQL queries are counted from pg_stat_statements: they depend on time (one per
 * NOVA_HEALTH_INTERVAL_MS), not on load. Figures are printed, never asserted.
 *
 *   BENCH_SECONDS (5, per target and round), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort } from '../src/bootstrap/postgres/embedded.js';
import { benchDatabase, runtimeLine } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** A server process listening on 127.0.0.1:`port`, stopped with SIGTERM. */
function running(child: ChildProcess, port: number | string) {
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
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
  return running(child, port);
}

/** The baselines' sources: each answers GET /api/health with the same body, nothing else. */
const BASELINES = {
  bare: `const server = require('node:http').createServer((_req, res) => {
           res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
           res.end(process.env.BODY);
         });
         server.listen(0, '127.0.0.1', () => console.error('port ' + server.address().port));`,
  // The framework's floor: Fastify with one access-log line per request (as the service's
  // AccessLog writes it) and nothing else: no hooks, authentication, metrics or telemetry.
  fastify: `const { default: Fastify, LogController } = require('fastify');
            class AccessLog extends LogController {
              incomingRequest() {}
              requestCompleted(_error, request, reply) {
                reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
              }
            }
            const body = JSON.parse(process.env.BODY);
            const serializers = { req: (req) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }) };
            const app = Fastify({ logger: { level: 'info', serializers }, logController: new AccessLog() });
            app.get('/api/health', async () => body);
            app.listen({ port: 0, host: '127.0.0.1' }).then(() => console.error('port ' + app.server.address().port));`,
};

/**
 * A baseline server in its own process, like the servers it is compared with (inside this
 * process it would share a core with autocannon and look slower). Stdout is discarded, as
 * the service's is; the port comes on stderr.
 */
async function startBaseline(kind: keyof typeof BASELINES, body: string) {
  const child = spawn(process.execPath, ['-e', BASELINES[kind]], {
    env: { ...process.env, BODY: body },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stderr?.once('data', (chunk: Buffer) => resolve(/\d+/.exec(chunk.toString())?.[0] ?? ''));
    child.once('exit', (code) => reject(new Error(`the ${kind} baseline exited (${code})`)));
  });
  return running(child, port);
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
    const sampled = await serve(
      {
        ...env,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      },
      true,
    );
    servers.push(sampled);
    const body = await (await fetch(`${off.url}/api/health`)).text();
    const bare = await startBaseline('bare', body);
    servers.push(bare);
    const framework = await startBaseline('fastify', body);
    servers.push(framework);

    const targets: [string, string][] = [
      ['bare node:http (same JSON)', bare.url],
      ['Fastify + access log (same JSON)', `${framework.url}/api/health`],
      ['/api/health, OpenTelemetry on', `${on.url}/api/health`],
      ['/api/health, on, 10 % sampled', `${sampled.url}/api/health`],
      ['/api/health, OpenTelemetry off', `${off.url}/api/health`],
      ['/livez, OpenTelemetry on', `${on.url}/livez`],
      ['/livez, OpenTelemetry off', `${off.url}/livez`],
    ];
    for (const [, url] of targets) await load(url, WARMUP_SECONDS);
    const queriesBefore = await probeQueries(database.url);
    const started = performance.now();
    // Rounds, each target once per round in a rotated order: a burst of noise from the
    // machine lands on one round of a target, and ratios are taken within a round.
    const figures = targets.map((): Figures[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < targets.length; k++) {
        const i = (k + round) % targets.length;
        figures[i]?.push(await load(targets[i]?.[1] ?? '', SECONDS));
      }
    }
    const elapsedS = (performance.now() - started) / 1000;
    const queriesAfter = await probeQueries(database.url);

    const bareRounds = figures[0] ?? [];
    const served = targets.reduce(
      (sum, [name], i) =>
        name.startsWith('/api/health')
          ? sum + (figures[i] ?? []).reduce((s, f) => s + f.rps * SECONDS, 0)
          : sum,
      0,
    );
    process.stdout.write(`${runtimeLine()}\n`);
    process.stdout.write(
      `${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up, then ${ROUNDS} rounds of ${SECONDS} s per target, one process per server\n`,
    );
    process.stdout.write(
      `${'target'.padEnd(34)}${'req/s'.padStart(10)}${'p99 ms'.padStart(9)}${'ratio'.padStart(8)}${'errors'.padStart(8)}${'non-2xx'.padStart(9)}\n`,
    );
    for (const [i, [name]] of targets.entries()) {
      const rounds = figures[i] ?? [];
      const ratio = median(rounds.map((f, r) => f.rps / (bareRounds[r]?.rps ?? Number.NaN)));
      const errors = rounds.reduce((sum, f) => sum + f.errors, 0);
      const non2xx = rounds.reduce((sum, f) => sum + f.non2xx, 0);
      process.stdout.write(
        `${name.padEnd(34)}${median(rounds.map((f) => f.rps))
          .toFixed(0)
          .padStart(10)}${median(rounds.map((f) => f.p99))
          .toFixed(1)
          .padStart(
            9,
          )}${ratio.toFixed(2).padStart(8)}${String(errors).padStart(8)}${String(non2xx).padStart(9)}\n`,
      );
    }
    process.stdout.write(
      "req/s and p99: medians over the rounds; ratio: the median of each round's req/s / the bare server's req/s in that round\n",
    );
    if (queriesBefore !== undefined && queriesAfter !== undefined) {
      process.stdout.write(
        `PostgreSQL health probes: ${queriesAfter - queriesBefore} queries for about ${Math.round(served)} /api/health requests in ${elapsedS.toFixed(0)} s (three servers, one probe per 5 s each)\n`,
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
