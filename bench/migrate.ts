/**
 * `npm run bench:migrate`: `nova migrate-sqlite` on a generated legacy log of BENCH_ROWS
 * (100,000) ticket submissions, against a raw-pg baseline of the same rows in the same run.
 *
 * - migrate-sqlite: the whole import path, as the command runs it: rows read from SQLite,
 *   checked and mapped, then per batch the requesters matched or made, the tickets, their
 *   audit rows, search-outbox rows and ledger entries, in one transaction; two batches are
 *   written at once while the next is mapped (the command's own setting).
 * - baseline: raw pg writing the same rows where they go: read from the same file, inserted
 *   into support_tickets (its indexes and constraints, as for the import) with set-based
 *   INSERTs of the same batch size (`INSERT … SELECT FROM unnest`), on one connection, all
 *   for one existing requester: no checks, no mapping, no users, no audit, no outbox, no
 *   ledger. What the import adds over the bare write is what the ratio shows.
 *
 * Each round imports a file of its own (ticket ids and requesters of its own, so nothing is
 * skipped as already there), the two paths in alternating order. Figures are printed, never
 * asserted.
 *
 *   BENCH_ROWS (100000), BENCH_ROUNDS (3), BENCH_REQUESTERS (5000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { bootstrapPostgres } from '../src/bootstrap/postgres/index.js';
import { loadConfig } from '../src/config.js';
import { createNovaDb } from '../src/lib/db/index.js';
import { migrateSqlite } from '../src/migrate/sqlite/run.js';
import { benchDatabase, median, runtimeLine } from './support.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REQUESTERS = Number(process.env.BENCH_REQUESTERS ?? 5000);
const BATCH = 1000;
const URGENCIES = ['low', 'medium', 'high', 'urgent', 'Normal', 'Critical'];
const SYSTEMS = ['Printers', 'Network', 'Email', 'Hardware', 'Accounts', 'VPN'];

/** A legacy log.sqlite of ROWS submissions, ticket ids and addresses marked with `round`. */
function legacyLog(dir: string, round: number): string {
  const path = join(dir, `log-${round}.sqlite`);
  const db = new DatabaseSync(path);
  db.exec(`CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT,
    title TEXT, system TEXT, urgency TEXT, timestamp TEXT, email_status TEXT, servicenow_id TEXT)`);
  const insert = db.prepare('INSERT INTO logs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  db.exec('BEGIN');
  for (let i = 1; i <= ROWS; i++) {
    const person = i % REQUESTERS;
    const day = String(1 + (i % 28)).padStart(2, '0');
    insert.run(
      i,
      `R${round}-${i}`,
      `Person ${person} Example`,
      `person${person}@round${round}.example.com`,
      `Ticket ${i}: something is not working`,
      SYSTEMS[i % SYSTEMS.length] ?? null,
      URGENCIES[i % URGENCIES.length] ?? null,
      `2023-02-${day} 10:${String(i % 60).padStart(2, '0')}:00`,
      i % 3 ? 'sent' : 'failed',
      i % 5 ? null : `INC${String(i).padStart(7, '0')}`,
    );
  }
  db.exec('COMMIT');
  db.close();
  return path;
}

/** The baseline: the same rows into support_tickets, set-based, one connection. */
async function baseline(url: string, file: string, requesterId: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const legacy = new DatabaseSync(file, { readOnly: true });
  try {
    const started = performance.now();
    const read = legacy.prepare('SELECT * FROM logs WHERE rowid > ? ORDER BY rowid LIMIT ?');
    for (let after = 0; ; after += BATCH) {
      const rows = read.all(after, BATCH) as Record<string, string>[];
      if (rows.length === 0) break;
      const column = (name: string) => rows.map((row) => row[name]);
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO support_tickets
           (id, title, description, priority, category, requester_id, external_ref, created_at, updated_at)
         SELECT gen_random_uuid(), t, '', 'medium', c, $1, x, at, at
           FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS n(t, c, x, at)`,
        [
          requesterId,
          column('title'),
          column('system'),
          rows.map((row) => `baseline:${row.ticket_id}`),
          rows.map((row) => `${row.timestamp}Z`),
        ],
      );
      await client.query('COMMIT');
    }
    return ROWS / ((performance.now() - started) / 1000);
  } finally {
    legacy.close();
    await client.end();
  }
}

async function main() {
  const { url, cleanup } = await benchDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'nova-bench-migrate-'));
  const db = createNovaDb({
    ...loadConfig({}),
    postgres: { url, poolSize: 4, connectTimeoutMs: 5000, retryAttempts: 4 },
  });
  try {
    await bootstrapPostgres(url, db.postgres);
    const requester = await db.createUser({
      email: 'baseline.requester@example.com',
      firstName: 'Baseline',
      lastName: 'Requester',
    });
    const files = Array.from({ length: ROUNDS }, (_, round) => legacyLog(dir, round));
    const ours: number[] = [];
    const raw: number[] = [];
    const ratios: number[] = [];
    for (const [round, file] of files.entries()) {
      const measure = async () => {
        const started = performance.now();
        const report = await migrateSqlite(db.postgres, { file, batchSize: BATCH });
        const imported = report.summary.reduce((sum, table) => sum + table.imported, 0);
        if (imported !== ROWS || report.refused.length) {
          throw new Error(`imported ${imported} of ${ROWS}, refused ${report.refused.length}`);
        }
        return ROWS / ((performance.now() - started) / 1000);
      };
      // Alternate which goes first, so neither always meets a warmer cache.
      const [a, b] =
        round % 2
          ? [await baseline(url, file, requester.id), await measure()]
          : await (async () => {
              const m = await measure();
              return [await baseline(url, file, requester.id), m];
            })();
      raw.push(a);
      ours.push(b);
      ratios.push(b / a);
      console.log(
        `round ${round + 1}: migrate-sqlite ${Math.round(b)} rows/s, baseline ${Math.round(a)} rows/s, ratio ${(b / a).toFixed(2)}`,
      );
    }
    console.log(runtimeLine());
    console.log(
      `${ROWS} legacy log rows, ${REQUESTERS} requesters, batches of ${BATCH}, ${ROUNDS} rounds`,
    );
    console.log('path                         rows/s (median)');
    console.log(`migrate-sqlite (whole path)  ${Math.round(median(ours))}`);
    console.log(
      `raw pg INSERT (baseline)     ${Math.round(median(raw))}   (the same rows into support_tickets)`,
    );
    console.log(`ratio (median of rounds)     ${median(ratios).toFixed(2)}`);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    await cleanup();
  }
}

await main();
