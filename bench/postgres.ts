/**
 * npm run bench:postgres — write throughput of the data layer against a raw `pg` baseline.
 *
 * Two operations, each measured both ways in the same run on the same database:
 * - createUser-with-audit: novaDb.createUser vs BEGIN; INSERT users; INSERT audit_logs; COMMIT
 * - createTicket-with-audit-and-outbox: novaDb.postgres.createTicket vs BEGIN; INSERT
 *   support_tickets RETURNING *; INSERT audit_logs; INSERT search_outbox; COMMIT
 *
 * Rounds alternate baseline and novaDb so machine noise hits both alike; the figure is the
 * median of the rounds. Reports ops/s and the ratio novaDb / baseline (target >= 0.7).
 * A timing is printed, never asserted.
 *
 * Options (env): BENCH_OPS per round (default 400), BENCH_ROUNDS (default 5),
 * BENCH_CONCURRENCY (default "1,8"). Uses an embedded PostgreSQL unless DATABASE_URL is set,
 * in which case it creates and drops a nova_bench_* database on that server.
 */
import { bootstrapPostgres } from '../src/bootstrap/postgres/index.js';
import { loadConfig } from '../src/config.js';
import { createNovaDb } from '../src/lib/db/index.js';
import { createPool } from '../src/lib/db/postgres/client.js';
import { benchDatabase, median, runtimeLine } from './support.js';

const OPS = Number(process.env.BENCH_OPS ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,8').split(',').map(Number);
const POOL = Math.max(...CONCURRENCY, 1) + 2;

/** Runs `total` operations with `concurrency` in flight; returns ops per second. */
async function throughput(total: number, concurrency: number, op: (i: number) => Promise<unknown>) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await op(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

async function main() {
  const { url, cleanup } = await benchDatabase();
  const db = createNovaDb({
    ...loadConfig({}),
    postgres: { url, poolSize: POOL, connectTimeoutMs: 5000, retryAttempts: 4 },
  });
  // The baseline gets its own pool, built the same way as novaDb's (same size and settings).
  const raw = createPool({ url, poolSize: POOL, connectTimeoutMs: 5000, retryAttempts: 1 });
  try {
    await bootstrapPostgres(url, db.postgres);
    const requester = await db.createUser({
      email: 'bench.requester@example.com',
      firstName: 'B',
      lastName: 'R',
    });
    const run = Date.now().toString(36);
    let seq = 0;
    const email = () => `bench.${run}.${seq++}@example.com`;

    const rawCreateUser = async () => {
      const client = await raw.connect();
      try {
        const id = crypto.randomUUID();
        const now = new Date();
        const row = {
          id,
          email: email(),
          firstName: 'Bench',
          lastName: 'User',
          displayName: null,
          active: true,
          lastLoginAt: null,
          createdAt: now,
          updatedAt: now,
        };
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO users (id, email, first_name, last_name, display_name, password_hash, active, last_login_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, NULL, $6, NULL, $7, $8)`,
          [id, row.email, row.firstName, row.lastName, null, true, now, now],
        );
        await client.query(
          `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, after) VALUES (NULL, 'user.created', 'user', $1, $2)`,
          [id, JSON.stringify({ ...row, passwordHash: null })],
        );
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    };
    const rawCreateTicket = async () => {
      const client = await raw.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ id: string; version: number }>(
          `INSERT INTO support_tickets (id, title, description, priority, tags, requester_id, updated_at)
           VALUES ($1, $2, '', 'medium', $3, $4, now()) RETURNING *`,
          [crypto.randomUUID(), 'Benchmark ticket', ['bench'], requester.id],
        );
        const ticket = rows[0];
        if (!ticket) throw new Error('insert returned no row');
        await client.query(
          `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, after) VALUES (NULL, 'ticket.created', 'ticket', $1, $2)`,
          [ticket.id, JSON.stringify(ticket)],
        );
        await client.query(
          `INSERT INTO search_outbox (entity_type, entity_id, operation, entity_version) VALUES ('ticket', $1, 'index', $2)`,
          [ticket.id, ticket.version],
        );
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    };
    const cases = [
      {
        name: 'createUser-with-audit',
        baseline: rawCreateUser,
        nova: () => db.createUser({ email: email(), firstName: 'Bench', lastName: 'User' }),
      },
      {
        name: 'createTicket-with-audit-and-outbox',
        baseline: rawCreateTicket,
        nova: () =>
          db.postgres.createTicket({
            title: 'Benchmark ticket',
            tags: ['bench'],
            requesterId: requester.id,
          }),
      },
    ];

    console.log(runtimeLine());
    console.log(
      `PostgreSQL ${(await db.postgres.health()).serverVersion}; ${OPS} ops x ${ROUNDS} rounds (median), pool ${POOL}`,
    );
    console.log(
      `${'operation'.padEnd(36)}${'conc'.padStart(5)}${'raw pg ops/s'.padStart(14)}${'novaDb ops/s'.padStart(14)}${'ratio'.padStart(8)}`,
    );
    for (const c of cases) {
      for (const concurrency of CONCURRENCY) {
        await throughput(50, concurrency, c.baseline); // warm-up: connections, plan caches, JIT
        await throughput(50, concurrency, c.nova);
        const base: number[] = [];
        const nova: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          base.push(await throughput(OPS, concurrency, c.baseline));
          nova.push(await throughput(OPS, concurrency, c.nova));
        }
        const [b, n] = [median(base), median(nova)];
        console.log(
          `${c.name.padEnd(36)}${String(concurrency).padStart(5)}${b.toFixed(0).padStart(14)}${n.toFixed(0).padStart(14)}${(n / b).toFixed(2).padStart(8)}`,
        );
      }
    }
    console.log('ratio = novaDb / raw pg (same inserts, one transaction each); target >= 0.70');
  } finally {
    await db.close();
    await raw.end();
    await cleanup();
  }
}

await main();
