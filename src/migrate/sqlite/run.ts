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
import type { LedgerScope, LegacyTicket, LegacyUser } from '../../lib/db/postgres/legacy-import.js';
import type { RegisterPasskeyInput } from '../../lib/db/postgres/passkeys.js';
import type { PostgresStore } from '../../lib/db/postgres.js';
import { isNovaError, NovaError } from '../../lib/errors.js';
import { type FoundTable, type LegacyFile, openLegacyFile } from './inspect.js';
import { IMPORT_ORDER, LEGACY_TABLES, type LegacyTable } from './legacy-schema.js';
import { loadMapping, lookup, type Mapping } from './mapping.js';
import { active, passkey, person, Refusal, text, ticket, time } from './rows.js';

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

/** A table's rows, mapped: each either a record to write or a refusal. */
type Mapped<T> = { sourceId: string; record?: T; refusal?: string };

/** What each table needs to turn rows into records and write them. */
interface Importer<T> {
  /**
   * Batches that may be written at once (default 1): more only where batches cannot depend
   * on each other's rows (tickets and audit rows; their requesters and actors come from
   * tables imported before).
   */
  writers?: number;
  map(table: FoundTable, row: Record<string, unknown>, sourceId: string): Promise<T> | T;
  write(records: { sourceId: string; record: T }[]): Promise<{ imported: number; skipped: number }>;
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
  const importers = importersFor(store, mapping, options);
  const scope = ledgerScope(options.source, options.file);
  for (const known of IMPORT_ORDER) {
    const table = file.tables.find((t) => t.known === known && t.missing.length === 0);
    if (!table) continue;
    const summary: TableSummary = { table: table.name, imported: 0, skipped: 0, refused: 0 };
    report.summary.push(summary);
    const importer = importers[known] as Importer<unknown>;
    const batchSize = options.batchSize ?? 1000;
    const seen = new Map<string, string>();
    // A table the ledger has nothing of (a first import) needs no per-batch lookups.
    const resuming = (await store.importedCount(scope(known))) > 0;
    let after = 0;
    let done = 0;
    // Pipelined: the next batch is read, checked and mapped while the previous one is being
    // written (each write still starts only after the one before it committed).
    // Up to `writers` batches are written at once (each its own transaction), while the next
    // is read and mapped.
    const writers = importer.writers ?? 1;
    const writing: Promise<void>[] = [];
    try {
      for (;;) {
        const batch = file.rows(table, after, batchSize);
        if (batch.length === 0) break;
        after = batch.at(-1)?.rowid ?? after;
        const mapped: Mapped<unknown>[] = [];
        for (const [i, { rowid, row }] of batch.entries()) {
          // Let the write in flight take its turns: its statements' replies are I/O callbacks,
          // which a loop of awaits alone would hold off until the whole batch is mapped.
          if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise(setImmediate);
          const sourceId = sourceIdOf(table, row, rowid);
          const duplicateOf = seen.get(sourceId);
          if (duplicateOf !== undefined) {
            mapped.push({ sourceId, refusal: `duplicate id (row ${duplicateOf} has it too)` });
            continue;
          }
          seen.set(sourceId, String(rowid));
          try {
            mapped.push({ sourceId, record: await importer.map(table, row, sourceId) });
          } catch (error) {
            if (!(error instanceof Refusal)) throw error;
            mapped.push({ sourceId, refusal: error.message });
          }
        }
        const good: { sourceId: string; record: unknown }[] = [];
        for (const { sourceId, record, refusal } of mapped) {
          if (refusal === undefined) good.push({ sourceId, record });
          else report.refused.push({ table: table.name, id: sourceId, reason: refusal });
        }
        summary.refused += mapped.length - good.length;
        const already = resuming
          ? await store.importedTargets(
              scope(known),
              good.map((m) => m.sourceId),
            )
          : new Map<string, string>();
        const fresh = good.filter((m) => !already.has(m.sourceId));
        summary.skipped += good.length - fresh.length;
        if (writing.length >= writers) await writing.shift();
        const rows = batch.length;
        const write = (async () => {
          if (options.dryRun) summary.imported += fresh.length;
          else if (fresh.length) {
            const result = await importer.write(fresh);
            summary.imported += result.imported;
            summary.skipped += result.skipped;
          }
          done += rows;
          options.onProgress?.({ table: table.name, done, total: table.rows });
        })();
        // Settled here too, so a failed write cannot go unobserved while the next batch is read.
        write.catch(() => {});
        writing.push(write);
      }
    } catch (error) {
      // Nothing is left writing when the error reaches the caller (who may close the pool).
      await Promise.allSettled(writing);
      throw error;
    }
    await Promise.all(writing);
  }
  return report;
}

