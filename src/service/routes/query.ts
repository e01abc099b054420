/**
 * Query-string parsing shared by the routes: lists given as `a,b` or repeated `?x=a&x=b`,
 * numbers from strings, unknown parameters refused. A data-layer error names its field by
 * the data layer's path (`filters.assigneeId`); `asQueryError` renames it to the parameter
 * the caller sent (`assignee`).
 */
import { z } from 'zod';
import { isNovaError, NovaError } from '../../lib/errors.js';

/** Header and URL limits are Fastify's; values here are bounded again by the data layer. */
export const param = z.string().max(512);
export const list = z.union([param, z.array(param).max(20)]).transform((value) =>
  (Array.isArray(value) ? value : [value])
    .flatMap((item) => item.split(','))
    .map((item) => item.trim())
    .filter(Boolean),
);
/** Digits only: `''`, `0x10`, `1e3` and ` 5` are not numbers a caller meant. */
export const integer = z
  .string()
  .regex(/^\d{1,9}$/, 'must be a whole number')
  .transform(Number);

/** Data-layer field -> query parameter, for the fields whose names differ. */
const RENAMED: Record<string, string> = { assigneeId: 'assignee', requesterId: 'requester' };

export function asQueryError(error: unknown): unknown {
  if (!isNovaError(error, 'VALIDATION_FAILED') || error.field === undefined) return error;
  const [head, next] = error.field.split('.');
  const name = head === 'filters' || head === 'options' ? (next ?? head) : (head ?? error.field);
  const field = RENAMED[name] ?? name;
  const message = error.message.startsWith(`${error.field}:`)
    ? `${field}:${error.message.slice(error.field.length + 1)}`
    : error.message;
  return new NovaError('VALIDATION_FAILED', message, { field, cause: error });
}

/** 503 UNAVAILABLE naming the variable that would configure the store a route needs. */
export function requireStore(configured: boolean, purpose: string, variable: string): void {
  if (!configured) {
    throw new NovaError('UNAVAILABLE', `${purpose}: ${variable} is not set`, { field: variable });
  }
}
