/**
 * What each search index holds of PostgreSQL's rows, as bulk actions (projections.ts), and the
 * nova_ai_context document of an article (documents.ts): rows built by hand, a fake
 * embedding provider that records its calls.
 */
import { describe, expect, it } from 'vitest';
import type { BulkAction } from '../../../src/lib/db/elastic/bulk.js';
import {
  type ArticleRow,
  contextDocument,
  contextText,
  MAX_CONTEXT_CHARS,
  type TicketRow,
} from '../../../src/lib/db/elastic/documents.js';
import { aiContextMappings } from '../../../src/lib/db/elastic/index-specs.js';
import { INDEX_ENTITY, projectRows } from '../../../src/lib/db/elastic/projections.js';
import type { EmbeddingProvider } from '../../../src/lib/embeddings.js';
import { novaFailure as failure } from '../../support/nova-error.js';

/** Records every call; each vector names its text (length, first char code, call number). */
class FakeEmbeddings implements EmbeddingProvider {
  readonly model = 'fake-model';
  readonly dims = 3;
  readonly calls: string[][] = [];
  fail: Error | undefined;

  async embed(texts: readonly string[]): Promise<number[][]> {
    this.calls.push([...texts]);
    if (this.fail) throw this.fail;
    return texts.map((text) => FakeEmbeddings.vector(text, this.calls.length));
  }

  static vector(text: string, call = 1): number[] {
    return [text.length, text.charCodeAt(0), call];
  }
}

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
    expect(actions[1]).toMatchObject({ source: 't2', doc: { priority_rank: 1 } });
    expect(actions[2]).toStrictEqual({
      source: 't9',
      op: { delete: versioned('nova_tickets', 't9', 5) },
    });
    expect(actions[3]).toStrictEqual({
      source: 't8',
      op: { delete: { _index: 'nova_tickets', _id: 't8' } },
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
    expect(action).toStrictEqual({
      source: 'a1',
      op: { index: versioned('nova_ai_context', 'kb_article:a1', 7) },
      doc: {
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
      },
    });
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
    });
    expect(actions[3]).toStrictEqual({
      source: 'a8',
      op: { delete: versioned('nova_ai_context', 'kb_article:a8', 9) },
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

  it('needs a provider: CONFIG_INVALID naming EMBEDDING_URL', async () => {
    const error = await failure(
      projectRows('ai_context', 'nova_ai_context', [articleRow('a1')], []),
    );
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'EMBEDDING_URL' });
    expect(error.message).toContain('EMBEDDING_URL');
  });

  it('passes a provider failure on', async () => {
    const provider = new FakeEmbeddings();
    provider.fail = new Error('connect ECONNREFUSED 127.0.0.1:11434');
    await expect(
      projectRows('ai_context', 'nova_ai_context', [articleRow('a1')], [], provider),
    ).rejects.toThrow('ECONNREFUSED');
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
