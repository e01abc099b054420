/**
 * `npm run bench:http`: the service's HTTP overhead, measured side by side in one run.
 *
 * Servers, each in its own process, on the same PostgreSQL:
 *   - `nova serve` with OpenTelemetry on (the --import preload, every request traced, the
 *     SDK's default, and exported over OTLP to a sink process that accepts and discards
 *     them),
 *   - the same with the production sampler: parent-based, 10 % of new traces
 *     (OTEL_TRACES_SAMPLER=parentbased_traceidratio, as the Docker stack sets it),
 *   - `nova serve` with OTEL_SDK_DISABLED=true,
 *   - a bare node:http server answering the same JSON body as /api/health (the baseline),
 *   - and, for reference, Fastify alone answering it with one access-log line per request:
 *     the floor the service stands on before authentication, metrics and telemetry; and the
 *     same burning 5 µs of CPU per request, which shows what a µs of work costs in req/s on
 *     the machine (on a 2-core VM, where autocannon and the server share the cores, about
 *     1.5 to 2 µs per request: read the Δ column with that in mind).
 * autocannon drives /api/health and /livez on each (a warm-up, then rounds in which every
 * target gets its window, in a rotated order), and the figures are printed with their ratio
 * to the baseline, taken within each round, and as µs per request (1e6 / req/s) with the
 * difference from /api/health with OpenTelemetry off: what each layer costs; beside it, the
 * server process's own CPU time per request, which leaves out the load generator's share of
 * the cores (and the OTLP sink's, a process of its own). /api/health is
 * also asked with a token granting health:details, on the OpenTelemetry-off server (whose
 * principal cache is on, as by default) and on one more with NOVA_AUTH_CACHE_TTL_MS=0.
 * PostgreSQL queries are counted from pg_stat_statements: the health probes' depend on time
 * (one per NOVA_HEALTH_INTERVAL_MS), not on load; an authenticated request's are counted
 * over a sequence of requests after the rounds. Figures are printed, never asserted.
 *
 *   BENCH_SECONDS (5, per target and round), BENCH_ROUNDS (5), BENCH_CONNECTIONS (50)
 */
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import pg from 'pg';
import { detailsToken, running, serve } from './service.js';
import { benchDatabase, runtimeLine } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_SECONDS = Math.min(2, SECONDS);
/** The busy-wait per request of the reference row that shows what CPU time costs here. */
const SPIN_US = 5;

interface Figures {
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** The server process's CPU time (all threads) per request, in µs; NaN without /proc. */
  cpuUs: number;
}

/** What load() needs of a server: its CPU time so far, in ms (undefined off Linux). */
interface Measured {
  cpuMs(): number | undefined;
}

async function load(
  url: string,
  seconds: number,
  headers?: Record<string, string>,
  server?: Measured,
): Promise<Figures> {
  const before = server?.cpuMs();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    ...(headers ? { headers } : {}),
  });
  const after = server?.cpuMs();
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuUs:
      before === undefined || after === undefined
        ? Number.NaN
        : ((after - before) * 1000) / result.requests.total,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * The helper servers' sources: the baselines answer GET /api/health with the same body and
 * nothing else; the sink takes the traced servers' OTLP exports.
 */
const HELPERS = {
  bare: `const server = require('node:http').createServer((_req, res) => {
           res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
           res.end(process.env.BODY);
         });
         server.listen(0, '127.0.0.1', () => console.error('port ' + server.address().port));`,
  // A sink for OTLP/HTTP, as a collector elsewhere would be: accepts everything, keeps nothing.
  // In this process it would take turns with autocannon, and the traced rows would measure
  // the sink.
  sink: `const server = require('node:http').createServer((req, res) => {
           req.resume();
           req.on('end', () => {
             res.writeHead(200, { 'content-type': 'application/x-protobuf' });
             res.end();
           });
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
            // SPIN_US: that much CPU burnt per request, to show what a µs of work costs here.
            const spin = Number(process.env.SPIN_US ?? 0) * 1000;
            if (spin) app.addHook('onRequest', (_request, _reply, done) => {
              const end = process.hrtime.bigint() + BigInt(spin);
              while (process.hrtime.bigint() < end);
              done();
            });
            app.get('/api/health', async () => body);
            app.listen({ port: 0, host: '127.0.0.1' }).then(() => console.error('port ' + app.server.address().port));`,
};

