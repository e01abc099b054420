/**
 * What each search index holds of PostgreSQL's rows, as bulk actions (projections.ts), and the
 * nova_ai_context document of an article (documents.ts), and which actions are still current
 * after a slow embedding (stillCurrent): rows built by hand, a fake embedding provider that
 * records its calls.
 */
import { describe, expect, it } from 'vitest';
import { type BulkAction, deleteAction, indexAction } from '../../../src/lib/db/elastic/bulk.js';
import {
  type ArticleRow,
  contextDocument,
  contextText,
  MAX_CONTEXT_CHARS,
  type TicketRow,
} from '../../../src/lib/db/elastic/documents.js';
import { aiContextMappings } from '../../../src/lib/db/elastic/index-specs.js';
import {
  INDEX_ENTITY,
  projectRows,
  stillCurrent,
} from '../../../src/lib/db/elastic/projections.js';
import { NovaError } from '../../../src/lib/errors.js';
import { FakeEmbeddings } from '../../support/fake-embeddings.js';
import { novaFailure as failure } from '../../support/nova-error.js';

const created = new Date('2024-03-01T08:00:00.000Z');
const updated = new Date('2024-03-02T09:30:00.000Z');

const articleRow = (id: string, overrides: Partial<ArticleRow> = {}): ArticleRow => ({
  id,
  slug: `slug-${id}`,
  title: `Title ${id}`,
  summary: `Summary of ${id}`,
  content: `Content of article ${id}.`,
  category: 'network',
  tags: ['vpn', 'remote'],
  status: 'published',
  visibility: 'public',
  author_id: 'author-1',
  published_at: created,
  created_at: created,
  updated_at: updated,
  version: 1,
  ...overrides,
});

const ticketRow = (id: string, overrides: Partial<TicketRow> = {}): TicketRow => ({
  id,
  key: `NOVA-${id}`,
  title: `Ticket ${id}`,
  description: 'It broke.',
  status: 'open',
  priority: 'high',
  category: null,
  tags: [],
  requester_id: 'requester-1',
  assignee_id: null,
  created_at: created,
  updated_at: updated,
  resolved_at: null,
  version: 1,
  ...overrides,
});

const versioned = (index: string, id: string, version: number) => ({
  _index: index,
  _id: id,
  version,
  version_type: 'external_gte',
});

/** "op _id@version" of each action: the shape of a batch at a glance. */
const summary = (actions: BulkAction[]) =>
  actions.map(({ op }) => {
    const [kind, meta] = Object.entries(op)[0] as [string, { _id: string; version?: number }];
    return `${kind} ${meta._id}@${meta.version ?? '-'}`;
  });

describe('INDEX_ENTITY', () => {
  it('builds tickets from tickets, kb and ai_context from articles', () => {
    expect(INDEX_ENTITY).toEqual({ tickets: 'ticket', kb: 'kb_article', ai_context: 'kb_article' });
  });
});

describe('projectRows: tickets and kb', () => {
  it('indexes each ticket at its version and deletes the gone ones', async () => {
    const provider = new FakeEmbeddings();
    const actions = await projectRows(
      'tickets',
      'nova_tickets',
      [ticketRow('t1', { version: 3 }), ticketRow('t2', { priority: 'low' })],
      [{ id: 't9', version: 5 }, { id: 't8' }],
      provider,
    );
    expect(actions).toHaveLength(4);
    expect(actions[0]).toMatchObject({
      source: 't1',
      op: { index: versioned('nova_tickets', 't1', 3) },
      doc: { id: 't1', key: 'NOVA-t1', priority_rank: 3, version: 3 },
    });
    // Each document is sent as the line it was serialized to, and counted by it.
    for (const action of actions.slice(0, 2)) {
      expect(action.line).toBe(JSON.stringify(action.doc));
      expect(action.bytes).toBe(200 + Buffer.byteLength(action.line as string));
    }
    expect(actions[1]).toMatchObject({ source: 't2', doc: { priority_rank: 1 } });
    expect(actions[2]).toStrictEqual({
      source: 't9',
      op: { delete: versioned('nova_tickets', 't9', 5) },
      bytes: 200,
    });
    expect(actions[3]).toStrictEqual({
      source: 't8',
      op: { delete: { _index: 'nova_tickets', _id: 't8' } },
      bytes: 200,
    });
    expect(provider.calls).toEqual([]);
  });

  it('indexes every article in kb, drafts and archived ones too, without embedding', async () => {
    const provider = new FakeEmbeddings();
    const rows = [
      articleRow('a1'),
      articleRow('a2', { status: 'draft', version: 2 }),
      articleRow('a3', { status: 'archived', version: 4 }),
    ];
    const actions = await projectRows('kb', 'nova_kb', rows, [{ id: 'a9', version: 6 }], provider);
    expect(summary(actions)).toEqual(['index a1@1', 'index a2@2', 'index a3@4', 'delete a9@6']);
    expect(actions.map((a) => a.source)).toEqual(['a1', 'a2', 'a3', 'a9']);
    expect(actions[0]?.doc).toMatchObject({ slug: 'slug-a1', status: 'published' });
    expect(actions[1]?.doc).toMatchObject({ status: 'draft' });
    expect(actions[1]?.doc).not.toHaveProperty('suggest');
    expect(provider.calls).toEqual([]);
  });

  it('makes no actions of no rows', async () => {
    expect(await projectRows('tickets', 'nova_tickets', [], [])).toEqual([]);
    expect(await projectRows('kb', 'nova_kb', [], [])).toEqual([]);
  });
});

