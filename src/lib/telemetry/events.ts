/**
 * Telemetry events: one builder per collection, with the signatures the design document
 * uses (`logUserActivity(userId, action, details)`, `logPerformance(service, endpoint,
 * durationMs, details)`) and the same "who, what, details" shape for the others.
 *
 * Builders validate the fixed arguments (throwing NovaError VALIDATION_FAILED naming the
 * argument) and sanitize the free-form details (see sanitize.ts). Each document gets its
 * `_id` here, on the caller's side: a batch retried after a lost reply then meets a
 * duplicate-key error instead of being stored twice.
 */
import { ObjectId } from 'mongodb';
import { NovaError } from '../errors.js';
import { redactUrlCredentials } from '../redact.js';
import type { TelemetryCollection } from './collections.js';
import { cutText, DEFAULT_LIMITS, type SanitizeLimits, sanitizeDetails } from './sanitize.js';

export type Details = Record<string, unknown>;

export interface TelemetryDocument {
  _id: ObjectId;
  /** The TTL field: every collection expires documents by this Date. */
  timestamp: Date;
  service: string;
  details: Details;
  [field: string]: unknown;
}

export interface TelemetryEvent {
  collection: TelemetryCollection;
  document: TelemetryDocument;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const SEARCH_SCOPES = ['tickets', 'kb'] as const;
export type SearchScope = (typeof SEARCH_SCOPES)[number];

export interface EventContext {
  /** Default `service` of every event (logPerformance names its own). */
  service: string;
  now?: () => Date;
  limits?: SanitizeLimits;
}

const MAX_TEXT = 256;
const MAX_MESSAGE = 2048;
const MAX_STACK = 8192;
const MAX_QUERY = 256;

function invalid(field: string, message: string): never {
  throw new NovaError('VALIDATION_FAILED', `${field} ${message}`, { field });
}

function text(value: unknown, field: string, max = MAX_TEXT): string {
  if (typeof value !== 'string' || value.trim() === '')
    invalid(field, 'must be a non-empty string');
  if (value.length > max) invalid(field, `must be at most ${max} characters`);
  return value;
}

function optionalText(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : text(value, field);
}

function duration(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    invalid(field, 'must be a finite number of milliseconds, at least 0');
  }
  return value;
}

function count(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    invalid(field, 'must be an integer >= 0');
  return value as number;
}

