/**
 * The `log*` API: builds an event (validated, sanitized) once and offers it to every store's
 * batch writer (MongoDB, Elasticsearch: whichever are configured). Every method is
 * synchronous, never throws and returns whether every store accepted the event; a call with
 * bad arguments is counted as `invalid` (with the last reason kept for health) instead of
 * throwing into the caller's request.
 *
 *   novaDb.mongo.logUserActivity('user123', 'ticket_created', { ticketId: 'T001' });
 *   novaDb.telemetry.logPerformance('api', '/tickets/search', 150, { resultsCount: 25 });
 *
 * The writers share nothing: each has its own buffer, lanes, retries and counters, and
 * `offer` is synchronous on each. A store that is down or slow fills its own buffer and
 * counts its own drops; the others keep writing, at their own pace.
 */
import { isNovaError } from '../errors.js';
import type { BatchWriter, CloseReport, WriterStats } from './batch-writer.js';
import type { TelemetryCollection } from './collections.js';
import {
  apiUsageEvent,
  auditEvent,
  type Details,
  type EventContext,
  errorEvent,
  type LogLevel,
  performanceEvent,
  type SearchScope,
  searchEvent,
  systemEvent,
  type TelemetryEvent,
  userActivityEvent,
} from './events.js';

export interface InvalidCalls {
  /** Calls refused for bad arguments. */
  invalid: number;
  lastInvalid: { field: string | null; message: string; at: string } | null;
}

/** One store's writer, with the log's invalid calls (refused before reaching any store). */
export interface TelemetryStats extends WriterStats, InvalidCalls {}

export interface TelemetryLogStats extends InvalidCalls {
  /** Each store's writer, by store name (`mongodb`, `elasticsearch`). */
  stores: Record<string, WriterStats>;
}

export class TelemetryLog {
  readonly #stores: Readonly<Record<string, BatchWriter>>;
  readonly #writers: readonly BatchWriter[];
  readonly #context: EventContext;
  #invalid = 0;
  #lastInvalid: InvalidCalls['lastInvalid'] = null;

  /** `writers`: each store's writer by name, e.g. `{ mongodb, elasticsearch }`. */
  constructor(writers: Readonly<Record<string, BatchWriter>>, context: EventContext) {
    this.#stores = { ...writers };
    this.#writers = Object.values(this.#stores);
    this.#context = context;
  }

  /** The stores events go to, by name. */
  get stores(): string[] {
    return Object.keys(this.#stores);
  }

  /**
   * Under overload (every buffer full, every store down) the event is dropped before it is
   * built: the caller then pays for a counter increment per store, not for sanitizing
   * details it will lose. A store that cannot take it counts it dropped; the others get it.
   */
  #offer(
    collection: TelemetryCollection,
    build: (context: EventContext) => TelemetryEvent,
  ): boolean {
    const writers = this.#writers;
    let open = false;
    for (const writer of writers) open ||= writer.accepting;
    if (!open) {
      for (const writer of writers) writer.drop(collection);
      return false;
    }
    let event: TelemetryEvent;
    try {
      event = build(this.#context);
    } catch (error) {
      this.#invalid++;
      this.#lastInvalid = {
        field: isNovaError(error) ? (error.field ?? null) : null,
        message: error instanceof Error ? error.message : String(error),
        at: new Date().toISOString(),
      };
      return false;
    }
    let all = true;
    for (const writer of writers) all = writer.offer(event) && all;
    return all;
  }

  /** Who did what to which entity: `logAudit('u1', 'user.deactivated', { type: 'user', id: 'u2' })`. */
  readonly logAudit = (
    actorId: string | null,
    action: string,
    target: { type: string; id?: string | null },
    details?: Details,
  ): boolean => this.#offer('audit_logs', (c) => auditEvent(c, actorId, action, target, details));

  readonly logSystem = (level: LogLevel, message: string, details?: Details): boolean =>
    this.#offer('system_logs', (c) => systemEvent(c, level, message, details));

  readonly logUserActivity = (userId: string, action: string, details?: Details): boolean =>
    this.#offer('user_activity', (c) => userActivityEvent(c, userId, action, details));

  /** `details.statusCode`, `details.method` and `details.success` feed the error rate. */
  readonly logPerformance = (
    service: string,
    endpoint: string,
    durationMs: number,
    details?: Details,
  ): boolean =>
    this.#offer('performance_metrics', (c) =>
      performanceEvent(c, service, endpoint, durationMs, details),
    );

  readonly logError = (error: unknown, details?: Details): boolean =>
    this.#offer('error_logs', (c) => errorEvent(c, error, details));

  /** `path` is the route template, not the raw URL (query strings carry personal data). */
  readonly logApiUsage = (
    method: string,
    path: string,
    statusCode: number,
    durationMs: number,
    details?: Details,
  ): boolean =>
    this.#offer('api_usage', (c) =>
      apiUsageEvent(c, method, path, statusCode, durationMs, details),
    );

  readonly logSearch = (
    scope: SearchScope,
    query: string,
    resultCount: number,
    durationMs: number,
    details?: Details,
  ): boolean =>
    this.#offer('search_analytics', (c) =>
      searchEvent(c, scope, query, resultCount, durationMs, details),
    );

  /** Invalid calls, and every store's writer counters. */
  readonly stats = (): TelemetryLogStats => ({
    ...this.invalidCalls(),
    stores: Object.fromEntries(
      Object.entries(this.#stores).map(([name, writer]) => [name, writer.stats()]),
    ),
  });

  /** Calls refused for bad arguments (before reaching any store), and the last reason. */
  readonly invalidCalls = (): InvalidCalls => ({
    invalid: this.#invalid,
    lastInvalid: this.#lastInvalid,
  });

  /** Writes what every store's buffer holds now, in parallel; true when every one emptied. */
  readonly flush = async (): Promise<boolean> =>
    (await Promise.all(this.#writers.map((writer) => writer.flush()))).every(Boolean);

  /**
   * Stops intake and flushes every store in parallel within the same `timeoutMs`: a store
   * that is down costs the bound, never more, and never the other stores' events.
   */
  readonly close = async (timeoutMs: number): Promise<Record<string, CloseReport>> =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(this.#stores).map(
          async ([name, writer]) => [name, await writer.close(timeoutMs)] as const,
        ),
      ),
    );
}
