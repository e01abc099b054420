/**
 * The `log*` API: builds an event (validated, sanitized) and offers it to the batch writer.
 * Every method is synchronous, never throws and returns whether the event was accepted; a
 * call with bad arguments is counted as `invalid` (with the last reason kept for health)
 * instead of throwing into the caller's request.
 *
 *   novaDb.mongo.logUserActivity('user123', 'ticket_created', { ticketId: 'T001' });
 *   novaDb.mongo.logPerformance('api', '/tickets/search', 150, { resultsCount: 25 });
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

export interface TelemetryStats extends WriterStats {
  /** Calls refused for bad arguments. */
  invalid: number;
  lastInvalid: { field: string | null; message: string; at: string } | null;
}

export class TelemetryLog {
  readonly #writer: BatchWriter;
  readonly #context: EventContext;
  #invalid = 0;
  #lastInvalid: TelemetryStats['lastInvalid'] = null;

  constructor(writer: BatchWriter, context: EventContext) {
    this.#writer = writer;
    this.#context = context;
  }

  /**
   * Under overload (buffer full, store down) the event is dropped before it is built: the
   * caller then pays for a counter increment, not for sanitizing details it will lose.
   */
  #offer(
    collection: TelemetryCollection,
    build: (context: EventContext) => TelemetryEvent,
  ): boolean {
    if (!this.#writer.accepting) return this.#writer.drop(collection);
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
    return this.#writer.offer(event);
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

  readonly stats = (): TelemetryStats => ({
    ...this.#writer.stats(),
    invalid: this.#invalid,
    lastInvalid: this.#lastInvalid,
  });

  /** Writes what is buffered now; true when the buffer emptied. */
  readonly flush = (): Promise<boolean> => this.#writer.flush();

  readonly close = (timeoutMs: number): Promise<CloseReport> => this.#writer.close(timeoutMs);
}
