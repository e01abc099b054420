/**
 * `nova reindex tickets|kb` on real PostgreSQL against Elastic's client mock holding a scripted
 * cluster, set up by the real `nova bootstrap elastic` (templates carrying the mapping hash,
 * nova_tickets-v1 / nova_kb-v1 behind their aliases). Covers the copy, the alias swap, the
 * catch-up of writes made during the copy, failures before the swap, the legacy concrete
 * index, dry runs and the one-reindex-per-alias lock. Not Elasticsearch: the live suite runs a
 * real cluster.
 */
import { errors } from '@elastic/elasticsearch';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapElastic } from '../../src/bootstrap/elastic/index.js';
import { mappingHash } from '../../src/bootstrap/elastic/plan.js';
import { type ReindexTarget, reindex } from '../../src/bootstrap/elastic/reindex.js';
import { type ElasticConfig, loadConfig } from '../../src/config.js';
import { contextText } from '../../src/lib/db/elastic/documents.js';
import {
  aiContextMappings,
  KB_MAPPINGS,
  TICKET_MAPPINGS,
} from '../../src/lib/db/elastic/index-specs.js';
import { isNovaError, NovaError } from '../../src/lib/errors.js';
import { uniqueEmail, useTestDatabase } from '../support/database.js';
import { FakeCluster } from '../support/elastic-cluster.js';
import { FakeEmbeddings, type FakeEmbeddingsOptions } from '../support/fake-embeddings.js';

const t = await useTestDatabase();
const config = loadConfig({ ELASTIC_URL: 'http://127.0.0.1:9200', ELASTIC_MAX_RETRIES: '1' });
const elastic = config.elastic as ElasticConfig;
let requesterId: string;
let authorId: string;
/** A second session, to look at (or hold) the advisory locks the reindex takes. */
const other = new pg.Client({ connectionString: t.url });

beforeAll(async () => {
  await other.connect();
  requesterId = (
    await t.db.createUser({ email: uniqueEmail('req'), firstName: 'R', lastName: 'Q' })
  ).id;
  authorId = (
    await t.db.createUser({ email: uniqueEmail('author'), firstName: 'A', lastName: 'U' })
  ).id;
});
afterAll(() => other.end());

/** A cluster bootstrapped by `nova bootstrap elastic`, its request log emptied. */
async function bootstrapped(prepare: (cluster: FakeCluster) => void = () => undefined) {
  const cluster = new FakeCluster();
  prepare(cluster);
  await bootstrapElastic(config, { client: cluster.client() });
  cluster.requests.splice(0);
  return cluster;
}

const deps = (cluster: FakeCluster, pool: pg.Pool = t.db.postgres.pool, maxRetries = 1) => ({
  client: cluster.client(),
  pool,
  config: { ...elastic, maxRetries },
});

const ticket = (title: string) => t.db.postgres.createTicket({ title, requesterId });

/** id -> version of every row, as PostgreSQL has them now. */
async function rowVersions(table: 'support_tickets' | 'knowledge_base_articles') {
  const rows = await t.sql<{ id: string; version: number }>(
    `SELECT id::text AS id, version FROM ${table}`,
  );
  return Object.fromEntries(rows.map((r) => [r.id, r.version]));
}

/** id -> version of the live documents of an index (or the indices behind an alias). */
const docVersions = (cluster: FakeCluster, index: string) =>
  Object.fromEntries([...cluster.documents(index)].map(([id, doc]) => [id, doc.version]));

/** The writes (and refreshes) a run sent, in order, as "METHOD /path". */
const trail = (cluster: FakeCluster) =>
  cluster.requests
    .filter((r) => !['GET', 'HEAD'].includes(r.method) || r.path.endsWith('/_refresh'))
    .map((r) => `${r.method} ${r.path}`);

const searchIndices = (cluster: FakeCluster, alias: string) =>
  [...cluster.indices.keys()].filter((name) => name === alias || name.startsWith(`${alias}-`));

async function lockIsFree(alias: string): Promise<boolean> {
  const key = `nova:reindex:${alias}`;
  const { rows } = await other.query<{ ok: boolean }>(
    'SELECT pg_try_advisory_lock(hashtext($1)) AS ok',
    [key],
  );
  if (rows[0]?.ok) await other.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
  return rows[0]?.ok === true;
}

async function failure(run: Promise<unknown>): Promise<NovaError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isNovaError(error)) throw new Error(`expected a NovaError, got ${String(error)}`);
  return error;
}

/**
 * The pool, except that every query first waits for `before()`: writes started from
 * onProgress (which the reindex does not await) are committed before the next page is read.
 */
