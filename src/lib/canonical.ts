/**
 * Canonical JSON: object keys sorted at every depth, arrays in order. Equal documents give
 * equal strings whatever their key order, so live state can be compared with a spec, and a
 * spec can be fingerprinted.
 */
import { createHash } from 'node:crypto';

export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** A short, stable fingerprint of a spec (16 hex digits of its canonical SHA-256). */
export const fingerprint = (value: unknown): string =>
  createHash('sha256').update(canonical(value)).digest('hex').slice(0, 16);
