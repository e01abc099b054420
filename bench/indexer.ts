/**
 * npm run bench:indexer — outbox drain throughput: our overhead on top of PostgreSQL.
 *
 * Two ways to drain the same outbox of N ticket rows, measured side by side in each round:
 * - baseline: claim a batch under its lease, read the tickets, acknowledge: the outbox's
 *   PostgreSQL work alone, no documents and no HTTP;
 * - indexer: `Indexer.drain()`, which also builds documents, sends `_bulk` to a local HTTP
 *   endpoint that answers like Elasticsearch (every item 201) and reads the answer.
 * The ratio indexer / baseline is what documents, serialisation and the bulk round trip cost.
 * Figures are medians of the rounds; a timing is printed, never asserted.
 *
 * Options (env): BENCH_ROWS (default 5000), BENCH_BATCHES (default "100,500,1000"),
 * BENCH_ROUNDS (default 3). PostgreSQL as in bench/support.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type pg from 'pg';
import { bootstrapPostgres } from '../src/bootstrap/postgres/index.js';
import { loadConfig } from '../src/config.js';
import { createElasticClient } from '../src/lib/db/elastic/client.js';
import { Indexer } from '../src/lib/db/elastic/indexer.js';
import { OutboxStore } from '../src/lib/db/elastic/outbox-store.js';
import { createNovaDb } from '../src/lib/db/index.js';
import { benchDatabase, median, runtimeLine } from './support.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 5000);
const BATCHES = (process.env.BENCH_BATCHES ?? '100,500,1000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/**
 * Answers _bulk the way Elasticsearch does when every item succeeds. It runs in its own
 * process, so its parsing does not count against the indexer, as a real cluster's would not.
 */
const ENDPOINT = `
const http = require('node:http');
let documents = 0;
const headers = { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' };
const server = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    if (request.url.startsWith('/_count')) return response.writeHead(200, headers).end(JSON.stringify({ count: documents }));
    const lines = Buffer.concat(chunks).toString('utf8').split('\\n').filter(Boolean);
    const items = [];
    for (let i = 0; i < lines.length; i++) {
      const [action, meta] = Object.entries(JSON.parse(lines[i]))[0];
      if (action === 'index') i++;
      items.push({ [action]: { _id: meta._id, status: 201, result: 'created' } });
    }
    documents += items.length;
    response.writeHead(200, headers).end(JSON.stringify({ took: 1, errors: false, items }));
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function bulkEndpoint(): Promise<{ url: string; close: () => void }> {
  const child = spawn(process.execPath, ['-e', ENDPOINT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${line.toString().trim()}`, close: () => child.kill() };
}

async function fillOutbox(pool: pg.Pool): Promise<void> {
  await pool.query('DELETE FROM search_outbox');
  await pool.query(
    `INSERT INTO search_outbox (entity_type, entity_id, operation, entity_version)
     SELECT 'ticket', id, 'index', version FROM support_tickets`,
  );
}

/** Rows per second of draining the whole outbox with `drain`. */
async function rate(pool: pg.Pool, drain: () => Promise<number>): Promise<number> {
  await fillOutbox(pool);
  const started = performance.now();
  const rows = await drain();
  const seconds = (performance.now() - started) / 1000;
  if (rows !== ROWS) throw new Error(`drained ${rows} rows, expected ${ROWS}`);
  return rows / seconds;
}

async function main() {
  const { url, cleanup } = await benchDatabase();
  const endpoint = await bulkEndpoint();
  const config = loadConfig({ ELASTIC_URL: endpoint.url });
  const db = createNovaDb({
    ...config,
    postgres: { url, poolSize: 4, connectTimeoutMs: 5000, retryAttempts: 4 },
  });
  const client = createElasticClient(config.elastic as NonNullable<typeof config.elastic>);
  try {
    await bootstrapPostgres(url, db.postgres);
    const requester = await db.createUser({
      email: 'bench.indexer@example.com',
      firstName: 'B',
      lastName: 'I',
    });
    await db.postgres.pool.query(
      `INSERT INTO support_tickets (id, title, description, priority, tags, requester_id, updated_at)
       SELECT gen_random_uuid(), 'Benchmark ticket ' || n, repeat('Words of a ticket. ', 40),
              'medium', ARRAY['bench'], $1, now()
         FROM generate_series(1, $2) AS n`,
      [requester.id, ROWS],
    );
    const outbox = new OutboxStore(db.postgres.pool);

    const baseline = (batch: number) => async () => {
      let total = 0;
      for (;;) {
        const rows = await outbox.claim(batch, 60_000);
        if (rows.length === 0) return total;
        await outbox.source.rows(
          'ticket',
          rows.map((r) => r.entity_id),
        );
        await outbox.acknowledge(rows.map((r) => r.id));
        total += rows.length;
      }
    };
    const indexer = (batch: number) => async () => {
      const result = await new Indexer(outbox, client, { batchSize: batch }).drain();
      if (result.retried + result.parked > 0) throw new Error('the endpoint refused items');
      return result.indexed;
    };

    console.log(runtimeLine());
    console.log(
      `PostgreSQL ${(await db.postgres.health()).serverVersion}; ${ROWS} outbox rows (tickets of ~800 characters), ${ROUNDS} rounds (median)`,
    );
    console.log(
      `${'batch'.padStart(6)}${'baseline rows/s'.padStart(17)}${'indexer docs/s'.padStart(16)}${'ratio'.padStart(8)}`,
    );
    for (const batch of BATCHES) {
      await rate(db.postgres.pool, baseline(batch)); // warm-up: connections, plans, JIT
      await rate(db.postgres.pool, indexer(batch));
      const base: number[] = [];
      const full: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        base.push(await rate(db.postgres.pool, baseline(batch)));
        full.push(await rate(db.postgres.pool, indexer(batch)));
      }
      const [b, f] = [median(base), median(full)];
      console.log(
        `${String(batch).padStart(6)}${b.toFixed(0).padStart(17)}${f.toFixed(0).padStart(16)}${(f / b).toFixed(2).padStart(8)}`,
      );
    }
    const { count } = await client.count();
    console.log(
      `ratio = indexer / baseline (same outbox, same PostgreSQL); the endpoint received ${count} documents`,
    );
  } finally {
    await client.close();
    await db.close();
    endpoint.close();
    await cleanup();
  }
}

await main();