function gated(pool: pg.Pool, before: () => Promise<unknown>): pg.Pool {
  return new Proxy(pool, {
    get(target, property) {
      if (property === 'query') {
        return async (...args: unknown[]) => {
          await before();
          return (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('nova reindex', () => {
  it('copies every ticket page by page into the next index, swaps the alias, drops the old index', async () => {
    for (const title of ['VPN fails', 'Printer jam', 'Mail bounces', 'Disk full', 'No sound']) {
      await ticket(title);
    }
    const expected = await rowVersions('support_tickets');
    const n = Object.keys(expected).length;
    expect(n).toBeGreaterThanOrEqual(5);
    const cluster = await bootstrapped();
    const progress: [number, number][] = [];

    const report = await reindex('tickets', deps(cluster), {
      batchSize: 2,
      onProgress: (copied, total) => progress.push([copied, total]),
    });

    expect(report).toMatchObject({
      alias: 'nova_tickets',
      dryRun: false,
      from: ['nova_tickets-v1'],
      to: 'nova_tickets-v2',
      rows: n,
      copied: n,
      // Every ticket was written within the catch-up margin: all are read again.
      caughtUp: { indexed: n, deleted: 0 },
    });
    const batches = Math.ceil(n / 2);
    expect(progress).toEqual(
      Array.from({ length: batches }, (_, i) => [Math.min(2 * (i + 1), n), n]),
    );
    expect(docVersions(cluster, 'nova_tickets-v2')).toEqual(expected);
    const [any] = await t.sql<{ id: string; key: string; title: string; version: number }>(
      'SELECT id::text AS id, key, title, version FROM support_tickets LIMIT 1',
    );
    if (!any) throw new Error('no ticket');
    expect(cluster.documents('nova_tickets-v2').get(any.id)?.source).toMatchObject({
      id: any.id,
      key: any.key,
      title: any.title,
      version: any.version,
    });

    // One alias, on the new index only, which takes the writes; v1 and its documents are gone.
    expect(cluster.aliasOf('nova_tickets')).toEqual({
      'nova_tickets-v2': { is_write_index: true },
    });
    expect(searchIndices(cluster, 'nova_tickets')).toEqual(['nova_tickets-v2']);
    expect(cluster.documents('nova_tickets-v1').size).toBe(0);
    expect(cluster.indices.has('nova_kb-v1')).toBe(true);
    const v2 = cluster.indices.get('nova_tickets-v2');
    // Created plainly from the template: no refresh_interval override to forget to undo.
    expect(v2?.settings ?? {}).toEqual({});
    expect(v2?.mappings).toMatchObject({ _meta: { mapping_hash: mappingHash(TICKET_MAPPINGS) } });

    expect(trail(cluster)).toEqual([
      'PUT /nova_tickets-v2',
      ...Array.from({ length: batches }, () => 'POST /_bulk'),
      'POST /_bulk', // the catch-up before the swap
      'GET /nova_tickets-v2/_refresh',
      'POST /_aliases',
      'POST /_bulk', // and after it
      'DELETE /nova_tickets-v1',
    ]);
    const writes = cluster.writes();
    expect(writes[0]?.body ?? undefined).toBeUndefined();
    expect(writes[1]?.body).toEqual([
      {
        index: {
          _index: 'nova_tickets-v2',
          _id: expect.any(String),
          version: 1,
          version_type: 'external_gte',
        },
      },
      expect.objectContaining({ version: 1 }),
      expect.objectContaining({ index: expect.objectContaining({ _index: 'nova_tickets-v2' }) }),
      expect.objectContaining({ version: 1 }),
    ]);
    expect(writes.find((w) => w.path === '/_aliases')?.body).toEqual({
      actions: [
        { remove: { index: 'nova_tickets-v1', alias: 'nova_tickets' } },
        { add: { index: 'nova_tickets-v2', alias: 'nova_tickets', is_write_index: true } },
      ],
    });
    expect(await lockIsFree('nova_tickets')).toBe(true);

    // Bootstrap finds the new index built from the current mappings: nothing to do or report.
    const again = await bootstrapElastic(config, { dryRun: true, client: cluster.client() });
    expect(again).toMatchObject({ steps: [], warnings: [] });
  });

  it('a second reindex goes to the next version and deletes the previous one', async () => {
    await ticket('Second run');
    const cluster = await bootstrapped();
    await reindex('tickets', deps(cluster));
    const second = await reindex('tickets', deps(cluster));
    expect(second).toMatchObject({ from: ['nova_tickets-v2'], to: 'nova_tickets-v3' });
    expect(searchIndices(cluster, 'nova_tickets')).toEqual(['nova_tickets-v3']);
    expect(cluster.aliasOf('nova_tickets')).toEqual({
      'nova_tickets-v3': { is_write_index: true },
    });
    expect(docVersions(cluster, 'nova_tickets')).toEqual(await rowVersions('support_tickets'));
    expect(trail(cluster).filter((r) => r.startsWith('DELETE'))).toEqual([
      'DELETE /nova_tickets-v1',
      'DELETE /nova_tickets-v2',
    ]);
  });

  it('catches up with writes made during the copy: an update lands, a delete disappears', async () => {
    for (let i = 0; i < 4; i++) await ticket(`During copy ${i}`);
    const cluster = await bootstrapped();
    let writes: Promise<unknown> = Promise.resolve();
    let changed: { updated: string; version: number; deleted: string } | undefined;
    const pool = gated(t.db.postgres.pool, () => writes);

    const report = await reindex('tickets', deps(cluster, pool), {
      batchSize: 2,
      onProgress: () => {
        if (changed) return;
        // Both tickets of the first page are already in the new index.
        const copied = [...cluster.documents('nova_tickets-v2')];
        const [updated, deleted] = copied;
        if (!updated || !deleted) throw new Error('the first page should hold two tickets');
        changed = { updated: updated[0], version: updated[1].version, deleted: deleted[0] };
        const { updated: u, version, deleted: d } = changed;
        writes = (async () => {
          await t.db.postgres.updateTicket(
            u,
            { title: 'Changed during the copy' },
            { expectedVersion: version },
          );
          await t.db.postgres.deleteTicket(d);
        })();
      },
    });
    await writes;
    if (!changed) throw new Error('onProgress was never called');

    const docs = cluster.documents('nova_tickets');
    expect(docs.get(changed.updated)).toMatchObject({
      version: changed.version + 1,
      source: { title: 'Changed during the copy', version: changed.version + 1 },
    });
    expect(docs.has(changed.deleted)).toBe(false);
    expect(docVersions(cluster, 'nova_tickets-v2')).toEqual(await rowVersions('support_tickets'));
    expect(report.caughtUp.deleted).toBeGreaterThanOrEqual(1);
    expect(report.caughtUp.indexed).toBe(Object.keys(await rowVersions('support_tickets')).length);
    // The catch-up went to the new index, after the swap.
    const bulks = cluster.requests.filter((r) => r.path === '/_bulk');
    expect(JSON.stringify(bulks.at(-1)?.body)).toContain(
      JSON.stringify({ delete: { _index: 'nova_tickets-v2', _id: changed.deleted } }),
    );
    const order = trail(cluster);
    expect(order.lastIndexOf('POST /_bulk')).toBeGreaterThan(order.indexOf('POST /_aliases'));
  });

  it('refuses to build from an outdated or missing index template, before creating anything', async () => {
    const cluster = await bootstrapped();
    const template = cluster.templates.get('nova_tickets') as { template: object };
    template.template = { ...template.template, mappings: { _meta: { mapping_hash: 'stale' } } };
    const outdated = await failure(reindex('tickets', deps(cluster)));
    expect(outdated.code).toBe('BOOTSTRAP_FAILED');
    expect(outdated.message).toBe(
      'index template nova_tickets is out of date: run `nova bootstrap elastic` first',
    );

    cluster.templates.delete('nova_kb');
    const missing = await failure(reindex('kb', deps(cluster)));
    expect(missing.code).toBe('BOOTSTRAP_FAILED');
    expect(missing.message).toContain('index template nova_kb is missing');
    expect(missing.message).toContain('nova bootstrap elastic');

    expect(cluster.writes()).toEqual([]);
    expect(searchIndices(cluster, 'nova_tickets')).toEqual(['nova_tickets-v1']);
  });

  it('a document the cluster refuses fails the reindex: the new index is deleted, the alias stays', async () => {
    for (let i = 0; i < 3; i++) await ticket(`Refused ${i}`);
    const cluster = await bootstrapped();
    const [last] = await t.sql<{ id: string }>(
      'SELECT id::text AS id FROM support_tickets ORDER BY id DESC LIMIT 1',
    );
    const victim = last?.id as string;
    cluster.itemFailure = (_action, id) =>
      id === victim ? { status: 400, type: 'mapper_parsing_exception' } : undefined;

    const error = await failure(reindex('tickets', deps(cluster), { batchSize: 2 }));
    expect(error.code).toBe('BOOTSTRAP_FAILED');
    expect(error.message).toContain(
      `document ${victim} was refused by nova_tickets-v2: 400 mapper_parsing_exception`,
    );
    // Earlier pages had gone into v2; v2 is gone with them. No swap was attempted.
    expect(cluster.requests.filter((r) => r.path === '/_bulk').length).toBeGreaterThan(1);
    expect(trail(cluster).at(-1)).toBe('DELETE /nova_tickets-v2');
    expect(cluster.indices.has('nova_tickets-v2')).toBe(false);
    expect(cluster.documents('nova_tickets-v2').size).toBe(0);
    expect(cluster.requests.some((r) => r.path === '/_aliases')).toBe(false);
    expect(cluster.aliasOf('nova_tickets')).toEqual({
      'nova_tickets-v1': { is_write_index: true },
    });
    expect(await lockIsFree('nova_tickets')).toBe(true);

    // Once the cluster accepts the document, the same reindex goes through.
    cluster.itemFailure = () => undefined;
    const report = await reindex('tickets', deps(cluster));
    expect(report.to).toBe('nova_tickets-v2');
    expect(docVersions(cluster, 'nova_tickets')).toEqual(await rowVersions('support_tickets'));
  });

  it('deletes a versioned index a failed run left behind, and numbers past it', async () => {
    await ticket('Orphan');
    const cluster = await bootstrapped();
    cluster.indices.set('nova_tickets-v7', { aliases: {}, mappings: {} });
    const report = await reindex('tickets', deps(cluster));
    expect(report.to).toBe('nova_tickets-v8');
    expect(searchIndices(cluster, 'nova_tickets')).toEqual(['nova_tickets-v8']);
    expect(trail(cluster)[0]).toBe('DELETE /nova_tickets-v7');
  });

  it('keeps going when the swap answered an error but was applied, and stops when it was not', async () => {
    await ticket('Swap');
    const applied = await bootstrapped();
    // The cluster applies the swap, then the answer is lost (a timeout, say).
    applied.mock.clear({ method: 'POST', path: '/_aliases' });
    applied.mock.add({ method: 'POST', path: '/_aliases' }, () => {
      applied.indices.set('nova_tickets-v1', {
        ...(applied.indices.get('nova_tickets-v1') as { aliases: object; mappings: object }),
        aliases: {},
      } as never);
      applied.indices.set('nova_tickets-v2', {
        ...(applied.indices.get('nova_tickets-v2') as { aliases: object; mappings: object }),
        aliases: { nova_tickets: { is_write_index: true } },
      } as never);
      return new errors.ResponseError({
        body: { error: { type: 'timeout' }, status: 504 },
        statusCode: 504,
        headers: {},
        warnings: null,
        meta: {} as never,
      });
    });
    const report = await reindex('tickets', deps(applied));
    expect(report.to).toBe('nova_tickets-v2');
    expect(applied.aliasOf('nova_tickets')).toEqual({
      'nova_tickets-v2': { is_write_index: true },
    });
    expect(applied.requests.filter((r) => r.path === '/_aliases')).toHaveLength(0);

    const refused = await bootstrapped();
    refused.mock.clear({ method: 'POST', path: '/_aliases' });
    refused.mock.add(
      { method: 'POST', path: '/_aliases' },
      () =>
        new errors.ResponseError({
          body: { error: { type: 'timeout' }, status: 504 },
          statusCode: 504,
          headers: {},
          warnings: null,
          meta: {} as never,
        }),
    );
    const error = await failure(reindex('tickets', deps(refused)));
    expect(error).toMatchObject({ code: 'BOOTSTRAP_FAILED' });
    expect(error.message).toMatch(/swapping nova_tickets to nova_tickets-v2 failed/);
    expect(searchIndices(refused, 'nova_tickets')).toEqual(['nova_tickets-v1']);
    expect(refused.aliasOf('nova_tickets')).toEqual({
      'nova_tickets-v1': { is_write_index: true },
    });
  });

  it('sends an item the cluster rejects for load (429) again, and fails once retries run out', async () => {
    await ticket('Busy');
    const [row] = await t.sql<{ id: string }>(
      'SELECT id::text AS id FROM support_tickets ORDER BY id LIMIT 1',
    );
    const busy = row?.id as string;
    const cluster = await bootstrapped();
    let rejections = 0;
    cluster.itemFailure = (_action, id) =>
      id === busy && rejections++ === 0
        ? { status: 429, type: 'es_rejected_execution_exception' }
        : undefined;

    const report = await reindex('tickets', deps(cluster));
    expect(report.copied).toBe(report.rows);
    expect(docVersions(cluster, 'nova_tickets')).toEqual(await rowVersions('support_tickets'));
    const bulks = cluster.requests.filter((r) => r.path === '/_bulk');
    // The copy, the retry of the one rejected item, the catch-ups before and after the swap.
    expect(bulks).toHaveLength(4);
    expect(bulks[1]?.body).toEqual([
      expect.objectContaining({ index: expect.objectContaining({ _id: busy }) }),
      expect.objectContaining({ id: busy }),
    ]);

    const stubborn = await bootstrapped();
    stubborn.itemFailure = (_action, id) =>
      id === busy ? { status: 429, type: 'es_rejected_execution_exception' } : undefined;
    const error = await failure(reindex('tickets', deps(stubborn, t.db.postgres.pool, 0)));
    expect(error.code).toBe('BOOTSTRAP_FAILED');
    expect(error.message).toContain(`document ${busy} was refused by nova_tickets-v2: 429`);
    expect(stubborn.indices.has('nova_tickets-v2')).toBe(false);
  });

  it('a cluster outage during the copy fails the reindex and deletes the new index', async () => {
    for (let i = 0; i < 3; i++) await ticket(`Outage ${i}`);
    const cluster = await bootstrapped();
    const attempts = deps(cluster).config.maxRetries + 1;
    // After the first page: every attempt at the next _bulk answers 503.
    const run = reindex('tickets', deps(cluster), {
      batchSize: 2,
      onProgress: () => {
        cluster.failures ??= { status: 503, times: attempts };
      },
    });
    await expect(run).rejects.toMatchObject({
      code: 'BOOTSTRAP_FAILED',
      message: expect.stringMatching(
        /bulk into nova_tickets-v2 failed: 503 master_not_discovered_exception/,
      ),
    });
    expect(cluster.requests.filter((r) => r.path === '/_bulk')).toHaveLength(1 + attempts);
    expect(trail(cluster).at(-1)).toBe('DELETE /nova_tickets-v2');
    expect(searchIndices(cluster, 'nova_tickets')).toEqual(['nova_tickets-v1']);
    expect(cluster.aliasOf('nova_tickets')).toEqual({
      'nova_tickets-v1': { is_write_index: true },
    });
    expect(await lockIsFree('nova_tickets')).toBe(true);
  });

  it('a dry run writes nothing and names the next index and the row count', async () => {
    await ticket('Dry run');
    const cluster = await bootstrapped();
    const report = await reindex('tickets', deps(cluster), { dryRun: true });
    expect(cluster.writes()).toEqual([]);
    expect(report).toMatchObject({
      alias: 'nova_tickets',
      dryRun: true,
      from: ['nova_tickets-v1'],
      to: 'nova_tickets-v2',
      rows: await t.count('support_tickets'),
      copied: 0,
      caughtUp: { indexed: 0, deleted: 0 },
    });
    expect(report.rows).toBeGreaterThan(0);
  });

  it('moves a legacy concrete index named like the alias behind the alias, in one request', async () => {
    await ticket('Legacy');
    const cluster = await bootstrapped((c) => {
      c.indices.set('nova_tickets', { aliases: {}, mappings: {} });
      c.docs.set('nova_tickets/from-before', { version: 1, source: { title: 'old' } });
    });
    expect(searchIndices(cluster, 'nova_tickets')).toEqual(['nova_tickets']);

    const report = await reindex('tickets', deps(cluster));
    expect(report).toMatchObject({ from: ['nova_tickets'], to: 'nova_tickets-v1' });
    expect(cluster.requests.find((r) => r.path === '/_aliases')?.body).toEqual({
      actions: [
        { remove_index: { index: 'nova_tickets' } },
        { add: { index: 'nova_tickets-v1', alias: 'nova_tickets', is_write_index: true } },
      ],
    });
    expect(trail(cluster).filter((r) => r.startsWith('DELETE'))).toEqual([]);
    expect(searchIndices(cluster, 'nova_tickets')).toEqual(['nova_tickets-v1']);
    expect(cluster.aliasOf('nova_tickets')).toEqual({
      'nova_tickets-v1': { is_write_index: true },
    });
    expect(docVersions(cluster, 'nova_tickets')).toEqual(await rowVersions('support_tickets'));

    const again = await bootstrapElastic(config, { dryRun: true, client: cluster.client() });
    expect(again).toMatchObject({ steps: [], warnings: [] });
  });

  it('one reindex per alias: a held lock refuses a second one with ALREADY_EXISTS', async () => {
    await ticket('Locked');
    const cluster = await bootstrapped();
    const key = 'nova:reindex:nova_tickets';
    await other.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    try {
      const error = await failure(reindex('tickets', deps(cluster)));
      expect(error.code).toBe('ALREADY_EXISTS');
      expect(error.message).toBe('a reindex of nova_tickets is already running');
      expect(cluster.writes()).toEqual([]);
      // Another alias is not held up.
      expect((await reindex('kb', deps(cluster))).to).toBe('nova_kb-v2');
    } finally {
      await other.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
    }
    expect((await reindex('tickets', deps(cluster))).to).toBe('nova_tickets-v2');
  });

  it('reindexes the knowledge base: every article, suggestions only for published ones', async () => {
    const stamp = Date.now().toString(36);
    const article = (slug: string, status: 'draft' | 'published' | 'archived') =>
      t.db.postgres.createArticle({
        slug: `${slug}-${stamp}`,
        title: `Article ${slug}`,
        content: 'Body.',
        category: 'documentation',
        status,
        visibility: 'public',
        authorId,
      });
    const draft = await article('draft', 'draft');
    const published = await article('published', 'published');
    const archived = await article('archived', 'archived');
    const cluster = await bootstrapped();

    const target: ReindexTarget = 'kb';
    const report = await reindex(target, deps(cluster), { batchSize: 2 });
    const expected = await rowVersions('knowledge_base_articles');
    expect(report).toMatchObject({
      alias: 'nova_kb',
      from: ['nova_kb-v1'],
      to: 'nova_kb-v2',
      copied: Object.keys(expected).length,
    });
    expect(docVersions(cluster, 'nova_kb-v2')).toEqual(expected);
    expect(cluster.aliasOf('nova_kb')).toEqual({ 'nova_kb-v2': { is_write_index: true } });
    expect(cluster.indices.get('nova_kb-v2')?.mappings).toMatchObject({
      _meta: { mapping_hash: mappingHash(KB_MAPPINGS) },
    });
    const docs = cluster.documents('nova_kb');
    expect(docs.get(published.id)?.source).toMatchObject({
      slug: published.slug,
      status: 'published',
      suggest: { input: [published.title] },
    });
    for (const unpublished of [draft, archived]) {
      expect(docs.get(unpublished.id)?.source).toMatchObject({ slug: unpublished.slug });
      expect(docs.get(unpublished.id)?.source).not.toHaveProperty('suggest');
    }
    // The tickets alias was left alone.
    expect(searchIndices(cluster, 'nova_tickets')).toEqual(['nova_tickets-v1']);
  });

  it('splits a page of large articles into bulk requests of at most about 10 MB', async () => {
    const stamp = Date.now().toString(36);
    const body = 'Long article text. '.repeat(10_000); // ~190 kB
    for (let i = 0; i < 60; i++) {
      await t.db.postgres.createArticle({
        slug: `large-${i}-${stamp}`,
        title: `Large ${i}`,
        content: body,
        category: 'documentation',
        authorId,
      });
    }
    const cluster = await bootstrapped();
    const report = await reindex('kb', deps(cluster)); // one page of 500 rows
    const copies = cluster.requests.filter(
      (r) => r.path === '/_bulk' && JSON.stringify(r.body).includes('"nova_kb-v2"'),
    );
    const sizes = copies.map((r) => JSON.stringify(r.body).length);
    expect(report.copied).toBe(await t.count('knowledge_base_articles'));
    expect(sizes.filter((n) => n > 1_000_000).length).toBeGreaterThanOrEqual(2);
    for (const size of sizes) expect(size).toBeLessThan(11 * 1024 * 1024);
  });
});

/** A fake provider of the configured dimensions. */
const fakeProvider = (options: FakeEmbeddingsOptions = {}) =>
  new FakeEmbeddings({ dims: elastic.embeddingDims, ...options });
const vectorOf = (text: string) => FakeEmbeddings.vector(text, elastic.embeddingDims);

type BulkHeader = Partial<
  Record<'index' | 'delete', { _index: string; _id: string; version?: number }>
>;

/** The operation lines of these requests' _bulk bodies, in order (documents left out). */
function bulkHeaders(requests: FakeCluster['requests']): BulkHeader[] {
  const headers: BulkHeader[] = [];
  for (const request of requests.filter((r) => r.path === '/_bulk')) {
    const lines = request.body as object[];
    for (let i = 0; i < lines.length; i++) {
      const header = lines[i] as BulkHeader;
      headers.push(header);
      if (header.index) i++; // its document
    }
  }
  return headers;
}

/** `kb_article:<id>` -> version of every published article, as nova_ai_context should hold. */
async function publishedVersions() {
  const rows = await t.sql<{ id: string; version: number }>(
    "SELECT id::text AS id, version FROM knowledge_base_articles WHERE status = 'published'",
  );
  return Object.fromEntries(rows.map((r) => [`kb_article:${r.id}`, r.version]));
}

describe('nova reindex ai_context', () => {
  const stamp = Date.now().toString(36);
  const article = (slug: string, status: 'draft' | 'published' | 'archived') =>
    t.db.postgres.createArticle({
      slug: `ctx-${slug}-${stamp}`,
      title: `Context ${slug}`,
      summary: `Why ${slug} matters`,
      content: `All about ${slug}.`,
      category: 'network',
      tags: ['vpn'],
      status,
      visibility: 'internal',
      authorId,
    });

  it('refuses to run without an embedding provider, before creating anything', async () => {
    await article('no-provider', 'published');
    const cluster = await bootstrapped();
    const error = await failure(reindex('ai_context', deps(cluster)));
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'EMBEDDING_URL' });
    expect(error.message).toContain('EMBEDDING_URL');
    expect(cluster.writes()).toEqual([]);
    expect(cluster.requests.some((r) => r.method === 'PUT')).toBe(false);
    expect(searchIndices(cluster, 'nova_ai_context')).toEqual(['nova_ai_context-v1']);
    expect(await lockIsFree('nova_ai_context')).toBe(true);
  });

  it('rebuilds nova_ai_context from published articles only, with fresh embeddings, and swaps the alias', async () => {
    const published = await article('published', 'published');
    const draft = await article('draft', 'draft');
    const archived = await article('archived', 'archived');
    const cluster = await bootstrapped();
    // What the indexer had written before: stale documents the rebuild must not carry over.
    cluster.docs.set('nova_ai_context-v1/kb_article:old', { version: 1, source: { title: 'old' } });
    const provider = fakeProvider();

    const report = await reindex(
      'ai_context',
      { ...deps(cluster), embeddings: provider },
      { batchSize: 2 },
    );

    expect(report).toMatchObject({
      alias: 'nova_ai_context',
      from: ['nova_ai_context-v1'],
      to: 'nova_ai_context-v2',
      rows: await t.count('knowledge_base_articles'),
    });
    const expected = await publishedVersions();
    expect(Object.keys(expected)).toContain(`kb_article:${published.id}`);
    expect(docVersions(cluster, 'nova_ai_context-v2')).toEqual(expected);
    expect(docVersions(cluster, 'nova_ai_context')).toEqual(expected);
    for (const unpublished of [draft, archived]) {
      expect(cluster.documents('nova_ai_context').has(`kb_article:${unpublished.id}`)).toBe(false);
    }
    const doc = cluster.documents('nova_ai_context-v2').get(`kb_article:${published.id}`);
    const text = `Context published\n\nWhy published matters\n\nAll about published.`;
    expect(doc?.source).toMatchObject({
      id: `kb_article:${published.id}`,
      source_type: 'kb_article',
      source_id: published.id,
      title: 'Context published',
      content: text,
      visibility: 'internal',
      category: 'network',
      tags: ['vpn'],
    });
    expect(doc?.source?.embedding).toEqual(vectorOf(text));
    expect(doc?.source?.embedding).toHaveLength(elastic.embeddingDims);

    // Every published article was embedded (the catch-ups embed again what was written lately).
    const embedded = new Set(provider.calls.flat());
    const rows = await t.db.postgres.pool.query(
      `SELECT id::text, slug, title, summary, content, category, tags, status::text,
              visibility::text, author_id::text, published_at, created_at, updated_at, version
         FROM knowledge_base_articles`,
    );
    for (const row of rows.rows) {
      expect(embedded.has(contextText(row))).toBe(row.status === 'published');
    }

    expect(cluster.aliasOf('nova_ai_context')).toEqual({
      'nova_ai_context-v2': { is_write_index: true },
    });
    expect(searchIndices(cluster, 'nova_ai_context')).toEqual(['nova_ai_context-v2']);
    expect(cluster.indices.get('nova_ai_context-v2')?.mappings).toMatchObject({
      _meta: { mapping_hash: mappingHash(aiContextMappings(elastic.embeddingDims)) },
    });
    expect(cluster.documents('nova_ai_context').has('kb_article:old')).toBe(false);
    // nova_kb was left alone.
    expect(searchIndices(cluster, 'nova_kb')).toEqual(['nova_kb-v1']);
    expect(await lockIsFree('nova_ai_context')).toBe(true);
  });

  it('the copy sends no deletes into the new, empty index: only published articles go in', async () => {
    const published = await article('copy-published', 'published');
    const draft = await article('copy-draft', 'draft');
    const archived = await article('copy-archived', 'archived');
    const cluster = await bootstrapped();
    let copyEnd = 0;

    const report = await reindex(
      'ai_context',
      { ...deps(cluster), embeddings: fakeProvider() },
      {
        batchSize: 2,
        // Called after each page is written: the last call marks the end of the copy.
        onProgress: () => {
          copyEnd = cluster.requests.length;
        },
      },
    );

    const expected = await publishedVersions();
    expect(report.rows).toBeGreaterThan(Object.keys(expected).length); // unpublished ones too
    const copy = bulkHeaders(cluster.requests.slice(0, copyEnd));
    expect(copy.length).toBeGreaterThan(0);
    expect(copy.filter((op) => 'delete' in op)).toEqual([]);
    expect(copy.map((op) => op.index?._index)).toEqual(copy.map(() => 'nova_ai_context-v2'));
    expect(copy.map((op) => op.index?._id).sort()).toEqual(Object.keys(expected).sort());
    expect(copy.map((op) => op.index?._id)).toContain(`kb_article:${published.id}`);
    // The catch-up still deletes what was unpublished lately: it writes over what is there.
    const catchUp = bulkHeaders(cluster.requests.slice(copyEnd));
    for (const unpublished of [draft, archived]) {
      expect(catchUp).toContainEqual({
        delete: expect.objectContaining({ _id: `kb_article:${unpublished.id}` }),
      });
    }
    expect(docVersions(cluster, 'nova_ai_context')).toEqual(expected);
  });

  it('an article changed while its page was embedded is not copied from the stale read; the catch-up writes it as it is now', async () => {
    const racing = await article('racing', 'published');
    const staleText = 'Context racing\n\nWhy racing matters\n\nAll about racing.';
    const cluster = await bootstrapped();
    let changedIn: 'copy' | 'catch-up' | undefined;
    let copyEnd: number | undefined;
    const provider = fakeProvider({
      onEmbed: async (texts) => {
        if (changedIn || !texts.includes(staleText)) return;
        changedIn = copyEnd === undefined ? 'copy' : 'catch-up';
        await t.db.postgres.updateArticle(
          racing.id,
          { title: 'Context racing, revised' },
          { expectedVersion: 1 },
        );
      },
    });
    const rows = await t.count('knowledge_base_articles');

    await reindex(
      'ai_context',
      { ...deps(cluster), embeddings: provider },
      {
        batchSize: 2,
        onProgress: (copied) => {
          if (copied === rows) copyEnd = cluster.requests.length;
        },
      },
    );

    expect(changedIn).toBe('copy');
    const id = `kb_article:${racing.id}`;
    const copy = bulkHeaders(cluster.requests.slice(0, copyEnd));
    const catchUp = bulkHeaders(cluster.requests.slice(copyEnd));
    // The page went in without it (its other articles did), version 1 was never sent.
    expect(copy.length).toBeGreaterThan(0);
    expect(copy.map((op) => op.index?._id)).not.toContain(id);
    const sent = catchUp.filter((op) => op.index?._id === id).map((op) => op.index?.version);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set([2]));
    const doc = cluster.documents('nova_ai_context').get(id);
    const text = 'Context racing, revised\n\nWhy racing matters\n\nAll about racing.';
    expect(doc).toMatchObject({ version: 2, source: { title: 'Context racing, revised' } });
    expect(doc?.source?.embedding).toEqual(vectorOf(text));
    expect(docVersions(cluster, 'nova_ai_context')).toEqual(await publishedVersions());
  });

  it('an embedding failure during the copy fails the reindex and deletes the new index', async () => {
    await article('failing', 'published');
    const cluster = await bootstrapped();
    const provider = fakeProvider();
    // As the real provider fails: an UNAVAILABLE NovaError, reported as this reindex failing.
    provider.fail = new NovaError('UNAVAILABLE', 'embedding service unavailable');

    const error = await failure(reindex('ai_context', { ...deps(cluster), embeddings: provider }));
    expect(error.code).toBe('BOOTSTRAP_FAILED');
    expect(error.message).toContain('embedding articles failed: embedding service unavailable');
    expect(provider.calls.length).toBeGreaterThan(0);
    expect(trail(cluster)[0]).toBe('PUT /nova_ai_context-v2');
    expect(trail(cluster).at(-1)).toBe('DELETE /nova_ai_context-v2');
    expect(cluster.indices.has('nova_ai_context-v2')).toBe(false);
    expect(cluster.requests.some((r) => r.path === '/_aliases')).toBe(false);
    expect(searchIndices(cluster, 'nova_ai_context')).toEqual(['nova_ai_context-v1']);
    expect(cluster.aliasOf('nova_ai_context')).toEqual({
      'nova_ai_context-v1': { is_write_index: true },
    });
    expect(await lockIsFree('nova_ai_context')).toBe(true);

    // Once the provider answers, the same reindex goes through.
    provider.fail = undefined;
    const report = await reindex('ai_context', { ...deps(cluster), embeddings: provider });
    expect(report.to).toBe('nova_ai_context-v2');
    expect(docVersions(cluster, 'nova_ai_context')).toEqual(await publishedVersions());
  });
});
