/**
 * `nova migrate-sqlite`: the legacy file inspected, its plan made, then each known table
 * imported in dependency order, a batch at a time, through novaDb's write paths.
 *
 * - Idempotent and resumable: every imported row is recorded in the ledger (legacy_imports)
 *   in the same transaction as what it became; a run skips recorded rows.
 * - A batch commits whole or not at all.
 * - A bad row is refused with its table, id and reason, and the rest go in; with `strict`,
 *   every row is checked first and nothing is written if any is refused.
 * - A dry run reads and checks every row, and writes nothing.
 */

import { basename } from 'node:path';
import type { Actor } from '../../lib/db/postgres/audit.js';
import type { LedgerScope } from '../../lib/db/postgres/legacy-import.js';
import type { PostgresStore } from '../../lib/db/postgres.js';
import { NovaError } from '../../lib/errors.js';
import { type Importer, importersFor, type Row } from './importers.js';
import { type FoundTable, type LegacyFile, openLegacyFile } from './inspect.js';
import { IMPORT_ORDER, LEGACY_TABLES } from './legacy-schema.js';
import { loadMapping, type Mapping } from './mapping.js';
import { claim, Refusal, text } from './rows.js';

export interface PlanEntry {
  table: string;
  /** What it becomes, or why it is not imported. */
  target: string;
  rows: number;
  used: Record<string, string>;
  ignored: string[];
  /** Imported by this run (known, with its required columns). */
  imports: boolean;
}

export interface RefusedRow {
  table: string;
  id: string;
  reason: string;
}

export interface TableSummary {
  table: string;
  imported: number;
  skipped: number;
  refused: number;
}

export interface MigrateReport {
  file: string;
  dryRun: boolean;
  plan: PlanEntry[];
  summary: TableSummary[];
  refused: RefusedRow[];
  /** strict and something refused: nothing was written. */
  stoppedByStrict: boolean;
}

export interface Progress {
  table: string;
  done: number;
  total: number;
}

export interface MigrateOptions {
  file: string;
  /**
   * The legacy file's name in the ledger (default: its base name, `log` for log.sqlite): runs
   * under one name continue each other; a second legacy file needs a name of its own.
   */
  source?: string;
  dryRun?: boolean;
  strict?: boolean;
  mapFile?: string;
  batchSize?: number;
  actor?: Actor;
  onPlan?: (plan: PlanEntry[]) => void;
  onProgress?: (progress: Progress) => void;
}

export function planOf(file: LegacyFile): PlanEntry[] {
  return file.tables.map((table) => {
    const spec = table.known ? LEGACY_TABLES[table.known] : undefined;
    const imports = spec?.target !== undefined && table.missing.length === 0;
    const target = !spec
      ? 'unknown: not imported'
      : spec.target === undefined
        ? `not imported: ${spec.notImported}`
        : table.missing.length
          ? `not imported: no ${table.missing.join(', ')} column`
          : spec.target;
    return {
      table: table.name,
      target,
      rows: table.rows,
      used: table.fields,
      ignored: table.ignored,
      imports,
    };
  });
}

export async function migrateSqlite(
  store: PostgresStore,
  options: MigrateOptions,
): Promise<MigrateReport> {
  const mapping = loadMapping(options.mapFile);
  const file = openLegacyFile(options.file);
  try {
    const plan = planOf(file);
    options.onPlan?.(plan);
    const report: MigrateReport = {
      file: options.file,
      dryRun: options.dryRun ?? false,
      plan,
      summary: [],
      refused: [],
      stoppedByStrict: false,
    };
    if (options.strict && !options.dryRun) {
      const check = await runTables(store, file, mapping, { ...options, dryRun: true }, report);
      if (check.refused.length) {
        report.stoppedByStrict = true;
        return check;
      }
      report.summary = [];
      report.refused = [];
    }
    return await runTables(store, file, mapping, options, report);
  } finally {
    file.close();
  }
}

async function runTables(
  store: PostgresStore,
  file: LegacyFile,
  mapping: Mapping,
  options: MigrateOptions,
  report: MigrateReport,
): Promise<MigrateReport> {
  const source = sourceName(options.source, options.file);
  const roles = new Set(await store.listRoleNames());
  const importers = importersFor({
    store,
    mapping,
    actor: options.actor,
    dryRun: options.dryRun ?? false,
    source,
    roles,
  });
  for (const known of IMPORT_ORDER) {
    // Every table of the kind (a file may hold both `config` and `settings`), each its own
    // part of the ledger.
    for (const table of file.tables.filter((t) => t.known === known && t.missing.length === 0)) {
      const summary: TableSummary = { table: table.name, imported: 0, skipped: 0, refused: 0 };
      report.summary.push(summary);
      await importTable(store, file, table, importers[known], options, report, summary, {
        source,
        table: table.name,
      });
    }
  }
  return report;
}

