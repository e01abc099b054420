import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { REDACTED } from '../../../src/lib/redact.js';
import {
  CIRCULAR,
  DEFAULT_LIMITS,
  escapeKey,
  type SanitizeLimits,
  sanitizeDetails,
  TRUNCATED,
} from '../../../src/lib/telemetry/sanitize.js';

const DOLLAR = '\uFF04'; // ＄
const DOT = '\uFF0E'; // ．

const limits = (override: Partial<SanitizeLimits>): SanitizeLimits => ({
  ...DEFAULT_LIMITS,
  ...override,
});

/** Every key of every object in `value`, at any depth (arrays included). */
function allKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(allKeys);
  if (value === null || typeof value !== 'object' || value instanceof Date) return [];
  return Object.entries(value).flatMap(([key, inner]) => [key, ...allKeys(inner)]);
}

/** `levels` objects nested under `child`, the innermost holding `inner`. */
const nest = (levels: number, inner: unknown): unknown =>
  levels === 0 ? inner : { child: nest(levels - 1, inner) };

const jsonSize = (value: unknown) => JSON.stringify(value).length;

describe('escapeKey', () => {
  it('escapes a leading $ and every dot to their full-width twins, and NUL to U+FFFD', () => {
    expect(escapeKey('$where')).toBe(`${DOLLAR}where`);
    expect(escapeKey('a.b.c')).toBe(`a${DOT}b${DOT}c`);
    expect(escapeKey('$a.b')).toBe(`${DOLLAR}a${DOT}b`);
    expect(escapeKey('a\0b\0')).toBe('a\uFFFDb\uFFFD');
    expect(escapeKey('.')).toBe(DOT);
  });

  it('leaves ordinary keys and an inner $ alone', () => {
    for (const key of ['userId', 'price$', 'a$b', '_id', '', 'ключ']) {
      expect(escapeKey(key)).toBe(key);
    }
  });
});

describe('sanitizeDetails: operator injection', () => {
  it('escapes $-operators and dotted keys at the top level', () => {
    const { value, truncated } = sanitizeDetails({
      $where: 'sleep(1000)',
      'a.b': 1,
      $gt: '',
      plain: 'x',
    });
    expect(value).toEqual({
      [`${DOLLAR}where`]: 'sleep(1000)',
      [`a${DOT}b`]: 1,
      [`${DOLLAR}gt`]: '',
      plain: 'x',
    });
    expect(truncated).toBe(false);
  });

  it('escapes operator keys at any depth, inside arrays and Maps too', () => {
    const input = {
      filter: {
        list: [{ $gt: '' }, { nested: { 'x.y': { $ne: null } } }],
        deep: [{ $or: [{ 'p.q': 1 }] }],
      },
      map: new Map<string, unknown>([['$set', { 'k.v': 2 }]]),
    };
    const { value } = sanitizeDetails(input);
    expect(value).toEqual({
      filter: {
        list: [{ [`${DOLLAR}gt`]: '' }, { nested: { [`x${DOT}y`]: { [`${DOLLAR}ne`]: null } } }],
        deep: [{ [`${DOLLAR}or`]: [{ [`p${DOT}q`]: 1 }] }],
      },
      map: { [`${DOLLAR}set`]: { [`k${DOT}v`]: 2 } },
    });
    for (const key of allKeys(value)) {
      expect(key).not.toMatch(/^\$|\.|\0/);
    }
  });

  it('produces keys the BSON serializer accepts with checkKeys, where the raw input is refused', () => {
    const input = { q: [{ $where: 'x' }], 'a.b': { 'nul\0key': 1 } };
    expect(() => BSON.serialize(input, { checkKeys: true })).toThrow();
    const { value } = sanitizeDetails(input);
    expect(() => BSON.serialize(value, { checkKeys: true })).not.toThrow();
    expect(value).toEqual({
      q: [{ [`${DOLLAR}where`]: 'x' }],
      [`a${DOT}b`]: { 'nul\uFFFDkey': 1 },
    });
  });

  it('does not modify the caller object', () => {
    const input = { $where: 'x', password: 'p', list: [1, 2, 3] };
    sanitizeDetails(input, limits({ maxArray: 1 }));
    expect(input).toEqual({ $where: 'x', password: 'p', list: [1, 2, 3] });
  });
});

