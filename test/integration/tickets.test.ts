import { beforeAll, describe, expect, it } from 'vitest';
import { uniqueEmail, useTestDatabase } from '../support/database.js';
import { expectFailure } from '../support/failures.js';

const t = await useTestDatabase();
const store = t.db.postgres;
let requesterId: string;
let agentId: string;

beforeAll(async () => {
  requesterId = (
    await t.db.createUser({ email: uniqueEmail('req'), firstName: 'R', lastName: 'Q' })
  ).id;
  agentId = (await t.db.createUser({ email: uniqueEmail('agent'), firstName: 'A', lastName: 'G' }))
    .id;
});

const outboxFor = (id: string) =>
  t.sql<{ operation: string; entity_version: number; entity_type: string }>(
    'SELECT operation, entity_version, entity_type FROM search_outbox WHERE entity_id = $1 ORDER BY id',
    [id],
  );
const auditFor = (id: string) =>
  t.sql<{ action: string }>('SELECT action FROM audit_logs WHERE entity_id = $1 ORDER BY id', [id]);

describe('tickets', () => {
  it('creates the ticket, its audit row and its outbox row together, with a T-000123 key', async () => {
    const ticket = await store.createTicket({
      title: 'Installation issue',
      requesterId,
      tags: ['VPN', 'vpn', 'macOS'],
    });
    expect(ticket.key).toMatch(/^T-\d{6}$/);
    expect(ticket).toMatchObject({
      status: 'open',
      priority: 'medium',
      version: 1,
      tags: ['vpn', 'macos'],
    });
    expect(await outboxFor(ticket.id)).toEqual([
      { operation: 'index', entity_version: 1, entity_type: 'ticket' },
    ]);
    expect(await auditFor(ticket.id)).toEqual([{ action: 'ticket.created' }]);
    expect((await store.getTicket(ticket.key))?.id).toBe(ticket.id);
  });

  it.each([
    ['an empty title', { title: '  ' }, 'title'],
    ['an oversized title', { title: 'x'.repeat(201) }, 'title'],
    ['an unknown priority', { title: 'ok', priority: 'critical' }, 'priority'],
    ['an oversized description', { title: 'ok', description: 'x'.repeat(20_001) }, 'description'],
    ['too many tags', { title: 'ok', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
    ['a malformed requester id', { title: 'ok', requesterId: 'bob' }, 'requesterId'],
  ])('rejects %s and writes nothing', async (_label, patch, field) => {
    const error = await expectFailure(t, () =>
      store.createTicket({ requesterId, ...patch } as never),
    );
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', field });
  });

  it('rejects a requester or assignee that does not exist, writing nothing', async () => {
    const missing = crypto.randomUUID();
    expect(
      await expectFailure(t, () => store.createTicket({ title: 'x', requesterId: missing })),
    ).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'requesterId',
    });
    expect(
      await expectFailure(t, () =>
        store.createTicket({ title: 'x', requesterId, assigneeId: missing }),
      ),
    ).toMatchObject({ field: 'assigneeId' });
  });

  it('names the missing user precisely, on create and on update', async () => {
    const missing = crypto.randomUUID();
    expect(
      await expectFailure(t, () =>
        store.createTicket({ title: 'x', requesterId: missing, assigneeId: agentId }),
      ),
    ).toMatchObject({ code: 'VALIDATION_FAILED', field: 'requesterId' });
    const ticket = await store.createTicket({ title: 'reassign', requesterId });
    expect(
      await expectFailure(t, () => store.updateTicket(ticket.id, { assigneeId: missing })),
    ).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'assigneeId',
    });
  });

  it('rejects a malformed actor before writing anything', async () => {
    expect(
      await expectFailure(t, () =>
        store.createTicket({ title: 'x', requesterId }, { id: 'admin' }),
      ),
    ).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'actor.id',
    });
    expect(
      await expectFailure(t, () =>
        store.createTicket({ title: 'x', requesterId }, { ip: 'unknown' }),
      ),
    ).toMatchObject({ field: 'actor.ip' });
    const ticket = await store.createTicket({ title: 'x', requesterId });
    expect(
      await expectFailure(t, () =>
        store.updateTicket(ticket.id, { title: 'y' }, {}, { id: 'nope' }),
      ),
    ).toMatchObject({
      field: 'actor.id',
    });
  });

  it('updates: version +1, resolvedAt follows the status, audit and outbox rows carry the change', async () => {
    const ticket = await store.createTicket({ title: 'Printer offline', requesterId });
    const resolved = await store.updateTicket(
      ticket.id,
      { status: 'resolved', assigneeId: agentId },
      { expectedVersion: 1 },
    );
    expect(resolved).toMatchObject({ status: 'resolved', version: 2, assigneeId: agentId });
    expect(resolved.resolvedAt).toBeInstanceOf(Date);
    const reopened = await store.updateTicket(ticket.id, { status: 'open' });
    expect(reopened).toMatchObject({ version: 3, resolvedAt: null });
    expect((await outboxFor(ticket.id)).map((r) => r.entity_version)).toEqual([1, 2, 3]);
    expect((await auditFor(ticket.id)).map((r) => r.action)).toEqual([
      'ticket.created',
      'ticket.updated',
      'ticket.updated',
    ]);
  });

  it('rejects a stale version without writing', async () => {
    const ticket = await store.createTicket({ title: 'Stale', requesterId });
    await store.updateTicket(ticket.id, { priority: 'high' });
    const error = await expectFailure(t, () =>
      store.updateTicket(ticket.id, { priority: 'low' }, { expectedVersion: 1 }),
    );
    expect(error).toMatchObject({
      code: 'VERSION_CONFLICT',
      field: 'expectedVersion',
      status: 409,
    });
    expect((await store.getTicket(ticket.id))?.priority).toBe('high');
  });

  it('lets exactly one of two concurrent updates of the same version win', async () => {
    const ticket = await store.createTicket({ title: 'Race', requesterId });
    const results = await Promise.allSettled([
      store.updateTicket(ticket.id, { title: 'first' }, { expectedVersion: 1 }),
      store.updateTicket(ticket.id, { title: 'second' }, { expectedVersion: 1 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({
      reason: { code: 'VERSION_CONFLICT' },
    });
    expect((await store.getTicket(ticket.id))?.version).toBe(2);
  });

  it('deletes with an audit row and a delete outbox row that outranks the last version', async () => {
    const ticket = await store.createTicket({ title: 'Delete me', requesterId });
    await store.updateTicket(ticket.id, { title: 'Delete me now' });
    await store.deleteTicket(ticket.id);
    expect(await store.getTicket(ticket.id)).toBeNull();
    expect((await outboxFor(ticket.id)).at(-1)).toEqual({
      operation: 'delete',
      entity_version: 3,
      entity_type: 'ticket',
    });
    expect((await auditFor(ticket.id)).at(-1)).toEqual({ action: 'ticket.deleted' });
    expect((await expectFailure(t, () => store.deleteTicket(ticket.id))).code).toBe('NOT_FOUND');
  });
});

describe('concurrent update and delete', () => {
  it('never leaves a delete outranked by a newer index row', async () => {
    for (let i = 0; i < 10; i++) {
      const ticket = await store.createTicket({ title: `Race ${i}`, requesterId });
      const results = await Promise.allSettled([
        store.updateTicket(ticket.id, { title: `Race ${i} updated` }),
        store.deleteTicket(ticket.id),
      ]);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'VERSION_CONFLICT' });
      }
      const rows = await outboxFor(ticket.id);
      const deletes = rows.filter((r) => r.operation === 'delete');
      if ((await store.getTicket(ticket.id)) === null) {
        expect(deletes).toHaveLength(1);
        const newestIndex = Math.max(
          ...rows.filter((r) => r.operation === 'index').map((r) => r.entity_version),
        );
        expect(deletes[0]?.entity_version).toBeGreaterThan(newestIndex);
      } else {
        expect(deletes).toEqual([]);
      }
    }
  });
});

