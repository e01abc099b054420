/**
 * The outbox indexer on real PostgreSQL: writes through novaDb fill the outbox, the indexer
 * drains it into Elastic's client mock holding a scripted cluster (external versioning
 * applied item by item, as Elasticsearch does). Covers re-delivery after a crash, deletes,
 * stale versions, partial bulk failures, parking and outages; embedding provider outages and
 * refusals, rows changed while embedding, drain's abort signal and the run loop's backoff.
 */
import type { TimerOptions } from 'node:timers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type DrainResult, Indexer } from '../../src/lib/db/elastic/indexer.js';
import { OutboxStore } from '../../src/lib/db/elastic/outbox-store.js';
import { NovaError } from '../../src/lib/errors.js';
import { uniqueEmail, useTestDatabase } from '../support/database.js';
import { esError, FakeCluster } from '../support/elastic-cluster.js';
import { FakeEmbeddings } from '../support/fake-embeddings.js';

/**
 * The waits Indexer.run asks for between rounds (its only use of node:timers/promises),
 * recorded on their way to the real timer: the run loop's backoff is checked by what it asks
 * for, not by how long a loaded machine took.
 */
const waits = vi.hoisted(() => [] as number[]);
vi.mock('node:timers/promises', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:timers/promises')>();
  return {
    ...original,
    setTimeout: <T>(ms?: number, value?: T, options?: TimerOptions) => {
      waits.push(ms ?? 0);
      return original.setTimeout(ms, value, options);
    },
  };
});

const t = await useTestDatabase();
let requesterId: string;
let authorId: string;

beforeAll(async () => {
  requesterId = (
    await t.db.createUser({ email: uniqueEmail('req'), firstName: 'R', lastName: 'Q' })
  ).id;
  authorId = (
    await t.db.createUser({ email: uniqueEmail('author'), firstName: 'A', lastName: 'U' })
  ).id;
});

/** Each test starts from an empty outbox (the seed and earlier tests leave rows). */
async function fresh(options: ConstructorParameters<typeof Indexer>[2] = {}, outbox?: OutboxStore) {
  await t.db.postgres.pool.query('DELETE FROM search_outbox');
  const cluster = new FakeCluster();
  const store = outbox ?? new OutboxStore(t.db.postgres.pool);
  const indexer = new Indexer(store, cluster.client(), {
    leaseMs: 60_000,
    retryDelayMs: 5,
    ...options,
  });
  return { cluster, indexer, store };
}

const ticket = (title: string, priority: 'low' | 'medium' | 'high' | 'urgent' = 'medium') =>
  t.db.postgres.createTicket({ title, priority, requesterId });
