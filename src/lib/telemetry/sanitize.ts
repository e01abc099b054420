/**
 * Caller-supplied event details, made safe to store before they leave the caller's hands.
 *
 * - Operator injection: a key starting with `$` or containing `.` is escaped to its Unicode
 *   full-width twin (U+FF04 ＄, U+FF0E ．), so `{ "$where": ... }` or `{ "a.b": 1 }` is stored
 *   as a literal field and can never be read as an operator or a path. NUL, which BSON keys
 *   cannot hold, becomes U+FFFD. (Two keys that escape alike, "a.b" and "a．b", collapse
 *   into one; the later wins.)
 * - Secrets: values under secret-looking keys (password, token, secret, authorization, ...,
 *   the same rule as the audit trail) are replaced with [REDACTED], and so are passwords in
 *   URLs inside strings (postgresql://user:[REDACTED]@host).
 * - Size: strings, arrays, depth and the total (an estimate: UTF-16 units plus a per-value
 *   overhead, so up to ~3x in UTF-8 bytes for CJK text) are capped, so one event can never approach
 *   MongoDB's 16 MiB document limit or an Elasticsearch field limit; what was cut is marked.
 * - Types: only JSON-like values and Dates survive; functions, symbols and undefined are
 *   dropped, bigints become strings, errors become { name, message }, cycles "[Circular]".
 *
 * The copy is taken synchronously, so a caller mutating its object afterwards changes nothing.
 */
import { isSecretKey, REDACTED, redactUrlCredentials } from '../redact.js';

export interface SanitizeLimits {
  /** Longest string kept, in UTF-16 code units (default 2048). */
  maxString: number;
  /** Array elements kept (default 50). */
  maxArray: number;
  /** Keys kept per object (default 100). */
  maxKeys: number;
  /** Nesting depth kept (default 6). */
  maxDepth: number;
  /** Budget for the whole value in estimated bytes (default 16 KiB). */
  maxBytes: number;
}

export const DEFAULT_LIMITS: Readonly<SanitizeLimits> = {
  maxString: 2048,
  maxArray: 50,
  maxKeys: 100,
  maxDepth: 6,
  maxBytes: 16 * 1024,
};

export const TRUNCATED = '[TRUNCATED]';
const MAX_KEY = 256;

/** The first `max` UTF-16 units, without splitting a surrogate pair (half an emoji). */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
export const CIRCULAR = '[Circular]';

export function escapeKey(key: string): string {
  let out = key.includes('.') ? key.replaceAll('.', '\uFF0E') : key;
  if (out.startsWith('$')) out = `\uFF04${out.slice(1)}`;
  return out.includes('\0') ? out.replaceAll('\0', '\uFFFD') : out;
}

export interface Sanitized {
  value: Record<string, unknown>;
  /** True when any cap cut something. */
  truncated: boolean;
}

/** A safe copy of a details object; anything that is not a plain object yields {}. */
export function sanitizeDetails(
  details: unknown,
  limits: SanitizeLimits = DEFAULT_LIMITS,
): Sanitized {
  const state = { budget: limits.maxBytes, truncated: false, ancestors: new Set<object>() };
  if (details === null || typeof details !== 'object' || Array.isArray(details)) {
    return { value: {}, truncated: details !== undefined && details !== null };
  }
  const value = copyObject(details as Record<string, unknown>, 1, limits, state);
  return { value: value as Record<string, unknown>, truncated: state.truncated };
}

interface State {
  budget: number;
  truncated: boolean;
  ancestors: Set<object>;
}

/**
 * What one value costs besides its content: a type byte, its key or index, separators.
 * Charging it for every value, null and markers included, keeps nested arrays of nulls or
 * empty objects from multiplying past the budget.
 */
const VALUE_OVERHEAD = 5;

function copyValue(value: unknown, depth: number, limits: SanitizeLimits, state: State): unknown {
  state.budget -= VALUE_OVERHEAD;
  switch (typeof value) {
    case 'string': {
      const text = redactUrlCredentials(value);
      state.budget -= Math.max(1, Math.min(text.length, limits.maxString));
      if (text.length <= limits.maxString) return text;
      state.truncated = true;
      return `${cutText(text, limits.maxString)}…`;
    }
    case 'number':
      state.budget -= 8;
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      state.budget -= 1;
      return value;
    case 'bigint':
      return copyValue(value.toString(), depth, limits, state);
    case 'object':
      break;
    default:
      return undefined; // functions, symbols, undefined: not data
  }
  if (value === null) return null;
  if (value instanceof Date) {
    state.budget -= 8;
    return Number.isNaN(value.getTime()) ? null : new Date(value.getTime());
  }
  if (value instanceof Error) {
    return copyObject({ name: value.name, message: value.message }, depth, limits, state);
  }
  if (ArrayBuffer.isView(value)) return `[binary ${value.byteLength} bytes]`;
  if (state.ancestors.has(value)) return CIRCULAR;
  if (depth > limits.maxDepth) {
    state.truncated = true;
    return TRUNCATED;
  }
  if (value instanceof Map || value instanceof Set) {
    // The copy is a new object: keep the original among the ancestors so cycles through it
    // are still seen.
    state.ancestors.add(value);
    const copied =
      value instanceof Map
        ? copyObject(Object.fromEntries(value), depth, limits, state)
        : copyArray([...value], depth, limits, state);
    state.ancestors.delete(value);
    return copied;
  }
  if (Array.isArray(value)) return copyArray(value, depth, limits, state);
  return copyObject(value as Record<string, unknown>, depth, limits, state);
}

function copyArray(items: unknown[], depth: number, limits: SanitizeLimits, state: State) {
  state.ancestors.add(items);
  const out: unknown[] = [];
  for (const item of items.slice(0, limits.maxArray)) {
    if (state.budget <= 0) break;
    const copied = copyValue(item, depth + 1, limits, state);
    out.push(copied === undefined ? null : copied);
  }
  if (out.length < items.length) {
    state.truncated = true;
    out.push(TRUNCATED);
  }
  state.ancestors.delete(items);
  return out;
}

function copyObject(
  source: Record<string, unknown>,
  depth: number,
  limits: SanitizeLimits,
  state: State,
): Record<string, unknown> {
  state.ancestors.add(source);
  const entries: [string, unknown][] = [];
  let cut = false;
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue;
    if (entries.length >= limits.maxKeys || state.budget <= 0) {
      cut = true;
      state.truncated = true;
      break;
    }
    if (key.length > MAX_KEY) state.truncated = true;
    const safeKey = escapeKey(key.length > MAX_KEY ? cutText(key, MAX_KEY) : key);
    state.budget -= safeKey.length;
    const raw = source[key];
    const copied =
      isSecretKey(key) && raw !== null && raw !== undefined
        ? REDACTED
        : copyValue(raw, depth + 1, limits, state);
    if (copied !== undefined) entries.push([safeKey, copied]);
  }
  state.ancestors.delete(source);
  // fromEntries defines own properties, so a "__proto__" key stays data, not a prototype.
  const out = Object.fromEntries(entries);
  if (cut) out._truncated = true;
  return out;
}