describe('listTickets', () => {
  let mine: string;
  beforeAll(async () => {
    mine = (await t.db.createUser({ email: uniqueEmail('lister'), firstName: 'L', lastName: 'S' }))
      .id;
    for (const priority of ['medium', 'urgent', 'low', 'high', 'medium'] as const) {
      await store.createTicket({
        title: `${priority} ticket`,
        priority,
        requesterId: mine,
        category: 'hardware',
        tags: [priority],
      });
    }
    await store.createTicket({
      title: 'assigned',
      priority: 'low',
      requesterId: mine,
      assigneeId: agentId,
      category: 'network',
    });
  });

  it('sorts by severity, not alphabetically', async () => {
    const page = await store.listTickets({ requesterId: mine }, { sort: 'priority', limit: 100 });
    expect(page.items.map((i) => i.priority)).toEqual([
      'urgent',
      'high',
      'medium',
      'medium',
      'low',
      'low',
    ]);
  });

  it('filters by status, priority, category, tag and assignee', async () => {
    const by = async (filters: object) =>
      (await store.listTickets({ requesterId: mine, ...filters })).items.map((i) => i.title).sort();
    expect(await by({ priority: ['urgent', 'high'] })).toEqual(['high ticket', 'urgent ticket']);
    expect(await by({ category: 'network' })).toEqual(['assigned']);
    expect(await by({ tag: 'URGENT' })).toEqual(['urgent ticket']);
    expect(await by({ assigneeId: agentId })).toEqual(['assigned']);
    expect(await by({ assigneeId: null })).toHaveLength(5);
    expect(await by({ status: 'closed' })).toEqual([]);
    expect(await by({ createdFrom: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  it('paginates with a cursor, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await store.listTickets(
        { requesterId: mine },
        { limit: 4, ...(cursor ? { cursor } : {}) },
      );
      seen.push(...page.items.map((i) => i.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
  });

  it('keeps paginating when the row a cursor points at is deleted meanwhile', async () => {
    const owner = (
      await t.db.createUser({ email: uniqueEmail('pager'), firstName: 'P', lastName: 'G' })
    ).id;
    for (const priority of ['low', 'high', 'medium', 'urgent', 'high', 'low'] as const) {
      await store.createTicket({ title: `page ${priority}`, priority, requesterId: owner });
    }
    for (const sort of ['newest', 'oldest', 'priority'] as const) {
      const all = (await store.listTickets({ requesterId: owner }, { limit: 100, sort })).items.map(
        (i) => i.id,
      );
      const first = await store.listTickets({ requesterId: owner }, { limit: 2, sort });
      const cursorRow = first.items[1];
      if (!cursorRow || !first.nextCursor) throw new Error('expected a second page');
      await store.deleteTicket(cursorRow.id);
      const rest = await store.listTickets(
        { requesterId: owner },
        { limit: 100, sort, cursor: first.nextCursor },
      );
      expect(rest.items.map((i) => i.id)).toEqual(all.slice(2));
    }
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(store.listTickets({}, { cursor: 'garbage' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'cursor',
    });
    const forged = Buffer.from(JSON.stringify({ id: 'x' })).toString('base64url');
    await expect(store.listTickets({}, { cursor: forged })).rejects.toMatchObject({
      field: 'cursor',
    });
  });

  it('rejects bad filters and page sizes with the field named', async () => {
    await expect(store.listTickets({ status: 'done' as never })).rejects.toMatchObject({
      field: 'filters.status',
    });
    await expect(store.listTickets({}, { limit: 101 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'limit',
    });
    await expect(store.listTickets({ unknown: 1 } as never)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});
