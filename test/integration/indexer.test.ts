/**
 * The outbox indexer on real PostgreSQL: writes through novaDb fill the outbox, the indexer
 * drains it into Elastic's client mock holding a scripted cluster (external versioning
 * applied item by item, as Elasticsearch does). Covers re-delivery after a crash, deletes,
 * stale versions, partial bulk failures, parking and outages.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Indexer } from '../../src/lib/db/elastic/indexer.js';
import { OutboxStore } from '../../src/lib/db/elastic/outbox-store.js';
import { uniqueEmail, useTestDatabase } from '../support/database.js';
import { FakeCluster } from '../support/elastic-cluster.js';

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
    expect(await indexer.drain()).toMatchObject({ claimed: 3, indexed: 3, retried: 0, parked: 0 });
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
    const { cluster, indexer } = await fresh({ leaseMs: 50 }, crashing);
    const a = await ticket('Crash A');
    const b = await ticket('Crash B');
    await expect(indexer.drain()).rejects.toThrow('killed');
    expect((await outboxRows()).length).toBe(2); // still there, leased
    expect(await indexer.drain()).toMatchObject({ claimed: 0 }); // lease not expired yet
    await sleep(80);
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
