/**
 * Driver error classification for PostgreSQL: which failures are transient (worth a retry),
 * and how the rest become NovaErrors with the store and operation in the message.
 *
 * Prisma 7 with @prisma/adapter-pg surfaces errors as PrismaClientKnownRequestError with a
 * `P…` code whose `meta.driverAdapterError.cause` carries the adapter's classification
 * (`kind`, and for PostgreSQL errors the SQLSTATE in `originalCode`/`code`). Raw `pg` errors
 * (migrations, health) carry SQLSTATE in `code` and socket errors carry errno names.
 */
import { NovaError } from '../../errors.js';

/** Adapter kinds that mean "the connection, not the statement, failed". */
const TRANSIENT_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionWriteConflict',
]);
/** Prisma codes: can't reach (P1001), timed out (P1002, P1008), closed (P1017), pool timeout (P2024), write conflict/deadlock (P2034). */
const TRANSIENT_PRISMA = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2034']);
/** SQLSTATE: connection exceptions (08…), shutdown/startup (57P01-57P03), too many connections, serialization failure, deadlock. */
const TRANSIENT_SQLSTATE = /^(08...|57P0[123]|53300|40001|40P01)$/;
const TRANSIENT_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const TRANSIENT_MESSAGE =
  /Connection terminated|terminating connection|timeout exceeded when trying to connect|the database system is (starting|shutting) up/i;

type Loose = Record<string, unknown>;
const asObject = (value: unknown): Loose | undefined =>
  typeof value === 'object' && value !== null ? (value as Loose) : undefined;

/** The error, its `cause` chain and Prisma's driver-adapter cause, outermost first. */
function* chain(error: unknown): Generator<Loose> {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current) && seen.size < 8) {
    seen.add(current);
    const object = asObject(current);
    if (!object) return;
    yield object;
    const adapter = asObject(asObject(object.meta)?.driverAdapterError);
    if (adapter) yield* chain(adapter.cause ?? adapter);
    current = object.cause;
  }
}

export function isTransientPgError(error: unknown): boolean {
  for (const link of chain(error)) {
    const code = typeof link.code === 'string' ? link.code : undefined;
    const original = typeof link.originalCode === 'string' ? link.originalCode : undefined;
    if (typeof link.kind === 'string' && TRANSIENT_KINDS.has(link.kind)) return true;
    if (code && (TRANSIENT_PRISMA.has(code) || TRANSIENT_ERRNO.has(code))) return true;
    if (code && TRANSIENT_SQLSTATE.test(code)) return true;
    if (original && TRANSIENT_SQLSTATE.test(original)) return true;
    if (typeof link.message === 'string' && TRANSIENT_MESSAGE.test(link.message)) return true;
  }
  return false;
}

/** The constraint's fields of a unique violation (P2002), when the driver says which. */
export function uniqueViolationFields(error: unknown): string[] | undefined {
  for (const link of chain(error)) {
    if (
      link.code === 'P2002' ||
      link.kind === 'UniqueConstraintViolation' ||
      link.code === '23505'
    ) {
      const meta = asObject(link.meta);
      const target = meta?.target ?? asObject(asObject(link.constraint))?.fields;
      if (Array.isArray(target)) return target.map(String);
      return [];
    }
  }
  return undefined;
}

/** True for "the row you named does not exist" (P2025). */
export const isRecordNotFound = (error: unknown): boolean =>
  [...chain(error)].some((link) => link.code === 'P2025');

/**
 * The constraint (or field) named by a foreign-key violation, e.g.
 * "support_tickets_requester_id_fkey"; undefined when the error is not one.
 */
export function foreignKeyConstraint(error: unknown): string | undefined {
  for (const link of chain(error)) {
    if (
      link.code === 'P2003' ||
      link.kind === 'ForeignKeyConstraintViolation' ||
      link.code === '23503'
    ) {
      const meta = asObject(link.meta);
      const named = link.constraint ?? meta?.field_name ?? meta?.constraint;
      if (typeof named === 'string') return named;
      const nested = asObject(link.constraint);
      if (nested && typeof nested.index === 'string') return nested.index;
    }
  }
  return isForeignKeyViolation(error) ? '' : undefined;
}

/** True for a foreign-key violation (P2003 / SQLSTATE 23503). */
export const isForeignKeyViolation = (error: unknown): boolean =>
  [...chain(error)].some(
    (link) =>
      link.code === 'P2003' ||
      link.kind === 'ForeignKeyConstraintViolation' ||
      link.code === '23503',
  );

/**
 * Wraps an unexpected driver error with context. NovaErrors pass through unchanged; transient
 * errors (after retries ran out) become UNAVAILABLE; everything else INTERNAL.
 */
export function wrapPgError(error: unknown, operation: string): NovaError {
  if (error instanceof NovaError) return error;
  const reason = error instanceof Error ? error.message.split('\n').at(-1)?.trim() : String(error);
  if (isTransientPgError(error)) {
    return new NovaError('UNAVAILABLE', `postgres ${operation}: database unavailable (${reason})`, {
      cause: error,
    });
  }
  return new NovaError('INTERNAL', `postgres ${operation} failed: ${reason}`, { cause: error });
}
