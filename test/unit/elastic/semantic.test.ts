/**
 * Semantic and hybrid knowledge-base search: SearchService on Elastic's client mock with a
 * fake embedding provider. What reaches the wire (kNN on nova_ai_context, the lexical search
 * on nova_kb, the filters on both), how the answers are fused, and what is refused before
 * anything is sent.
 */
import { Client, errors } from '@elastic/elasticsearch';
import MockModule, { type MockPattern } from '@elastic/elasticsearch-mock';
import { describe, expect, it } from 'vitest';
import { RRF_K } from '../../../src/lib/db/elastic/rank-fusion.js';
import {
  type ArticleHit,
  type ContextHit,
  type SearchRecord,
  SearchService,
} from '../../../src/lib/db/elastic/search.js';
import { ANONYMOUS, STAFF_KB, type Viewer } from '../../../src/lib/db/elastic/viewer.js';
import type { EmbeddingProvider } from '../../../src/lib/embeddings.js';
import { NovaError } from '../../../src/lib/errors.js';
import { novaFailure as failure } from '../../support/nova-error.js';

// A CommonJS module whose typings declare a default export: at run time the import is the
// class itself.
const Mock = MockModule as unknown as typeof MockModule.default;

type Body = Record<string, unknown>;
type Answer = Body | errors.ResponseError;

const staff: Viewer = { userId: crypto.randomUUID(), permissions: [STAFF_KB] };
const customer: Viewer = { userId: crypto.randomUUID(), permissions: ['tickets:search'] };

const VECTOR = [0.25, -0.5, 0.125];

/** An embedding provider that records what it was asked to embed. */
function fakeProvider(fail?: Error) {
  const inputs: string[][] = [];
  const provider: EmbeddingProvider = {
    model: 'fake-model',
    dims: VECTOR.length,
    embed: async (texts) => {
      inputs.push([...texts]);
      if (fail) throw fail;
      return texts.map(() => [...VECTOR]);
    },
  };
  return { provider, inputs };
}

const article = (id: string): ArticleHit => ({
  id,
  slug: `slug-${id}`,
  title: `Article ${id}`,
  summary: `Summary of ${id}`,
  category: 'network',
  tags: ['vpn'],
  status: 'published',
  visibility: 'public',
  author_id: 'author-1',
  published_at: '2024-02-01T00:00:00.000Z',
  created_at: '2024-01-01T00:00:00.000Z',
  updated_at: '2024-02-01T00:00:00.000Z',
  version: 1,
});

const context = (id: string): ContextHit => ({
  id: `kb_article:${id}`,
  source_type: 'kb_article',
  source_id: id,
  title: `Context title of ${id}`,
  visibility: id.endsWith('i') ? 'internal' : 'public',
  category: 'howto',
  tags: ['context', id],
  updated_at: '2024-03-01T00:00:00.000Z',
});

const lexicalHit = (id: string, score: number, highlight?: Record<string, string[]>) => ({
  _index: 'nova_kb-v1',
  _id: id,
  _score: score,
  _source: article(id),
  ...(highlight ? { highlight } : {}),
  sort: [score, '2024-02-01T00:00:00.000Z', id],
});

const contextHit = (id: string, score: number) => ({
  _index: 'nova_ai_context-v1',
  _id: `kb_article:${id}`,
  _score: score,
  _source: context(id),
});

const response = (hits: Body[], took = 5): Body => ({
  took,
  timed_out: false,
  _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
  hits: { total: { value: hits.length, relation: 'eq' }, max_score: null, hits },
});

interface Sent {
  path: string;
  body: Body;
}

/**
 * A client on the mock: _search on nova_kb gets `answers.kb`, on nova_ai_context gets
 * `answers.context`; every request is recorded.
 */
