/**
 * Update and delete of a versioned, searchable entity (tickets, articles): one transaction
 * that reads the current row, checks the caller's expected version, writes with a version
 * guard (a concurrent writer makes the update match no row, P2025, instead of overwriting),
 * and records the audit and search-outbox rows.
 */
import type { SearchEntityType } from '../../../generated/prisma/enums.js';
import { NovaError } from '../../errors.js';
import type { Actor } from './audit.js';
import type { Tx } from './client.js';
import type { PgContext } from './context.js';
import { isRecordNotFound } from './errors.js';
import { recordSearchableChange } from './outbox.js';

interface Versioned {
  id: string;
  version: number;
}

/** The slice of a Prisma model delegate these helpers use. */
interface Delegate<T> {
  findUnique(args: { where: { id: string } }): Promise<T | null>;
  update(args: { where: { id: string; version: number }; data: object }): Promise<T>;
  deleteMany(args: { where: { id: string; version: number } }): Promise<{ count: number }>;
}

export interface VersionedEntity<T extends Versioned> {
  type: SearchEntityType;
  /** e.g. "ticket": used in messages. */
  noun: string;
  delegate: (tx: Tx) => Delegate<T>;
  /** How messages name a row (its key or slug). */
  label: (row: T) => string;
}

const notFound = (noun: string, id: string) =>
  new NovaError('NOT_FOUND', `${noun} ${id} not found`, { field: 'id' });

export async function updateVersioned<T extends Versioned>(
  ctx: PgContext,
  entity: VersionedEntity<T>,
  id: string,
  expectedVersion: number | undefined,
  changes: (before: T) => object,
  actor?: Actor,
): Promise<T> {
  return ctx.prisma.$transaction(async (tx) => {
    const rows = entity.delegate(tx);
    const before = await rows.findUnique({ where: { id } });
    if (!before) throw notFound(entity.noun, id);
    const conflict = (message: string, cause?: unknown) =>
      new NovaError('VERSION_CONFLICT', `${entity.noun} ${entity.label(before)} ${message}`, {
        field: 'expectedVersion',
        cause,
      });
    if (expectedVersion !== undefined && expectedVersion !== before.version) {
      throw conflict(`is at version ${before.version}, not ${expectedVersion}`);
    }
    const after = await rows
      .update({
        where: { id, version: before.version },
        data: { ...changes(before), version: { increment: 1 } },
      })
      .catch((error: unknown) => {
        throw isRecordNotFound(error) ? conflict('was changed concurrently', error) : error;
      });
    await recordSearchableChange(
      tx,
      entity.type,
      {
        action: `${entity.type}.updated`,
        entityType: entity.type,
        entityId: id,
        before,
        after,
        operation: 'index',
        version: after.version,
      },
      actor,
    );
    return after;
  });
}

/**
 * Deletes with a delete outbox row at version + 1, so it outranks the last indexed version.
 * The delete is guarded by the version read, like updates: an update committing in between
 * makes it a VERSION_CONFLICT instead of a delete that the newer index row would outrank.
 */
export async function deleteVersioned<T extends Versioned>(
  ctx: PgContext,
  entity: VersionedEntity<T>,
  id: string,
  actor?: Actor,
): Promise<void> {
  await ctx.prisma.$transaction(async (tx) => {
    const rows = entity.delegate(tx);
    const before = await rows.findUnique({ where: { id } });
    if (!before) throw notFound(entity.noun, id);
    const deleted = await rows.deleteMany({ where: { id, version: before.version } });
    if (deleted.count !== 1) {
      throw new NovaError(
        'VERSION_CONFLICT',
        `${entity.noun} ${entity.label(before)} was changed concurrently`,
        {
          field: 'id',
        },
      );
    }
    await recordSearchableChange(
      tx,
      entity.type,
      {
        action: `${entity.type}.deleted`,
        entityType: entity.type,
        entityId: id,
        before,
        operation: 'delete',
        version: before.version + 1,
      },
      actor,
    );
  });
}