/** Where the ledger keeps a table's rows for this source. */
function ledgerScope(source: string | undefined, file: string) {
  const name = source ?? basename(file).replace(/\.[^.]*$/, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name)) {
    throw new NovaError(
      'VALIDATION_FAILED',
      `source: ${JSON.stringify(name)} must be letters, digits, ., _ and - (give --source)`,
      { field: 'source' },
    );
  }
  return (table: string): LedgerScope => ({ source: name, table });
}

/**
 * Batches of tickets written at once: PostgreSQL works on one while the next is sent, and on
 * a second core if there is one.
 */
const PARALLEL_WRITES = 2;

/** Rows mapped between two turns of the event loop. */
const YIELD_EVERY = 100;

/** The row's id in its table: its id column, or for a link table its two ends, or its rowid. */
function sourceIdOf(table: FoundTable, row: Record<string, unknown>, rowid: number): string {
  const id = text(table, row, 'id');
  if (id !== undefined) return id;
  if (table.known === 'user_roles') {
    return `${text(table, row, 'userId')}:${text(table, row, 'roleId') ?? text(table, row, 'roleName')}`;
  }
  if (table.known === 'config') return text(table, row, 'key') ?? `rowid-${rowid}`;
  return `rowid-${rowid}`;
}

/** `legacy.<key>`: the new platform's key form (dotted lower-case words). */
export function configKey(legacy: string): string {
  const words = legacy
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '_')
    .split('.')
    .map((word) => word.replace(/^_+|_+$/g, ''))
    .filter(Boolean);
  if (words.length === 0)
    throw new Refusal(`key ${JSON.stringify(legacy)} has no letters or digits`);
  const key = `legacy.${words.join('.')}`;
  if (key.length > 200)
    throw new Refusal(`key is ${key.length} characters as legacy.* (at most 200)`);
  return key;
}

