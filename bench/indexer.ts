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
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { bootstrapPostgres } from '../src/bootstrap/postgres/index.js';
import { loadConfig } from '../src/config.js';
import { createElasticClient } from '../src/lib/db/elastic/client.js';
import { Indexer } from '../src/lib/db/elastic/indexer.js';
import { OutboxStore } from '../src/lib/db/elastic/outbox-store.js';
import { createNovaDb } from '../src/lib/db/index.js';
import { benchDatabase, median } from './support.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 5000);
const BATCHES = (process.env.BENCH_BATCHES ?? '100,500,1000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Answers _bulk the way Elasticsearch does when every item succeeds. */
function bulkEndpoint(): Promise<{ url: string; documents: () => number; close: () => void }> {
  let documents = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers = {
        'content-type': 'application/json',
        // The client refuses servers that do not say they are Elasticsearch.
        'x-elastic-product': 'Elasticsearch',
      };
      if (!request.url?.startsWith('/_bulk')) {
        response.writeHead(200, headers).end(JSON.stringify({ version: { number: '8.11.0' } }));
        return;
      }
      const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
      const items: object[] = [];
      for (let i = 0; i < lines.length; i++) {
        const header = JSON.parse(lines[i] as string) as Record<string, { _id: string }>;
        const [action, meta] = Object.entries(header)[0] as [string, { _id: string }];
        if (action === 'index') i++;
        items.push({ [action]: { _id: meta._id, status: 201, result: 'created' } });
      }
      documents += items.length;
      response.writeHead(200, headers).end(JSON.stringify({ took: 1, errors: false, items }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        documents: () => documents,
        close: () => server.close(),
      });
    });
  });
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
    console.log(
      `ratio = indexer / baseline (same outbox, same PostgreSQL); the endpoint received ${endpoint.documents()} documents`,
    );
  } finally {
    await client.close();
    await db.close();
    endpoint.close();
    await cleanup();
  }
}

await main();
