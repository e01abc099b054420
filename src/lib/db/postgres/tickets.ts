/**
 * Support tickets: create, update, delete, get, list. Every write commits the ticket, its
 * AuditLog row and its search-outbox row together. Keys (T-000123) come from the database.
 */
import { z } from 'zod';
import type { Prisma } from '../../../generated/prisma/client.js';
import type { TicketPriority, TicketStatus } from '../../../generated/prisma/enums.js';
import { NovaError } from '../../errors.js';
import {
  decodeCursor,
  optionalText,
  type Page,
  type PageOptions,
  pageOptions,
  parseInput,
  tags,
  text,
  toPage,
  uuid,
  type WriteOptions,
  writeOptions,
} from '../../validation.js';
import { type Actor, auditData } from './audit.js';
import type { PgContext } from './context.js';
import { committedEarlier, foreignKeyConstraint } from './errors.js';
import { outboxData } from './outbox.js';
import { insertAudit, insertOutbox, insertTicket, inTransaction } from './sql.js';
import { deleteVersioned, updateVersioned, type VersionedEntity } from './versioned.js';

export const TICKET_STATUSES = [
  'open',
  'in_progress',
  'pending',
  'resolved',
  'closed',
] as const satisfies TicketStatus[];
/** In severity order, which is also the database enum's sort order. */
export const TICKET_PRIORITIES = [
  'low',
  'medium',
  'high',
  'urgent',
] as const satisfies TicketPriority[];
const DONE: readonly TicketStatus[] = ['resolved', 'closed'];

const createTicketInput = z.strictObject({
  title: text(200),
  description: z.string().max(20_000).default(''),
  priority: z.enum(TICKET_PRIORITIES).default('medium'),
  category: optionalText(100),
  tags: tags.default([]),
  requesterId: uuid,
  assigneeId: uuid.nullish(),
});
export type CreateTicketInput = z.input<typeof createTicketInput>;

const updateTicketInput = z.strictObject({
  title: text(200).optional(),
  description: z.string().max(20_000).optional(),
  status: z.enum(TICKET_STATUSES).optional(),
  priority: z.enum(TICKET_PRIORITIES).optional(),
  category: optionalText(100),
  tags: tags.optional(),
  assigneeId: uuid.nullish(),
});
export type UpdateTicketInput = z.input<typeof updateTicketInput>;

const ticketFilters = z.strictObject({
  status: z.union([z.enum(TICKET_STATUSES), z.array(z.enum(TICKET_STATUSES)).min(1)]).optional(),
  priority: z
    .union([z.enum(TICKET_PRIORITIES), z.array(z.enum(TICKET_PRIORITIES)).min(1)])
    .optional(),
  category: z.string().trim().min(1).max(100).optional(),
  tag: z.string().trim().min(1).max(50).toLowerCase().optional(),
  assigneeId: uuid.nullable().optional(),
  requesterId: uuid.optional(),
  createdFrom: z.date().optional(),
  createdTo: z.date().optional(),
});
export type TicketFilters = z.input<typeof ticketFilters>;

const ticketListOptions = pageOptions.extend({
  sort: z.enum(['newest', 'oldest', 'priority']).default('newest'),
});
export type TicketListOptions = PageOptions & { sort?: 'newest' | 'oldest' | 'priority' };

export type TicketRecord = Prisma.SupportTicketGetPayload<object>;

function userMissing(error: unknown): never | void {
  const constraint = foreignKeyConstraint(error);
  if (constraint === undefined) return;
  // The constraint names the column: support_tickets_assignee_id_fkey / ..._requester_id_fkey.
  const field = /assignee/.test(constraint) ? 'assigneeId' : 'requesterId';
  throw new NovaError('VALIDATION_FAILED', `${field}: no such user`, { field, cause: error });
}

/**
 * High-volume create: plain SQL on the shared pool (see ./sql.ts for why). The id is chosen
 * once, outside the retries, so a retry after a lost COMMIT reply finds its own ticket instead
 * of creating a second one.
 */
export async function createTicket(ctx: PgContext, input: CreateTicketInput, actor?: Actor) {
  const data = parseInput(createTicketInput, input);
  const id = crypto.randomUUID();
  return ctx.run('createTicket', () =>
    inTransaction(ctx.pool, async (client) => {
      const ticket = await insertTicket(client, { ...data, id });
      await insertAudit(
        client,
        auditData(
          { action: 'ticket.created', entityType: 'ticket', entityId: id, after: ticket },
          actor,
        ),
      );
      await insertOutbox(client, outboxData('ticket', id, 'index', ticket.version));
      return ticket;
    }).catch(async (error: unknown) => {
      const ours = await committedEarlier(error, () =>
        ctx.prisma.supportTicket.findUnique({ where: { id } }),
      );
      if (ours) return ours;
      userMissing(error);
      throw error;
    }),
  );
}

