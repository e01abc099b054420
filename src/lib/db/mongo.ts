/**
 * The MongoDB telemetry store, `novaDb.mongo`: the batched `log*` writer, the analytics
 * aggregations and health, over one pooled MongoClient.
 *
 *   novaDb.mongo.logUserActivity('user123', 'ticket_created', { ticketId: 'T001' });
 *   const report = await novaDb.mongo.searchAnalytics('24h');
 *
 * Logging never blocks or throws (see lib/telemetry); analytics and health are ordinary
 * async calls that throw NovaError (VALIDATION_FAILED for a bad range, UNAVAILABLE when the
 * replica set cannot be reached after retries).
 *
 * The store owns its writer (buffer, lanes, counters: `stats`, `flush`). Its `log*` methods
 * belong to the log it is given (`options.telemetry`): novaDb's offers each event to the
 * Elasticsearch writer as well, so `novaDb.mongo.logApiUsage(...)` reaches both stores.
 */
import type { Db, Document, TopologyDescription } from 'mongodb';
import type { MongoConfig, TelemetryConfig } from '../../config.js';
import { settleBy } from '../deadline.js';
import { withRetry } from '../retry.js';
import { BatchWriter, type CloseReport, type TelemetrySink } from '../telemetry/batch-writer.js';
import { TelemetryLog, type TelemetryStats } from '../telemetry/telemetry-log.js';
import {
  type PerformanceOptions,
  type PerformanceReport,
  performancePipeline,
  type SearchAnalytics,
  type SearchAnalyticsOptions,
  searchAnalyticsPipeline,
  toPerformanceReport,
  toSearchAnalytics,
} from './mongo/analytics.js';
import { createMongoClient, MongoConnection } from './mongo/client.js';
import { describeMongoError, isTransientMongoError, wrapMongoError } from './mongo/errors.js';
import {
  analyticsUnsupported,
  featureCompatibilityVersion,
  healthStatus,
  type MongoHealth,
  replicaSetView,
} from './mongo/health.js';
import { MongoSink } from './mongo/sink.js';
import { parseTimeRange } from './mongo/time-range.js';

export type { PerformanceReport, SearchAnalytics } from './mongo/analytics.js';
export type { MongoHealth } from './mongo/health.js';

export interface MongoStoreOptions {
  /** Replaces the MongoDB sink (tests, benchmarks). */
  sink?: TelemetrySink;
  /**
   * Builds the log the `log*` methods write to around this store's writer (novaDb adds the
   * Elasticsearch writer). Default: a log over this store's writer alone.
   */
  telemetry?: (writers: { mongodb: BatchWriter }) => TelemetryLog;
}

const NO_CLOSE: CloseReport = { written: 0, abandoned: 0 };

/** Cap on one analytics aggregation's server time. */
const ANALYTICS_MAX_TIME_MS = 15_000;

/** Past every server-side bound of ours (analytics' maxTimeMS, the write timeout), by 5 s. */
export const socketTimeoutFor = (writeTimeoutMs: number) =>
  Math.max(ANALYTICS_MAX_TIME_MS, writeTimeoutMs) + 5000;

export class MongoStore {
  readonly #connection: MongoConnection;
  readonly #config: MongoConfig;
  readonly #telemetry: TelemetryConfig;
  readonly #writer: BatchWriter;
  #topology: TopologyDescription | undefined;

