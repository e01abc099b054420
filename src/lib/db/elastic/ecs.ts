/**
 * Telemetry events as Elastic Common Schema documents for the nova_logs data stream: one
 * pure projection of the document the MongoDB path stores (events.ts), so both stores hold
 * the same event and neither shapes the other's.
 *
 * Every event gets `@timestamp`, `event.id` (the document's ObjectId, also its `_id`),
 * `event.dataset` (the collection's name, e.g. `api_usage`) and `service.name`; then, per
 * collection, the ECS fields its columns mean (see `toEcs`). Units are ECS's:
 * `event.duration` is in nanoseconds. Only fields LOGS_MAPPINGS maps are emitted (a unit
 * test walks every collection's output against it); the caller's free-form details go into
 * one `flattened` field, already sanitized (secrets redacted, sizes capped) by events.ts.
 *
 * Not ECS: `search.*` (no ECS field set describes a search) and `details`. `entity.*` holds
 * the audit target with the application's own types (user, ticket, system_config).
 */
import type { TelemetryCollection } from '../../telemetry/collections.js';
import type { TelemetryDocument } from '../../telemetry/events.js';

export interface EcsEvent {
  '@timestamp': string;
  /** system_logs: the log line. */
  message?: string;
  event: {
    id: string;
    dataset: TelemetryCollection;
    /** audit_logs, user_activity: what was done (ticket_created, user.deactivated). */
    action?: string;
    /** performance_metrics, api_usage: failure for a 5xx (or details.success false). */
    outcome?: 'success' | 'failure';
    /** Nanoseconds. */
    duration?: number;
  };
  service: { name: string };
  log?: { level: string };
  http?: {
    request?: { id?: string; method?: string };
    response?: { status_code: number };
  };
  /** The route template (/api/tickets/:id) or the measured endpoint: never a raw URL. */
  url?: { path: string };
  user?: { id: string };
  trace?: { id: string };
  error?: { type: string; message: string; code?: string; stack_trace?: string };
  search?: { scope: string; query: string; result_count: number };
  entity?: { type: string; id?: string };
  details?: Record<string, unknown>;
}

const NS_PER_MS = 1_000_000;

/** Milliseconds (fractions allowed) as whole nanoseconds, within a long's safe range. */
export const msToNs = (ms: number) => Math.min(Math.round(ms * NS_PER_MS), Number.MAX_SAFE_INTEGER);

const text = (document: TelemetryDocument, key: string): string | undefined => {
  const value = document[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

const number = (document: TelemetryDocument, key: string): number | undefined => {
  const value = document[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
};

/** entity.type and entity.id from an event's entityType / entityId, when it names one. */
function setEntity(ecs: EcsEvent, document: TelemetryDocument) {
  const type = text(document, 'entityType');
  const id = text(document, 'entityId');
  if (type) ecs.entity = id ? { type, id } : { type };
}

/**
 * The nova_logs document of one telemetry event. Besides the fields every event gets:
 *
 * | collection | ECS fields |
 * |---|---|
 * | audit_logs | event.action, user.id (the actor), entity.type, entity.id |
 * | system_logs | log.level, message; event.action, entity.type, entity.id when given |
 * | user_activity | event.action, user.id |
 * | performance_metrics | service.name (the measured service), url.path (the endpoint), http.request.method, http.response.status_code, event.duration, event.outcome |
 * | error_logs | error.type, error.message, error.code, error.stack_trace |
 * | api_usage | http.request.method, url.path (the route), http.response.status_code, event.duration, event.outcome |
 * | search_analytics | search.scope, search.query, search.result_count, event.duration |
 *
 * and on any event, when given: user.id, trace.id, http.request.id (details.userId, traceId,
 * requestId) and `details`. Throws (RangeError) for a timestamp that is not a valid Date:
 * the sink rejects that document.
 */
export function toEcs(collection: TelemetryCollection, document: TelemetryDocument): EcsEvent {
  const ecs: EcsEvent = {
    '@timestamp': document.timestamp.toISOString(),
    event: { id: document._id.toHexString(), dataset: collection },
    service: { name: document.service },
  };
  // The correlation fields any event may carry (lifted from details by events.ts).
  let userId = text(document, 'userId');
  const requestId = text(document, 'requestId');
  let action: string | undefined;
  let message: string | undefined;
  let method: string | undefined;
  let status: number | undefined;
  let durationMs: number | undefined;

  switch (collection) {
    case 'audit_logs': {
      action = text(document, 'action');
      // The actor; null for the system, then whoever the details named.
      userId = text(document, 'actorId') ?? userId;
      setEntity(ecs, document);
      break;
    }
    case 'system_logs': {
      const level = text(document, 'level');
      if (level) ecs.log = { level };
      message = text(document, 'message');
      // What happened, to what, when the event says (a dependency's status change).
      action = text(document, 'action');
      setEntity(ecs, document);
      break;
    }
    case 'user_activity':
      action = text(document, 'action');
      break;
    case 'performance_metrics': {
      const endpoint = text(document, 'endpoint');
      if (endpoint) ecs.url = { path: endpoint };
      method = text(document, 'method');
      status = number(document, 'statusCode');
      durationMs = number(document, 'durationMs');
      if (typeof document.success === 'boolean') {
        ecs.event.outcome = document.success ? 'success' : 'failure';
      }
      break;
    }
    case 'error_logs': {
      const code = text(document, 'code');
      const stack = text(document, 'stack');
      ecs.error = {
        type: text(document, 'errorType') ?? 'Error',
        message: text(document, 'message') ?? '(no message)',
        ...(code ? { code } : {}),
        ...(stack ? { stack_trace: stack } : {}),
      };
      break;
    }
    case 'api_usage': {
      const path = text(document, 'path');
      if (path) ecs.url = { path };
      method = text(document, 'method');
      status = number(document, 'statusCode');
      durationMs = number(document, 'durationMs');
      // As performance_metrics counts success: the server answered, unless with a 5xx.
      if (status !== undefined) ecs.event.outcome = status >= 500 ? 'failure' : 'success';
      break;
    }
    case 'search_analytics': {
      const scope = text(document, 'scope');
      const resultCount = number(document, 'resultCount');
      if (scope && resultCount !== undefined) {
        // The query may be '' (a filter-only search): kept, so zero-query searches count.
        ecs.search = { scope, query: String(document.query ?? ''), result_count: resultCount };
      }
      durationMs = number(document, 'durationMs');
      break;
    }
  }

  if (message) ecs.message = message;
  if (action) ecs.event.action = action;
  if (durationMs !== undefined) ecs.event.duration = msToNs(durationMs);
  if (method || requestId || status !== undefined) {
    ecs.http = {
      ...(method || requestId
        ? { request: { ...(requestId ? { id: requestId } : {}), ...(method ? { method } : {}) } }
        : {}),
      ...(status !== undefined ? { response: { status_code: status } } : {}),
    };
  }
  if (userId) ecs.user = { id: userId };
  const traceId = text(document, 'traceId');
  if (traceId) ecs.trace = { id: traceId };
  if (document.details && Object.keys(document.details).length > 0) ecs.details = document.details;
  return ecs;
}
