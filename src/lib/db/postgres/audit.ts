/**
 * Audit trail rows, written inside the same transaction as the change they describe.
 * `before`/`after` pass through redact() so no secret reaches the table.
 */
import { z } from 'zod';
import type { Prisma } from '../../../generated/prisma/client.js';
import { redact } from '../../redact.js';
import { parseInput, uuid } from '../../validation.js';

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

/** Actor ids are user ids; ip must be an address (the column is 45 characters: IPv6). */
const actorSchema = z.object({
  id: uuid.nullish(),
  ip: z.union([z.ipv4(), z.ipv6()], { message: 'must be an IPv4 or IPv6 address' }).nullish(),
  /** User agents can be long and are informational: kept to the column's 500 characters. */
  userAgent: z.string().nullish(),
});

const json = (value: unknown) =>
  value === undefined || value === null ? undefined : (redact(value) as Prisma.InputJsonValue);

/** Builds an audit row; a malformed actor is VALIDATION_FAILED (field actor.*) before any write. */
export function auditData(
  entry: AuditEntry,
  actorInput: Actor = {},
): Prisma.AuditLogCreateManyInput {
  const actor = parseInput(actorSchema, actorInput, 'actor');
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