describe('projectRows: ai_context', () => {
  it('indexes a published article under kb_article:<id> with its embedding, at the row version', async () => {
    const provider = new FakeEmbeddings();
    const row = articleRow('a1', { version: 7, visibility: 'internal', tags: ['mail'] });
    const [action, ...rest] = await projectRows(
      'ai_context',
      'nova_ai_context',
      [row],
      [],
      provider,
    );
    expect(rest).toEqual([]);
    const text = 'Title a1\n\nSummary of a1\n\nContent of article a1.';
    expect(provider.calls).toEqual([[text]]);
    const doc = {
      id: 'kb_article:a1',
      source_type: 'kb_article',
      source_id: 'a1',
      title: 'Title a1',
      content: text,
      visibility: 'internal',
      category: 'network',
      tags: ['mail'],
      embedding: FakeEmbeddings.vector(text),
      created_at: '2024-03-01T08:00:00.000Z',
      updated_at: '2024-03-02T09:30:00.000Z',
    };
    expect(action).toStrictEqual({
      source: 'a1',
      op: { index: versioned('nova_ai_context', 'kb_article:a1', 7) },
      doc,
      line: JSON.stringify(doc),
      bytes: 200 + Buffer.byteLength(JSON.stringify(doc)),
    });
  });

  it('counts the UTF-8 bytes of a document, not its characters', async () => {
    const row = articleRow('a1', {
      title: 'VPN 接続ガイド 🔐',
      content: '証明書を更新する。'.repeat(20),
    });
    const [action] = await projectRows(
      'ai_context',
      'nova_ai_context',
      [row],
      [],
      new FakeEmbeddings(),
    );
    const line = action?.line as string;
    expect(line).toBe(JSON.stringify(action?.doc));
    expect(JSON.parse(line)).toMatchObject({ title: 'VPN 接続ガイド 🔐' });
    expect(action?.bytes).toBe(200 + Buffer.byteLength(line, 'utf8'));
    expect(action?.bytes).toBeGreaterThan(200 + line.length + 2 * 180);
  });

  it('embeds all published rows in one call, each vector on its own document', async () => {
    const provider = new FakeEmbeddings();
    const rows = [
      articleRow('a1', { title: 'Short' }),
      articleRow('a2', { status: 'draft' }),
      articleRow('a3', { title: 'A much longer title', summary: null }),
      articleRow('a4', { title: 'Zebra crossing', content: 'Look both ways.' }),
    ];
    const actions = await projectRows('ai_context', 'nova_ai_context', rows, [], provider);
    expect(provider.calls).toHaveLength(1);
    const published = [rows[0], rows[2], rows[3]] as ArticleRow[];
    expect(provider.calls[0]).toEqual(published.map(contextText));
    for (const row of published) {
      const action = actions.find((a) => a.op.index?._id === `kb_article:${row.id}`);
      expect(action?.doc).toMatchObject({
        source_id: row.id,
        embedding: FakeEmbeddings.vector(contextText(row)),
      });
    }
  });

  it('deletes draft and archived articles at their version, and gone ones at theirs', async () => {
    const provider = new FakeEmbeddings();
    const rows = [
      articleRow('a1', { version: 2 }),
      articleRow('a2', { status: 'draft', version: 3 }),
      articleRow('a3', { status: 'archived', version: 5 }),
    ];
    const actions = await projectRows(
      'ai_context',
      'nova_ai_context',
      rows,
      [{ id: 'a8', version: 9 }, { id: 'a9' }],
      provider,
    );
    expect(summary(actions)).toEqual([
      'index kb_article:a1@2',
      'delete kb_article:a2@3',
      'delete kb_article:a3@5',
      'delete kb_article:a8@9',
      'delete kb_article:a9@-',
    ]);
    expect(actions.map((a) => a.source)).toEqual(['a1', 'a2', 'a3', 'a8', 'a9']);
    expect(actions[1]).toStrictEqual({
      source: 'a2',
      op: { delete: versioned('nova_ai_context', 'kb_article:a2', 3) },
      bytes: 200,
    });
    expect(actions[3]).toStrictEqual({
      source: 'a8',
      op: { delete: versioned('nova_ai_context', 'kb_article:a8', 9) },
      bytes: 200,
    });
    // Only the published article was embedded.
    expect(provider.calls).toEqual([[contextText(rows[0] as ArticleRow)]]);
  });

  it('calls no provider when nothing is published', async () => {
    const provider = new FakeEmbeddings();
    const actions = await projectRows(
      'ai_context',
      'nova_ai_context',
      [articleRow('a1', { status: 'draft' })],
      [{ id: 'a2', version: 2 }],
      provider,
    );
    expect(summary(actions)).toEqual(['delete kb_article:a1@1', 'delete kb_article:a2@2']);
    expect(provider.calls).toEqual([]);
    expect(await projectRows('ai_context', 'nova_ai_context', [], [], provider)).toEqual([]);
    expect(provider.calls).toEqual([]);
  });

  it('writes into the index it is given (reindex builds a versioned one)', async () => {
    const actions = await projectRows(
      'ai_context',
      'nova_ai_context-v2',
      [articleRow('a1'), articleRow('a2', { status: 'draft' })],
      [],
      new FakeEmbeddings(),
    );
    for (const { op } of actions) {
      expect((op.index ?? op.delete)?._index).toBe('nova_ai_context-v2');
    }
  });

  it('a published article needs a provider: CONFIG_INVALID naming EMBEDDING_URL', async () => {
    const error = await failure(
      projectRows('ai_context', 'nova_ai_context', [articleRow('a1')], []),
    );
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'EMBEDDING_URL' });
    expect(error.message).toContain('EMBEDDING_URL');
    // Even among rows that only leave the index.
    const mixed = await failure(
      projectRows(
        'ai_context',
        'nova_ai_context',
        [articleRow('a1', { status: 'draft' }), articleRow('a2')],
        [{ id: 'a9', version: 2 }],
      ),
    );
    expect(mixed).toMatchObject({ code: 'CONFIG_INVALID', field: 'EMBEDDING_URL' });
  });

  it('deletes unpublished and gone articles without a provider', async () => {
    const actions = await projectRows(
      'ai_context',
      'nova_ai_context',
      [articleRow('a1', { status: 'draft', version: 2 }), articleRow('a2', { status: 'archived' })],
      [{ id: 'a8', version: 4 }, { id: 'a9' }],
    );
    expect(summary(actions)).toEqual([
      'delete kb_article:a1@2',
      'delete kb_article:a2@1',
      'delete kb_article:a8@4',
      'delete kb_article:a9@-',
    ]);
    expect(actions.map((a) => a.source)).toEqual(['a1', 'a2', 'a8', 'a9']);
    expect(actions[0]).toStrictEqual({
      source: 'a1',
      op: { delete: versioned('nova_ai_context', 'kb_article:a1', 2) },
      bytes: 200,
    });
    expect(await projectRows('ai_context', 'nova_ai_context', [], [])).toEqual([]);
  });

  it('passes a provider failure on, as it is', async () => {
    const down = new FakeEmbeddings({ down: true });
    const outage = await failure(
      projectRows('ai_context', 'nova_ai_context', [articleRow('a1')], [], down),
    );
    expect(outage.code).toBe('UNAVAILABLE');
    expect(outage.message).toContain('ECONNREFUSED');

    const refusing = new FakeEmbeddings({ refuse: (text) => text.includes('a2') });
    const refused = await projectRows(
      'ai_context',
      'nova_ai_context',
      [articleRow('a1'), articleRow('a2')],
      [],
      refusing,
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(Error);
    expect(refused).not.toBeInstanceOf(NovaError);
    expect((refused as Error).message).toMatch(/^HTTP 400/);
  });
});