const outboxRows = async () =>
  (await t.db.postgres.pool.query('SELECT attempts, last_error, parked_at FROM search_outbox'))
    .rows;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('outbox indexer', () => {
  it('indexes new tickets and articles with their versions, then empties the outbox', async () => {
    const { cluster, indexer } = await fresh();
    const a = await ticket('VPN fails', 'urgent');
    const b = await ticket('Printer jam', 'low');
    const article = await t.db.postgres.createArticle({
      slug: `vpn-${Date.now()}`,
      title: 'VPN setup',
      content: 'Install the client.',
      category: 'documentation',
      authorId,
    });
    // The running total after each batch (what `nova indexer --once` shows as progress).
    const totals: number[] = [];
    expect(await indexer.drain(undefined, (total) => totals.push(total.claimed))).toMatchObject({
      claimed: 3,
      indexed: 3,
      retried: 0,
      parked: 0,
    });
    expect(totals.at(0)).toBe(3);
    expect(totals.at(-1)).toBe(3);
    const docs = cluster.documents('nova_tickets');
    expect(docs.get(a.id)).toMatchObject({
      version: 1,
      source: {
        key: a.key,
        title: 'VPN fails',
        priority: 'urgent',
        priority_rank: 4,
        requester_id: requesterId,
      },
    });
    expect(docs.get(b.id)?.source).toMatchObject({
      priority_rank: 1,
      suggest: { input: ['Printer jam', b.key] },
    });
    expect(cluster.documents('nova_kb').get(article.id)).toMatchObject({
      version: 1,
      source: { status: 'draft' },
    });
    expect(await outboxRows()).toEqual([]);
    expect(await indexer.lag()).toEqual({ lagMs: 0, pending: 0, parked: 0 });
  });

  it('sends one operation per entity: several updates index the newest row once', async () => {
    const { cluster, indexer } = await fresh();
    const created = await ticket('First title');
    const v2 = await t.db.postgres.updateTicket(
      created.id,
      { title: 'Second' },
      { expectedVersion: 1 },
    );
    await t.db.postgres.updateTicket(
      created.id,
      { title: 'Third' },
      { expectedVersion: v2.version },
    );
    const result = await indexer.drain();
    expect(result).toMatchObject({ claimed: 3, indexed: 3 });
    const bulks = cluster.requests.filter((r) => r.path === '/_bulk');
    expect(bulks).toHaveLength(1);
    expect(bulks[0]?.body).toHaveLength(2); // one header, one document
    expect((bulks[0]?.body as unknown[] | undefined)?.[0]).toEqual({
      index: { _index: 'nova_tickets', _id: created.id, version: 3, version_type: 'external_gte' },
    });
    expect(cluster.documents('nova_tickets').get(created.id)).toMatchObject({
      version: 3,
      source: { title: 'Third' },
    });
  });

  it('propagates deletes, and a delete outranks the last indexed version', async () => {
    const { cluster, indexer } = await fresh();
    const doomed = await ticket('To be deleted');
    await indexer.drain();
    await t.db.postgres.deleteTicket(doomed.id);
    expect(await indexer.drain()).toMatchObject({ deleted: 1 });
    expect(cluster.documents('nova_tickets').has(doomed.id)).toBe(false);
    expect(cluster.docs.get(`nova_tickets/${doomed.id}`)).toMatchObject({
      version: 2,
      deleted: true,
    });
  });

  it('re-delivers after a crash between the bulk and the acknowledgement, without duplicates or lost updates', async () => {
    class CrashOnce extends OutboxStore {
      crashed = false;
      override async acknowledge(ids: string[]) {
        if (!this.crashed && ids.length > 0) {
          this.crashed = true;
          throw new Error('indexer killed before acknowledging');
        }
        return super.acknowledge(ids);
      }
    }
    const crashing = new CrashOnce(t.db.postgres.pool);
    const { cluster, indexer } = await fresh({}, crashing);
    const a = await ticket('Crash A');
    const b = await ticket('Crash B');
    await expect(indexer.drain()).rejects.toThrow('killed');
    expect((await outboxRows()).length).toBe(2); // still there, leased
    expect(await indexer.drain()).toMatchObject({ claimed: 0 }); // lease not expired yet
    // The lease runs out (set in the database, not waited for: a slow run cannot race it).
    await t.db.postgres.pool.query(
      "UPDATE search_outbox SET available_at = now() - interval '1 second'",
    );
    // Meanwhile one ticket changed: the re-delivery carries its newest version.
    await t.db.postgres.updateTicket(a.id, { title: 'Crash A v2' }, { expectedVersion: 1 });
    const second = await indexer.drain();
    expect(second.claimed).toBe(3);
    expect(await outboxRows()).toEqual([]);
    const docs = cluster.documents('nova_tickets');
    expect(docs.size).toBe(2);
    expect(docs.get(a.id)).toMatchObject({ version: 2, source: { title: 'Crash A v2' } });
    expect(docs.get(b.id)).toMatchObject({ version: 1, source: { title: 'Crash B' } });
  });

  it('never lets a stale version overwrite a newer document (another indexer got there first)', async () => {
    const { cluster, indexer } = await fresh();
    const raced = await ticket('Raced');
    cluster.docs.set(`nova_tickets/${raced.id}`, { version: 5, source: { title: 'newer' } });
    expect(await indexer.drain()).toMatchObject({ claimed: 1, skipped: 1, retried: 0 });
    expect(cluster.documents('nova_tickets').get(raced.id)).toMatchObject({
      version: 5,
      source: { title: 'newer' },
    });
    expect(await outboxRows()).toEqual([]);
  });

  it('retries only the failed items of a partial bulk failure', async () => {
    const { cluster, indexer } = await fresh();
    const ok = await ticket('Goes through');
    const busy = await ticket('Rejected once');
    let rejections = 0;
    cluster.itemFailure = (_action, id) =>
      id === busy.id && rejections++ === 0
        ? { status: 429, type: 'es_rejected_execution_exception' }
        : undefined;
    const first = await indexer.drainBatch();
    expect(first).toMatchObject({ claimed: 2, indexed: 1, retried: 1, parked: 0 });
    expect(await outboxRows()).toEqual([
      expect.objectContaining({
        attempts: 0,
        last_error: expect.stringContaining('429'),
        parked_at: null,
      }),
    ]);
    await sleep(100);
    const second = await indexer.drain();
    expect(second).toMatchObject({ claimed: 1, indexed: 1 });
    const lastBulk = cluster.requests.filter((r) => r.path === '/_bulk').at(-1)?.body as unknown[];
    expect(lastBulk).toHaveLength(2);
    expect(JSON.stringify(lastBulk)).toContain(busy.id);
    expect(JSON.stringify(lastBulk)).not.toContain(ok.id);
    expect(cluster.documents('nova_tickets').size).toBe(2);
  });

  it('parks a row the cluster keeps refusing, with its error, and stops counting it as lag', async () => {
    const { cluster, indexer } = await fresh({ maxAttempts: 2 });
    const bad = await ticket('Poison');
    cluster.itemFailure = (_action, id) =>
      id === bad.id ? { status: 400, type: 'mapper_parsing_exception' } : undefined;
    expect(await indexer.drainBatch()).toMatchObject({ retried: 1, parked: 0 });
    await sleep(100);
    expect(await indexer.drainBatch()).toMatchObject({ retried: 0, parked: 1 });
    expect(await outboxRows()).toEqual([
      expect.objectContaining({
        attempts: 2,
        last_error: expect.stringContaining('mapper_parsing_exception'),
      }),
    ]);
    expect((await outboxRows())[0]?.parked_at).toBeInstanceOf(Date);
    expect(await indexer.lag()).toEqual({ lagMs: 0, pending: 0, parked: 1 });
    expect(indexer.stats()).toMatchObject({
      parked: 1,
      lastError: { message: expect.stringContaining('400') },
    });
  });

  it('an outage counts no attempts: rows wait and go through once the cluster is back', async () => {
    const { cluster, indexer } = await fresh({ maxAttempts: 1 });
    await ticket('During outage');
    cluster.failures = { status: 503, times: 1 };
    expect(await indexer.drain()).toMatchObject({ claimed: 1, retried: 1, parked: 0 });
    expect(await outboxRows()).toEqual([expect.objectContaining({ attempts: 0, parked_at: null })]);
    const { lagMs, pending } = await indexer.lag();
    expect(pending).toBe(1);
    expect(lagMs).toBeGreaterThanOrEqual(0);
    await sleep(100);
    expect(await indexer.drain()).toMatchObject({ indexed: 1 });
    expect(cluster.documents('nova_tickets').size).toBe(1);
  });
});

