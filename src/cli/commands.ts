/** The CLI commands. Each returns its exit code; errors propagate to cli.ts's single handler. */

import { seedDemoData } from '../bootstrap/postgres/demo.js';
import { bootstrapPostgres, formatBootstrapReport } from '../bootstrap/postgres/index.js';
import { migrationStatus } from '../bootstrap/postgres/migrate.js';
import type { NovaHealth } from '../lib/db/index.js';
import { openSession } from './database.js';
import { printJson } from './output.js';

function formatHealth(health: NovaHealth): string {
  const pg = health.checks.postgres;
  const detail = pg.status === 'up' ? `PostgreSQL ${pg.serverVersion}` : pg.error;
  return [
    `status: ${health.status}`,
    `  postgres  ${pg.status.padEnd(5)} ${String(pg.latencyMs).padStart(7)} ms  ${detail}`,
  ].join('\n');
}

/** The URL with its password (in the userinfo or a ?password= parameter) masked. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    if (url.searchParams.has('password')) url.searchParams.set('password', '***');
    return url.toString().replace('%2A%2A%2A', '***');
  } catch {
    return '<unparseable URL>';
  }
}

export async function runLocal({
  keepRunning,
  json,
  demo,
}: {
  keepRunning: boolean;
  json: boolean;
  demo: boolean;
}) {
  const session = await openSession({ allowEmbedded: true });
  try {
    const report = await bootstrapPostgres(session.url, session.db.postgres);
    // Demo users and tickets go only into the embedded database, or where asked for: a
    // configured DATABASE_URL may well be a real one.
    const wantDemo = session.embedded || demo;
    const demoCreated = wantDemo ? await seedDemoData(session.db.postgres) : false;
    const health = await session.db.health();
    if (json) {
      printJson({
        postgres: { embedded: session.embedded, url: redactUrl(session.url) },
        bootstrap: report,
        demoDataCreated: demoCreated,
        health,
      });
    } else {
      process.stdout.write(
        [
          `PostgreSQL: ${redactUrl(session.url)}${session.embedded ? ` (embedded, data in ${session.dataDir})` : ''}`,
          formatBootstrapReport(report),
          wantDemo
            ? `demo data: ${demoCreated ? 'created' : 'already present'}`
            : 'demo data: skipped (configured database; pass --demo to add it)',
          formatHealth(health),
          '',
        ].join('\n'),
      );
    }
    if (keepRunning) {
      // The full URL only for the embedded server this command owns (local, generated
      // password); a configured server's credentials are the operator's and stay masked.
      const shown = session.embedded ? session.url : redactUrl(session.url);
      process.stdout.write(`DATABASE_URL=${shown}\nRunning; press Ctrl-C to stop.\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return health.status === 'ok' ? 0 : 1;
  } finally {
    await session.close();
  }
}

export async function runBootstrap({ dryRun, json }: { dryRun: boolean; json: boolean }) {
  const session = await openSession();
  try {
    const report = await bootstrapPostgres(session.url, session.db.postgres, { dryRun });
    if (json) printJson(report);
    else process.stdout.write(`${formatBootstrapReport(report)}\n`);
    return 0;
  } finally {
    await session.close();
  }
}

export async function runMigrateStatus({ json }: { json: boolean }) {
  const session = await openSession();
  try {
    const status = await migrationStatus(session.url);
    const upToDate = status.pending.length + status.modified.length + status.failed.length === 0;
    if (json) printJson({ ...status, upToDate });
    else {
      for (const [label, names] of Object.entries(status)) {
        if (names.length) process.stdout.write(`${label}: ${names.join(', ')}\n`);
      }
      process.stdout.write(
        upToDate ? 'database schema is up to date\n' : 'database schema is NOT up to date\n',
      );
    }
    return upToDate ? 0 : 1;
  } finally {
    await session.close();
  }
}

export async function runExport({
  includeUsers,
  out,
}: {
  includeUsers: boolean;
  out: string | undefined;
}) {
  const session = await openSession();
  try {
    const counts = await session.db.exportData({ includeUsers, ...(out ? { output: out } : {}) });
    // Data goes to stdout; the summary to stderr so a pipe stays pure NDJSON.
    process.stderr.write(
      `exported ${Object.entries(counts)
        .map(([t, n]) => `${n} ${t}`)
        .join(', ')}\n`,
    );
    return 0;
  } finally {
    await session.close();
  }
}

export async function runHealth({ json }: { json: boolean }) {
  const session = await openSession();
  try {
    const health = await session.db.health();
    if (json) printJson(health);
    else process.stdout.write(`${formatHealth(health)}\n`);
    return health.status === 'ok' ? 0 : 1;
  } finally {
    await session.close();
  }
}
