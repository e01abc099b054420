import { describe, expect, it } from 'vitest';
import {
  type CollectionSpec,
  collectionSpecs,
  TTL_INDEX_NAME,
} from '../../../src/lib/db/mongo/collection-specs.js';
import { DAY_MS } from '../../../src/lib/duration.js';
import {
  DEFAULT_RETENTION_DAYS,
  defaultRetentionMs,
  TELEMETRY_COLLECTIONS,
  type TelemetryCollection,
} from '../../../src/lib/telemetry/collections.js';

const specs = collectionSpecs(defaultRetentionMs());

const schemaOf = (spec: CollectionSpec) =>
  spec.validator.$jsonSchema as {
    bsonType: string;
    required: string[];
    properties: Record<string, { bsonType?: unknown }>;
  };

const ttlIndexes = (spec: CollectionSpec) =>
  spec.indexes.filter((index) => index.expireAfterSeconds !== undefined);

describe('collectionSpecs', () => {
  it('has exactly one spec per telemetry collection, in the same order', () => {
    expect(specs.map((s) => s.name)).toEqual([...TELEMETRY_COLLECTIONS]);
    for (const spec of specs) {
      expect(spec.validationLevel).toBe('moderate');
      expect(spec.validationAction).toBe('error');
      expect(Object.keys(spec.validator)).toEqual(['$jsonSchema']);
      expect(schemaOf(spec).bsonType).toBe('object');
    }
  });

  it('sets each TTL to the default retention in seconds', () => {
    const retention = defaultRetentionMs();
    for (const spec of specs) {
      const [ttl] = ttlIndexes(spec);
      expect(ttl?.expireAfterSeconds).toBe(retention[spec.name] / 1000);
      expect(ttl?.expireAfterSeconds).toBe((DEFAULT_RETENTION_DAYS[spec.name] * DAY_MS) / 1000);
    }
    // The design's numbers, spelled out so a changed default is noticed.
    const ttlOf = (name: TelemetryCollection) =>
      specs.find((s) => s.name === name)?.indexes[0]?.expireAfterSeconds;
    expect(ttlOf('audit_logs')).toBe(7_776_000);
    expect(ttlOf('performance_metrics')).toBe(604_800);
    expect(ttlOf('system_logs')).toBe(2_592_000);
  });

  it('follows overridden retention per collection', () => {
    const retention = {
      ...defaultRetentionMs(),
      audit_logs: 365 * DAY_MS,
      system_logs: 12 * 3_600_000,
      search_analytics: 60_000,
    };
    const overridden = collectionSpecs(retention);
    for (const spec of overridden) {
      expect(ttlIndexes(spec).map((i) => i.expireAfterSeconds)).toEqual([
        retention[spec.name] / 1000,
      ]);
    }
    const ttlOf = (name: TelemetryCollection) =>
      overridden.find((s) => s.name === name)?.indexes[0]?.expireAfterSeconds;
    expect(ttlOf('audit_logs')).toBe(31_536_000);
    expect(ttlOf('system_logs')).toBe(43_200);
    expect(ttlOf('search_analytics')).toBe(60);
    expect(ttlOf('error_logs')).toBe(7_776_000);
  });

  it('puts the TTL first, on timestamp alone, and on no other index', () => {
    for (const spec of specs) {
      const [first] = spec.indexes;
      expect(first?.name).toBe(TTL_INDEX_NAME);
      // MongoDB ignores expireAfterSeconds on compound indexes: it must be single-field.
      expect(first?.key).toEqual({ timestamp: 1 });
      expect(Object.keys(first?.key ?? {})).toEqual(['timestamp']);
      expect(ttlIndexes(spec)).toEqual([first]);
      expect(spec.indexes.length).toBeGreaterThan(1);
    }
  });

  it('gives every index a unique name and a unique key pattern', () => {
    for (const spec of specs) {
      const names = spec.indexes.map((i) => i.name);
      expect(new Set(names).size, `${spec.name}: ${names.join(', ')}`).toBe(names.length);
      // Key order matters ({a:1,b:1} is not {b:1,a:1}), so compare the ordered entries.
      const keys = spec.indexes.map((i) => JSON.stringify(Object.entries(i.key)));
      expect(new Set(keys).size, `${spec.name}: ${keys.join(' ')}`).toBe(keys.length);
      for (const index of spec.indexes) {
        for (const direction of Object.values(index.key)) expect([1, -1]).toContain(direction);
      }
    }
  });

  it('describes every required field, with timestamp a BSON date', () => {
    for (const spec of specs) {
      const { required, properties } = schemaOf(spec);
      expect(new Set(required).size).toBe(required.length);
      for (const field of ['_id', 'timestamp', 'service', 'details']) {
        expect(required).toContain(field);
      }
      for (const field of required) {
        expect(properties, `${spec.name}.${field}`).toHaveProperty([field]);
      }
      // The TTL monitor only expires documents whose indexed field is a Date.
      expect(properties.timestamp).toEqual({ bsonType: 'date' });
    }
  });

  it('indexes only fields the validator knows about', () => {
    for (const spec of specs) {
      const { properties } = schemaOf(spec);
      for (const index of spec.indexes) {
        for (const field of Object.keys(index.key)) {
          const known = field in properties || ['timestamp', 'service', 'userId'].includes(field);
          expect(known, `${spec.name}.${index.name} on ${field}`).toBe(true);
        }
      }
    }
  });
});