const vectorOf = (text: string) => FakeEmbeddings.vector(text);

const article = (
  name: string,
  {
    status = 'published',
    visibility = 'public',
  }: { status?: 'draft' | 'published' | 'archived'; visibility?: 'public' | 'internal' } = {},
) =>
  t.db.postgres.createArticle({
    slug: `${name}-${crypto.randomUUID().slice(0, 8)}`,
    title: `Article ${name}`,
    summary: `About ${name}`,
    content: `How ${name} works.`,
    category: 'network',
    tags: ['vpn'],
    status,
    visibility,
    authorId,
  });

const bulkBodies = (cluster: FakeCluster) =>
  cluster.requests.filter((r) => r.path === '/_bulk').map((r) => r.body as object[]);

describe('outbox indexer: nova_ai_context', () => {
  it('puts a published article into nova_ai_context with its embedding and counts it', async () => {
    const provider = new FakeEmbeddings();
    const { cluster, indexer } = await fresh({ embeddings: provider });
    const published = await article('vpn', { visibility: 'internal' });
    expect(await indexer.drain()).toMatchObject({
      claimed: 1,
      indexed: 1,
      embedded: 1,
      retried: 0,
    });

    const text = `Article vpn\n\nAbout vpn\n\nHow vpn works.`;
    expect(provider.calls).toEqual([[text]]);
    expect(cluster.documents('nova_ai_context').get(`kb_article:${published.id}`)).toEqual({
      version: 1,
      source: {
        id: `kb_article:${published.id}`,
        source_type: 'kb_article',
        source_id: published.id,
        title: 'Article vpn',
        content: text,
        visibility: 'internal',
        category: 'network',
        tags: ['vpn'],
        embedding: vectorOf(text),
        created_at: published.createdAt.toISOString(),
        updated_at: published.updatedAt.toISOString(),
      },
    });
    expect(cluster.documents('nova_kb').get(published.id)).toMatchObject({
      version: 1,
      source: { status: 'published' },
    });
    expect(await outboxRows()).toEqual([]);
    expect(indexer.stats()).toMatchObject({ embedded: 1, lastError: null });
  });

  it('embeds no draft; publishing it later does', async () => {
    const provider = new FakeEmbeddings();
    const { cluster, indexer } = await fresh({ embeddings: provider });
    const draft = await article('draft', { status: 'draft' });
    expect(await indexer.drain()).toMatchObject({ indexed: 1, embedded: 0, retried: 0 });
    expect(provider.calls).toEqual([]);
    expect(cluster.documents('nova_ai_context').size).toBe(0);
    expect(cluster.documents('nova_kb').get(draft.id)?.source).toMatchObject({ status: 'draft' });
    expect(await outboxRows()).toEqual([]);

    await t.db.postgres.updateArticle(draft.id, { status: 'published' }, { expectedVersion: 1 });
    expect(await indexer.drain()).toMatchObject({ indexed: 1, embedded: 1 });
    expect(provider.calls).toHaveLength(1);
    expect(cluster.documents('nova_ai_context').get(`kb_article:${draft.id}`)?.version).toBe(2);
  });

  it('unpublishing an article takes it out of nova_ai_context, not out of nova_kb', async () => {
    const provider = new FakeEmbeddings();
    const { cluster, indexer } = await fresh({ embeddings: provider });
    const published = await article('unpublish');
    await indexer.drain();
    const contextKey = `kb_article:${published.id}`;
    expect(cluster.documents('nova_ai_context').has(contextKey)).toBe(true);

    await t.db.postgres.updateArticle(published.id, { status: 'archived' }, { expectedVersion: 1 });
    expect(await indexer.drain()).toMatchObject({ claimed: 1, indexed: 1, embedded: 0 });
    expect(provider.calls).toHaveLength(1); // nothing embedded the second time
    expect(cluster.documents('nova_ai_context').has(contextKey)).toBe(false);
    expect(cluster.docs.get(`nova_ai_context/${contextKey}`)).toMatchObject({
      version: 2,
      deleted: true,
    });
    expect(cluster.documents('nova_kb').get(published.id)).toMatchObject({
      version: 2,
      source: { status: 'archived' },
    });
    expect(await outboxRows()).toEqual([]);
  });

  it('deleting an article removes both its documents', async () => {
    const provider = new FakeEmbeddings();
    const { cluster, indexer } = await fresh({ embeddings: provider });
    const doomed = await article('doomed');
    await indexer.drain();
    expect(cluster.documents('nova_ai_context').has(`kb_article:${doomed.id}`)).toBe(true);

    await t.db.postgres.deleteArticle(doomed.id);
    expect(await indexer.drain()).toMatchObject({ claimed: 1, deleted: 1, retried: 0 });
    expect(cluster.documents('nova_kb').has(doomed.id)).toBe(false);
    expect(cluster.documents('nova_ai_context').has(`kb_article:${doomed.id}`)).toBe(false);
    expect(cluster.docs.get(`nova_kb/${doomed.id}`)).toMatchObject({ version: 2, deleted: true });
    expect(cluster.docs.get(`nova_ai_context/kb_article:${doomed.id}`)).toMatchObject({
      version: 2,
      deleted: true,
    });
    expect(provider.calls).toHaveLength(1);
  });

  it('a provider outage holds back only the embeddings: nova_kb is written, rows wait unparked', async () => {
    // Down as the real provider reports it: NovaError UNAVAILABLE.
    const provider = new FakeEmbeddings({ down: true });
    const { cluster, indexer } = await fresh({ embeddings: provider, maxAttempts: 1 });
    const waiting = await article('outage');
    const other = await ticket('Not held up');

    expect(await indexer.drainBatch()).toMatchObject({
      claimed: 2,
      indexed: 1,
      embedded: 0,
      retried: 1,
      parked: 0,
    });
    expect(cluster.documents('nova_tickets').has(other.id)).toBe(true);
    expect(cluster.documents('nova_kb').get(waiting.id)?.source).toMatchObject({
      status: 'published',
    });
    expect(cluster.documents('nova_ai_context').size).toBe(0);
    expect(JSON.stringify(bulkBodies(cluster))).not.toContain('nova_ai_context');
    const rows = await outboxRows();
    expect(rows).toEqual([expect.objectContaining({ attempts: 0, parked_at: null })]);
    expect(rows[0]?.last_error).toMatch(/^embedding provider .*ECONNREFUSED/);
    expect(indexer.stats().lastError?.message).toMatch(/^embedding provider\b/);

    // Still down: however often it comes back, an outage never parks the row.
    await sleep(100);
    expect(await indexer.drain()).toMatchObject({ claimed: 1, retried: 1, parked: 0 });
    expect(await outboxRows()).toEqual([expect.objectContaining({ attempts: 0, parked_at: null })]);

    provider.down = false;
    await sleep(100);
    expect(await indexer.drain()).toMatchObject({ claimed: 1, indexed: 1, embedded: 1 });
    expect(cluster.documents('nova_ai_context').get(`kb_article:${waiting.id}`)).toMatchObject({
      version: 1,
      source: { source_id: waiting.id, embedding: expect.any(Array) },
    });
    expect(await outboxRows()).toEqual([]);
    expect(await indexer.lag()).toEqual({ lagMs: 0, pending: 0, parked: 0 });
  });

  it('during a provider outage, unpublished and deleted articles still leave nova_ai_context', async () => {
    const provider = new FakeEmbeddings();
    const { cluster, indexer } = await fresh({ embeddings: provider });
    const archived = await article('to-archive');
    const deleted = await article('to-delete');
    expect(await indexer.drain()).toMatchObject({ embedded: 2 });

    provider.down = true;
    await t.db.postgres.updateArticle(archived.id, { status: 'archived' });
    await t.db.postgres.deleteArticle(deleted.id);
    const waiting = await article('new-during-outage');
    expect(await indexer.drainBatch()).toMatchObject({ claimed: 3, retried: 1, embedded: 0 });
    const context = cluster.documents('nova_ai_context');
    expect([...context.keys()]).toEqual([]);
    const rows = await t.db.postgres.pool.query('SELECT entity_id::text FROM search_outbox');
    expect(rows.rows).toEqual([{ entity_id: waiting.id }]);
  });

  it('without a provider, unpublished and deleted articles still leave nova_ai_context', async () => {
    // nova_ai_context filled by an indexer with a provider...
    const {
      cluster,
      indexer: embedding,
      store,
    } = await fresh({ embeddings: new FakeEmbeddings() });
    const archived = await article('np-archive');
    const deleted = await article('np-delete');
    const kept = await article('np-keep');
    expect(await embedding.drain()).toMatchObject({ claimed: 3, embedded: 3 });
    expect(cluster.documents('nova_ai_context').size).toBe(3);

    // ...then drained by one without EMBEDDING_URL.
    const plain = new Indexer(store, cluster.client(), { retryDelayMs: 5 });
    cluster.requests.splice(0);
    await t.db.postgres.updateArticle(archived.id, { status: 'archived' }, { expectedVersion: 1 });
    await t.db.postgres.deleteArticle(deleted.id);
    await t.db.postgres.updateArticle(kept.id, { title: 'Kept, retitled' }, { expectedVersion: 1 });
    expect(await plain.drain()).toMatchObject({
      claimed: 3,
      indexed: 2,
      deleted: 1,
      embedded: 0,
      retried: 0,
      parked: 0,
    });

    const context = cluster.documents('nova_ai_context');
    expect([...context.keys()]).toEqual([`kb_article:${kept.id}`]);
    // A published article it cannot embed keeps its document as it was.
    expect(context.get(`kb_article:${kept.id}`)).toMatchObject({
      version: 1,
      source: { title: 'Article np-keep' },
    });
    for (const gone of [archived, deleted]) {
      expect(cluster.docs.get(`nova_ai_context/kb_article:${gone.id}`)).toEqual({
        version: 2,
        deleted: true,
      });
    }
    const contextOps = bulkBodies(cluster)
      .flat()
      .filter((line) => JSON.stringify(line).includes('"_index":"nova_ai_context"'));
    expect(contextOps).toEqual(
      [archived, deleted].map((a) => ({
        delete: {
          _index: 'nova_ai_context',
          _id: `kb_article:${a.id}`,
          version: 2,
          version_type: 'external_gte',
        },
      })),
    );
    expect(cluster.documents('nova_kb').get(kept.id)).toMatchObject({
      version: 2,
      source: { title: 'Kept, retitled' },
    });
    expect(cluster.documents('nova_kb').has(deleted.id)).toBe(false);
    expect(await outboxRows()).toEqual([]);
  });

  it('an outage or a misconfigured provider is not narrowed down: every published article waits, counting nothing', async () => {
    const provider = new FakeEmbeddings({ down: true });
    const { cluster, indexer } = await fresh({ embeddings: provider, maxAttempts: 1 });
    for (const name of ['wait-one', 'wait-two', 'wait-three']) await article(name);

    expect(await indexer.drainBatch()).toMatchObject({ claimed: 3, retried: 3, parked: 0 });
    expect(provider.calls).toHaveLength(1); // one call for the batch, none one by one
    expect(cluster.documents('nova_kb').size).toBe(3);
    const rows = await outboxRows();
    expect(rows).toEqual(
      [1, 2, 3].map(() => expect.objectContaining({ attempts: 0, parked_at: null })),
    );
    for (const row of rows) expect(row.last_error).toMatch(/^embedding provider .*ECONNREFUSED/);

    // A model answering vectors of the wrong size is a configuration error: the same.
    provider.down = false;
    provider.fail = new NovaError('CONFIG_INVALID', 'model returns 768 dimensions', {
      field: 'ELASTIC_EMBEDDING_DIMS',
    });
    await sleep(100);
    expect(await indexer.drainBatch()).toMatchObject({ claimed: 3, retried: 3, parked: 0 });
    expect(provider.calls).toHaveLength(2);
    expect(await outboxRows()).toEqual(
      [1, 2, 3].map(() =>
        expect.objectContaining({
          attempts: 0,
          parked_at: null,
          last_error: expect.stringContaining('768'),
        }),
      ),
    );
  });

  it('an article the provider refuses is narrowed down: the others are embedded, it alone counts attempts and is parked', async () => {
    const provider = new FakeEmbeddings({ refuse: (text) => text.includes('poison') });
    const { cluster, indexer } = await fresh({ embeddings: provider, maxAttempts: 2 });
    const good = [await article('good-one'), await article('good-two')];
    const poison = await article('poison');
    const textOf = (name: string) => `Article ${name}\n\nAbout ${name}\n\nHow ${name} works.`;
    const sorted = (calls: string[][]) => calls.map((call) => call.join('|')).sort();

    expect(await indexer.drainBatch()).toMatchObject({
      claimed: 3,
      indexed: 2,
      embedded: 2,
      retried: 1,
      parked: 0,
    });
    // The batch in one call, refused; then each article alone.
    const texts = ['good-one', 'good-two', 'poison'].map(textOf);
    expect(provider.calls).toHaveLength(4);
    expect([...(provider.calls[0] ?? [])].sort()).toEqual([...texts].sort());
    expect(sorted(provider.calls.slice(1))).toEqual([...texts].sort());
    expect([...cluster.documents('nova_ai_context').keys()].sort()).toEqual(
      good.map((a) => `kb_article:${a.id}`).sort(),
    );
    // The refusal is the embedding's, not the document's: nova_kb has all three.
    expect(cluster.documents('nova_kb').has(poison.id)).toBe(true);
    const waiting = await t.sql<{ entity_id: string; attempts: number; last_error: string }>(
      'SELECT entity_id::text, attempts, last_error, parked_at FROM search_outbox',
    );
    expect(waiting).toEqual([
      expect.objectContaining({ entity_id: poison.id, attempts: 1, parked_at: null }),
    ]);
    expect(waiting[0]?.last_error).toMatch(/^embedding provider: HTTP 400/);

    // Alone in its batch it counts its attempt directly, and is parked at maxAttempts.
    await sleep(100);
    expect(await indexer.drainBatch()).toMatchObject({
      claimed: 1,
      embedded: 0,
      retried: 0,
      parked: 1,
    });
    expect(provider.calls.slice(4)).toEqual([[textOf('poison')]]);
    const parked = await t.sql<{ attempts: number; last_error: string; parked_at: Date | null }>(
      'SELECT attempts, last_error, parked_at FROM search_outbox',
    );
    expect(parked).toEqual([expect.objectContaining({ attempts: 2, parked_at: expect.any(Date) })]);
    expect(parked[0]?.last_error).toMatch(/^embedding provider\b/);
    expect(await indexer.lag()).toEqual({ lagMs: 0, pending: 0, parked: 1 });
    expect(indexer.stats()).toMatchObject({
      embedded: 2,
      parked: 1,
      lastError: { message: expect.stringMatching(/^embedding provider: HTTP 400/) },
    });
  });

  it('a row changed while its batch was embedded is not sent from the stale read: skipped, then written as it is now', async () => {
    let racing: { id: string } | undefined;
    const provider = new FakeEmbeddings({
      // Before answering the first call: a writer changes the article (version 2).
      onEmbed: async (_texts, call) => {
        if (call === 1 && racing) {
          await t.db.postgres.updateArticle(
            racing.id,
            { title: 'Article racing, revised' },
            { expectedVersion: 1 },
          );
        }
      },
    });
    const { cluster, indexer } = await fresh({ embeddings: provider });
    const steady = await article('steady');
    racing = await article('racing');
    const alongside = await ticket('Alongside');

    expect(await indexer.drainBatch()).toMatchObject({
      claimed: 3,
      indexed: 2,
      skipped: 1,
      embedded: 1,
      retried: 0,
      parked: 0,
    });
    // Nothing of the stale read went out, to nova_kb or to nova_ai_context.
    expect(provider.calls).toHaveLength(1);
    expect(JSON.stringify(bulkBodies(cluster))).not.toContain(racing.id);
    expect(cluster.docs.has(`nova_kb/${racing.id}`)).toBe(false);
    expect(cluster.docs.has(`nova_ai_context/kb_article:${racing.id}`)).toBe(false);
    // The rest of the batch went through.
    expect(cluster.documents('nova_tickets').has(alongside.id)).toBe(true);
    expect(cluster.documents('nova_kb').has(steady.id)).toBe(true);
    expect(cluster.documents('nova_ai_context').has(`kb_article:${steady.id}`)).toBe(true);
    // What is left is the row of the change, which redoes the article.
    expect(
      await t.sql('SELECT entity_id::text, entity_version, attempts FROM search_outbox'),
    ).toEqual([{ entity_id: racing.id, entity_version: 2, attempts: 0 }]);

    expect(await indexer.drain()).toMatchObject({
      claimed: 1,
      indexed: 1,
      embedded: 1,
      skipped: 0,
    });
    const text = 'Article racing, revised\n\nAbout racing\n\nHow racing works.';
    expect(cluster.documents('nova_kb').get(racing.id)).toMatchObject({
      version: 2,
      source: { title: 'Article racing, revised' },
    });
    expect(cluster.documents('nova_ai_context').get(`kb_article:${racing.id}`)).toMatchObject({
      version: 2,
      source: { title: 'Article racing, revised', embedding: vectorOf(text) },
    });
    // Every operation ever sent for it carried version 2.
    const racingIds = [racing.id, `kb_article:${racing.id}`];
    const versions = bulkBodies(cluster)
      .flat()
      .flatMap((line) => {
        const meta = (line as { index?: { _id: string; version: number } }).index;
        return meta !== undefined && racingIds.includes(meta._id) ? [meta.version] : [];
      });
    expect(versions).toEqual([2, 2]);
    expect(await outboxRows()).toEqual([]);
  });

  it('counts no embedding for an article whose nova_kb request failed (it comes back)', async () => {
    const provider = new FakeEmbeddings();
    const { cluster, indexer } = await fresh({ embeddings: provider, maxBulkBytes: 1 });
    const published = await article('kb-fails');
    cluster.interceptBulk((params, next) =>
      JSON.stringify(params.body).includes('"_index":"nova_kb"')
        ? esError(503, 'unavailable_shards_exception')
        : next(params),
    );
    expect(await indexer.drain()).toMatchObject({ claimed: 1, retried: 1, embedded: 0 });
    expect(cluster.documents('nova_ai_context').has(`kb_article:${published.id}`)).toBe(true);
    expect(cluster.documents('nova_kb').has(published.id)).toBe(false);
  });

  it('without a provider, nova_ai_context is left alone', async () => {
    const { cluster, indexer } = await fresh();
    const published = await article('no-provider');
    const result = await indexer.drain();
    expect(result).toMatchObject({ claimed: 1, indexed: 1, embedded: 0 });
    expect(cluster.documents('nova_kb').has(published.id)).toBe(true);
    expect(bulkBodies(cluster)).toHaveLength(1);
    expect(JSON.stringify(cluster.requests)).not.toContain('nova_ai_context');
  });

  it('splits a batch into requests of at most maxBulkBytes, and every document arrives', async () => {
    const provider = new FakeEmbeddings();
    const { cluster, indexer } = await fresh({ embeddings: provider, maxBulkBytes: 1 });
    const tickets = [];
    for (let i = 0; i < 4; i++) tickets.push(await ticket(`Split ${i}`));
    const published = await article('split');

    expect(await indexer.drain()).toMatchObject({
      claimed: 5,
      indexed: 5,
      embedded: 1,
      retried: 0,
    });
    // Every action alone: four tickets, the article in nova_kb, then in nova_ai_context.
    const bodies = bulkBodies(cluster);
    expect(bodies).toHaveLength(6);
    for (const body of bodies) expect(body).toHaveLength(2);
    expect(provider.calls).toHaveLength(1);
    const docs = cluster.documents('nova_tickets');
    for (const created of tickets) expect(docs.has(created.id)).toBe(true);
    expect(cluster.documents('nova_kb').has(published.id)).toBe(true);
    expect(cluster.documents('nova_ai_context').has(`kb_article:${published.id}`)).toBe(true);
    expect(await outboxRows()).toEqual([]);

    // A limit that holds two ticket actions per request (each counted as 200 + its JSON).
    const ticketBytes = Math.max(
      ...bodies.slice(0, 4).map(([, doc]) => 200 + Buffer.byteLength(JSON.stringify(doc))),
    );
    const pair = await fresh({ maxBulkBytes: 2 * ticketBytes + 20 });
    for (let i = 0; i < 5; i++) await ticket(`Split ${i}`);
    expect(await pair.indexer.drain()).toMatchObject({ indexed: 5 });
    expect(bulkBodies(pair.cluster).map((body) => body.length)).toEqual([4, 4, 2]);
    expect(pair.cluster.documents('nova_tickets').size).toBe(5);
  });

  it('a request that fails as a whole releases only the entities of its chunk', async () => {
    const { cluster, indexer } = await fresh({ maxBulkBytes: 1, maxAttempts: 1 });
    const created = [await ticket('Chunk 0'), await ticket('Chunk 1'), await ticket('Chunk 2')];
    let calls = 0;
    let refusedBody: unknown;
    cluster.interceptBulk((params, next) => {
      calls++;
      if (calls !== 2) return next(params);
      refusedBody = params.body;
      return esError(503, 'unavailable_shards_exception', 'no shard available');
    });

    expect(await indexer.drainBatch()).toMatchObject({
      claimed: 3,
      indexed: 2,
      retried: 1,
      parked: 0,
    });
    expect(calls).toBe(3);
    const refusedId = (refusedBody as [{ index: { _id: string } }])[0].index._id;
    expect(created.map((c) => c.id)).toContain(refusedId);
    const docs = cluster.documents('nova_tickets');
    expect([...docs.keys()].sort()).toEqual(
      created
        .map((c) => c.id)
        .filter((id) => id !== refusedId)
        .sort(),
    );
    const rows = await t.sql<{ entity_id: string; attempts: number; parked_at: Date | null }>(
      'SELECT entity_id::text, attempts, parked_at, last_error FROM search_outbox',
    );
    expect(rows).toEqual([
      expect.objectContaining({
        entity_id: refusedId,
        attempts: 0,
        parked_at: null,
        last_error: expect.stringContaining('503'),
      }),
    ]);

    await sleep(100);
    expect(await indexer.drain()).toMatchObject({ claimed: 1, indexed: 1 });
    expect(cluster.documents('nova_tickets').size).toBe(3);
    expect(await outboxRows()).toEqual([]);
  });

  it('an article whose nova_ai_context request fails comes back, its nova_kb document stays', async () => {
    const provider = new FakeEmbeddings();
    const { cluster, indexer } = await fresh({ embeddings: provider, maxBulkBytes: 1 });
    const published = await article('half');
    const restore = cluster.interceptBulk((params, next) =>
      JSON.stringify(params.body).includes('nova_ai_context')
        ? esError(503, 'unavailable_shards_exception')
        : next(params),
    );
    expect(await indexer.drain()).toMatchObject({ claimed: 1, retried: 1, embedded: 0 });
    expect(cluster.documents('nova_kb').has(published.id)).toBe(true);
    expect(await outboxRows()).toEqual([
      expect.objectContaining({ attempts: 0, last_error: expect.stringContaining('503') }),
    ]);

    restore();
    await sleep(100);
    expect(await indexer.drain()).toMatchObject({ claimed: 1, indexed: 1, embedded: 1 });
    expect(cluster.documents('nova_ai_context').has(`kb_article:${published.id}`)).toBe(true);
    expect(await outboxRows()).toEqual([]);
  });
});

