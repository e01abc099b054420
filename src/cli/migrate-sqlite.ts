/**
 * `nova migrate-sqlite <file> [--dry-run] [--json] [--map FILE] [--strict] [--source NAME]`: the legacy Nova
 * SQLite file into PostgreSQL (src/migrate/sqlite/). Prints the plan before writing, progress
 * on a terminal (stderr), then a summary per table and the refused rows; exit 1 when a row
 * was refused. With --json: one JSON report on stdout, nothing else.
 */
import { type MigrateReport, migrateSqlite, type PlanEntry } from '../migrate/sqlite/run.js';
import { cliActor } from './actor.js';
import { openSession } from './database.js';
import { printJson } from './output.js';
import { progressLine } from './progress.js';

/** How many refused rows the text report lists (all of them are in --json). */
const REFUSED_SHOWN = 50;

function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatPlan(plan: PlanEntry[]): string {
  const rows = plan.map((entry) => [
    entry.table,
    String(entry.rows),
    entry.target,
    Object.values(entry.used).join(', ') || '-',
    entry.ignored.join(', ') || '-',
  ]);
  return table([['table', 'rows', 'becomes', 'columns used', 'columns ignored'], ...rows]);
}

export function formatReport(report: MigrateReport): string {
  const lines = [
    table([
      ['table', report.dryRun ? 'would import' : 'imported', 'skipped', 'refused'],
      ...report.summary.map((s) => [
        s.table,
        String(s.imported),
        String(s.skipped),
        String(s.refused),
      ]),
    ]),
  ];
  if (report.refused.length) {
    lines.push('', 'refused rows (table, id: reason):');
    for (const row of report.refused.slice(0, REFUSED_SHOWN)) {
      lines.push(`  ${row.table}, ${row.id}: ${row.reason}`);
    }
    if (report.refused.length > REFUSED_SHOWN) {
      lines.push(`  … and ${report.refused.length - REFUSED_SHOWN} more (--json lists all)`);
    }
  }
  if (report.stoppedByStrict) lines.push('', '--strict: rows were refused, so nothing was written');
  else if (report.dryRun) lines.push('', 'dry run: nothing was written');
  return lines.join('\n');
}

export async function runMigrateSqlite(options: {
  file: string;
  dryRun: boolean;
  json: boolean;
  mapFile: string | undefined;
  source: string | undefined;
  strict: boolean;
}): Promise<number> {
  const session = await openSession();
  const progress = options.json ? undefined : progressLine(process.stderr);
  try {
    const report = await migrateSqlite(session.db.postgres, {
      file: options.file,
      dryRun: options.dryRun,
      strict: options.strict,
      ...(options.mapFile ? { mapFile: options.mapFile } : {}),
      ...(options.source ? { source: options.source } : {}),
      actor: cliActor(),
      onPlan: (plan) => {
        if (!options.json) process.stdout.write(`${formatPlan(plan)}\n\n`);
      },
      onProgress: ({ table, done, total }) => progress?.update(table, done, total),
    });
    progress?.done();
    if (options.json) printJson(report);
    else process.stdout.write(`${formatReport(report)}\n`);
    return report.refused.length ? 1 : 0;
  } finally {
    progress?.done();
    await session.close();
  }
}
