/**
 * `npm run bench:telemetry`: what logging costs the caller, and how much memory it holds,
 * while the MongoDB backend is dead (a closed port on 127.0.0.1: the real driver, failing
 * server selection), measured in one run next to a no-op baseline with the same arguments.
 *
 * Sustained load: chunks of CHUNK calls with a 1 ms pause between them, so the writer's
 * timers, failed connects and backoff run as they would in a service; the buffer-full phase
 * lasts BENCH_SECONDS (default 10). Reported per phase:
 *   - ns per call on the caller's side (median of rounds), and the ratio to the baseline;
 *   - peak heap used above the starting heap, sampled after every chunk (after a forced GC
 *     at the start when node runs with --expose-gc).
 * Phases: no-op baseline; the process's first CHUNK calls (cold: interpreted, then compiled);
 * logUserActivity while the buffer fills (accepted events), measured on a second writer once
 * WARMUP calls on the first have made the code as warm as a running service's; and
 * logUserActivity once it is full (dropped before building). Without the warm-up the
 * accepted phase, one buffer's worth of calls, measured mostly the JIT. Figures are printed,
 * never asserted: the machines are noisy, ratios are what to compare.
 */
import { freePort } from '../src/bootstrap/postgres/embedded.js';
import { loadConfig, type MongoConfig } from '../src/config.js';
import { MongoStore } from '../src/lib/db/mongo.js';
import { runtimeLine } from './support.js';

const CHUNK = Number(process.env.BENCH_CHUNK ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const BUFFER = Number(process.env.BENCH_BUFFER ?? 10_000);
/** How long the buffer-full phase is sustained: long enough for retries and backoff to run. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Accepted calls on a throwaway writer before the accepted phase is measured. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 100_000);

const details = { ticketId: 'T-000123', priority: 'high', tags: ['vpn', 'remote'], ms: 42 };
let sink = 0;
/** The baseline: a call with the same arguments that does nothing observable. */
function noop(userId: string, action: string, extra: Record<string, unknown>): boolean {
  sink += userId.length + action.length + (extra === details ? 1 : 0);
  return true;
}

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => process.memoryUsage().heapUsed;
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

interface Phase {
  nsPerCall: number;
  peakHeapMiB: number;
  calls: number;
}

/** Chunks of CHUNK calls, yielding between chunks, for `rounds` chunks or `seconds`. */
async function measure(
  call: (i: number) => boolean,
  { rounds = Number.POSITIVE_INFINITY, seconds = Number.POSITIVE_INFINITY },
): Promise<Phase> {
  gc?.();
  const start = heap();
  let peak = start;
  const perCall: number[] = [];
  const until = performance.now() + seconds * 1000;
  for (let r = 0; r < rounds && performance.now() < until; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CHUNK; i++) call(r * CHUNK + i);
    perCall.push(Number(process.hrtime.bigint() - t0) / CHUNK);
    peak = Math.max(peak, heap());
    // A short pause, as between requests: timers (flush, backoff) get their turn.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return {
    nsPerCall: Math.round(median(perCall)),
    peakHeapMiB: Math.round(((peak - start) / 2 ** 20) * 10) / 10,
    calls: perCall.length * CHUNK,
  };
}

async function main() {
  const port = await freePort();
  const config = loadConfig({
    MONGO_URL: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    MONGO_SERVER_SELECTION_TIMEOUT_MS: '200',
    TELEMETRY_BUFFER_SIZE: String(BUFFER),
    TELEMETRY_BATCH_SIZE: '500',
    TELEMETRY_SHUTDOWN_TIMEOUT_MS: '500',
  });
  const users = Array.from({ length: 64 }, (_, i) => `user-${i}`);

  const baseline = await measure((i) => noop(users[i & 63] as string, 'ticket_viewed', details), {
    rounds: ROUNDS,
  });
  // A writer whose buffer takes the whole warm-up, so every warm-up call is accepted.
  const warmupConfig = loadConfig({
    MONGO_URL: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    MONGO_SERVER_SELECTION_TIMEOUT_MS: '200',
    TELEMETRY_BUFFER_SIZE: String(Math.max(WARMUP, CHUNK)),
    TELEMETRY_SHUTDOWN_TIMEOUT_MS: '100',
  });
  const warm = new MongoStore(warmupConfig.mongo as MongoConfig, warmupConfig.telemetry);
  const warmLog = (i: number) =>
    warm.logUserActivity(users[i & 63] as string, 'ticket_viewed', details);
  const cold = await measure(warmLog, { rounds: 1 });
  await measure(warmLog, { rounds: Math.ceil(WARMUP / CHUNK) - 1 });
  await warm.close();

  const store = new MongoStore(config.mongo as MongoConfig, config.telemetry);
  const log = (i: number) =>
    store.logUserActivity(users[i & 63] as string, 'ticket_viewed', details);
  const filling = await measure(log, { rounds: Math.ceil(BUFFER / CHUNK) });
  const full = await measure(log, { seconds: SECONDS });
  const stats = store.stats();
  const closeStarted = performance.now();
  const closed = await store.close();
  const closeMs = Math.round(performance.now() - closeStarted);
  const ratio = (p: Phase) => (p.nsPerCall / Math.max(1, baseline.nsPerCall)).toFixed(1);
  const rows = [
    ['no-op baseline', baseline, '1.0'],
    [`log, the process's first ${CHUNK} (cold)`, cold, ratio(cold)],
    ['log, buffer filling (accepted, warm)', filling, ratio(filling)],
    ['log, buffer full (dropped)', full, ratio(full)],
  ] as const;
  process.stdout.write(
    [
      runtimeLine(),
      `bench:telemetry: MongoDB dead (127.0.0.1:${port} closed), buffer ${BUFFER}, ${CHUNK} calls per chunk, ${WARMUP} warm-up calls, buffer-full phase ${SECONDS} s, gc ${gc ? 'forced' : 'not exposed'}`,
      '',
      '| phase | calls | ns per call (median) | x baseline | peak heap above start |',
      '|---|---:|---:|---:|---:|',
      ...rows.map(
        ([name, p, x]) => `| ${name} | ${p.calls} | ${p.nsPerCall} | ${x} | ${p.peakHeapMiB} MiB |`,
      ),
      '',
      `writer: queued ${stats.queued}, dropped ${stats.dropped}, written ${stats.written}, buffer depth ${stats.depth}/${stats.capacity}, failed flushes ${stats.failedFlushes} (retried with backoff)`,
      `shutdown: ${closeMs} ms (bound ${config.telemetry.shutdownTimeoutMs} ms), ${closed.abandoned} buffered events abandoned and counted`,
      `(baseline checksum ${sink})`,
      '',
    ].join('\n'),
  );
}

await main();