/**
 * A helper server in its own process, like the servers it is compared with (inside this
 * process it would share a core with autocannon). Stdout is discarded, as the service's is;
 * the port comes on stderr.
 */
async function startHelper(
  kind: keyof typeof HELPERS,
  body = '',
  env: Record<string, string> = {},
) {
  const child = spawn(process.execPath, ['-e', HELPERS[kind]], {
    env: { ...process.env, ...env, BODY: body },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stderr?.once('data', (chunk: Buffer) => resolve(/\d+/.exec(chunk.toString())?.[0] ?? ''));
    child.once('exit', (code) => reject(new Error(`the ${kind} helper exited (${code})`)));
  });
  return running(child, port);
}

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

/**
 * PostgreSQL statements per request over a sequence of authenticated requests (after a warm
 * one), from pg_stat_statements: every statement in the database, less the counting query.
 */
async function queriesPerRequest(url: string, target: string, headers: Record<string, string>) {
  const REQUESTS = 500;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const count = async () =>
    Number(
      (
        await client.query<{ calls: string }>(
          `SELECT coalesce(sum(calls), 0)::text AS calls FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        )
      ).rows[0]?.calls ?? 0,
    );
  try {
    await fetch(target, { headers });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = await count();
    for (let i = 0; i < REQUESTS; i++) await (await fetch(target, { headers })).arrayBuffer();
    return ((await count()) - before - 1) / REQUESTS;
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
    const env = {
      DATABASE_URL: database.url,
      NOVA_HEALTH_INTERVAL_MS: '5000',
      // The load comes from one address: these rows measure the service, not its per-client
      // limit (bench:flood measures that).
      NOVA_AUTH_RATE_PER_SECOND: '0',
    };
    const bootstrap = spawn(process.execPath, ['dist/cli.js', 'bootstrap', 'postgres'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    await new Promise((resolve) => bootstrap.on('exit', resolve));
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').catch(() => undefined);
    await admin.end();
    const bearer = { authorization: `Bearer ${await detailsToken(database.url)}` };

    const sink = await startHelper('sink');
    servers.push(sink);
    const otlp = sink.url;
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
    const uncached = await serve(
      { ...env, OTEL_SDK_DISABLED: 'true', NOVA_AUTH_CACHE_TTL_MS: '0' },
      true,
    );
    servers.push(uncached);
    const body = await (await fetch(`${off.url}/api/health`)).text();
    const bare = await startHelper('bare', body);
    servers.push(bare);
    const framework = await startHelper('fastify', body);
    servers.push(framework);
    const spinning = await startHelper('fastify', body, { SPIN_US: String(SPIN_US) });
    servers.push(spinning);

    const OFF = '/api/health, OpenTelemetry off';
    const targets: [string, Measured & { url: string }, string, Record<string, string>?][] = [
      ['bare node:http (same JSON)', bare, ''],
      ['Fastify + access log (same JSON)', framework, '/api/health'],
      [`the same + ${SPIN_US} µs of CPU`, spinning, '/api/health'],
      ['/api/health, OpenTelemetry on', on, '/api/health'],
      ['/api/health, on, sampled 10 %', sampled, '/api/health'],
      [OFF, off, '/api/health'],
      ['/api/health, off, token', off, '/api/health', bearer],
      ['/api/health, off, token, no cache', uncached, '/api/health', bearer],
      ['/livez, OpenTelemetry on', on, '/livez'],
      ['/livez, OpenTelemetry off', off, '/livez'],
    ];
    const run = ([, server, path, headers]: (typeof targets)[number], seconds: number) =>
      load(`${server.url}${path}`, seconds, headers, server);
    for (const target of targets) await run(target, WARMUP_SECONDS);
    const queriesBefore = await probeQueries(database.url);
    const started = performance.now();
    // Rounds, each target once per round in a rotated order: a burst of noise from the
    // machine lands on one round of a target, and ratios are taken within a round.
    const figures = targets.map((): Figures[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < targets.length; k++) {
        const i = (k + round) % targets.length;
        const target = targets[i];
        if (target) figures[i]?.push(await run(target, SECONDS));
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
      `${'target'.padEnd(36)}${'req/s'.padStart(9)}${'µs/req'.padStart(8)}${'Δ off'.padStart(8)}${'cpu µs'.padStart(8)}${'p99 ms'.padStart(8)}${'ratio'.padStart(7)}${'errors'.padStart(8)}${'non-2xx'.padStart(9)}\n`,
    );
    const offRps = median(
      figures[targets.findIndex(([name]) => name === OFF)]?.map((f) => f.rps) ?? [],
    );
    for (const [i, [name]] of targets.entries()) {
      const rounds = figures[i] ?? [];
      const rps = median(rounds.map((f) => f.rps));
      const ratio = median(rounds.map((f, r) => f.rps / (bareRounds[r]?.rps ?? Number.NaN)));
      const errors = rounds.reduce((sum, f) => sum + f.errors, 0);
      const non2xx = rounds.reduce((sum, f) => sum + f.non2xx, 0);
      const micros = 1e6 / rps;
      const delta = micros - 1e6 / offRps;
      const cpu = median(rounds.map((f) => f.cpuUs));
      process.stdout.write(
        `${name.padEnd(36)}${rps.toFixed(0).padStart(9)}${micros.toFixed(1).padStart(8)}${`${delta >= 0 ? '+' : ''}${delta.toFixed(1)}`.padStart(8)}${(Number.isNaN(cpu) ? '—' : cpu.toFixed(1)).padStart(8)}${median(
          rounds.map((f) => f.p99),
        )
          .toFixed(1)
          .padStart(
            8,
          )}${ratio.toFixed(2).padStart(7)}${String(errors).padStart(8)}${String(non2xx).padStart(9)}\n`,
      );
    }
    process.stdout.write(
      "req/s and p99: medians over the rounds; ratio: the median of each round's req/s / the bare server's req/s in that round; µs/req: 1e6 / req/s at this concurrency; Δ off: its difference from /api/health with OpenTelemetry off; cpu µs: the server process's CPU time (every thread) per request, median over the rounds (from /proc, 10 ms ticks; — without it)\n",
    );
    const authRatio = median(
      (figures[targets.findIndex(([name]) => name === '/api/health, off, token')] ?? []).map(
        (f, r) =>
          f.rps / (figures[targets.findIndex(([name]) => name === OFF)]?.[r]?.rps ?? Number.NaN),
      ),
    );
    process.stdout.write(
      `authenticated / unauthenticated /api/health (OpenTelemetry off, same rounds): ${authRatio.toFixed(2)}\n`,
    );
    for (const [label, url] of [
      ['principal cache on', off.url],
      ['principal cache off', uncached.url],
    ] as const) {
      const perRequest = await queriesPerRequest(database.url, `${url}/api/health`, bearer);
      process.stdout.write(
        `authenticated /api/health, ${label}: ${perRequest === undefined ? 'pg_stat_statements not available' : `${perRequest.toFixed(2)} queries per request`}\n`,
      );
    }
    if (queriesBefore !== undefined && queriesAfter !== undefined) {
      process.stdout.write(
        `PostgreSQL health probes: ${queriesAfter - queriesBefore} queries for about ${Math.round(served)} /api/health requests in ${elapsedS.toFixed(0)} s (three servers, one probe per 5 s each)\n`,
      );
    } else {
      process.stdout.write('PostgreSQL health probes: pg_stat_statements not available\n');
    }
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await database.cleanup();
  }
}

await main();