const TICKET: VersionedEntity<TicketRecord> = {
  type: 'ticket',
  noun: 'ticket',
  delegate: (tx) => tx.supportTicket,
  label: (ticket) => ticket.key,
};

export async function updateTicket(
  ctx: PgContext,
  id: string,
  patch: UpdateTicketInput,
  options: WriteOptions = {},
  actor?: Actor,
) {
  const ticketId = parseInput(uuid, id, 'id');
  const data = parseInput(updateTicketInput, patch);
  const { expectedVersion } = parseInput(writeOptions, options);
  // resolvedAt is set when a ticket reaches resolved/closed, kept while it stays there, and
  // cleared when it is reopened.
  const changes = (before: TicketRecord) => {
    const done = DONE.includes(data.status ?? before.status);
    return { ...data, resolvedAt: done ? (before.resolvedAt ?? new Date()) : null };
  };
  return ctx.run('updateTicket', () =>
    updateVersioned(ctx, TICKET, ticketId, expectedVersion, changes, actor).catch(
      (error: unknown) => {
        userMissing(error);
        throw error;
      },
    ),
  );
}

export async function deleteTicket(ctx: PgContext, id: string, actor?: Actor): Promise<void> {
  const ticketId = parseInput(uuid, id, 'id');
  await ctx.run('deleteTicket', () => deleteVersioned(ctx, TICKET, ticketId, actor));
}

/**
 * By id (uuid), key (T-000123) or external reference (`log:INC-1001`: where an imported
 * ticket came from, the legacy file's source name and its ticket id; nova migrate-sqlite).
 */
export async function getTicket(ctx: PgContext, idOrKey: string): Promise<TicketRecord | null> {
  const value = parseInput(z.string().trim().min(1).max(100), idOrKey, 'id');
  const where = /^T-\d{6,}$/.test(value)
    ? { key: value }
    : value.includes(':')
      ? { externalRef: value }
      : { id: parseInput(uuid, value, 'id') };
  return ctx.run('getTicket', () => ctx.prisma.supportTicket.findUnique({ where }));
}

const oneOrMany = <T>(value: T | T[] | undefined) =>
  value === undefined ? undefined : { in: Array.isArray(value) ? value : [value] };

const ticketCursor = z.object({
  id: uuid,
  createdAt: z.iso.datetime().transform((value) => new Date(value)),
  priority: z.enum(TICKET_PRIORITIES),
});
type TicketCursor = z.output<typeof ticketCursor>;

/** Priorities strictly below `p` in severity: "after p" in a severity-descending list. */
const below = (p: TicketPriority) => TICKET_PRIORITIES.slice(0, TICKET_PRIORITIES.indexOf(p));

/** Each sort: its ORDER BY, and the keyset condition "comes after this cursor". */
const TICKET_SORTS: Record<
  'newest' | 'oldest' | 'priority',
  {
    orderBy: Prisma.SupportTicketOrderByWithRelationInput[];
    after: (c: TicketCursor) => Prisma.SupportTicketWhereInput;
  }
> = {
  newest: {
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    after: (c) => ({
      OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }],
    }),
  },
  oldest: {
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    after: (c) => ({
      OR: [{ createdAt: { gt: c.createdAt } }, { createdAt: c.createdAt, id: { gt: c.id } }],
    }),
  },
  priority: {
    orderBy: [{ priority: 'desc' }, { createdAt: 'desc' }, { id: 'desc' }],
    after: (c) => ({
      OR: [
        { priority: { in: below(c.priority) } },
        { priority: c.priority, createdAt: { lt: c.createdAt } },
        { priority: c.priority, createdAt: c.createdAt, id: { lt: c.id } },
      ],
    }),
  },
};

export async function listTickets(
  ctx: PgContext,
  filters: TicketFilters = {},
  options: TicketListOptions = {},
): Promise<Page<TicketRecord>> {
  const f = parseInput(ticketFilters, filters, 'filters');
  const page = parseInput(ticketListOptions, options);
  const sort = TICKET_SORTS[page.sort];
  const where: Prisma.SupportTicketWhereInput = {
    status: oneOrMany(f.status),
    priority: oneOrMany(f.priority),
    category: f.category,
    assigneeId: f.assigneeId,
    requesterId: f.requesterId,
    ...(f.tag ? { tags: { has: f.tag } } : {}),
    ...(f.createdFrom || f.createdTo ? { createdAt: { gte: f.createdFrom, lt: f.createdTo } } : {}),
  };
  const after = page.cursor ? sort.after(decodeCursor(ticketCursor, page.cursor)) : {};
  const rows = await ctx.run('listTickets', () =>
    ctx.prisma.supportTicket.findMany({
      where: { AND: [where, after] },
      orderBy: sort.orderBy,
      take: page.limit + 1,
    }),
  );
  return toPage(rows, page.limit, (t) => ({
    id: t.id,
    createdAt: t.createdAt.toISOString(),
    priority: t.priority,
  }));
}
