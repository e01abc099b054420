/**
 * The telemetry collections of the design and their defaults: where retention (the TTL) and
 * write concern are decided. MONGO_RETENTION and MONGO_WRITE_CONCERN override them per
 * collection (see config.ts); the Elasticsearch log policies reuse the same retention.
 */
import { DAY_MS } from '../duration.js';

export const TELEMETRY_COLLECTIONS = [
  'audit_logs',
  'system_logs',
  'user_activity',
  'performance_metrics',
  'error_logs',
  'api_usage',
  'search_analytics',
] as const;

export type TelemetryCollection = (typeof TELEMETRY_COLLECTIONS)[number];

export const isTelemetryCollection = (name: string): name is TelemetryCollection =>
  (TELEMETRY_COLLECTIONS as readonly string[]).includes(name);

/** Retention from the design document, in days. */
export const DEFAULT_RETENTION_DAYS: Readonly<Record<TelemetryCollection, number>> = {
  audit_logs: 90,
  system_logs: 30,
  user_activity: 30,
  performance_metrics: 7,
  error_logs: 90,
  api_usage: 30,
  search_analytics: 90,
};

export const defaultRetentionMs = (): Record<TelemetryCollection, number> =>
  Object.fromEntries(
    TELEMETRY_COLLECTIONS.map((c) => [c, DEFAULT_RETENTION_DAYS[c] * DAY_MS]),
  ) as Record<TelemetryCollection, number>;

/** `majority` or a number of acknowledging members (w:0 is refused: drops must be counted). */
export type WriteAcknowledgement = 'majority' | number;

/**
 * Audit events wait for a majority so an election cannot roll them back; the high-volume
 * collections take the primary's acknowledgement, which is enough for telemetry.
 */
export const DEFAULT_WRITE_CONCERN: Readonly<Record<TelemetryCollection, WriteAcknowledgement>> = {
  audit_logs: 'majority',
  system_logs: 1,
  user_activity: 1,
  performance_metrics: 1,
  error_logs: 1,
  api_usage: 1,
  search_analytics: 1,
};