function statusCode(value: unknown, field: string): number {
  if (!Number.isInteger(value) || (value as number) < 100 || (value as number) > 599) {
    invalid(field, 'must be an HTTP status code (100-599)');
  }
  return value as number;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (!allowed.includes(value as T)) invalid(field, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

/**
 * Sanitized details, with the correlation fields any event may carry (userId, traceId,
 * requestId) lifted to the top level, where they are indexed and mapped for Kibana.
 */
function split(details: unknown, context: EventContext) {
  const { value, truncated } = sanitizeDetails(details, context.limits ?? DEFAULT_LIMITS);
  const lifted: Record<string, string> = {};
  for (const key of ['userId', 'traceId', 'requestId'] as const) {
    const v = value[key];
    if (typeof v === 'string' && v !== '' && v.length <= MAX_TEXT) {
      lifted[key] = v;
      delete value[key];
    }
  }
  if (truncated) value._truncated = true;
  return { lifted, details: value };
}

function build(
  collection: TelemetryCollection,
  context: EventContext,
  fields: Record<string, unknown>,
  rawDetails: unknown,
): TelemetryEvent {
  const { lifted, details } = split(rawDetails, context);
  return {
    collection,
    document: {
      _id: new ObjectId(),
      timestamp: context.now?.() ?? new Date(),
      service: context.service,
      ...lifted,
      ...fields,
      details,
    },
  };
}

export const auditEvent = (
  context: EventContext,
  actorId: string | null,
  action: string,
  target: { type: string; id?: string | null },
  details?: Details,
) =>
  build(
    'audit_logs',
    context,
    {
      actorId: optionalText(actorId, 'actorId'),
      action: text(action, 'action'),
      entityType: text(target?.type, 'target.type'),
      entityId: optionalText(target?.id, 'target.id'),
    },
    details,
  );

/**
 * A system event; `details.action`, `details.entityType` and `details.entityId`, when given,
 * become its own fields, as on an audit event (what happened, to what): the service's
 * dependency status changes are `dependency_down` on a `dependency` named `elasticsearch`.
 */
export function systemEvent(
  context: EventContext,
  level: LogLevel,
  message: string,
  details?: Details,
): TelemetryEvent {
  // Anything but a plain object is the sanitizer's to refuse (it stores {} marked _truncated).
  const object = typeof details === 'object' && details !== null && !Array.isArray(details);
  const { action, entityType, entityId, ...rest } = object ? details : {};
  return build(
    'system_logs',
    context,
    {
      level: oneOf(level, LOG_LEVELS, 'level'),
      message: text(message, 'message', MAX_MESSAGE),
      ...(action === undefined ? {} : { action: text(action, 'details.action') }),
      ...(entityType === undefined ? {} : { entityType: text(entityType, 'details.entityType') }),
      ...(entityId === undefined ? {} : { entityId: text(entityId, 'details.entityId') }),
    },
    object ? rest : details,
  );
}

export const userActivityEvent = (
  context: EventContext,
  userId: string,
  action: string,
  details?: Details,
) =>
  build(
    'user_activity',
    context,
    { userId: text(userId, 'userId'), action: text(action, 'action') },
    details,
  );

/**
 * `details.statusCode` (HTTP) and `details.method` become fields; `success` is
 * `details.success` when given, otherwise "no 5xx status". Error rates count !success.
 */
export function performanceEvent(
  context: EventContext,
  service: string,
  endpoint: string,
  durationMs: number,
  details: Details = {},
): TelemetryEvent {
  const { statusCode: rawStatus, method, success, ...rest } = details ?? {};
  const status = rawStatus === undefined ? null : statusCode(rawStatus, 'details.statusCode');
  if (success !== undefined && typeof success !== 'boolean') {
    invalid('details.success', 'must be a boolean');
  }
  return build(
    'performance_metrics',
    context,
    {
      service: text(service, 'service'),
      endpoint: text(endpoint, 'endpoint', MAX_MESSAGE),
      durationMs: duration(durationMs, 'durationMs'),
      statusCode: status,
      method: method === undefined ? null : text(method, 'details.method', 16).toUpperCase(),
      success: success ?? (status === null || status < 500),
    },
    rest,
  );
}

/** A thrown non-Error as text; some values (Object.create(null)) cannot even be stringified. */
function describeThrown(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Any thrown value: Errors keep name, message, code and (capped) stack. */
export function errorEvent(context: EventContext, error: unknown, details?: Details) {
  const isError = error instanceof Error;
  const message = isError ? error.message : describeThrown(error);
  const code = isError && 'code' in error ? error.code : undefined;
  return build(
    'error_logs',
    context,
    {
      errorType: isError ? error.name.slice(0, MAX_TEXT) || 'Error' : typeof error,
      // Driver errors can quote a connection string: its password never reaches the log.
      message: cutText(redactUrlCredentials(message) || '(no message)', MAX_MESSAGE),
      code: typeof code === 'string' || typeof code === 'number' ? String(code) : null,
      stack: isError && error.stack ? cutText(redactUrlCredentials(error.stack), MAX_STACK) : null,
    },
    details,
  );
}

/** `path` is the route template (/api/tickets/:id), not the raw URL with its query string. */
export const apiUsageEvent = (
  context: EventContext,
  method: string,
  path: string,
  status: number,
  durationMs: number,
  details?: Details,
) =>
  build(
    'api_usage',
    context,
    {
      method: text(method, 'method', 16).toUpperCase(),
      path: text(path, 'path', MAX_MESSAGE),
      statusCode: statusCode(status, 'statusCode'),
      durationMs: duration(durationMs, 'durationMs'),
    },
    details,
  );

/** Queries are normalised (trimmed, lower-cased, spaces collapsed) so "top queries" groups them. */
export const normalizeQuery = (query: string) =>
  cutText(query.trim().toLowerCase().replace(/\s+/g, ' '), MAX_QUERY);

export function searchEvent(
  context: EventContext,
  scope: SearchScope,
  query: string,
  resultCount: number,
  durationMs: number,
  details?: Details,
) {
  if (typeof query !== 'string') invalid('query', 'must be a string');
  return build(
    'search_analytics',
    context,
    {
      scope: oneOf(scope, SEARCH_SCOPES, 'scope'),
      query: normalizeQuery(query),
      resultCount: count(resultCount, 'resultCount'),
      durationMs: duration(durationMs, 'durationMs'),
    },
    details,
  );
}
