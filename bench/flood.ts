/**
 * `npm run bench:flood`: what a fake-token flood does to a legitimate client, side by side in
 * one run.
 *
 * Two `nova serve` processes on the same PostgreSQL: one with the default per-client limits
 * (NOVA_AUTH_FAILURES_PER_MINUTE 30, NOVA_AUTH_RATE_PER_SECOND 1000), one with both off (the
 * baseline: every fake token costs a lookup). On each:
 *   - at rest: a legitimate client alone, from 127.0.0.1, paced at BENCH_RATE requests per
 *     second over BENCH_WORKERS connections, asking /api/health with a valid token;
 *   - under a flood: the same client while another process, from 127.0.0.2 (another client
 *     to the service), sends well-formed random tokens as fast as BENCH_FLOOD_CONNECTIONS
 *     connections allow.
 * Printed: the legitimate client's requests, p50 and p99 (ms), and what the flood got.
 * Latency is from the paced schedule (a request that had to wait for the one before it
 * counts its wait), so a stalled service shows. Figures are printed, never asserted.
 *
 *   BENCH_SECONDS (10), BENCH_RATE (200), BENCH_WORKERS (8), BENCH_FLOOD_CONNECTIONS (50)
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { detailsToken, serve } from './service.js';
import { benchDatabase, runtimeLine } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 8);
const FLOOD_CONNECTIONS = Number(process.env.BENCH_FLOOD_CONNECTIONS ?? 50);
/** Authenticated (health:details) and answered without Elasticsearch or MongoDB. */
const PATH = '/api/health';

/** The flood, in a process of its own (in this one it would take turns with the client). */
const FLOOD = `
  const http = require('node:http');
  const { randomBytes } = require('node:crypto');
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number(process.env.CONNECTIONS) });
  const end = Date.now() + Number(process.env.DURATION_MS);
  const statuses = {};
  const one = () => new Promise((resolve) => {
    const req = http.request(process.env.TARGET, {
      agent, localAddress: '127.0.0.2',
      headers: { authorization: 'Bearer nova_' + randomBytes(32).toString('base64url') },
    }, (res) => { statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1; res.resume(); res.on('end', resolve); });
    req.on('error', () => { statuses.error = (statuses.error ?? 0) + 1; resolve(); });
    req.end();
  });
  const worker = async () => { while (Date.now() < end) await one(); };
  Promise.all(Array.from({ length: Number(process.env.CONNECTIONS) }, worker))
    .then(() => { process.stdout.write(JSON.stringify(statuses)); agent.destroy(); });
`;

function flood(target: string, durationMs: number): Promise<Record<string, number>> {
  const child = spawn(process.execPath, ['-e', FLOOD], {
    env: {
      ...process.env,
      TARGET: target,
      DURATION_MS: String(durationMs),
      CONNECTIONS: String(FLOOD_CONNECTIONS),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out || '{}')) : reject(new Error(`flood exited ${code}`)),
    ),
  );
}

interface ClientFigures {
  requests: number;
  ok: number;
  p50: number;
  p99: number;
}

/** The legitimate client: RATE requests a second on a schedule, latency from the schedule. */
async function legitimate(target: string, token: string, durationMs: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: WORKERS });
  const latencies: number[] = [];
  let ok = 0;
  const start = performance.now();
  const total = Math.floor((RATE * durationMs) / 1000);
  let next = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(
        target,
        { agent, localAddress: '127.0.0.1', headers: { authorization: `Bearer ${token}` } },
        (res) => {
          if (res.statusCode === 200) ok += 1;
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', () => resolve());
      req.end();
    });
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await one();
      latencies.push(Math.max(0, performance.now() - due));
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { requests: latencies.length, ok, p50: at(0.5), p99: at(0.99) } satisfies ClientFigures;
}

async function main() {
  const database = await benchDatabase();
  const servers: { stop(): Promise<unknown> }[] = [];
  try {
    const env = { DATABASE_URL: database.url, OTEL_SDK_DISABLED: 'true' };
    const bootstrap = spawn(process.execPath, ['dist/cli.js', 'bootstrap', 'postgres'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    await new Promise((resolve) => bootstrap.on('exit', resolve));
    const token = await detailsToken(database.url);
    const limited = await serve(env, false);
    servers.push(limited);
    const open = await serve(
      { ...env, NOVA_AUTH_FAILURES_PER_MINUTE: '0', NOVA_AUTH_RATE_PER_SECOND: '0' },
      false,
    );
    servers.push(open);
    const durationMs = SECONDS * 1000;

    process.stdout.write(`${runtimeLine()}\n`);
    process.stdout.write(
      `legitimate client: ${RATE} req/s over ${WORKERS} connections, ${SECONDS} s per phase; flood: ${FLOOD_CONNECTIONS} connections of random tokens from another address\n\n`,
    );
    process.stdout.write(
      '| server | phase | legit requests | legit 200 | legit p50 ms | legit p99 ms | flood answers |\n|---|---|---:|---:|---:|---:|---|\n',
    );
    const p99s: Record<string, number> = {};
    for (const [name, server] of [
      ['default limits', limited],
      ['limits off', open],
    ] as const) {
      const target = `${server.url}${PATH}`;
      // Warm: the token cached, the JIT warm.
      await legitimate(target, token, 1000);
      const rest = await legitimate(target, token, durationMs);
      const [flooded, answers] = await Promise.all([
        legitimate(target, token, durationMs),
        flood(target, durationMs),
      ]);
      for (const [phase, figures, flooding] of [
        ['at rest', rest, '—'],
        [
          'under flood',
          flooded,
          Object.entries(answers)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', '),
        ],
      ] as const) {
        p99s[`${name} ${phase}`] = figures.p99;
        process.stdout.write(
          `| ${name} | ${phase} | ${figures.requests} | ${figures.ok} | ${figures.p50.toFixed(1)} | ${figures.p99.toFixed(1)} | ${flooding} |\n`,
        );
      }
    }
    const ratio = (name: string) =>
      ((p99s[`${name} under flood`] ?? 0) / (p99s[`${name} at rest`] || 1)).toFixed(1);
    process.stdout.write(
      `\nlegitimate p99 under flood / at rest: ${ratio('default limits')}x with the default limits, ${ratio('limits off')}x with them off\n`,
    );
  } finally {
    for (const server of servers) await server.stop().catch(() => undefined);
    await database.cleanup();
  }
}

await main();
