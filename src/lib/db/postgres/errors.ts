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
  // A NovaError is a decision already made (conflict, not found), even when its cause was a
  // driver error: never worth another attempt.
  if (error instanceof NovaError) return false;
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

type LinkTest = (link: Loose) => boolean;
const UNIQUE: LinkTest = (l) =>
  l.code === 'P2002' || l.kind === 'UniqueConstraintViolation' || l.code === '23505';
const FOREIGN_KEY: LinkTest = (l) =>
  l.code === 'P2003' || l.kind === 'ForeignKeyConstraintViolation' || l.code === '23503';
const NOT_FOUND: LinkTest = (l) => l.code === 'P2025';

/** The links of the error's chain that pass `test`, outermost first. */
const links = (error: unknown, test: LinkTest) => [...chain(error)].filter(test);

/** The constraint's fields of a unique violation (P2002), when the driver says which. */
export function uniqueViolationFields(error: unknown): string[] | undefined {
  const [link] = links(error, UNIQUE);
  if (!link) return undefined;
  const target = asObject(link.meta)?.target ?? asObject(asObject(link.constraint))?.fields;
  return Array.isArray(target) ? target.map(String) : [];
}

/**
 * For a create whose id is fixed across retries: after a unique violation, the row an earlier
 * attempt committed (its COMMIT reply was lost), found by `findOwn`; null when the error is
 * something else or the conflict is real.
 */
export async function committedEarlier<T>(
  error: unknown,
  findOwn: () => Promise<T | null>,
): Promise<T | null> {
  return uniqueViolationFields(error) === undefined ? null : findOwn();
}

/** True for "the row you named does not exist" (P2025). */
export const isRecordNotFound = (error: unknown): boolean => links(error, NOT_FOUND).length > 0;

/** True for a foreign-key violation (P2003 / SQLSTATE 23503). */
export const isForeignKeyViolation = (error: unknown): boolean =>
  links(error, FOREIGN_KEY).length > 0;

/**
 * The constraint (or field) named by a foreign-key violation, e.g.
 * "support_tickets_requester_id_fkey"; '' when unnamed; undefined when the error is not one.
 */
export function foreignKeyConstraint(error: unknown): string | undefined {
  const found = links(error, FOREIGN_KEY);
  if (found.length === 0) return undefined;
  for (const link of found) {
    const meta = asObject(link.meta);
    // pg names it in `constraint`; Prisma in meta.field_name or the adapter's constraint.index.
    const candidates = [
      link.constraint,
      meta?.field_name,
      meta?.constraint,
      asObject(link.constraint)?.index,
    ];
    const named = candidates.find((c): c is string => typeof c === 'string');
    if (named) return named;
  }
  return '';
}

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