describe('sanitizeDetails: secrets', () => {
  it('redacts secret-named values at any depth, inside arrays too', () => {
    const { value } = sanitizeDetails({
      user: 'bob',
      password: 'hunter2',
      auth: {
        token: 't',
        Authorization: 'Bearer x',
        headers: [{ apiKey: 'k', api_key: 'k', accept: 'json' }],
      },
      oauth: { clientSecret: 's', clientId: 'c' },
      count: 3,
    });
    expect(value).toEqual({
      user: 'bob',
      password: REDACTED,
      auth: {
        token: REDACTED,
        Authorization: REDACTED,
        headers: [{ apiKey: REDACTED, api_key: REDACTED, accept: 'json' }],
      },
      oauth: { clientSecret: REDACTED, clientId: 'c' },
      count: 3,
    });
  });

  it('redacts non-string values whole: objects, arrays, numbers, errors', () => {
    const { value } = sanitizeDetails({
      credentials: { user: 'u', pass: 'p' },
      tokens: ['a', 'b'],
      sessionId: 42,
      secret: new Error('x'),
    });
    expect(value).toEqual({
      credentials: REDACTED,
      tokens: REDACTED,
      sessionId: REDACTED,
      secret: REDACTED,
    });
  });

  it('keeps a null secret as null and drops an undefined one', () => {
    const { value } = sanitizeDetails({
      password: null,
      token: undefined,
      nested: { apiKey: null },
    });
    expect(value).toEqual({ password: null, nested: { apiKey: null } });
    expect(Object.hasOwn(value, 'token')).toBe(false);
  });

  it('decides on the original key, so escaped secret keys and Map keys are redacted too', () => {
    const { value } = sanitizeDetails({
      $password: 'x',
      'auth.token': 'y',
      map: new Map([['clientSecret', 'z']]),
    });
    expect(value).toEqual({
      [`${DOLLAR}password`]: REDACTED,
      [`auth${DOT}token`]: REDACTED,
      map: { clientSecret: REDACTED },
    });
  });
});

