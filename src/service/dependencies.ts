/**
 * The dependencies /api/health and /readyz report, built from a NovaDb: PostgreSQL
 * (required), MongoDB and its telemetry writer, Elasticsearch, the outbox indexer and Kibana
 * (optional, `not_configured` without their URLs).
 *
 * The indexer is degraded when its oldest pending row is older than `maxIndexerLagMs`
 * (default 5 min) or rows are parked; the telemetry writers (one per store: MongoDB,
 * Elasticsearch) when any store's last flushes failed (a store whose buffer is full drops
 * its events: its `dropped` counts them). Details carry each store's counters.
 *
 * Each change of a dependency's probed status (and its first probe) is a system_logs event
 * (`dependency_up`, `dependency_degraded`, `dependency_down` on the `dependency` it names),
 * which SREs see over time in Kibana's "Service health" dashboard.
 */
import { migrationStatus } from '../bootstrap/postgres/migrate.js';
import type { KibanaConfig } from '../config.js';
import type { NovaDb } from '../lib/db/index.js';
import { kibanaHealth } from '../lib/kibana.js';
import { untraced } from '../telemetry/untraced.js';
import {
  DEFAULT_PROBE_TIMEOUT_MS,
  type HealthOptions,
  HealthService,
  type HealthSource,
} from './health.js';
import { CachedProbe } from './probe.js';
import type { Readiness } from './routes/health.js';

const LEVELS = { up: 'info', degraded: 'warn', down: 'error' } as const;

/** One system event per status change, through the telemetry writers (never blocking). */
const logStatusChange =
  (db: NovaDb): NonNullable<HealthOptions['onStatusChange']> =>
  ({ name, status, previous }) => {
    db.telemetry.logSystem(
      LEVELS[status],
      previous ? `${name} is ${status} (was ${previous})` : `${name} is ${status}`,
      { action: `dependency_${status}`, entityType: 'dependency', entityId: name },
    );
  };

export interface ServiceHealthOptions extends HealthOptions {
  /** The PostgreSQL URL, for reading migration status. */
  postgresUrl: string;
  /** Kibana, when KIBANA_URL is set (optional: SREs' window, not the service's). */
  kibana?: KibanaConfig | undefined;
  maxIndexerLagMs?: number;
}

export function serviceHealth(
  db: NovaDb,
  { postgresUrl, kibana, maxIndexerLagMs = 5 * 60_000, ...options }: ServiceHealthOptions,
) {
  const sources: HealthSource[] = [
    { name: 'postgres', required: true, probe: () => db.postgres.health() },
    {
      name: 'mongodb',
      required: false,
      ...(db.mongoConfigured ? { probe: () => db.mongo.health() } : {}),
    },
    {
      name: 'telemetry',
      required: false,
      ...(db.telemetryConfigured
        ? {
            probe: async () => {
              const { invalid, lastInvalid, stores } = db.telemetry.stats();
              const failing = Object.values(stores).some((store) => store.consecutiveFailures > 0);
              return { status: failing ? 'degraded' : 'up', invalid, lastInvalid, stores };
            },
          }
        : {}),
    },
    {
      name: 'elasticsearch',
      required: false,
      ...(db.elasticConfigured ? { probe: () => db.elastic.health() } : {}),
    },
    {
      name: 'indexer',
      required: false,
      ...(db.elasticConfigured
        ? {
            probe: async () => {
              const lag = await db.indexer.lag();
              const { lastError } = db.indexer.stats();
              const behind = lag.lagMs > maxIndexerLagMs || lag.parked > 0;
              return { status: behind ? 'degraded' : 'up', ...lag, lastError };
            },
          }
        : {}),
    },
    {
      name: 'kibana',
      required: false,
      ...(kibana
        ? {
            probe: () =>
              kibanaHealth(
                kibana,
                Math.min(
                  kibana.requestTimeoutMs,
                  options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
                ),
              ),
          }
        : {}),
    },
  ];
  const health = new HealthService(sources, {
    ...(db.telemetryConfigured ? { onStatusChange: logStatusChange(db) } : {}),
    ...options,
  });
  // A failure is a result too, cached like any other: while the status cannot be read,
  // /readyz must not open a new connection for every call.
  const migrations = new CachedProbe(
    () => untraced(() => migrationStatus(postgresUrl)).catch(() => null),
    options.intervalMs ?? 5000,
    options.now,
  );

  /** Ready: PostgreSQL answers and its schema is this code's (nothing pending or failed). */
  const ready = async (): Promise<Readiness> => {
    // Required dependencies only: a slow optional one must not take traffic away.
    const report = await health.report({ details: false, requiredOnly: true });
    if (report.checks.postgres?.status !== 'up') {
      return { ready: false, reasons: ['PostgreSQL is not reachable'] };
    }
    const status = await migrations.get();
    if (!status) return { ready: false, reasons: ['migration status cannot be read'] };
    // Counts, not names: /readyz answers anyone; `nova migrate status` names them.
    const reasons = [
      ...(status.pending.length > 0
        ? [`migrations pending: ${status.pending.length} (run nova bootstrap postgres)`]
        : []),
      ...(status.failed.length > 0
        ? [`migrations failed: ${status.failed.length} (see nova migrate status)`]
        : []),
      ...(status.modified.length > 0
        ? [`migrations modified: ${status.modified.length} (see nova migrate status)`]
        : []),
    ];
    return { ready: reasons.length === 0, reasons };
  };
  return { health, ready };
}
