/**
 * The ECS projection of telemetry events, collection by collection: exact documents, units
 * (event.duration in nanoseconds), no secrets, and every field it emits mapped in nova_logs
 * with a type a dashboard can aggregate, and every mapped field emitted by some event.
 */
import type { estypes } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { type EcsEvent, msToNs, toEcs } from '../../../src/lib/db/elastic/ecs.js';
import { LOGS_MAPPINGS } from '../../../src/lib/db/elastic/index-specs.js';
import { REDACTED } from '../../../src/lib/redact.js';
import {
  TELEMETRY_COLLECTIONS,
  type TelemetryCollection,
} from '../../../src/lib/telemetry/collections.js';
import {
  apiUsageEvent,
  auditEvent,
  type EventContext,
  errorEvent,
  performanceEvent,
  searchEvent,
  systemEvent,
  type TelemetryEvent,
  userActivityEvent,
} from '../../../src/lib/telemetry/events.js';

const NOW = new Date('2026-03-04T05:06:07.890Z');
const ctx: EventContext = { service: 'nova-api', now: () => NOW };
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const correlation = { userId: 'u-42', traceId: TRACE, requestId: 'req-7' };

const ecsOf = (event: TelemetryEvent) => toEcs(event.collection, event.document);
const base = (event: TelemetryEvent) => ({
  '@timestamp': '2026-03-04T05:06:07.890Z',
  event: { id: event.document._id.toHexString(), dataset: event.collection },
});

/** One event per collection with every optional field filled in: all that can be emitted. */
function fullEvents(): Record<TelemetryCollection, TelemetryEvent> {
  const error = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  return {
    audit_logs: auditEvent(
      ctx,
      'admin-1',
      'user.deactivated',
      { type: 'user', id: 'u-9' },
      {
        ...correlation,
        reason: 'left',
      },
    ),
    system_logs: systemEvent(ctx, 'warn', 'disk 80% full', { ...correlation, host: 'n1' }),
    user_activity: userActivityEvent(ctx, 'u-42', 'ticket_created', {
      traceId: TRACE,
      requestId: 'req-7',
      ticketId: 'T001',
    }),
    performance_metrics: performanceEvent(ctx, 'api', '/api/tickets/search', 150, {
      ...correlation,
      statusCode: 503,
      method: 'get',
      resultsCount: 25,
    }),
    error_logs: errorEvent(ctx, error, { ...correlation, route: '/api/health' }),
    api_usage: apiUsageEvent(ctx, 'POST', '/api/tickets/:id', 201, 12.5, {
      ...correlation,
      client: 'cli',
    }),
    search_analytics: searchEvent(ctx, 'kb', '  VPN  Setup ', 0, 48, {
      ...correlation,
      filters: { category: 'howto' },
    }),
  };
}

