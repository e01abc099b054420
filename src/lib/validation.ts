/**
 * Input validation shared by every write: zod schemas, strict (an unknown field is an error,
 * not silently dropped), mapped to NovaError VALIDATION_FAILED naming the first bad field.
 */
import { z } from 'zod';
import { NovaError } from './errors.js';

export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix = '',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  // An unknown key is reported on its object: name the key itself.
  const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const path = [...(issue?.path ?? []), ...(unknownKey === undefined ? [] : [unknownKey])]
    .map(String)
    .join('.');
  const field = [prefix, path].filter(Boolean).join('.') || undefined;
  const message = `${field ?? 'input'}: ${issue?.message ?? 'invalid'}`;
  return failValidation(message, field);
}

export function failValidation(message: string, field?: string): never {
  throw new NovaError('VALIDATION_FAILED', message, field === undefined ? {} : { field });
}

export const uuid = z.uuid({ message: 'must be a UUID' });
export const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
export const optionalText = (max: number) => z.string().trim().max(max).nullish();
export const tags = z
  .array(z.string().trim().min(1).max(50))
  .max(20)
  .transform((list) => [...new Set(list.map((tag) => tag.toLowerCase()))]);

/** Options of an update: the version the caller read (optimistic concurrency). */
export const writeOptions = z.strictObject({ expectedVersion: z.number().int().min(1).optional() });
export type WriteOptions = z.input<typeof writeOptions>;

/** Page size for list operations: default 20, at most 100; `cursor` from a previous page. */
export const pageOptions = z.strictObject({
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});
export type PageOptions = z.input<typeof pageOptions>;

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * Keyset cursors: the sort-key values of the last row of a page, opaque to callers. Unlike an
 * id-only cursor they stay valid when that row is deleted before the next page is read.
 */
export const encodeCursor = (values: Record<string, unknown>) =>
  Buffer.from(JSON.stringify(values)).toString('base64url');

export function decodeCursor<S extends z.ZodType>(
  schema: S,
  cursor: string,
  field = 'cursor',
): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return failValidation(`${field}: not a cursor returned by this API`, field);
  }
  const parsed = schema.safeParse(raw);
  return parsed.success
    ? parsed.data
    : failValidation(`${field}: not a cursor returned by this API`, field);
}

/** Fetch limit + 1 rows; the extra one only says whether another page exists. */
export function toPage<T>(
  rows: T[],
  limit: number,
  cursorOf: (row: T) => Record<string, unknown>,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(cursorOf(last)) : null };
}
