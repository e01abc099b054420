/**
 * Audit trail rows, written inside the same transaction as the change they describe.
 * `before`/`after` pass through redact() so no secret reaches the table.
 */
import type { Prisma } from '../../../generated/prisma/client.js';
import { redact } from './redact.js';

/** Who did it and from where; every field optional (system actions have no actor). */
export interface Actor {
  id?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
}

const json = (value: unknown) =>
  value === undefined || value === null ? undefined : (redact(value) as Prisma.InputJsonValue);

export function auditData(entry: AuditEntry, actor: Actor = {}): Prisma.AuditLogCreateManyInput {
  return {
    actorId: actor.id ?? null,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    before: json(entry.before),
    after: json(entry.after),
    ip: actor.ip?.slice(0, 45) ?? null,
    userAgent: actor.userAgent?.slice(0, 500) ?? null,
  };
}
