/**
 * The service's metrics, on the global MeterProvider (the SDK's, or the local one of
 * telemetry/prometheus.ts), in OpenTelemetry's semantic conventions and UCUM units:
 *
 * - http.server.request.duration (s): every request, by method, route and status (aggregated
 *   outside the SDK, for its cost per request: telemetry/request-durations.ts);
 * - nova.dependency.status: 1 up, 0.5 degraded, 0 down, per configured dependency;
 * - nova.indexer.lag (s): age of the oldest pending outbox row;
 * - nova.telemetry.queue.depth ({event}) and nova.telemetry.dropped ({event}): each
 *   telemetry store's writer (`nova.telemetry.store`: mongodb, elasticsearch), its buffer
 *   and the events it had to drop;
 * - nova.auth.failures ({request}): requests whose credentials were refused, by
 *   `nova.auth.outcome`: invalid (a token that identifies nobody) or limited (refused by the
 *   per-client limits before any lookup: client-limits.ts);
 * - nova.http.connections.dropped ({connection}): connections closed on arrival at the
 *   NOVA_HTTP_MAX_CONNECTIONS cap (connections.ts).
 *
 * The gauges are read at collection time from the health report, whose probes are cached and
 * single-flight: a scrape never adds load on the databases beyond the health interval.
 */
import { type Attributes, type BatchObservableCallback, metrics } from '@opentelemetry/api';
import type { NovaDb } from '../lib/db/index.js';
import { requestDurations } from '../telemetry/request-durations.js';
import type { HealthService } from './health.js';

const STATUS_VALUE = { up: 1, degraded: 0.5, down: 0 } as const;

export type AuthOutcome = 'invalid' | 'limited';
/** Made once: a flood records without building objects. */
const AUTH_OUTCOMES: Record<AuthOutcome, Attributes> = {
  invalid: { 'nova.auth.outcome': 'invalid' },
  limited: { 'nova.auth.outcome': 'limited' },
};

export interface ServiceMetrics {
  /** `route` is the route pattern (none: no route matched), never the URL. */
  recordRequest(seconds: number, method: string, status: number, route: string | undefined): void;
  /** A request whose credentials were refused. */
  authFailed(outcome: AuthOutcome): void;
  /** A connection closed on arrival at the connection cap. */
  connectionDropped(): void;
  /** Stops reading this service's gauges (its stores are closing). */
  close(): void;
}

export function serviceMetrics(db: NovaDb, health: HealthService): ServiceMetrics {
  const meter = metrics.getMeter('nova-service');
  const authFailures = meter.createCounter('nova.auth.failures', {
    unit: '{request}',
    description: 'Requests whose credentials were refused: invalid, or limited before lookup.',
  });
  const droppedConnections = meter.createCounter('nova.http.connections.dropped', {
    unit: '{connection}',
    description: 'Connections closed on arrival because the service had its maximum open.',
  });
  const status = meter.createObservableGauge('nova.dependency.status', {
    description: 'Dependency status: 1 up, 0.5 degraded, 0 down.',
  });
  const lag = meter.createObservableGauge('nova.indexer.lag', {
    unit: 's',
    description: 'Age of the oldest pending search outbox row.',
  });
  const depth = meter.createObservableGauge('nova.telemetry.queue.depth', {
    unit: '{event}',
    description: 'Telemetry events buffered for a store.',
  });
  const dropped = meter.createObservableCounter('nova.telemetry.dropped', {
    unit: '{event}',
    description: "Telemetry events a store's writer dropped (buffer full, or left at shutdown).",
  });
  const observe: BatchObservableCallback = async (observer) => {
    const report = await health.report({ details: true });
    for (const [name, check] of Object.entries(report.checks)) {
      if (check.status === 'not_configured') continue;
      observer.observe(status, STATUS_VALUE[check.status], { 'nova.dependency': name });
    }
    const lagMs = report.checks.indexer?.details?.lagMs;
    if (typeof lagMs === 'number') observer.observe(lag, lagMs / 1000);
    if (db.telemetryConfigured) {
      for (const [store, stats] of Object.entries(db.telemetry.stats().stores)) {
        observer.observe(depth, stats.depth, { 'nova.telemetry.store': store });
        observer.observe(dropped, stats.dropped, { 'nova.telemetry.store': store });
      }
    }
  };
  const observables = [status, lag, depth, dropped];
  meter.addBatchObservableCallback(observe, observables);
  return {
    recordRequest: (seconds, method, status, route) =>
      requestDurations.record(seconds, method, status, route),
    authFailed: (outcome) => authFailures.add(1, AUTH_OUTCOMES[outcome]),
    connectionDropped: () => droppedConnections.add(1),
    close: () => meter.removeBatchObservableCallback(observe, observables),
  };
}