describe('sanitizeDetails: size caps', () => {
  it('keeps a string of exactly maxString and cuts a longer one with a marker', () => {
    const exact = sanitizeDetails({ s: 'a'.repeat(DEFAULT_LIMITS.maxString) });
    expect(exact.value.s).toBe('a'.repeat(DEFAULT_LIMITS.maxString));
    expect(exact.truncated).toBe(false);

    const long = sanitizeDetails({ s: 'b'.repeat(DEFAULT_LIMITS.maxString + 1) });
    expect(long.value.s).toBe(`${'b'.repeat(DEFAULT_LIMITS.maxString)}…`);
    expect(long.truncated).toBe(true);
  });

  it('applies a custom maxString at depth', () => {
    const { value, truncated } = sanitizeDetails(
      { a: { b: ['abcdefgh', 'abc'] } },
      limits({ maxString: 3 }),
    );
    expect(value).toEqual({ a: { b: ['abc…', 'abc'] } });
    expect(truncated).toBe(true);
  });

  it('does not split a surrogate pair when cutting a string', () => {
    const { value } = sanitizeDetails({ s: `a${'😀'.repeat(10)}` }, limits({ maxString: 4 }));
    const cut = value.s as string;
    // What BSON stores is UTF-8: a lone surrogate would come back as U+FFFD.
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });

  it('keeps an array of exactly maxArray and cuts a longer one with a TRUNCATED marker', () => {
    const exact = Array.from({ length: DEFAULT_LIMITS.maxArray }, (_, i) => i);
    expect(sanitizeDetails({ list: exact })).toEqual({ value: { list: exact }, truncated: false });

    const long = Array.from({ length: DEFAULT_LIMITS.maxArray + 10 }, (_, i) => i);
    const { value, truncated } = sanitizeDetails({ list: long });
    expect(value.list).toEqual([...exact, TRUNCATED]);
    expect(truncated).toBe(true);
  });

  it('caps Sets like arrays', () => {
    const { value, truncated } = sanitizeDetails(
      { set: new Set([1, 2, 3, 4]) },
      limits({ maxArray: 2 }),
    );
    expect(value).toEqual({ set: [1, 2, TRUNCATED] });
    expect(truncated).toBe(true);
  });

  it('keeps at most maxKeys keys per object and marks the object _truncated', () => {
    const input = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, i]));
    const { value, truncated } = sanitizeDetails({ nested: input });
    const expected = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    expect(value).toEqual({ nested: { ...expected, _truncated: true } });
    expect(truncated).toBe(true);

    const exact = sanitizeDetails(expected);
    expect(exact).toEqual({ value: expected, truncated: false });
  });

  it('cuts keys longer than 256 characters', () => {
    const { value } = sanitizeDetails({ [`${'k'.repeat(300)}`]: 1 });
    expect(Object.keys(value)).toEqual(['k'.repeat(256)]);
  });

  it('reports a cut key as truncated', () => {
    expect(sanitizeDetails({ [`${'k'.repeat(300)}`]: 1 }).truncated).toBe(true);
  });

  it('keeps objects down to maxDepth and replaces deeper ones with TRUNCATED', () => {
    // The details object is level 1, so nest(5, ...) holds maxDepth = 6 objects.
    const deepest = nest(DEFAULT_LIMITS.maxDepth - 1, { leaf: 1 });
    expect(sanitizeDetails(deepest)).toEqual({ value: deepest, truncated: false });

    const tooDeep = nest(DEFAULT_LIMITS.maxDepth, { leaf: 1 });
    const { value, truncated } = sanitizeDetails(tooDeep);
    expect(value).toEqual(nest(DEFAULT_LIMITS.maxDepth, TRUNCATED));
    expect(truncated).toBe(true);
  });

  it('counts arrays as depth levels, with a custom maxDepth', () => {
    const { value, truncated } = sanitizeDetails(
      { a: [[1]], b: [[[1]]], s: 'kept' },
      limits({ maxDepth: 3 }),
    );
    expect(value).toEqual({ a: [[1]], b: [[TRUNCATED]], s: 'kept' });
    expect(truncated).toBe(true);
  });

  it('keeps many big strings to about maxBytes in total and marks the cut with _truncated', () => {
    const input = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'x'.repeat(3000)]),
    );
    const { value, truncated } = sanitizeDetails(input);
    expect(truncated).toBe(true);
    expect(value._truncated).toBe(true);
    const kept = Object.keys(value).filter((key) => key !== '_truncated');
    expect(kept.length).toBeGreaterThanOrEqual(5);
    expect(kept.length).toBeLessThan(40);
    // Whole strings (each capped) are kept in order; the budget may be overrun by one entry.
    expect(kept).toEqual(Object.keys(input).slice(0, kept.length));
    for (const key of kept) expect(value[key]).toBe(`${'x'.repeat(DEFAULT_LIMITS.maxString)}…`);
    expect(jsonSize(value)).toBeLessThanOrEqual(
      DEFAULT_LIMITS.maxBytes + DEFAULT_LIMITS.maxString + 512,
    );
    expect(BSON.calculateObjectSize(value)).toBeLessThanOrEqual(
      DEFAULT_LIMITS.maxBytes + DEFAULT_LIMITS.maxString + 1024,
    );
  });

  it('stops an array at the budget with a TRUNCATED marker', () => {
    const { value, truncated } = sanitizeDetails(
      { list: Array.from({ length: 20 }, () => 'y'.repeat(100)) },
      limits({ maxBytes: 1000 }),
    );
    const list = value.list as unknown[];
    expect(list.length).toBeLessThan(21);
    expect(list.at(-1)).toBe(TRUNCATED);
    expect(list.slice(0, -1).every((s) => s === 'y'.repeat(100))).toBe(true);
    expect(truncated).toBe(true);
  });

  it('leaves a details object under the budget untouched and unmarked', () => {
    const input = { a: 'x'.repeat(1000), b: [1, 2, 3], c: { d: true } };
    expect(sanitizeDetails(input)).toEqual({ value: input, truncated: false });
  });

  it('keeps nested arrays of nulls within maxBytes', () => {
    const l1 = new Array(50).fill(null);
    const l2 = new Array(50).fill(l1);
    const l3 = new Array(50).fill(l2);
    const { value, truncated } = sanitizeDetails({ a: l3 });
    expect(jsonSize(value)).toBeLessThanOrEqual(
      DEFAULT_LIMITS.maxBytes + DEFAULT_LIMITS.maxString + 512,
    );
    expect(truncated).toBe(true);
  });
});