function setup(
  answers: { kb?: Answer; context?: Answer },
  options: { provider?: EmbeddingProvider | null; record?: (search: SearchRecord) => void } = {},
) {
  const mock = new Mock();
  const requests: Sent[] = [];
  mock.add({ method: ['GET', 'POST'], path: '/:index/_search' }, (params: MockPattern) => {
    const path = String(params.path);
    requests.push({ path, body: (params.body ?? {}) as Body });
    const answer = path.startsWith('/nova_ai_context/')
      ? answers.context
      : path.startsWith('/nova_kb/')
        ? answers.kb
        : undefined;
    if (!answer) throw new Error(`no scripted answer for ${path}`);
    return answer;
  });
  const client = new Client({
    node: 'http://localhost:9200',
    Connection: mock.getConnection(),
    maxRetries: 0,
  });
  const fake = fakeProvider();
  const provider = options.provider === null ? undefined : (options.provider ?? fake.provider);
  const service = new SearchService(client, { maxRetries: 0 }, options.record, provider);
  const sent = (index: 'nova_kb' | 'nova_ai_context') =>
    requests.filter((r) => r.path === `/${index}/_search`);
  return { service, requests, sent, embedded: fake.inputs };
}

const knnOf = (body: Body | undefined) =>
  (body?.knn ?? {}) as {
    field?: string;
    query_vector?: number[];
    k?: number;
    num_candidates?: number;
    filter?: Body[];
  };

/** The bool filter of the lexical request. */
const lexicalFilterOf = (body: Body | undefined) =>
  ((body?.query as { bool?: { filter?: Body[] } } | undefined)?.bool?.filter ?? []) as Body[];

const rrf = (...ranks: number[]) => ranks.reduce((sum, rank) => sum + 1 / (RRF_K + rank), 0);

