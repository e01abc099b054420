/**
 * The search outbox: one row per change to a searchable entity, written in the same
 * transaction as the change, drained into Elasticsearch by the indexer. Because the row
 * commits or rolls back with the change, PostgreSQL and the index cannot drift apart; the
 * version lets the indexer use external versioning so a late row never overwrites newer data.
 */
import type { Prisma } from '../../../generated/prisma/client.js';
import type { SearchEntityType, SearchOperation } from '../../../generated/prisma/enums.js';
import { type Actor, type AuditEntry, auditData } from './audit.js';
import type { Tx } from './client.js';

export function outboxData(
  entityType: SearchEntityType,
  entityId: string,
  operation: SearchOperation,
  entityVersion: number,
): Prisma.SearchOutboxCreateManyInput {
  return { entityType, entityId, operation, entityVersion };
}

/**
 * Writes the audit row and the outbox row of a change to a searchable entity.
 * Deletes carry version + 1 so the delete outranks the last indexed version.
 */
export async function recordSearchableChange(
  tx: Tx,
  entityType: SearchEntityType,
  change: AuditEntry & { entityId: string; version: number; operation: SearchOperation },
  actor?: Actor,
): Promise<void> {
  await tx.auditLog.create({ data: auditData(change, actor), select: { id: true } });
  await tx.searchOutbox.create({
    data: outboxData(entityType, change.entityId, change.operation, change.version),
    select: { id: true },
  });
}