function importersFor(
  store: PostgresStore,
  mapping: Mapping,
  { actor, dryRun = false, file, source }: MigrateOptions,
): Record<(typeof IMPORT_ORDER)[number], Importer<unknown>> {
  const scope = ledgerScope(source, file);
  /** Legacy role id → our role name, as the roles table maps it (filled by its import). */
  const roleNames = new Map<string, string>();
  /** Legacy user ids this run accepted: what a dry run's role grants may refer to. */
  const acceptedUsers = new Set<string>();
  /** Legacy ticket reference → the logs row that had it first. */
  const ticketRefs = new Map<string, string>();
  const users: Importer<LegacyUser> = {
    map: (table, row, sourceId) => {
      const user = {
        sourceId,
        ...person(table, row, {
          createdAt: time(table, row, 'createdAt') ?? null,
          active: active(table, row),
        }),
      };
      acceptedUsers.add(sourceId);
      return user;
    },
    write: (records) =>
      store.importLegacyUsers(
        scope('users'),
        records.map((r) => r.record),
        actor,
      ),
  };
  const roles: Importer<string> = {
    map: (table, row, sourceId) => {
      const name = text(table, row, 'name') ?? '';
      const ours = lookup(mapping.roles, name);
      if (ours === undefined) {
        throw new Refusal(
          `role ${JSON.stringify(name)} has no counterpart (add it to --map's "roles")`,
        );
      }
      roleNames.set(sourceId, ours);
      return ours;
    },
    // Roles are mapped, not made: nothing to write but the ledger.
    write: async (records) => {
      await store.recordLegacyImports(
        scope('roles'),
        records.map((r) => ({ sourceId: r.sourceId, targetType: 'role', targetId: r.record })),
      );
      return { imported: records.length, skipped: 0 };
    },
  };
  const grants: Importer<{ userId: string; role: string }> = {
    map: async (table, row) => {
      const legacyUser = text(table, row, 'userId') ?? '';
      const userId = await userOf(legacyUser);
      if (userId === undefined) throw new Refusal(`user ${legacyUser} was not imported`);
      const roleId = text(table, row, 'roleId');
      const role =
        (roleId !== undefined ? roleNames.get(roleId) : undefined) ??
        lookup(mapping.roles, text(table, row, 'roleName') ?? '');
      if (role === undefined)
        throw new Refusal(`role ${roleId ?? text(table, row, 'roleName')} is not mapped`);
      return { userId, role };
    },
    write: async (records) => {
      let imported = 0;
      for (const { record } of records) {
        if (await store.assignRole(record.userId, record.role, actor)) imported++;
      }
      await store.recordLegacyImports(
        scope('user_roles'),
        records.map((r) => ({
          sourceId: r.sourceId,
          targetType: 'user_role',
          targetId: `${r.record.userId}:${r.record.role}`,
        })),
      );
      return { imported, skipped: records.length - imported };
    },
  };
  /** A legacy user id → ours: from the ledger, or (a dry run) one this run accepted. */
  const userOf = async (legacyUser: string) =>
    (await store.importedTargets(scope('users'), [legacyUser])).get(legacyUser) ??
    (dryRun && acceptedUsers.has(legacyUser) ? `(user ${legacyUser})` : undefined);
  const passkeys: Importer<{ userId: string; input: RegisterPasskeyInput }> = {
    map: async (table, row) => {
      const legacyUser = text(table, row, 'userId') ?? '';
      const input = passkey(table, row);
      const userId = await userOf(legacyUser);
      if (userId === undefined) throw new Refusal(`user ${legacyUser} was not imported`);
      return { userId, input };
    },
    write: async (records) => {
      let imported = 0;
      for (const { record } of records) {
        try {
          await store.registerPasskey(record.userId, record.input, actor);
          imported++;
        } catch (error) {
          // Registered already (by the user, or an earlier run whose record was lost).
          if (!isNovaError(error) || error.code !== 'ALREADY_EXISTS') throw error;
        }
      }
      await store.recordLegacyImports(
        scope('passkeys'),
        records.map((r) => ({
          sourceId: r.sourceId,
          targetType: 'passkey',
          targetId: Buffer.from(r.record.input.credentialId as Uint8Array).toString('base64url'),
        })),
      );
      return { imported, skipped: records.length - imported };
    },
  };
  /** legacy.* key → the legacy key that took it (two spellings of one key collide). */
  const configKeys = new Map<string, string>();
  const config: Importer<{ key: string; value: unknown }> = {
    map: (table, row) => {
      const legacyKey = text(table, row, 'key') ?? '';
      const key = configKey(legacyKey);
      const first = configKeys.get(key);
      if (first !== undefined && first !== legacyKey) {
        throw new Refusal(
          `key ${JSON.stringify(legacyKey)} becomes ${key}, as ${JSON.stringify(first)} does`,
        );
      }
      configKeys.set(key, legacyKey);
      const raw = text(table, row, 'value');
      if (raw === undefined) throw new Refusal('no value');
      let value: unknown = raw;
      try {
        value = JSON.parse(raw);
      } catch {
        // Not JSON: kept as the string it is.
      }
      if (value === null) value = raw;
      return { key, value };
    },
    write: async (records) => {
      let imported = 0;
      for (const { record } of records) {
        // Secret-named keys stay secret: the audit row and every read redact them by name.
        if ((await store.getConfig(record.key)) === null) {
          await store.setConfig(
            record.key,
            record.value,
            { description: 'imported from the legacy Nova config' },
            actor,
          );
          imported++;
        }
      }
      await store.recordLegacyImports(
        scope('config'),
        records.map((r) => ({
          sourceId: r.sourceId,
          targetType: 'config',
          targetId: r.record.key,
        })),
      );
      return { imported, skipped: records.length - imported };
    },
  };
  /** Requesters resolved by earlier batches: email in lower case → user id. */
  const requesters = new Map<string, string>();
  const logs: Importer<LegacyTicket> = {
    writers: PARALLEL_WRITES,
    map: (table, row, sourceId) => {
      const record = ticket(table, row, sourceId, mapping);
      const first = ticketRefs.get(record.externalRef);
      if (first !== undefined && first !== sourceId) {
        const id = record.externalRef.slice('legacy:'.length);
        throw new Refusal(`duplicate ticket id ${id} (row ${first} has it too)`);
      }
      ticketRefs.set(record.externalRef, sourceId);
      return record;
    },
    write: (records) =>
      store.importLegacyTickets(
        scope('logs'),
        records.map((r) => r.record),
        actor,
        requesters,
      ),
  };
  const audit: Importer<{
    userId: string | undefined;
    action: string;
    details: unknown;
    at: Date | null;
  }> = {
    map: (table, row) => {
      const action = text(table, row, 'action');
      if (action === undefined) throw new Refusal('no action');
      const raw = text(table, row, 'details');
      let details: unknown = raw;
      try {
        details = raw === undefined ? undefined : JSON.parse(raw);
      } catch {
        // Free text: kept as it is.
      }
      return {
        userId: text(table, row, 'userId'),
        action: action.toLowerCase().replace(/[^a-z0-9_.]+/g, '_'),
        details: details === undefined ? undefined : { details },
        at: time(table, row, 'timestamp') ?? null,
      };
    },
    write: async (records) => {
      const actors = await store.importedTargets(
        scope('users'),
        records.flatMap((r) => (r.record.userId ? [r.record.userId] : [])),
      );
      return store.importLegacyAudit(
        scope('audit_logs'),
        records.map(({ sourceId, record }) => ({
          sourceId,
          actorId: record.userId ? (actors.get(record.userId) ?? null) : null,
          action: record.action,
          details: record.details,
          at: record.at,
        })),
      );
    },
  };
  return { users, roles, user_roles: grants, passkeys, config, logs, audit_logs: audit } as Record<
    LegacyTable & (typeof IMPORT_ORDER)[number],
    Importer<unknown>
  >;
}