/** Rows mapped between two turns of the event loop. */
const YIELD_EVERY = 100;
/** The ledger's source_id column. */
const MAX_SOURCE_ID = 200;

/**
 * One table, a batch at a time: read, checked and mapped, the ledger asked what is done
 * already, the rest written. Pipelined: the next batch is read and mapped while up to
 * `importer.writers` batches are being written (each its own transaction). Once a write
 * fails no other starts, every write in flight is waited for, and the first failure is
 * thrown.
 */
async function importTable(
  store: PostgresStore,
  file: LegacyFile,
  table: FoundTable,
  importer: Importer<unknown>,
  options: MigrateOptions,
  report: MigrateReport,
  summary: TableSummary,
  ledger: LedgerScope,
): Promise<void> {
  const batchSize = options.batchSize ?? 1000;
  const writers = importer.writers ?? 1;
  const seen = new Map<string, string>();
  // A table the ledger has nothing of (a first import) needs no per-batch lookups.
  const resuming = (await store.importedCount(ledger)) > 0;
  const writing: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;
  let after = 0;
  let done = 0;
  try {
    for (;;) {
      if (failure) break;
      const batch = file.rows(table, after, batchSize);
      if (batch.length === 0) break;
      after = batch.at(-1)?.rowid ?? after;
      const good: { sourceId: string; record: unknown }[] = [];
      for (const [i, { rowid, row }] of batch.entries()) {
        // Let the writes in flight take their turns: their replies are I/O callbacks, which a
        // loop of awaits alone would hold off until the whole batch is mapped.
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise(setImmediate);
        const sourceId = sourceIdOf(table, row, rowid);
        const outcome = await mapRow(importer, table, row, sourceId, rowid, seen);
        if ('reason' in outcome) {
          report.refused.push({ table: table.name, id: sourceId, reason: outcome.reason });
          summary.refused++;
        } else good.push({ sourceId, record: outcome.record });
      }
      const already = resuming
        ? await store.importedTargets(
            ledger,
            good.map((m) => m.sourceId),
          )
        : new Map<string, string>();
      const fresh = good.filter((m) => !already.has(m.sourceId));
      summary.skipped += good.length - fresh.length;
      if (writing.length >= writers) await writing.shift();
      if (failure) break;
      const rows = batch.length;
      const write = (async () => {
        if (options.dryRun) summary.imported += fresh.length;
        else if (fresh.length) {
          const result = await importer.write(fresh, ledger);
          summary.imported += result.imported;
          summary.skipped += result.skipped;
        }
        done += rows;
        options.onProgress?.({ table: table.name, done, total: table.rows });
      })().catch((error: unknown) => {
        failure ??= { error };
      });
      writing.push(write);
    }
  } finally {
    // Nothing is left writing when an error reaches the caller (who may close the pool).
    await Promise.all(writing);
  }
  if (failure) throw failure.error;
}

/** A row mapped, or the reason it is refused. */
async function mapRow(
  importer: Importer<unknown>,
  table: FoundTable,
  row: Row,
  sourceId: string,
  rowid: number,
  seen: Map<string, string>,
): Promise<{ record: unknown } | { reason: string }> {
  if (sourceId.length > MAX_SOURCE_ID) {
    return { reason: `id is ${sourceId.length} characters (at most ${MAX_SOURCE_ID})` };
  }
  try {
    claim(seen, sourceId, String(rowid), (first) => `duplicate id (row ${first} has it too)`);
    return { record: await importer.map(table, row, sourceId) };
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return { reason: error.message };
  }
}

/** The legacy file's name in the ledger: --source, or the file's base name. */
function sourceName(source: string | undefined, file: string): string {
  const name = source ?? basename(file).replace(/\.[^.]*$/, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/.test(name)) {
    throw new NovaError(
      'VALIDATION_FAILED',
      `source: ${JSON.stringify(name)} must be at most 50 letters, digits, ., _ and - (give --source)`,
      { field: 'source' },
    );
  }
  return name;
}

/** The row's id in its table: its id column, or for a link table its two ends, or its rowid. */
function sourceIdOf(table: FoundTable, row: Row, rowid: number): string {
  const id = text(table, row, 'id');
  if (id !== undefined) return id;
  if (table.known === 'user_roles') {
    return `${text(table, row, 'userId')}:${text(table, row, 'roleId') ?? text(table, row, 'roleName')}`;
  }
  if (table.known === 'config') return text(table, row, 'key') ?? `rowid-${rowid}`;
  return `rowid-${rowid}`;
}