/** A versions lookup over fixed rows, recording the ids it is asked for. */
function versionsOf(rows: Record<string, number>) {
  const asked: string[][] = [];
  const lookup = async (ids: string[]) => {
    asked.push(ids);
    return new Map(ids.flatMap((id) => (id in rows ? [[id, rows[id] as number] as const] : [])));
  };
  return { asked, lookup };
}

describe('stillCurrent', () => {
  const doc = { title: 'x' };

  it('keeps an index action whose row is still at its version', async () => {
    const actions = [
      indexAction('nova_kb', 'a1', 3, doc),
      indexAction('nova_ai_context', 'kb_article:a1', 3, doc, 'a1'),
    ];
    const { lookup } = versionsOf({ a1: 3 });
    const { current, changed } = await stillCurrent(actions, lookup);
    expect(current).toEqual(actions);
    expect(changed).toEqual(new Set());
  });

  it('drops an index action whose row changed, or is gone, and names its source', async () => {
    const kept = indexAction('nova_kb', 'a1', 2, doc);
    const newer = indexAction('nova_kb', 'a2', 2, doc);
    const older = indexAction('nova_kb', 'a3', 5, doc);
    const gone = indexAction('nova_ai_context', 'kb_article:a4', 1, doc, 'a4');
    const { lookup } = versionsOf({ a1: 2, a2: 3, a3: 4 });
    const { current, changed } = await stillCurrent([kept, newer, older, gone], lookup);
    expect(current).toEqual([kept]);
    expect(changed).toEqual(new Set(['a2', 'a3', 'a4']));
  });

  it('keeps a delete when its row is gone or still at its version, drops it when the row moved on', async () => {
    const gone = deleteAction('nova_ai_context', 'kb_article:a1', 4, 'a1');
    const goneUnversioned = deleteAction('nova_kb', 'a2');
    const unpublished = deleteAction('nova_ai_context', 'kb_article:a3', 2, 'a3');
    const republished = deleteAction('nova_ai_context', 'kb_article:a4', 2, 'a4');
    const { lookup } = versionsOf({ a3: 2, a4: 3 });
    const { current, changed } = await stillCurrent(
      [gone, goneUnversioned, unpublished, republished],
      lookup,
    );
    expect(current).toEqual([gone, goneUnversioned, unpublished]);
    expect(changed).toEqual(new Set(['a4']));
  });

  it('drops every action of an entity that changed, and asks for each source once', async () => {
    const actions = [
      indexAction('nova_kb', 'a1', 1, doc),
      indexAction('nova_ai_context', 'kb_article:a1', 1, doc, 'a1'),
      indexAction('nova_kb', 'a2', 1, doc),
      deleteAction('nova_ai_context', 'kb_article:a2', 1, 'a2'),
    ];
    const { asked, lookup } = versionsOf({ a1: 2, a2: 1 });
    const { current, changed } = await stillCurrent(actions, lookup);
    expect(current).toEqual(actions.slice(2));
    expect(changed).toEqual(new Set(['a1']));
    expect(asked).toEqual([['a1', 'a2']]);
  });

  it('keeps nothing of nothing', async () => {
    const { lookup } = versionsOf({});
    expect(await stillCurrent([], lookup)).toEqual({ current: [], changed: new Set() });
  });
});