  constructor(config: MongoConfig, telemetry: TelemetryConfig, options: MongoStoreOptions = {}) {
    this.#config = config;
    this.#telemetry = telemetry;
    this.#connection = new MongoConnection(() => {
      // A socket that answers nothing for longer than any bound we set the server (analytics'
      // maxTimeMS, the write timeout) is a hung primary: it must give its pooled connection
      // back rather than hold it forever. (The driver's timeoutMS has no effect in 7.x.)
      const client = createMongoClient(config, 'app', {
        socketTimeoutMS: socketTimeoutFor(telemetry.writeTimeoutMs),
      });
      // The driver reports every member's state through SDAM events; health reads the latest.
      client.on('topologyDescriptionChanged', (event) => {
        this.#topology = event.newDescription;
      });
      return client;
    });
    const sink =
      options.sink ?? new MongoSink(this.db, config.writeConcern, telemetry.writeTimeoutMs);
    this.#writer = new BatchWriter(sink, telemetry);
    const writers = { mongodb: this.#writer };
    this.telemetry =
      options.telemetry?.(writers) ?? new TelemetryLog(writers, { service: telemetry.serviceName });
    ({
      logAudit: this.logAudit,
      logSystem: this.logSystem,
      logUserActivity: this.logUserActivity,
      logPerformance: this.logPerformance,
      logError: this.logError,
      logApiUsage: this.logApiUsage,
      logSearch: this.logSearch,
    } = this.telemetry);
  }

  /** The log the `log*` methods belong to (novaDb's also writes to Elasticsearch). */
  readonly telemetry: TelemetryLog;

  // The log methods are TelemetryLog's own (already bound): no wrapper on the hot path.
  readonly logAudit: TelemetryLog['logAudit'];
  readonly logSystem: TelemetryLog['logSystem'];
  readonly logUserActivity: TelemetryLog['logUserActivity'];
  readonly logPerformance: TelemetryLog['logPerformance'];
  readonly logError: TelemetryLog['logError'];
  readonly logApiUsage: TelemetryLog['logApiUsage'];
  readonly logSearch: TelemetryLog['logSearch'];
  /**
   * This store's writer: queued, written, dropped, rejected, failed flushes, buffer depth,
   * per collection; and the log's invalid calls.
   */
  readonly stats = (): TelemetryStats => ({
    ...this.#writer.stats(),
    ...this.telemetry.invalidCalls(),
  });
  /** Writes what this store's buffer holds now; true when it emptied. */
  readonly flush = (): Promise<boolean> => this.#writer.flush();

  /** The logs database, connecting on first use (and again after a failed first connect). */
  readonly db = async (): Promise<Db> => (await this.#connection.connect()).db(this.#config.dbName);

  /** Search volume, top and zero-result queries and latency percentiles over `timeRange`. */
  readonly searchAnalytics = async (
    timeRange: string,
    options: SearchAnalyticsOptions = {},
  ): Promise<SearchAnalytics> => {
    const range = parseTimeRange(timeRange, { maxMs: this.#config.retentionMs.search_analytics });
    const pipeline = searchAnalyticsPipeline(range, options);
    const [facets] = await this.#aggregate('search_analytics', pipeline, 'search analytics');
    return toSearchAnalytics(facets, range);
  };

  /** Count, error rate and latency percentiles per service and endpoint over `timeRange`. */
  readonly performance = async (
    timeRange: string,
    options: PerformanceOptions = {},
  ): Promise<PerformanceReport> => {
    const range = parseTimeRange(timeRange, {
      maxMs: this.#config.retentionMs.performance_metrics,
    });
    const pipeline = performancePipeline(range, options);
    const rows = await this.#aggregate('performance_metrics', pipeline, 'performance analytics');
    return toPerformanceReport(rows, range);
  };

  async #aggregate(collection: string, pipeline: Document[], operation: string) {
    try {
      return await withRetry(
        async () =>
          (await this.db())
            .collection(collection)
            .aggregate(pipeline, { maxTimeMS: ANALYTICS_MAX_TIME_MS })
            .toArray(),
        { attempts: 3, isTransient: isTransientMongoError },
      );
    } catch (error) {
      throw wrapMongoError(error, operation);
    }
  }

  /** Reachability, latency, server version and the replica set as this client sees it. */
  readonly health = async (): Promise<MongoHealth> => {
    const started = performance.now();
    const stats = this.stats();
    const writer = {
      queued: stats.queued,
      written: stats.written,
      dropped: stats.dropped,
      rejected: stats.rejected,
      invalid: stats.invalid,
      failedFlushes: stats.failedFlushes,
      consecutiveFailures: stats.consecutiveFailures,
      depth: stats.depth,
      capacity: stats.capacity,
      lastError: stats.lastError,
    };
    try {
      const db = await this.db();
      const admin = db.admin();
      // Any member may answer (the driver sends to the primary by default): without a
      // primary, health must still say which members are up rather than time out.
      const anyMember = { readPreference: 'primaryPreferred' } as const;
      const [, hello, build, fcv] = await Promise.all([
        db.command({ ping: 1 }, anyMember),
        admin.command({ hello: 1 }, anyMember),
        admin.command({ buildInfo: 1 }, anyMember),
        // Not known when it cannot be read: health does not fail on it.
        featureCompatibilityVersion(admin, anyMember).catch(() => undefined),
      ]);
      const latencyMs = Math.round(performance.now() - started);
      const servers = this.#topology?.servers ?? new Map();
      const replicaSet = hello.setName
        ? replicaSetView(hello, servers, this.#topology?.type)
        : undefined;
      const status = healthStatus(replicaSet);
      const unsupported = analyticsUnsupported(String(build.version), fcv);
      return {
        status:
          status === 'up' && (writer.consecutiveFailures > 0 || unsupported) ? 'degraded' : status,
        latencyMs,
        writer,
        serverVersion: String(build.version),
        ...(fcv ? { featureCompatibilityVersion: fcv } : {}),
        ...(replicaSet ? { replicaSet } : {}),
        ...(unsupported ? { error: unsupported } : {}),
      };
    } catch (error) {
      return {
        status: 'down',
        latencyMs: Math.round(performance.now() - started),
        writer,
        error: describeMongoError(error),
      };
    }
  };

  /**
   * Flushes the log (every store it writes to, in parallel), then closes the client, together
   * within the shutdown bound. novaDb closes its log first, so here it is already settled.
   */
  readonly close = async (): Promise<CloseReport> => {
    const deadline = Date.now() + this.#telemetry.shutdownTimeoutMs;
    const reports = await this.telemetry.close(this.#telemetry.shutdownTimeoutMs);
    const report = reports.mongodb ?? NO_CLOSE;
    // At least 100 ms for the client, even when the flush used the whole bound.
    await settleBy(
      Math.max(deadline, Date.now() + 100),
      this.#connection.close().catch(() => {}),
    );
    return report;
  };
}