describe('sanitizeDetails: types', () => {
  it('replaces a cycle with [Circular], directly, indirectly and through arrays', () => {
    const self: Record<string, unknown> = { name: 'a' };
    self.self = self;
    const parent: Record<string, unknown> = { name: 'p' };
    parent.child = { back: parent };
    const list: unknown[] = [1];
    list.push(list);
    const { value } = sanitizeDetails({ self, parent, list });
    expect(value).toEqual({
      self: { name: 'a', self: CIRCULAR },
      parent: { name: 'p', child: { back: CIRCULAR } },
      list: [1, CIRCULAR],
    });
    expect(() => BSON.serialize(value)).not.toThrow();
  });

  it('copies a shared but acyclic object in full each time', () => {
    const shared = { x: 1 };
    const { value } = sanitizeDetails({ a: shared, b: shared, list: [shared, shared] });
    expect(value).toEqual({ a: { x: 1 }, b: { x: 1 }, list: [{ x: 1 }, { x: 1 }] });
    expect(value.a).not.toBe(value.b);
  });

  it('replaces a cycle through a Map or a Set with [Circular]', () => {
    const map = new Map<string, unknown>();
    map.set('self', map);
    const set = new Set<unknown>();
    set.add(set);
    expect(sanitizeDetails({ map, set }).value).toEqual({
      map: { self: CIRCULAR },
      set: [CIRCULAR],
    });
  });

  it('copies a Date into a new Date with the same time, and an invalid Date to null', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const { value } = sanitizeDetails({ at, nested: [at], bad: new Date('not a date') });
    expect(value.at).toBeInstanceOf(Date);
    expect(value.at).not.toBe(at);
    expect((value.at as Date).getTime()).toBe(at.getTime());
    expect((value.nested as Date[])[0]?.getTime()).toBe(at.getTime());
    expect(value.bad).toBeNull();
    at.setTime(0);
    expect((value.at as Date).toISOString()).toBe('2026-01-02T03:04:05.678Z');
  });

  it('turns NaN and infinities into null and keeps finite numbers', () => {
    const { value } = sanitizeDetails({
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      ninf: Number.NEGATIVE_INFINITY,
      list: [Number.NaN, 1],
      n: 1.5,
      z: 0,
      neg: -7,
    });
    expect(value).toEqual({
      nan: null,
      inf: null,
      ninf: null,
      list: [null, 1],
      n: 1.5,
      z: 0,
      neg: -7,
    });
  });

  it('turns bigints into decimal strings', () => {
    const { value } = sanitizeDetails({ big: 12345678901234567890n, list: [-1n] });
    expect(value).toEqual({ big: '12345678901234567890', list: ['-1'] });
  });

  it('turns errors into { name, message } only', () => {
    const error = Object.assign(new TypeError('bad input'), { code: 'E1', detail: { x: 1 } });
    const { value } = sanitizeDetails({ error, plain: new Error('boom') });
    expect(value).toEqual({
      error: { name: 'TypeError', message: 'bad input' },
      plain: { name: 'Error', message: 'boom' },
    });
  });

  it('turns a Map into an object and a Set into an array', () => {
    const { value } = sanitizeDetails({
      map: new Map<string, unknown>([
        ['a', 1],
        ['b', { c: new Set(['x']) }],
      ]),
      set: new Set([1, 'two', { three: 3 }]),
    });
    expect(value).toEqual({ map: { a: 1, b: { c: ['x'] } }, set: [1, 'two', { three: 3 }] });
  });

  it('replaces Buffers, typed arrays and DataViews with their size', () => {
    const { value } = sanitizeDetails({
      buffer: Buffer.from('abc'),
      bytes: new Uint8Array(7),
      doubles: new Float64Array(2),
      view: new DataView(new ArrayBuffer(5)),
      list: [Buffer.alloc(1)],
    });
    expect(value).toEqual({
      buffer: '[binary 3 bytes]',
      bytes: '[binary 7 bytes]',
      doubles: '[binary 16 bytes]',
      view: '[binary 5 bytes]',
      list: ['[binary 1 bytes]'],
    });
  });

  it('drops functions, symbols, undefined and symbol keys from objects; nulls them in arrays', () => {
    const { value, truncated } = sanitizeDetails({
      fn: () => 1,
      sym: Symbol('s'),
      undef: undefined,
      [Symbol('key')]: 'hidden',
      keep: true,
      nothing: null,
      list: [() => 1, undefined, Symbol('s'), 'x'],
    });
    expect(value).toEqual({ keep: true, nothing: null, list: [null, null, null, 'x'] });
    expect(Object.keys(value)).toEqual(['keep', 'nothing', 'list']);
    expect(Object.getOwnPropertySymbols(value)).toEqual([]);
    expect(truncated).toBe(false);
  });

  it('copies only own enumerable properties', () => {
    const input = Object.create({ inherited: 1 }) as Record<string, unknown>;
    input.own = 2;
    Object.defineProperty(input, 'hidden', { value: 3, enumerable: false });
    expect(sanitizeDetails(input).value).toEqual({ own: 2 });
  });

  it('keeps a __proto__ key as an own data property without polluting any prototype', () => {
    const input = JSON.parse(
      '{"__proto__": {"polluted": 1}, "list": [{"__proto__": {"polluted": 2}}]}',
    ) as Record<string, unknown>;
    const { value } = sanitizeDetails(input);

    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ polluted: 1 });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect((value as { polluted?: unknown }).polluted).toBeUndefined();

    const item = (value.list as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(Object.hasOwn(item, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(item)).toBe(Object.prototype);
    expect((item as { polluted?: unknown }).polluted).toBeUndefined();

    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('treats a constructor.prototype path as plain data', () => {
    const input = JSON.parse('{"constructor": {"prototype": {"polluted": 1}}}') as object;
    const { value } = sanitizeDetails(input);
    expect(value).toEqual({ constructor: { prototype: { polluted: 1 } } });
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe('sanitizeDetails: input that is not a plain object', () => {
  it.each([
    ['a string', 'password=hunter2', true],
    ['an array', [1, 2], true],
    ['a number', 42, true],
    ['a function', () => 1, true],
    ['null', null, false],
    ['undefined', undefined, false],
  ])('returns {} for %s (truncated %s)', (_name, input, truncated) => {
    expect(sanitizeDetails(input)).toEqual({ value: {}, truncated });
  });
});

describe('sanitizeDetails: the copy is independent of the input', () => {
  it('does not change when the caller mutates its object afterwards', () => {
    const input = {
      user: { name: 'ann', roles: ['agent'] },
      tags: ['a'],
      at: new Date(0),
      map: new Map([['k', 'v']]),
    };
    const { value } = sanitizeDetails(input);

    input.user.name = 'bob';
    input.user.roles.push('admin');
    input.tags.push('b');
    input.at.setTime(1000);
    input.map.set('k', 'changed');
    (input as Record<string, unknown>).extra = 1;

    expect(value).toEqual({
      user: { name: 'ann', roles: ['agent'] },
      tags: ['a'],
      at: new Date(0),
      map: { k: 'v' },
    });
    expect(value.user).not.toBe(input.user);
    expect(value.tags).not.toBe(input.tags);
  });
});