describe('contextText and contextDocument', () => {
  it('joins title, summary and content with blank lines, skipping a missing summary', () => {
    const row = articleRow('a1', { title: 'VPN', summary: 'How to connect', content: 'Install.' });
    expect(contextText(row)).toBe('VPN\n\nHow to connect\n\nInstall.');
    expect(contextText({ ...row, summary: null })).toBe('VPN\n\nInstall.');
    expect(contextText({ ...row, summary: '' })).toBe('VPN\n\nInstall.');
  });

  it('cuts the text at 8000 characters, keeping its start', () => {
    expect(MAX_CONTEXT_CHARS).toBe(8000);
    const row = articleRow('a1', { title: 'Long', summary: null, content: 'y'.repeat(10_000) });
    const text = contextText(row);
    expect(text).toHaveLength(8000);
    expect(text.startsWith('Long\n\nyyy')).toBe(true);
    const exact = articleRow('a2', { title: 'T', summary: null, content: 'z'.repeat(7997) });
    expect(contextText(exact)).toHaveLength(8000);
    expect(contextText(exact).endsWith('z')).toBe(true);
  });

  it('holds exactly the fields of the strict nova_ai_context mapping', () => {
    const doc = contextDocument(articleRow('a1'), [0.1, 0.2, 0.3]);
    const fields = Object.keys(aiContextMappings(3).properties ?? {});
    expect(Object.keys(doc).sort()).toEqual(fields.sort());
    expect(doc.content).toBe(contextText(articleRow('a1')));
  });
});