describe('Indexer.drain', () => {
  it('stops between batches when its signal aborts: later rows stay in the outbox, unclaimed', async () => {
    const controller = new AbortController();
    class AbortAfterFirstBatch extends OutboxStore {
      claims = 0;
      override claim(limit: number, leaseMs: number, exclude?: string[]) {
        this.claims++;
        return super.claim(limit, leaseMs, exclude);
      }
      override async acknowledge(ids: string[]) {
        await super.acknowledge(ids);
        controller.abort();
      }
    }
    const store = new AbortAfterFirstBatch(t.db.postgres.pool);
    const { cluster, indexer } = await fresh({ batchSize: 2 }, store);
    const created = [];
    for (let i = 0; i < 6; i++) created.push(await ticket(`Batch ${i}`));

    expect(await indexer.drain(controller.signal)).toMatchObject({
      claimed: 2,
      indexed: 2,
      retried: 0,
    });
    expect(store.claims).toBe(1);
    expect([...cluster.documents('nova_tickets').keys()].sort()).toEqual(
      created
        .slice(0, 2)
        .map((c) => c.id)
        .sort(),
    );
    const rows = await t.sql(
      `SELECT entity_id::text, attempts, available_at <= now() AS available, parked_at
         FROM search_outbox ORDER BY id`,
    );
    expect(rows).toEqual(
      created
        .slice(2)
        .map((c) => ({ entity_id: c.id, attempts: 0, available: true, parked_at: null })),
    );

    // An aborted signal claims nothing; without one, the rest goes.
    expect(await indexer.drain(AbortSignal.abort())).toMatchObject({ claimed: 0 });
    expect(store.claims).toBe(1);
    expect(await indexer.drain()).toMatchObject({ claimed: 4, indexed: 4 });
    expect(store.claims).toBe(1 + 3); // two batches, then an empty claim
    expect(cluster.documents('nova_tickets').size).toBe(6);
  });

  it('goes on past a batch whose rows were all put back, and claims such a row once per drain', async () => {
    class Recording extends OutboxStore {
      readonly claimed: string[][] = [];
      override async claim(limit: number, leaseMs: number, exclude?: string[]) {
        const rows = await super.claim(limit, leaseMs, exclude);
        this.claimed.push(rows.map((r) => r.entity_id));
        return rows;
      }
    }
    const store = new Recording(t.db.postgres.pool);
    // No retry delay: a row put back is available again at once, so only the drain itself
    // keeps it from being claimed over and over.
    const { cluster, indexer } = await fresh({ batchSize: 1, retryDelayMs: 0 }, store);
    const refused = await ticket('Refused first');
    const good = await ticket('Good second');
    cluster.itemFailure = (_action, id) =>
      id === refused.id ? { status: 400, type: 'mapper_parsing_exception' } : undefined;

    expect(await indexer.drain()).toMatchObject({
      claimed: 2,
      indexed: 1,
      retried: 1,
      parked: 0,
    });
    expect(store.claimed).toEqual([[refused.id], [good.id], []]);
    expect(cluster.documents('nova_tickets').has(good.id)).toBe(true);
    expect(cluster.documents('nova_tickets').has(refused.id)).toBe(false);
    expect(await outboxRows()).toEqual([
      expect.objectContaining({
        attempts: 1,
        parked_at: null,
        last_error: expect.stringContaining('mapper_parsing_exception'),
      }),
    ]);

    // The next drain tries it again, once.
    expect(await indexer.drain()).toMatchObject({ claimed: 1, retried: 1 });
    expect(store.claimed.slice(3)).toEqual([[refused.id], []]);
    expect(await outboxRows()).toEqual([expect.objectContaining({ attempts: 2, parked_at: null })]);
  });
});