describe('toEcs', () => {
  it('audit_logs: the actor as user.id, the action, the target as entity', () => {
    const event = auditEvent(
      ctx,
      'admin-1',
      'user.deactivated',
      { type: 'user', id: 'u-9' },
      {
        reason: 'left',
        traceId: TRACE,
      },
    );
    expect(ecsOf(event)).toStrictEqual({
      ...base(event),
      event: { ...base(event).event, action: 'user.deactivated' },
      service: { name: 'nova-api' },
      entity: { type: 'user', id: 'u-9' },
      user: { id: 'admin-1' },
      trace: { id: TRACE },
      details: { reason: 'left' },
    });
    // The system as actor: no user.id unless the details named one; a target without an id.
    const system = auditEvent(ctx, null, 'config.changed', { type: 'system_config' });
    expect(ecsOf(system)).toStrictEqual({
      ...base(system),
      event: { ...base(system).event, action: 'config.changed' },
      service: { name: 'nova-api' },
      entity: { type: 'system_config' },
    });
  });

  it('system_logs: log.level and message', () => {
    const event = systemEvent(ctx, 'warn', 'disk 80% full', { host: 'n1' });
    expect(ecsOf(event)).toStrictEqual({
      ...base(event),
      service: { name: 'nova-api' },
      log: { level: 'warn' },
      message: 'disk 80% full',
      details: { host: 'n1' },
    });
  });

  it('system_logs: event.action and entity when the event names them (dependency status)', () => {
    const event = systemEvent(ctx, 'error', 'mongodb is down (was up)', {
      action: 'dependency_down',
      entityType: 'dependency',
      entityId: 'mongodb',
    });
    expect(ecsOf(event)).toStrictEqual({
      ...base(event),
      event: { ...base(event).event, action: 'dependency_down' },
      service: { name: 'nova-api' },
      log: { level: 'error' },
      message: 'mongodb is down (was up)',
      entity: { type: 'dependency', id: 'mongodb' },
    });
  });

  it('user_activity: user.id and event.action', () => {
    const event = userActivityEvent(ctx, 'user123', 'ticket_created', { ticketId: 'T001' });
    expect(ecsOf(event)).toStrictEqual({
      ...base(event),
      event: { ...base(event).event, action: 'ticket_created' },
      service: { name: 'nova-api' },
      user: { id: 'user123' },
      details: { ticketId: 'T001' },
    });
  });

  it('performance_metrics: the measured service, endpoint as url.path, duration in ns, outcome', () => {
    const event = performanceEvent(ctx, 'api', '/api/tickets/search', 150, {
      ...correlation,
      statusCode: 503,
      method: 'get',
      resultsCount: 25,
    });
    expect(ecsOf(event)).toStrictEqual({
      ...base(event),
      event: { ...base(event).event, outcome: 'failure', duration: 150_000_000 },
      service: { name: 'api' },
      url: { path: '/api/tickets/search' },
      http: { request: { id: 'req-7', method: 'GET' }, response: { status_code: 503 } },
      user: { id: 'u-42' },
      trace: { id: TRACE },
      details: { resultsCount: 25 },
    });
    // No status: a success unless the caller said otherwise; no http fields to invent.
    const bare = performanceEvent(ctx, 'worker', 'reindex', 0.25, { success: false });
    expect(ecsOf(bare)).toStrictEqual({
      ...base(bare),
      event: { ...base(bare).event, outcome: 'failure', duration: 250_000 },
      service: { name: 'worker' },
      url: { path: 'reindex' },
    });
  });

  it('error_logs: error.type, message, code and stack trace', () => {
    const error = Object.assign(new TypeError('bad input'), { code: 'E_BAD' });
    const event = errorEvent(ctx, error, { requestId: 'req-7' });
    const ecs = ecsOf(event);
    expect(ecs).toStrictEqual({
      ...base(event),
      service: { name: 'nova-api' },
      error: {
        type: 'TypeError',
        message: 'bad input',
        code: 'E_BAD',
        stack_trace: expect.stringContaining('TypeError: bad input'),
      },
      http: { request: { id: 'req-7' } },
    });
    const thrown = errorEvent(ctx, 'plain string');
    expect(ecsOf(thrown).error).toStrictEqual({ type: 'string', message: 'plain string' });
  });

  it('api_usage: method, route, status, duration in ns, outcome by 5xx', () => {
    const event = apiUsageEvent(ctx, 'get', '/api/tickets/:id', 404, 12.5, correlation);
    expect(ecsOf(event)).toStrictEqual({
      ...base(event),
      event: { ...base(event).event, outcome: 'success', duration: 12_500_000 },
      service: { name: 'nova-api' },
      url: { path: '/api/tickets/:id' },
      http: { request: { id: 'req-7', method: 'GET' }, response: { status_code: 404 } },
      user: { id: 'u-42' },
      trace: { id: TRACE },
    });
    const failed = apiUsageEvent(ctx, 'GET', '/api/health', 503, 2);
    expect(ecsOf(failed).event.outcome).toBe('failure');
  });

  it('search_analytics: scope, normalised query, result count, duration in ns', () => {
    const event = searchEvent(ctx, 'tickets', '  Printer   JAM ', 0, 48, {
      userId: 'u-1',
      filters: { status: ['open'] },
    });
    expect(ecsOf(event)).toStrictEqual({
      ...base(event),
      event: { ...base(event).event, duration: 48_000_000 },
      service: { name: 'nova-api' },
      search: { scope: 'tickets', query: 'printer jam', result_count: 0 },
      user: { id: 'u-1' },
      details: { filters: { status: ['open'] } },
    });
    // A filter-only search keeps its empty query, so "searches without a query" can be counted.
    expect(ecsOf(searchEvent(ctx, 'kb', '', 3, 1)).search).toEqual({
      scope: 'kb',
      query: '',
      result_count: 3,
    });
  });

  it('converts milliseconds to whole nanoseconds, capped at a safe long', () => {
    expect(msToNs(0)).toBe(0);
    expect(msToNs(0.1)).toBe(100_000);
    expect(msToNs(1.0000001)).toBe(1_000_000);
    expect(msToNs(150)).toBe(150_000_000);
    expect(msToNs(1e15)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('carries no secrets: details and error texts are already redacted', () => {
    const events = [
      userActivityEvent(ctx, 'u1', 'login', {
        password: 'hunter2',
        apiKey: 'sk-live-1',
        nested: { authorization: 'Bearer abc.def' },
      }),
      errorEvent(ctx, new Error('cannot connect to postgresql://nova:hunter2@db:5432/nova')),
      systemEvent(ctx, 'info', 'started', { url: 'https://admin:hunter2@es:9200' }),
    ];
    const text = JSON.stringify(events.map(ecsOf));
    for (const secret of ['hunter2', 'sk-live-1', 'abc.def']) expect(text).not.toContain(secret);
    expect(text).toContain(REDACTED);
  });

  it('refuses a document whose timestamp is not a date (the sink rejects it, unsent)', () => {
    const event = systemEvent(ctx, 'info', 'x');
    event.document.timestamp = new Date(Number.NaN);
    expect(() => ecsOf(event)).toThrow(RangeError);
  });
});

/** Aggregatable types: terms, ranges, percentiles and date histograms work on them. */
const AGGREGATABLE = new Set(['keyword', 'long', 'date', 'flattened']);
/** Emitted for reading and full-text search only, never grouped by. */
const TEXT_ONLY = new Set(['message', 'error.message', 'error.stack_trace']);

/** A field's mapping, following `properties` down the dotted path. */
function mappingAt(path: string): estypes.MappingProperty | undefined {
  let properties = LOGS_MAPPINGS.properties;
  let found: estypes.MappingProperty | undefined;
  for (const part of path.split('.')) {
    found = properties?.[part];
    if (!found) return undefined;
    properties = 'properties' in found ? found.properties : undefined;
  }
  return found;
}

/** The leaf fields of a document ("details" is one flattened field). */
function leaves(value: object, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return child !== null && typeof child === 'object' && path !== 'details'
      ? leaves(child, path)
      : [path];
  });
}

/** The leaf fields LOGS_MAPPINGS maps (multi-fields such as message.keyword aside). */
function mappedLeaves(properties = LOGS_MAPPINGS.properties ?? {}, prefix = ''): string[] {
  return Object.entries(properties).flatMap(([key, property]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return 'properties' in property && property.properties
      ? mappedLeaves(property.properties, path)
      : [path];
  });
}

describe('toEcs against the nova_logs mapping', () => {
  const emitted = new Map<string, EcsEvent>();
  for (const event of Object.values(fullEvents())) {
    for (const field of leaves(ecsOf(event))) emitted.set(field, ecsOf(event));
  }

  it('emits only mapped fields, each with an aggregatable type (text fields aside)', () => {
    for (const collection of TELEMETRY_COLLECTIONS) {
      const ecs = ecsOf(fullEvents()[collection]);
      for (const field of leaves(ecs)) {
        const mapping = mappingAt(field);
        expect(mapping, `${collection}: ${field} is not in LOGS_MAPPINGS`).toBeDefined();
        const type = (mapping as { type?: string }).type as string;
        if (TEXT_ONLY.has(field)) continue;
        expect(AGGREGATABLE.has(type), `${field} is mapped as ${type}`).toBe(true);
        if (type === 'keyword') expect(mapping).not.toHaveProperty('index', false);
      }
    }
  });

  it('maps nothing that no event emits', () => {
    expect(mappedLeaves().filter((field) => !emitted.has(field))).toEqual([]);
  });

  it('keeps message texts searchable and groupable, the stack trace for reading only', () => {
    expect(mappingAt('message')).toEqual({
      type: 'match_only_text',
      fields: { keyword: { type: 'keyword', ignore_above: 1024 } },
    });
    expect(mappingAt('error.message')).toEqual(mappingAt('message'));
    expect(mappingAt('error.stack_trace')).toEqual({
      type: 'keyword',
      index: false,
      doc_values: false,
    });
    expect(LOGS_MAPPINGS.dynamic).toBe(false);
  });

  it('names each event by its collection, in every collection', () => {
    const events = fullEvents();
    expect(TELEMETRY_COLLECTIONS.map((c) => ecsOf(events[c]).event.dataset)).toEqual([
      ...TELEMETRY_COLLECTIONS,
    ]);
  });
});
