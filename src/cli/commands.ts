/** The CLI commands. Each returns its exit code; errors propagate to cli.ts's single handler. */

import { constants } from 'node:os';
import { bootstrapElastic, formatElasticReport } from '../bootstrap/elastic/index.js';
import { type ReindexTarget, reindex } from '../bootstrap/elastic/reindex.js';
import { bootstrapKibana, formatKibanaReport } from '../bootstrap/kibana/index.js';
import { bootstrapMongo, formatMongoReport } from '../bootstrap/mongo/index.js';
import { formatBootstrapReport } from '../bootstrap/postgres/index.js';
import { migrationStatus } from '../bootstrap/postgres/migrate.js';
import { loadConfig } from '../config.js';
import { createElasticClient } from '../lib/db/elastic/client.js';
import type { DrainResult } from '../lib/db/elastic/indexer.js';
import type { NovaHealth } from '../lib/db/index.js';
import { NovaError } from '../lib/errors.js';
import {
  bootstrapSession,
  databaseLine,
  openSession,
  prepareDatabase,
  redactUrl,
} from './database.js';
import { printJson } from './output.js';
import { type ActivityLine, activityLine, progressLine } from './progress.js';
import { stopSignal } from './signals.js';

const row = (name: string, status: string, latencyMs: number | undefined, detail = '') =>
  `  ${name.padEnd(9)} ${status.padEnd(14)} ${latencyMs === undefined ? '         ' : `${String(latencyMs).padStart(6)} ms`}  ${detail}`.trimEnd();

function mongoDetail(
  mongo: Exclude<NovaHealth['checks']['mongodb'], { status: 'not_configured' }>,
) {
  if (mongo.error) return mongo.error;
  const set = mongo.replicaSet;
  const members = set
    ? `, replica set ${set.name}: ${set.members.map((m) => `${m.host} ${m.state}`).join(', ')}`
    : '';
  return `MongoDB ${mongo.serverVersion}${members}`;
}

function elasticDetail(
  elastic: Exclude<NovaHealth['checks']['elasticsearch'], { status: 'not_configured' }>,
) {
  const c = elastic.cluster;
  return c
    ? `Elasticsearch ${c.version}, cluster ${c.name} ${c.colour}: ${c.nodes} nodes, ${c.activeShards} active and ${c.unassignedShards} unassigned shards`
    : (elastic.error ?? '');
}

function formatHealth(health: NovaHealth): string {
  const pg = health.checks.postgres;
  const mongo = health.checks.mongodb;
  const elastic = health.checks.elasticsearch;
  return [
    `status: ${health.status}`,
    row(
      'postgres',
      pg.status,
      pg.latencyMs,
      pg.status === 'up' ? `PostgreSQL ${pg.serverVersion}` : pg.error,
    ),
    mongo.status === 'not_configured'
      ? row('mongodb', mongo.status, undefined, 'set MONGO_URL to enable')
      : row('mongodb', mongo.status, mongo.latencyMs, mongoDetail(mongo)),
    elastic.status === 'not_configured'
      ? row('elastic', elastic.status, undefined, 'set ELASTIC_URL to enable')
      : row('elastic', elastic.status, elastic.latencyMs, elasticDetail(elastic)),
  ].join('\n');
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
    const { report, wantDemo, demoCreated } = await prepareDatabase(session, { demo });
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
          databaseLine(session),
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
      const stop = stopSignal(); // before saying so: a Ctrl-C right after must find it
      process.stdout.write(`DATABASE_URL=${shown}\nRunning; press Ctrl-C to stop.\n`);
      const received = await stop.stopped;
      stop.dispose();
      // As shells report an interrupted command: 128 + the signal's number (130 for Ctrl-C).
      return 128 + constants.signals[received];
    }
    return health.status === 'ok' ? 0 : 1;
  } finally {
    await session.close();
  }
}