/** Polls `check` until it holds or `ms` pass. */
async function eventually(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms`);
    await sleep(10);
  }
}

/** The promise's outcome, or 'pending' if it has not settled within `ms`. */
const settledWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => 'resolved',
      () => 'rejected',
    ),
    sleep(ms).then(() => 'pending'),
  ]);

describe('Indexer.run', () => {
  it('drains what is written while it runs, and stops promptly when aborted', async () => {
    const { cluster, indexer } = await fresh();
    const controller = new AbortController();
    const running = indexer.run(controller.signal, { idleMs: 20 });
    try {
      await sleep(50); // a few idle rounds first
      const created = await ticket('While running');
      await eventually(() => cluster.documents('nova_tickets').has(created.id));
      await eventually(() => indexer.stats().indexed === 1);
    } finally {
      controller.abort();
    }
    expect(await settledWithin(running, 500)).toBe('resolved');
    expect(await outboxRows()).toEqual([]);
    expect(indexer.stats()).toMatchObject({ claimed: 1, indexed: 1, lastError: null });
  });

  it('does not start when the signal has already aborted', async () => {
    class Counting extends OutboxStore {
      claims = 0;
      override claim(limit: number, leaseMs: number, exclude?: string[]) {
        this.claims++;
        return super.claim(limit, leaseMs, exclude);
      }
    }
    const store = new Counting(t.db.postgres.pool);
    const { indexer } = await fresh({}, store);
    const controller = new AbortController();
    controller.abort();
    expect(await settledWithin(indexer.run(controller.signal, { idleMs: 20 }), 500)).toBe(
      'resolved',
    );
    expect(store.claims).toBe(0);
  });

  it('records a PostgreSQL failure, waits longer, and keeps going', async () => {
    class FailsOnce extends OutboxStore {
      readonly claimedAt: number[] = [];
      override async claim(limit: number, leaseMs: number, exclude?: string[]) {
        this.claimedAt.push(performance.now());
        if (this.claimedAt.length === 1) {
          throw new Error('Connection terminated unexpectedly');
        }
        return super.claim(limit, leaseMs, exclude);
      }
    }
    const store = new FailsOnce(t.db.postgres.pool);
    const { cluster, indexer } = await fresh({}, store);
    const created = await ticket('After the failure');
    const controller = new AbortController();
    const running = indexer.run(controller.signal, { idleMs: 20 });
    try {
      await eventually(() => cluster.documents('nova_tickets').has(created.id));
      await eventually(() => store.claimedAt.length >= 4);
    } finally {
      controller.abort();
    }
    expect(await settledWithin(running, 500)).toBe('resolved');
    expect(indexer.stats()).toMatchObject({
      indexed: 1,
      lastError: { message: 'Connection terminated unexpectedly', at: expect.any(String) },
    });
    expect(await outboxRows()).toEqual([]);
    // After the failure the wait doubles (40 ms); after a good round it is idleMs again.
    const [failed, retried, , idle] = store.claimedAt as [number, number, number, number];
    expect(retried - failed).toBeGreaterThanOrEqual(35);
    expect(idle - retried).toBeGreaterThanOrEqual(15);
  });

  it('waits idleMs after a round that settled anything; only rounds that settled nothing double it', async () => {
    class NewTicketEachRound extends OutboxStore {
      rounds = 0;
      override async claim(limit: number, leaseMs: number, exclude: string[] = []) {
        // A round's first claim (nothing put back yet): the first three find a new ticket.
        if (exclude.length === 0 && ++this.rounds <= 3) await ticket(`Round ${this.rounds}`);
        return super.claim(limit, leaseMs, exclude);
      }
    }
    const store = new NewTicketEachRound(t.db.postgres.pool);
    // The stuck row is put back at once (no retry delay) and never parked (429 counts none).
    const { cluster, indexer } = await fresh({ retryDelayMs: 0 }, store);
    const stuck = await ticket('Always busy');
    cluster.itemFailure = (_action, id) =>
      id === stuck.id ? { status: 429, type: 'es_rejected_execution_exception' } : undefined;
    const rounds: DrainResult[] = [];
    waits.splice(0);
    const controller = new AbortController();
    const running = indexer.run(controller.signal, {
      idleMs: 10,
      onDrain: (result) => rounds.push(result),
    });
    try {
      await eventually(() => waits.length >= 6);
    } finally {
      controller.abort();
    }
    expect(await settledWithin(running, 500)).toBe('resolved');

    // Rounds 1-3: the stuck row put back, a new ticket indexed. Then the stuck row alone.
    expect(rounds.slice(0, 6).map((r) => [r.claimed, r.indexed, r.retried])).toEqual([
      [2, 1, 1],
      [2, 1, 1],
      [2, 1, 1],
      [1, 0, 1],
      [1, 0, 1],
      [1, 0, 1],
    ]);
    expect(waits.slice(0, 6)).toEqual([10, 10, 10, 20, 40, 80]);
    expect(indexer.stats()).toMatchObject({ indexed: 3, parked: 0 });
    expect(await outboxRows()).toEqual([expect.objectContaining({ attempts: 0, parked_at: null })]);
  });
});
