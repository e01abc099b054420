/**
 * Reading the legacy file: opened read-only with Node's own SQLite (`node:sqlite`, no native
 * add-on), its tables and columns found, and each known table's fields matched to the columns
 * this file has. Nothing is written, to the file or anywhere.
 */
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { NovaError } from '../../lib/errors.js';
import { LEGACY_TABLES, type LegacyTable, type TableSpec } from './legacy-schema.js';

export interface FoundTable {
  /** The known table it is, or undefined when it is not one. */
  known: LegacyTable | undefined;
  /** Its name in this file. */
  name: string;
  rows: number;
  columns: string[];
  /** Field → the column that holds it here. */
  fields: Record<string, string>;
  /** Columns no field uses. */
  ignored: string[];
  /** Required fields this version of the table lacks. */
  missing: string[];
}

export interface LegacyFile {
  path: string;
  tables: FoundTable[];
  /** Reads a table's rows in rowid order, from `after` on, `limit` at a time. */
  rows(
    table: FoundTable,
    after: number,
    limit: number,
  ): { rowid: number; row: Record<string, unknown> }[];
  close(): void;
}

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

function knownTable(name: string): [LegacyTable, TableSpec] | undefined {
  const lower = name.toLowerCase();
  return (Object.entries(LEGACY_TABLES) as [LegacyTable, TableSpec][]).find(([, spec]) =>
    spec.names.includes(lower),
  );
}

export function openLegacyFile(path: string): LegacyFile {
  if (!existsSync(path)) {
    throw new NovaError('VALIDATION_FAILED', `file: no such file ${path}`, { field: 'file' });
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (error) {
    throw new NovaError(
      'VALIDATION_FAILED',
      `file: ${path} is not a SQLite database (${(error as Error).message})`,
      { field: 'file', cause: error },
    );
  }
  const names = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all()
    .map((row) => String(row.name));
  const tables = names.map((name): FoundTable => {
    const columns = db
      .prepare(`PRAGMA table_info(${quote(name)})`)
      .all()
      .map((row) => String(row.name));
    const rows = Number(db.prepare(`SELECT count(*) AS n FROM ${quote(name)}`).get()?.n ?? 0);
    const match = knownTable(name);
    if (!match)
      return { known: undefined, name, rows, columns, fields: {}, ignored: columns, missing: [] };
    const [known, spec] = match;
    const lower = new Map(columns.map((column) => [column.toLowerCase(), column]));
    const fields: Record<string, string> = {};
    for (const [field, candidates] of Object.entries(spec.fields)) {
      const column = candidates.map((c) => lower.get(c)).find((c) => c !== undefined);
      if (column) fields[field] = column;
    }
    const used = new Set(Object.values(fields));
    return {
      known,
      name,
      rows,
      columns,
      fields,
      ignored: columns.filter((column) => !used.has(column)),
      missing: spec.required.filter((field) => !(field in fields)),
    };
  });
  return {
    path,
    tables,
    rows(table, after, limit) {
      return db
        .prepare(
          `SELECT rowid AS __rowid, * FROM ${quote(table.name)} WHERE rowid > ? ORDER BY rowid LIMIT ?`,
        )
        .all(after, limit)
        .map((row) => {
          const { __rowid, ...rest } = row as Record<string, unknown>;
          return { rowid: Number(__rowid), row: rest };
        });
    },
    close: () => db.close(),
  };
}
