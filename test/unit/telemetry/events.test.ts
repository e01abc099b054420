import { BSON, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { validatorFor } from '../../../src/lib/db/mongo/collection-specs.js';
import { NovaError } from '../../../src/lib/errors.js';
import { REDACTED } from '../../../src/lib/redact.js';
import {
  TELEMETRY_COLLECTIONS,
  type TelemetryCollection,
} from '../../../src/lib/telemetry/collections.js';
import {
  apiUsageEvent,
  auditEvent,
  type Details,
  type EventContext,
  errorEvent,
  type LogLevel,
  normalizeQuery,
  performanceEvent,
  type SearchScope,
  searchEvent,
  systemEvent,
  type TelemetryEvent,
  userActivityEvent,
} from '../../../src/lib/telemetry/events.js';
import { DEFAULT_LIMITS } from '../../../src/lib/telemetry/sanitize.js';
import { bsonTypeOf, schemaViolations } from '../../support/json-schema.js';

const NOW = new Date('2026-03-04T05:06:07.890Z');
const ctx: EventContext = { service: 'nova-api', now: () => NOW };

/** Runs `build` and returns the NovaError it threw (fails the test when it throws nothing else). */
function validationError(build: () => unknown): NovaError {
  let caught: unknown;
  try {
    build();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(NovaError);
  const error = caught as NovaError;
  expect(error.code).toBe('VALIDATION_FAILED');
  return error;
}

const expectInvalid = (build: () => unknown, field: string) => {
  const error = validationError(build);
  expect(error.field).toBe(field);
  expect(error.message.startsWith(field)).toBe(true);
};

const violations = (event: TelemetryEvent) =>
  schemaViolations(validatorFor(event.collection).$jsonSchema, event.document);

const without = (document: Record<string, unknown>, field: string) =>
  Object.fromEntries(Object.entries(document).filter(([key]) => key !== field));

const expectCommon = (event: TelemetryEvent, collection: TelemetryCollection) => {
  expect(event.collection).toBe(collection);
  expect(event.document._id).toBeInstanceOf(ObjectId);
  expect(event.document.timestamp).toBeInstanceOf(Date);
  expect(event.document.timestamp.getTime()).toBe(NOW.getTime());
  expect(violations(event)).toEqual([]);
};

describe('auditEvent', () => {
  it('builds an audit_logs document with actor, action, entity and sanitized details', () => {
    const event = auditEvent(
      ctx,
      'user-1',
      'ticket.update',
      { type: 'ticket', id: 't-9' },
      { password: 'hunter2', $set: { status: 'closed' } },
    );
    expectCommon(event, 'audit_logs');
    expect(event.document).toEqual({
      _id: event.document._id,
      timestamp: NOW,
      service: 'nova-api',
      actorId: 'user-1',
      action: 'ticket.update',
      entityType: 'ticket',
      entityId: 't-9',
      details: { password: REDACTED, '\uFF04set': { status: 'closed' } },
    });
  });

  it('stores a missing actor and entity id as null and missing details as {}', () => {
    const event = auditEvent(ctx, null, 'config.reload', { type: 'config' });
    expectCommon(event, 'audit_logs');
    expect(event.document).toMatchObject({ actorId: null, entityId: null, details: {} });
  });

  it('accepts an action of exactly 256 characters', () => {
    const action = 'a'.repeat(256);
    expect(auditEvent(ctx, null, action, { type: 'x' }).document.action).toBe(action);
  });

  it.each([
    ['an empty action', () => auditEvent(ctx, 'u', '', { type: 't' }), 'action'],
    ['a blank action', () => auditEvent(ctx, 'u', '   ', { type: 't' }), 'action'],
    [
      'a 257-character action',
      () => auditEvent(ctx, 'u', 'a'.repeat(257), { type: 't' }),
      'action',
    ],
    ['an empty actorId', () => auditEvent(ctx, '', 'act', { type: 't' }), 'actorId'],
    [
      'a numeric actorId',
      () => auditEvent(ctx, 5 as unknown as string, 'act', { type: 't' }),
      'actorId',
    ],
    ['an empty target type', () => auditEvent(ctx, 'u', 'act', { type: '' }), 'target.type'],
    [
      'a missing target',
      () => auditEvent(ctx, 'u', 'act', undefined as unknown as { type: string }),
      'target.type',
    ],
    ['an empty target id', () => auditEvent(ctx, 'u', 'act', { type: 't', id: '' }), 'target.id'],
  ])('refuses %s', (_name, build, field) => {
    expectInvalid(build, field);
  });
});

describe('systemEvent', () => {
  it.each(['debug', 'info', 'warn', 'error'] as const)(
    'builds a system_logs document at %s',
    (level) => {
      const event = systemEvent(ctx, level, 'disk almost full', { freeBytes: 1024 });
      expectCommon(event, 'system_logs');
      expect(event.document).toMatchObject({
        service: 'nova-api',
        level,
        message: 'disk almost full',
        details: { freeBytes: 1024 },
      });
    },
  );

  it('takes what happened, to what, from the details (a dependency status change)', () => {
    const event = systemEvent(ctx, 'error', 'elasticsearch is down (was up)', {
      action: 'dependency_down',
      entityType: 'dependency',
      entityId: 'elasticsearch',
      attempt: 2,
    });
    expect(event.document).toMatchObject({
      action: 'dependency_down',
      entityType: 'dependency',
      entityId: 'elasticsearch',
      details: { attempt: 2 },
    });
    expect(event.document.details).not.toHaveProperty('action');
    expectInvalid(() => systemEvent(ctx, 'info', 'm', { action: 42 }), 'details.action');
  });

  it('accepts a message of exactly 2048 characters', () => {
    expect(systemEvent(ctx, 'info', 'm'.repeat(2048)).document.message).toHaveLength(2048);
  });

  it.each([
    ["level 'fatal'", () => systemEvent(ctx, 'fatal' as LogLevel, 'm'), 'level'],
    ["level 'INFO'", () => systemEvent(ctx, 'INFO' as LogLevel, 'm'), 'level'],
    ['an empty message', () => systemEvent(ctx, 'info', ''), 'message'],
    ['a 2049-character message', () => systemEvent(ctx, 'info', 'm'.repeat(2049)), 'message'],
  ])('refuses %s', (_name, build, field) => {
    expectInvalid(build, field);
  });
});

describe('userActivityEvent', () => {
  it('builds a user_activity document with userId and action at the top level', () => {
    const event = userActivityEvent(ctx, 'user-7', 'kb.view', { articleId: 'a-1' });
    expectCommon(event, 'user_activity');
    expect(event.document).toMatchObject({
      service: 'nova-api',
      userId: 'user-7',
      action: 'kb.view',
      details: { articleId: 'a-1' },
    });
  });

  it('keeps the userId argument over a userId in the details', () => {
    const event = userActivityEvent(ctx, 'user-7', 'kb.view', { userId: 'someone-else' });
    expect(event.document.userId).toBe('user-7');
  });

  it.each([
    ['an empty userId', () => userActivityEvent(ctx, '', 'act'), 'userId'],
    ['a null userId', () => userActivityEvent(ctx, null as unknown as string, 'act'), 'userId'],
    ['an empty action', () => userActivityEvent(ctx, 'u', ''), 'action'],
  ])('refuses %s', (_name, build, field) => {
    expectInvalid(build, field);
  });
});

describe('performanceEvent', () => {
  it('builds a performance_metrics document and moves statusCode and method out of details', () => {
    const details = { statusCode: 201, method: 'POST', region: 'eu' };
    const event = performanceEvent(ctx, 'ticket-service', '/api/tickets', 12.5, details);
    expectCommon(event, 'performance_metrics');
    expect(event.document).toEqual({
      _id: event.document._id,
      timestamp: NOW,
      service: 'ticket-service',
      endpoint: '/api/tickets',
      durationMs: 12.5,
      statusCode: 201,
      method: 'POST',
      success: true,
      details: { region: 'eu' },
    });
    // The caller's object is left as it was.
    expect(details).toEqual({ statusCode: 201, method: 'POST', region: 'eu' });
  });

  it('stores statusCode and method as null when the details do not give them', () => {
    const event = performanceEvent(ctx, 'svc', '/x', 0);
    expectCommon(event, 'performance_metrics');
    expect(event.document).toMatchObject({
      statusCode: null,
      method: null,
      success: true,
      details: {},
    });
  });

  it.each([
    [{ statusCode: 200 }, true],
    [{ statusCode: 499 }, true],
    [{ statusCode: 500 }, false],
    [{ statusCode: 503 }, false],
    [{}, true],
    [{ statusCode: 503, success: true }, true],
    [{ statusCode: 200, success: false }, false],
    [{ success: false }, false],
  ] as [Details, boolean][])('derives success from %o as %s', (details, success) => {
    const event = performanceEvent(ctx, 'svc', '/x', 1, details);
    expect(event.document.success).toBe(success);
    expect(event.document.details).not.toHaveProperty('success');
    expect(violations(event)).toEqual([]);
  });

  it.each([
    ['durationMs -1', () => performanceEvent(ctx, 's', '/x', -1), 'durationMs'],
    ['durationMs NaN', () => performanceEvent(ctx, 's', '/x', Number.NaN), 'durationMs'],
    [
      'durationMs Infinity',
      () => performanceEvent(ctx, 's', '/x', Number.POSITIVE_INFINITY),
      'durationMs',
    ],
    [
      "durationMs '5'",
      () => performanceEvent(ctx, 's', '/x', '5' as unknown as number),
      'durationMs',
    ],
    ['an empty service', () => performanceEvent(ctx, '', '/x', 1), 'service'],
    ['an empty endpoint', () => performanceEvent(ctx, 's', '', 1), 'endpoint'],
    [
      "details.statusCode 'x'",
      () => performanceEvent(ctx, 's', '/x', 1, { statusCode: 'x' }),
      'details.statusCode',
    ],
    [
      'details.statusCode 99',
      () => performanceEvent(ctx, 's', '/x', 1, { statusCode: 99 }),
      'details.statusCode',
    ],
    [
      'details.statusCode 600',
      () => performanceEvent(ctx, 's', '/x', 1, { statusCode: 600 }),
      'details.statusCode',
    ],
    [
      'details.statusCode 200.5',
      () => performanceEvent(ctx, 's', '/x', 1, { statusCode: 200.5 }),
      'details.statusCode',
    ],
    [
      'details.statusCode null',
      () => performanceEvent(ctx, 's', '/x', 1, { statusCode: null }),
      'details.statusCode',
    ],
    [
      "details.success 'yes'",
      () => performanceEvent(ctx, 's', '/x', 1, { success: 'yes' }),
      'details.success',
    ],
    [
      'an empty details.method',
      () => performanceEvent(ctx, 's', '/x', 1, { method: '' }),
      'details.method',
    ],
    [
      'a 17-character details.method',
      () => performanceEvent(ctx, 's', '/x', 1, { method: 'M'.repeat(17) }),
      'details.method',
    ],
  ])('refuses %s', (_name, build, field) => {
    expectInvalid(build, field);
  });

  it('accepts the status code bounds 100 and 599', () => {
    expect(performanceEvent(ctx, 's', '/x', 1, { statusCode: 100 }).document.statusCode).toBe(100);
    expect(performanceEvent(ctx, 's', '/x', 1, { statusCode: 599 }).document.statusCode).toBe(599);
  });
});

describe('errorEvent', () => {
  it('records an Error with its name, message, code and stack', () => {
    const error = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const event = errorEvent(ctx, error, { attempt: 2 });
    expectCommon(event, 'error_logs');
    expect(event.document).toMatchObject({
      service: 'nova-api',
      errorType: 'Error',
      message: 'socket hang up',
      code: 'ECONNRESET',
      details: { attempt: 2 },
    });
    expect(event.document.stack).toBe(error.stack);
    expect(event.document.stack).toMatch(/^Error: socket hang up/);
  });

  it('keeps the subclass name and turns a numeric code into a string', () => {
    const event = errorEvent(ctx, Object.assign(new TypeError('bad'), { code: 42 }));
    expect(event.document).toMatchObject({ errorType: 'TypeError', message: 'bad', code: '42' });
    expect(violations(event)).toEqual([]);
  });

  it('records a NovaError with its code', () => {
    const event = errorEvent(ctx, new NovaError('NOT_FOUND', 'no such ticket'));
    expect(event.document).toMatchObject({
      errorType: 'NovaError',
      message: 'no such ticket',
      code: 'NOT_FOUND',
    });
  });

  it('stores no code when the code is neither a string nor a number, nor when there is none', () => {
    expect(errorEvent(ctx, Object.assign(new Error('x'), { code: { a: 1 } })).document.code).toBe(
      null,
    );
    expect(errorEvent(ctx, new Error('x')).document.code).toBeNull();
  });

  it.each([
    ['a string', 'boom', 'string', 'boom'],
    ['a number', 42, 'number', '42'],
    ['undefined', undefined, 'undefined', 'undefined'],
    ['null', null, 'object', 'null'],
  ])('records a thrown %s with its type and no code or stack', (_name, thrown, type, message) => {
    const event = errorEvent(ctx, thrown);
    expectCommon(event, 'error_logs');
    expect(event.document).toMatchObject({ errorType: type, message, code: null, stack: null });
  });

  it('records a thrown object that has no toString', () => {
    const event = errorEvent(ctx, Object.create(null));
    expect(event.document.errorType).toBe('object');
  });

  it('fills an empty message and an empty name', () => {
    const error = new Error('');
    error.name = '';
    const event = errorEvent(ctx, error);
    expect(event.document).toMatchObject({ errorType: 'Error', message: '(no message)' });
    expect(violations(event)).toEqual([]);
  });

  it('caps the stack at 8192 and the message at 2048 characters', () => {
    const error = new Error('m'.repeat(5000));
    error.stack = 's'.repeat(10_000);
    const event = errorEvent(ctx, error);
    expect(event.document.stack).toBe('s'.repeat(8192));
    expect(event.document.message).toBe('m'.repeat(2048));
  });

  it('leaves a short stack whole', () => {
    const error = new Error('x');
    error.stack = 'Error: x\n    at here';
    expect(errorEvent(ctx, error).document.stack).toBe('Error: x\n    at here');
  });
});

describe('apiUsageEvent', () => {
  it('builds an api_usage document with the method upper-cased', () => {
    const event = apiUsageEvent(ctx, 'get', '/api/tickets/:id', 200, 8, { userId: 'u-1' });
    expectCommon(event, 'api_usage');
    expect(event.document).toEqual({
      _id: event.document._id,
      timestamp: NOW,
      service: 'nova-api',
      userId: 'u-1',
      method: 'GET',
      path: '/api/tickets/:id',
      statusCode: 200,
      durationMs: 8,
      details: {},
    });
  });

  it.each([100, 599])('accepts status %i', (status) => {
    expect(apiUsageEvent(ctx, 'GET', '/x', status, 1).document.statusCode).toBe(status);
  });

  it.each([
    ['statusCode 99', () => apiUsageEvent(ctx, 'GET', '/x', 99, 1), 'statusCode'],
    ['statusCode 600', () => apiUsageEvent(ctx, 'GET', '/x', 600, 1), 'statusCode'],
    ['statusCode 200.5', () => apiUsageEvent(ctx, 'GET', '/x', 200.5, 1), 'statusCode'],
    [
      "statusCode '200'",
      () => apiUsageEvent(ctx, 'GET', '/x', '200' as unknown as number, 1),
      'statusCode',
    ],
    ['an empty method', () => apiUsageEvent(ctx, '', '/x', 200, 1), 'method'],
    ['a 17-character method', () => apiUsageEvent(ctx, 'M'.repeat(17), '/x', 200, 1), 'method'],
    ['an empty path', () => apiUsageEvent(ctx, 'GET', '', 200, 1), 'path'],
    ['durationMs -1', () => apiUsageEvent(ctx, 'GET', '/x', 200, -1), 'durationMs'],
    ['durationMs NaN', () => apiUsageEvent(ctx, 'GET', '/x', 200, Number.NaN), 'durationMs'],
  ])('refuses %s', (_name, build, field) => {
    expectInvalid(build, field);
  });
});

describe('searchEvent and normalizeQuery', () => {
  it('normalizes a query: trimmed, lower-cased, whitespace collapsed, at most 256 characters', () => {
    expect(normalizeQuery('  Reset   PASSWORD ')).toBe('reset password');
    expect(normalizeQuery('VPN\t\n access')).toBe('vpn access');
    expect(normalizeQuery('   ')).toBe('');
    expect(normalizeQuery(`${'A'.repeat(300)}`)).toBe('a'.repeat(256));
  });

  it('builds a search_analytics document with the normalized query', () => {
    const event = searchEvent(ctx, 'kb', '  Reset   PASSWORD ', 3, 4.5, { traceId: 'tr-1' });
    expectCommon(event, 'search_analytics');
    expect(event.document).toEqual({
      _id: event.document._id,
      timestamp: NOW,
      service: 'nova-api',
      traceId: 'tr-1',
      scope: 'kb',
      query: 'reset password',
      resultCount: 3,
      durationMs: 4.5,
      details: {},
    });
  });

  it('accepts an empty query and no results', () => {
    const event = searchEvent(ctx, 'tickets', '', 0, 0);
    expectCommon(event, 'search_analytics');
    expect(event.document).toMatchObject({ scope: 'tickets', query: '', resultCount: 0 });
  });

  it.each([
    ["scope 'wiki'", () => searchEvent(ctx, 'wiki' as SearchScope, 'q', 1, 1), 'scope'],
    ['resultCount 1.5', () => searchEvent(ctx, 'kb', 'q', 1.5, 1), 'resultCount'],
    ['resultCount -1', () => searchEvent(ctx, 'kb', 'q', -1, 1), 'resultCount'],
    ['resultCount NaN', () => searchEvent(ctx, 'kb', 'q', Number.NaN, 1), 'resultCount'],
    ['durationMs -1', () => searchEvent(ctx, 'kb', 'q', 1, -1), 'durationMs'],
    ['a numeric query', () => searchEvent(ctx, 'kb', 42 as unknown as string, 1, 1), 'query'],
  ])('refuses %s', (_name, build, field) => {
    expectInvalid(build, field);
  });

  it('builds a document the validator accepts for a resultCount beyond int32', () => {
    expect(violations(searchEvent(ctx, 'kb', 'q', 2 ** 31, 1))).toEqual([]);
  });
});

describe('all builders', () => {
  it('lift string userId, traceId and requestId out of the details to the top level', () => {
    const details = { userId: 'u-1', traceId: 'tr-1', requestId: 'rq-1', other: 1 };
    const events = [
      auditEvent(ctx, 'actor', 'act', { type: 't' }, details),
      systemEvent(ctx, 'info', 'm', details),
      performanceEvent(ctx, 's', '/x', 1, details),
      errorEvent(ctx, new Error('x'), details),
      apiUsageEvent(ctx, 'GET', '/x', 200, 1, details),
      searchEvent(ctx, 'kb', 'q', 1, 1, details),
    ];
    for (const event of events) {
      expect(event.document).toMatchObject({ userId: 'u-1', traceId: 'tr-1', requestId: 'rq-1' });
      expect(event.document.details).toEqual({ other: 1 });
      expect(violations(event)).toEqual([]);
    }
    const activity = userActivityEvent(ctx, 'u-1', 'act', { traceId: 'tr-1', requestId: 'rq-1' });
    expect(activity.document).toMatchObject({ userId: 'u-1', traceId: 'tr-1', requestId: 'rq-1' });
    expect(activity.document.details).toEqual({});
  });

  it('leave ids that are not non-empty short strings in the details', () => {
    const details = { userId: 42, traceId: '', requestId: 'r'.repeat(257) };
    const event = systemEvent(ctx, 'info', 'm', details);
    expect(event.document).not.toHaveProperty('userId');
    expect(event.document).not.toHaveProperty('traceId');
    expect(event.document).not.toHaveProperty('requestId');
    expect(event.document.details).toEqual(details);
    expect(violations(event)).toEqual([]);
  });

  it('give every document its own ObjectId', () => {
    const ids = Array.from({ length: 100 }, (_, i) => [
      auditEvent(ctx, null, 'a', { type: 't' }),
      systemEvent(ctx, 'info', 'm'),
      userActivityEvent(ctx, 'u', 'a'),
      performanceEvent(ctx, 's', '/x', i),
      errorEvent(ctx, 'e'),
      apiUsageEvent(ctx, 'GET', '/x', 200, i),
      searchEvent(ctx, 'kb', 'q', i, 1),
    ]).flatMap((events) => events.map((event) => event.document._id.toHexString()));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('take the timestamp from context.now, and from the clock without it', () => {
    const calls: Date[] = [];
    const clock = () => {
      const at = new Date(1_700_000_000_000 + calls.length);
      calls.push(at);
      return at;
    };
    const first = systemEvent({ service: 's', now: clock }, 'info', 'a');
    const second = systemEvent({ service: 's', now: clock }, 'info', 'b');
    expect(first.document.timestamp.getTime()).toBe(1_700_000_000_000);
    expect(second.document.timestamp.getTime()).toBe(1_700_000_000_001);

    const before = Date.now();
    const event = systemEvent({ service: 's' }, 'info', 'c');
    const after = Date.now();
    expect(event.document.timestamp).toBeInstanceOf(Date);
    expect(event.document.timestamp.getTime()).toBeGreaterThanOrEqual(before);
    expect(event.document.timestamp.getTime()).toBeLessThanOrEqual(after);
  });

  it('sanitize the details with context.limits and mark a cut with _truncated', () => {
    const event = systemEvent(
      { ...ctx, limits: { ...DEFAULT_LIMITS, maxString: 4 } },
      'info',
      'm',
      { note: 'abcdefgh', apiKey: 'k' },
    );
    expect(event.document.details).toEqual({ note: 'abcd…', apiKey: REDACTED, _truncated: true });
    expect(violations(event)).toEqual([]);
  });

  it('keep a __proto__ key in the details as data', () => {
    const details = JSON.parse('{"__proto__": {"polluted": 1}, "statusCode": 200}') as Details;
    for (const event of [
      systemEvent(ctx, 'info', 'm', details),
      performanceEvent(ctx, 's', '/x', 1, details),
    ]) {
      expect(Object.hasOwn(event.document.details, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(event.document.details)).toBe(Object.prototype);
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('store details that are not an object as {} marked _truncated', () => {
    const event = systemEvent(ctx, 'info', 'm', 'oops' as unknown as Details);
    expect(event.document.details).toEqual({ _truncated: true });
  });
});

describe('documents against the collection validators', () => {
  const cases: [string, () => TelemetryEvent][] = [
    [
      'audit with actor and entity',
      () => auditEvent(ctx, 'u', 'ticket.update', { type: 'ticket', id: 't' }, { token: 'x' }),
    ],
    ['audit by the system', () => auditEvent(ctx, null, 'config.reload', { type: 'config' })],
    ['system log', () => systemEvent(ctx, 'warn', 'disk', { traceId: 'tr', at: new Date() })],
    ['user activity', () => userActivityEvent(ctx, 'u', 'kb.view', { requestId: 'rq' })],
    [
      'performance with status and method',
      () => performanceEvent(ctx, 's', '/x', 12.5, { statusCode: 503, method: 'GET' }),
    ],
    ['performance with nothing but a duration', () => performanceEvent(ctx, 's', '/x', 0)],
    [
      'performance with a duration beyond int32',
      () => performanceEvent(ctx, 's', '/x', 2 ** 31 + 5),
    ],
    ['error from an Error', () => errorEvent(ctx, Object.assign(new Error('e'), { code: 7 }))],
    ['error from a string', () => errorEvent(ctx, 'boom')],
    ['api usage', () => apiUsageEvent(ctx, 'post', '/api/x', 201, 3, { userId: 'u' })],
    ['search', () => searchEvent(ctx, 'tickets', ' VPN ', 12, 1.25)],
    [
      'search with truncated details',
      () =>
        searchEvent({ ...ctx, limits: { ...DEFAULT_LIMITS, maxArray: 1 } }, 'kb', 'q', 0, 0, {
          ids: [1, 2, 3],
        }),
    ],
  ];

  it('cover every telemetry collection', () => {
    const covered = new Set(cases.map(([, make]) => make().collection));
    expect([...covered].sort()).toEqual([...TELEMETRY_COLLECTIONS].sort());
  });

  it.each(cases)('accepts %s', (_name, make) => {
    expect(violations(make())).toEqual([]);
  });

  it.each(cases)('refuses %s without any one of its required fields', (_name, make) => {
    const event = make();
    const schema = validatorFor(event.collection).$jsonSchema;
    const required = schema.required as string[];
    expect(required).toEqual(expect.arrayContaining(['_id', 'timestamp', 'service', 'details']));
    for (const field of required) {
      expect(schemaViolations(schema, without(event.document, field))).toEqual([
        `${field}: required`,
      ]);
    }
  });
});

describe('the $jsonSchema checker', () => {
  const api = () => apiUsageEvent(ctx, 'GET', '/x', 200, 5).document;
  const apiSchema = validatorFor('api_usage').$jsonSchema;

  it.each([
    ['a double statusCode', { statusCode: 200.5 }, 'statusCode: bsonType double is not int'],
    [
      'a string durationMs',
      { durationMs: '5' },
      'durationMs: bsonType string is not double|int|long',
    ],
    [
      'a string timestamp',
      { timestamp: NOW.toISOString() },
      'timestamp: bsonType string is not date',
    ],
    ['a string _id', { _id: new ObjectId().toHexString() }, '_id: bsonType string is not objectId'],
    ['a null service', { service: null }, 'service: bsonType null is not string'],
    [
      'an undefined service (written as null)',
      { service: undefined },
      'service: bsonType null is not string',
    ],
    ['an array of details', { details: [] }, 'details: bsonType array is not object'],
    [
      'a statusCode over the maximum',
      { statusCode: 600 },
      'statusCode: 600 is above the maximum 599',
    ],
    [
      'a statusCode under the minimum',
      { statusCode: 99 },
      'statusCode: 99 is below the minimum 100',
    ],
    ['a negative duration', { durationMs: -1 }, 'durationMs: -1 is below the minimum 0'],
    ['a numeric userId', { userId: 7 }, 'userId: bsonType int is not string'],
  ])('refuses an api_usage document with %s', (_name, change, problem) => {
    expect(schemaViolations(apiSchema, { ...api(), ...change })).toEqual([problem]);
  });

  it('refuses a level outside the enum, a string success and a negative resultCount', () => {
    const system = systemEvent(ctx, 'info', 'm').document;
    expect(
      schemaViolations(validatorFor('system_logs').$jsonSchema, { ...system, level: 'fatal' }),
    ).toEqual(['level: "fatal" is not one of ["debug","info","warn","error"]']);

    const perf = performanceEvent(ctx, 's', '/x', 1).document;
    expect(
      schemaViolations(validatorFor('performance_metrics').$jsonSchema, {
        ...perf,
        success: 'true',
      }),
    ).toEqual(['success: bsonType string is not bool']);

    const search = searchEvent(ctx, 'kb', 'q', 1, 1).document;
    expect(
      schemaViolations(validatorFor('search_analytics').$jsonSchema, {
        ...search,
        resultCount: -1,
      }),
    ).toEqual([expect.stringContaining('resultCount')]);
    expect(
      schemaViolations(validatorFor('search_analytics').$jsonSchema, {
        ...search,
        resultCount: BigInt(2 ** 31),
      }),
    ).toEqual([]);
  });

  it('refuses a document that is not an object, and ignores fields the schema does not name', () => {
    expect(schemaViolations(apiSchema, [])).toEqual(['(root): bsonType array is not object']);
    expect(schemaViolations(apiSchema, { ...api(), extra: { anything: 1 } })).toEqual([]);
  });

  it('throws on a keyword or bsonType outside its subset rather than passing', () => {
    expect(() => schemaViolations({ pattern: '^a' }, 'a')).toThrow(/unsupported/);
    expect(() => schemaViolations({ bsonType: 'integer' }, 1)).toThrow(/unknown bsonType/);
    expect(() =>
      schemaViolations({ properties: { a: { additionalProperties: false } } }, { a: {} }),
    ).toThrow(/unsupported/);
  });

  const TYPE_BYTES: Record<number, string> = {
    1: 'double',
    2: 'string',
    3: 'object',
    4: 'array',
    5: 'binData',
    7: 'objectId',
    8: 'bool',
    9: 'date',
    10: 'null',
    11: 'regex',
    16: 'int',
    18: 'long',
    19: 'decimal',
  };

  /** The element type byte the driver's serializer writes for `{ v: value }`. */
  function serializedType(value: unknown): string | undefined {
    const bytes = BSON.serialize({ v: value }, { ignoreUndefined: false });
    if (bytes.length === 5) return undefined; // an empty document: the value was not written
    return TYPE_BYTES[bytes[4] ?? -1] ?? `unknown ${bytes[4]}`;
  }

  it.each([
    ['a string', 'x'],
    ['true', true],
    ['0', 0],
    ['-0', -0],
    ['int32 max', 2 ** 31 - 1],
    ['int32 min', -(2 ** 31)],
    ['int32 max + 1', 2 ** 31],
    ['int32 min - 1', -(2 ** 31) - 1],
    ['2^53', 2 ** 53],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a bigint', 10n],
    ['null', null],
    ['undefined', undefined],
    ['a Date', NOW],
    ['an ObjectId', new ObjectId()],
    ['a Long', BSON.Long.fromNumber(5)],
    ['an Int32', new BSON.Int32(5)],
    ['a Double', new BSON.Double(5)],
    ['a Decimal128', BSON.Decimal128.fromString('1.5')],
    ['an array', [1]],
    ['an object', { a: 1 }],
    ['a Buffer', Buffer.from('a')],
    ['a Uint8Array', new Uint8Array(2)],
    ['a RegExp', /x/],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
  ])('types %s as the driver serializes it', (_name, value) => {
    expect(bsonTypeOf(value)).toBe(serializedType(value));
  });
});
