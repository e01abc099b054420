/**
 * What each telemetry collection looks like in MongoDB: its JSON-schema validator, its TTL
 * index and the secondary indexes the analytics queries use. `nova bootstrap mongo`
 * reconciles a live database to these specs; retention comes from config (MONGO_RETENTION
 * over the design's defaults in lib/telemetry/collections.ts).
 *
 * Validators use validationLevel "moderate" (existing documents that predate a rule are not
 * re-checked on update) and validationAction "error" (the writer counts refusals). They
 * require only what the event builders always write, so adding a field never needs a migration.
 */
import { TELEMETRY_COLLECTIONS, type TelemetryCollection } from '../../telemetry/collections.js';

export type IndexKey = Readonly<Record<string, 1 | -1>>;

export interface IndexSpec {
  name: string;
  key: IndexKey;
  /** Present on the TTL index only. */
  expireAfterSeconds?: number;
}

export type JsonSchema = Readonly<Record<string, unknown>>;

export interface CollectionSpec {
  name: TelemetryCollection;
  validator: { $jsonSchema: JsonSchema };
  validationLevel: 'moderate';
  validationAction: 'error';
  indexes: readonly IndexSpec[];
}

export const TTL_INDEX_NAME = 'timestamp_ttl';
export const TTL_KEY: IndexKey = { timestamp: 1 };

const string = { bsonType: 'string' } as const;
const nullableString = { bsonType: ['string', 'null'] } as const;
const duration = { bsonType: ['double', 'int', 'long'], minimum: 0 } as const;
const statusCode = { bsonType: 'int', minimum: 100, maximum: 599 } as const;

/** Fields every event has (events.ts `build`). */
const COMMON = {
  required: ['_id', 'timestamp', 'service', 'details'],
  properties: {
    _id: { bsonType: 'objectId' },
    timestamp: { bsonType: 'date' },
    service: string,
    details: { bsonType: 'object' },
    userId: string,
    traceId: string,
    requestId: string,
  },
} as const;

/** Per collection: the fields its builder always writes, and its analytics indexes. */
const SHAPES: Record<
  TelemetryCollection,
  { required: string[]; properties: Record<string, unknown>; indexes: IndexSpec[] }
> = {
  audit_logs: {
    required: ['actorId', 'action', 'entityType', 'entityId'],
    properties: {
      actorId: nullableString,
      action: string,
      entityType: string,
      entityId: nullableString,
    },
    indexes: [
      { name: 'actor_time', key: { actorId: 1, timestamp: -1 } },
      { name: 'entity_time', key: { entityType: 1, entityId: 1, timestamp: -1 } },
    ],
  },
  system_logs: {
    required: ['level', 'message'],
    properties: { level: { enum: ['debug', 'info', 'warn', 'error'] }, message: string },
    indexes: [{ name: 'level_time', key: { level: 1, timestamp: -1 } }],
  },
  user_activity: {
    required: ['userId', 'action'],
    properties: { action: string },
    indexes: [{ name: 'user_time', key: { userId: 1, timestamp: -1 } }],
  },
  performance_metrics: {
    required: ['endpoint', 'durationMs', 'success'],
    properties: {
      endpoint: string,
      durationMs: duration,
      statusCode: { bsonType: ['int', 'null'], minimum: 100, maximum: 599 },
      method: nullableString,
      success: { bsonType: 'bool' },
    },
    // Equality on service, then the time range: serves the per-service performance query.
    indexes: [{ name: 'service_time', key: { service: 1, timestamp: 1 } }],
  },
  error_logs: {
    required: ['errorType', 'message'],
    properties: { errorType: string, message: string, code: nullableString, stack: nullableString },
    indexes: [
      { name: 'service_time', key: { service: 1, timestamp: -1 } },
      { name: 'type_time', key: { errorType: 1, timestamp: -1 } },
    ],
  },
  api_usage: {
    required: ['method', 'path', 'statusCode', 'durationMs'],
    properties: { method: string, path: string, statusCode, durationMs: duration },
    indexes: [
      { name: 'path_time', key: { path: 1, timestamp: -1 } },
      { name: 'user_time', key: { userId: 1, timestamp: -1 } },
    ],
  },
  search_analytics: {
    required: ['scope', 'query', 'resultCount', 'durationMs'],
    properties: {
      scope: { enum: ['tickets', 'kb'] },
      query: string,
      // The driver writes integers beyond int32 as doubles.
      resultCount: { bsonType: ['int', 'long', 'double'], minimum: 0 },
      durationMs: duration,
    },
    // The all-scopes analytics use the TTL index (timestamp alone).
    indexes: [{ name: 'scope_time', key: { scope: 1, timestamp: 1 } }],
  },
};

export const validatorFor = (collection: TelemetryCollection): { $jsonSchema: JsonSchema } => {
  const shape = SHAPES[collection];
  return {
    $jsonSchema: {
      bsonType: 'object',
      required: [...COMMON.required, ...shape.required],
      properties: { ...COMMON.properties, ...shape.properties },
    },
  };
};

/** The desired state of every collection, with TTLs from `retentionMs` (whole seconds). */
export function collectionSpecs(
  retentionMs: Readonly<Record<TelemetryCollection, number>>,
): CollectionSpec[] {
  return TELEMETRY_COLLECTIONS.map((name) => ({
    name,
    validator: validatorFor(name),
    validationLevel: 'moderate',
    validationAction: 'error',
    indexes: [
      {
        name: TTL_INDEX_NAME,
        key: TTL_KEY,
        expireAfterSeconds: Math.round(retentionMs[name] / 1000),
      },
      ...SHAPES[name].indexes,
    ],
  }));
}