export const BOOTSTRAP_TARGETS = ['postgres', 'mongo', 'elastic', 'kibana', 'all'] as const;
export type BootstrapTarget = (typeof BOOTSTRAP_TARGETS)[number];

/**
 * `postgres`, `mongo`, `elastic` and `kibana` bootstrap one store and fail when it is not
 * configured; `all` bootstraps PostgreSQL and then every other configured store in that order
 * (Kibana after Elasticsearch, whose data views it shows), saying which it skipped.
 */
export async function runBootstrap({
  target,
  dryRun,
  json,
  waitMs,
}: {
  target: BootstrapTarget;
  dryRun: boolean;
  json: boolean;
  waitMs: number;
}) {
  // On a terminal: which step runs, and for how long (a store may take a while to answer).
  const activity = json ? undefined : activityLine(process.stderr);
  let outcome: { results: Record<string, unknown>; text: string[] };
  try {
    outcome = await bootstrapTargets(target, { dryRun, waitMs }, activity);
  } finally {
    activity?.done();
  }
  const { results, text } = outcome;
  if (json) printJson(target === 'all' ? results : Object.values(results)[0]);
  else process.stdout.write(`${text.join('\n')}\n`);
  return 0;
}

/** Each store the target names, in order; a store `all` finds unconfigured is skipped. */
async function bootstrapTargets(
  target: BootstrapTarget,
  { dryRun, waitMs }: { dryRun: boolean; waitMs: number },
  activity: ActivityLine | undefined,
) {
  const config = loadConfig();
  const results: Record<string, unknown> = {};
  const text: string[] = [];
  if (target === 'postgres' || target === 'all') {
    activity?.show('bootstrap postgres');
    const session = await openSession();
    try {
      const report = await bootstrapSession(session, { dryRun });
      results.postgres = report;
      text.push(formatBootstrapReport(report));
    } finally {
      await session.close();
    }
  }
  if (target === 'mongo' || (target === 'all' && config.mongo)) {
    if (!config.mongo) {
      throw new NovaError('CONFIG_INVALID', 'MONGO_URL is required to bootstrap MongoDB', {
        field: 'MONGO_URL',
      });
    }
    activity?.show('bootstrap mongo');
    const report = await bootstrapMongo(config.mongo, { dryRun, waitMs });
    results.mongo = report;
    text.push(formatMongoReport(report));
  } else if (target === 'all') {
    results.mongo = { skipped: 'MONGO_URL is not set' };
    text.push('MongoDB: skipped (MONGO_URL is not set)');
  }
  if (target === 'elastic' || (target === 'all' && config.elastic)) {
    activity?.show('bootstrap elastic');
    const report = await bootstrapElastic(config, { dryRun, waitMs });
    results.elastic = report;
    text.push(formatElasticReport(report));
  } else if (target === 'all') {
    results.elastic = { skipped: 'ELASTIC_URL is not set' };
    text.push('Elasticsearch: skipped (ELASTIC_URL is not set)');
  }
  if (target === 'kibana' || (target === 'all' && config.kibana)) {
    activity?.show('bootstrap kibana');
    const report = await bootstrapKibana(config, { dryRun, waitMs });
    results.kibana = report;
    text.push(formatKibanaReport(report));
  } else if (target === 'all') {
    results.kibana = { skipped: 'KIBANA_URL is not set' };
    text.push('Kibana: skipped (KIBANA_URL is not set)');
  }
  return { results, text };
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

/**
 * `nova indexer --once`: drains the search outbox into Elasticsearch until nothing is
 * available, prints what happened and the remaining lag; exit 1 when rows had to be put back
 * (cluster down or refusing) or are parked.
 *
 * `nova indexer`: the same, continuously, as its own process (a worker beside the service),
 * until SIGINT or SIGTERM; the batch in flight is settled before it exits 0.
 */
export async function runIndexer({ once, json }: { once: boolean; json: boolean }) {
  requireElastic('to index');
  const session = await openSession();
  const { indexer } = session.db;
  // Continuous mode says why rows went back; --once prints the last error with the lag.
  const printRound = (result: DrainResult) => {
    const { lastError } = indexer.stats();
    if (json) printJson({ ...result, lastError: result.retried > 0 ? lastError : null });
    else {
      process.stdout.write(
        `indexer: ${formatDrain(result)}${result.retried > 0 && lastError ? ` (last error: ${lastError.message})` : ''}\n`,
      );
    }
  };
  try {
    if (!once) {
      const stop = stopSignal();
      try {
        if (!json) process.stdout.write('indexer: running; Ctrl-C to stop\n');
        await indexer.run(stop.signal, { onDrain: printRound });
      } finally {
        stop.dispose();
      }
      return 0;
    }
    // A backlog shows its progress on a terminal: rows claimed of those pending at the start.
    const progress = json ? undefined : progressLine(process.stderr);
    const backlog = progress ? (await indexer.lag()).pending : 0;
    const result = await indexer.drain(undefined, (total) =>
      progress?.update('indexer', total.claimed, Math.max(backlog, total.claimed)),
    );
    progress?.done();
    const lag = await indexer.lag();
    const { lastError } = indexer.stats();
    if (json) printJson({ ...result, ...lag, lastError });
    else {
      process.stdout.write(
        `indexer: ${formatDrain(result)}\n` +
          `outbox: ${lag.pending} pending (oldest ${Math.round(lag.lagMs / 1000)} s), ${lag.parked} parked\n` +
          (lastError ? `last error: ${lastError.message}\n` : ''),
      );
    }
    return result.retried + lag.parked > 0 ? 1 : 0;
  } finally {
    await session.close();
  }
}

const formatDrain = (r: DrainResult) =>
  `${r.claimed} outbox rows: ${r.indexed} indexed, ${r.deleted} deleted, ${r.skipped} skipped, ${r.retried} to retry, ${r.parked} parked; ${r.embedded} embedded`;

function requireElastic(purpose: string) {
  const config = loadConfig();
  if (!config.elastic) {
    throw new NovaError('CONFIG_INVALID', `ELASTIC_URL is required ${purpose}`, {
      field: 'ELASTIC_URL',
    });
  }
  return config.elastic;
}

/**
 * `nova reindex tickets|kb|ai_context`: a new versioned index from PostgreSQL, then the alias swap.
 * Creating and deleting indices needs more than the application role: the admin credentials
 * (ELASTIC_ADMIN_*) are used when set.
 */
export async function runReindex({
  target,
  dryRun,
  json,
}: {
  target: ReindexTarget;
  dryRun: boolean;
  json: boolean;
}) {
  const elastic = requireElastic('to reindex');
  const session = await openSession();
  const client = createElasticClient(elastic, elastic.admin ? 'admin' : 'app');
  const progress = json ? undefined : progressLine(process.stderr);
  try {
    const report = await reindex(
      target,
      {
        client,
        pool: session.db.postgres.pool,
        config: elastic,
        embeddings: session.db.embeddings,
      },
      {
        dryRun,
        onProgress: (copied, total) => progress?.update(`reindex ${target}`, copied, total),
      },
    );
    progress?.done();
    if (json) printJson(report);
    else {
      const from = report.from.length > 0 ? report.from.join(', ') : 'nothing';
      process.stdout.write(
        report.dryRun
          ? `reindex ${target} (dry run): would copy ${report.rows} rows into ${report.to} and move ${report.alias} from ${from}\n`
          : `reindex ${target}: ${report.copied} rows copied into ${report.to}; ${report.alias} moved from ${from}; ` +
              `caught up ${report.caughtUp.indexed} written and ${report.caughtUp.deleted} deleted during the copy (${report.tookMs} ms)\n`,
      );
    }
    return 0;
  } finally {
    progress?.done();
    await client.close();
    await session.close();
  }
}