describe('semanticKnowledgeBase', () => {
  it('sends one kNN request on nova_ai_context with the embedded query', async () => {
    const { service, requests, embedded } = setup({ context: response([]) });
    await service.semanticKnowledgeBase('  how do I reset the vpn  ', {
      viewer: ANONYMOUS,
      size: 7,
    });

    expect(embedded).toEqual([['how do I reset the vpn']]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.path).toBe('/nova_ai_context/_search');
    const body = requests[0]?.body;
    expect(body?.size).toBe(7);
    const knn = knnOf(body);
    expect(knn.field).toBe('embedding');
    expect(knn.query_vector).toEqual(VECTOR);
    expect(knn.k).toBe(7);
    expect(knn.num_candidates).toBeGreaterThanOrEqual(100);
    expect(knn.num_candidates).toBeGreaterThanOrEqual(knn.k ?? Number.POSITIVE_INFINITY);
    expect(body?.query).toBeUndefined();
    const excludes = (body?._source as { excludes?: string[] } | undefined)?.excludes;
    expect(excludes).toContain('embedding');
  });

  it('shows a non-staff viewer public articles only, and kb:read every visibility', async () => {
    for (const viewer of [ANONYMOUS, customer]) {
      const { service, requests } = setup({ context: response([]) });
      await service.semanticKnowledgeBase('vpn', { viewer });
      const filter = knnOf(requests[0]?.body).filter;
      expect(filter).toEqual(
        expect.arrayContaining([
          { term: { source_type: 'kb_article' } },
          { term: { visibility: 'public' } },
        ]),
      );
      expect(filter).toHaveLength(2);
    }

    const { service, requests } = setup({ context: response([]) });
    await service.semanticKnowledgeBase('vpn', { viewer: staff });
    const filter = knnOf(requests[0]?.body).filter;
    expect(filter).toEqual([{ term: { source_type: 'kb_article' } }]);
    expect(JSON.stringify(filter)).not.toContain('visibility');
  });

  it('uses 10 results by default', async () => {
    const { service, requests } = setup({ context: response([]) });
    await service.semanticKnowledgeBase('vpn', { viewer: ANONYMOUS });
    expect(requests[0]?.body.size).toBe(10);
    expect(knnOf(requests[0]?.body).k).toBe(10);
  });

  it('maps hits to articles by source_id, with the kNN score and semantic rank', async () => {
    const { service } = setup({
      context: response([contextHit('a7', 0.93), contextHit('a3i', 0.81)], 12),
    });
    const page = await service.semanticKnowledgeBase('vpn', { viewer: staff });
    expect(page.tookMs).toBe(12);
    expect(page.items).toEqual([
      {
        id: 'a7',
        score: 0.93,
        ranks: { lexical: null, semantic: 1 },
        title: 'Context title of a7',
        category: 'howto',
        tags: ['context', 'a7'],
        visibility: 'public',
        highlight: {},
      },
      {
        id: 'a3i',
        score: 0.81,
        ranks: { lexical: null, semantic: 2 },
        title: 'Context title of a3i',
        category: 'howto',
        tags: ['context', 'a3i'],
        visibility: 'internal',
        highlight: {},
      },
    ]);
  });

  it('records a semantic kb search', async () => {
    const records: SearchRecord[] = [];
    const { service } = setup(
      { context: response([contextHit('a1', 0.9), contextHit('a2', 0.8)], 9) },
      { record: (r) => records.push(r) },
    );
    await service.semanticKnowledgeBase(' vpn ', { viewer: customer, size: 5 });
    expect(records).toEqual([
      {
        scope: 'kb',
        mode: 'semantic',
        query: 'vpn',
        resultCount: 2,
        tookMs: 9,
        userId: customer.userId,
        filters: {},
        sort: 'relevance',
      },
    ]);
  });

  it('turns a missing index into UNAVAILABLE', async () => {
    const missing = new errors.ResponseError({
      body: { error: { type: 'index_not_found_exception', reason: 'no such index' }, status: 404 },
      statusCode: 404,
      headers: {},
      warnings: null,
      meta: {} as never,
    });
    const { service } = setup({ context: missing });
    const error = await failure(() => service.semanticKnowledgeBase('vpn', { viewer: staff }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('bootstrap');
  });

  it('sends nothing when the provider fails, and passes its error on', async () => {
    const broken = fakeProvider(new NovaError('UNAVAILABLE', 'embedding provider is down'));
    const { service, requests } = setup({ context: response([]) }, { provider: broken.provider });
    const error = await failure(() => service.semanticKnowledgeBase('vpn', { viewer: staff }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toBe('embedding provider is down');
    expect(broken.inputs).toEqual([['vpn']]);
    expect(requests).toHaveLength(0);
  });
});

describe('hybridKnowledgeBase', () => {
  // Lexical: a1, a2, a3. Semantic: a2, a4, a1.
  // RRF: a2 = 1/62 + 1/61, a1 = 1/61 + 1/63, a4 = 1/62, a3 = 1/63.
  const lexical = () =>
    response(
      [
        lexicalHit('a1', 9.5, { title: ['<mark>VPN</mark> reset'] }),
        lexicalHit('a2', 7.25, { summary: ['the <mark>vpn</mark> client'] }),
        lexicalHit('a3', 3),
      ],
      14,
    );
  const semantic = () =>
    response([contextHit('a2', 0.95), contextHit('a4', 0.9), contextHit('a1', 0.7)], 21);

  it('sends a lexical search on nova_kb and a kNN search on nova_ai_context', async () => {
    const { service, requests, sent, embedded } = setup({ kb: lexical(), context: semantic() });
    await service.hybridKnowledgeBase('reset vpn', {}, { viewer: ANONYMOUS, size: 4 });

    expect(embedded).toEqual([['reset vpn']]);
    expect(requests).toHaveLength(2);
    const [words] = sent('nova_kb');
    const [meaning] = sent('nova_ai_context');
    expect(JSON.stringify(words?.body.query)).toContain('"multi_match"');
    expect(JSON.stringify(words?.body.query)).toContain('"query":"reset vpn"');
    expect(words?.body.knn).toBeUndefined();
    const knn = knnOf(meaning?.body);
    expect(knn.field).toBe('embedding');
    expect(knn.query_vector).toEqual(VECTOR);
    expect(knn.num_candidates).toBeGreaterThanOrEqual(100);
    // Each side fetches more than the page, so fusion has candidates to choose from.
    expect(words?.body.size).toBeGreaterThanOrEqual(4);
    expect(knn.k).toBeGreaterThanOrEqual(4);
  });

  it('fuses both lists: agreement ranks first, ranks and scores are reported', async () => {
    const { service } = setup({ kb: lexical(), context: semantic() });
    const page = await service.hybridKnowledgeBase('vpn', {}, { viewer: ANONYMOUS, size: 10 });

    expect(page.items.map((i) => i.id)).toEqual(['a2', 'a1', 'a4', 'a3']);
    expect(page.items.map((i) => i.ranks)).toEqual([
      { lexical: 2, semantic: 1 },
      { lexical: 1, semantic: 3 },
      { lexical: null, semantic: 2 },
      { lexical: 3, semantic: null },
    ]);
    const scores = page.items.map((i) => i.score);
    expect(scores[0]).toBeCloseTo(rrf(2, 1), 12);
    expect(scores[1]).toBeCloseTo(rrf(1, 3), 12);
    expect(scores[2]).toBeCloseTo(rrf(2), 12);
    expect(scores[3]).toBeCloseTo(rrf(3), 12);
    expect(page.tookMs).toBe(21);
  });

  it('takes titles and highlights from the lexical hit, and from ai_context for semantic-only articles', async () => {
    const { service } = setup({ kb: lexical(), context: semantic() });
    const page = await service.hybridKnowledgeBase('vpn', {}, { viewer: ANONYMOUS });
    const byId = new Map(page.items.map((i) => [i.id, i]));

    expect(byId.get('a2')).toMatchObject({
      title: 'Article a2',
      category: 'network',
      tags: ['vpn'],
      visibility: 'public',
      highlight: { summary: ['the <mark>vpn</mark> client'] },
    });
    expect(byId.get('a1')?.highlight).toEqual({ title: ['<mark>VPN</mark> reset'] });
    expect(byId.get('a3')?.highlight).toEqual({});
    expect(byId.get('a4')).toEqual({
      id: 'a4',
      score: expect.any(Number),
      ranks: { lexical: null, semantic: 2 },
      title: 'Context title of a4',
      category: 'howto',
      tags: ['context', 'a4'],
      visibility: 'public',
      highlight: {},
    });
  });

  it('returns at most size items, the best fused ones', async () => {
    const { service } = setup({ kb: lexical(), context: semantic() });
    const page = await service.hybridKnowledgeBase('vpn', {}, { viewer: ANONYMOUS, size: 2 });
    expect(page.items.map((i) => i.id)).toEqual(['a2', 'a1']);
  });

  it('handles one side finding nothing', async () => {
    const { service } = setup({ kb: response([]), context: semantic() });
    const page = await service.hybridKnowledgeBase('vpn', {}, { viewer: ANONYMOUS });
    expect(page.items.map((i) => [i.id, i.ranks])).toEqual([
      ['a2', { lexical: null, semantic: 1 }],
      ['a4', { lexical: null, semantic: 2 }],
      ['a1', { lexical: null, semantic: 3 }],
    ]);
    expect(page.items[0]?.title).toBe('Context title of a2');
  });

  it('applies category and tags to both requests', async () => {
    const { service, sent } = setup({ kb: response([]), context: response([]) });
    await service.hybridKnowledgeBase(
      'vpn',
      { category: 'network', tags: ['VPN', 'remote'] },
      { viewer: ANONYMOUS },
    );
    const knnFilter = knnOf(sent('nova_ai_context')[0]?.body).filter;
    expect(knnFilter).toEqual(
      expect.arrayContaining([
        { term: { source_type: 'kb_article' } },
        { term: { visibility: 'public' } },
        { term: { category: 'network' } },
        { term: { tags: 'vpn' } },
        { term: { tags: 'remote' } },
      ]),
    );
    expect(knnFilter).toHaveLength(5);

    const lexicalFilter = lexicalFilterOf(sent('nova_kb')[0]?.body);
    const text = JSON.stringify(lexicalFilter);
    expect(text).toContain('"category"');
    expect(text).toContain('"network"');
    expect(lexicalFilter).toEqual(
      expect.arrayContaining([
        { term: { tags: 'vpn' } },
        { term: { tags: 'remote' } },
        { term: { visibility: 'public' } },
        { term: { status: 'published' } },
      ]),
    );
  });

  it('lets kb:read ask for internal articles on both sides, unfiltered otherwise', async () => {
    const internal = setup({ kb: response([]), context: response([]) });
    await internal.service.hybridKnowledgeBase(
      'vpn',
      { visibility: 'internal' },
      { viewer: staff },
    );
    expect(knnOf(internal.sent('nova_ai_context')[0]?.body).filter).toContainEqual({
      term: { visibility: 'internal' },
    });
    expect(lexicalFilterOf(internal.sent('nova_kb')[0]?.body)).toContainEqual({
      term: { visibility: 'internal' },
    });

    const all = setup({ kb: response([]), context: response([]) });
    await all.service.hybridKnowledgeBase('vpn', {}, { viewer: staff });
    expect(JSON.stringify(knnOf(all.sent('nova_ai_context')[0]?.body).filter)).not.toContain(
      'visibility',
    );
    expect(JSON.stringify(lexicalFilterOf(all.sent('nova_kb')[0]?.body))).not.toContain(
      'visibility',
    );
  });

  it('refuses internal articles to a non-staff viewer before embedding or searching', async () => {
    for (const viewer of [ANONYMOUS, customer]) {
      const { service, requests, embedded } = setup({ kb: lexical(), context: semantic() });
      const error = await failure(() =>
        service.hybridKnowledgeBase('vpn', { visibility: 'internal' }, { viewer }),
      );
      expect(error.code).toBe('FORBIDDEN');
      expect(error.field).toBe('filters.visibility');
      expect(embedded).toEqual([]);
      expect(requests).toHaveLength(0);
    }
  });

  it('records a hybrid kb search with its filters', async () => {
    const records: SearchRecord[] = [];
    const { service } = setup(
      { kb: lexical(), context: semantic() },
      { record: (r) => records.push(r) },
    );
    await service.hybridKnowledgeBase(
      'vpn',
      { category: 'network' },
      { viewer: customer, size: 3 },
    );
    expect(records).toEqual([
      {
        scope: 'kb',
        mode: 'hybrid',
        query: 'vpn',
        resultCount: 3,
        tookMs: 21,
        userId: customer.userId,
        filters: { category: 'network' },
        sort: 'relevance',
      },
    ]);
  });
});

describe('refused before any request', () => {
  it('needs an embedding provider: CONFIG_INVALID on EMBEDDING_URL', async () => {
    const { service, requests } = setup(
      { kb: response([]), context: response([]) },
      { provider: null },
    );
    for (const call of [
      () => service.semanticKnowledgeBase('vpn', { viewer: staff }),
      () => service.hybridKnowledgeBase('vpn', {}, { viewer: staff }),
    ]) {
      const error = await failure(call);
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.field).toBe('EMBEDDING_URL');
    }
    expect(requests).toHaveLength(0);
  });

  it.each([
    ['an empty query', '', { viewer: ANONYMOUS }, 'q'],
    ['a blank query', '   ', { viewer: ANONYMOUS }, 'q'],
    ['a query over 256 characters', 'x'.repeat(257), { viewer: ANONYMOUS }, 'q'],
    ['size 51', 'vpn', { viewer: ANONYMOUS, size: 51 }, 'options.size'],
    ['size 0', 'vpn', { viewer: ANONYMOUS, size: 0 }, 'options.size'],
    [
      'a viewer id that is not a UUID',
      'vpn',
      { viewer: { userId: 'bob', permissions: [] } },
      'options.viewer.userId',
    ],
  ] as const)('validates %s', async (_, q, options, field) => {
    const { service, requests, embedded } = setup({ kb: response([]), context: response([]) });
    for (const call of [
      () => service.semanticKnowledgeBase(q, options),
      () => service.hybridKnowledgeBase(q, {}, options),
    ]) {
      const error = await failure(call);
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.field).toBe(field);
    }
    expect(embedded).toEqual([]);
    expect(requests).toHaveLength(0);
  });
});
