/**
 * SearchService against Elastic's client mock: how answers become pages and suggestions,
 * which failures are retried, and what the caller and the search log see. The requests
 * themselves are search-query.test.ts's subject; here we check what reaches the wire.
 */
import { Client, errors } from '@elastic/elasticsearch';
import MockModule, { type MockPattern } from '@elastic/elasticsearch-mock';
import { describe, expect, it } from 'vitest';
import type { ElasticConfig } from '../../../src/config.js';
import {
  type SearchRecord,
  SearchService,
  searchError,
  type TicketHit,
} from '../../../src/lib/db/elastic/search.js';
import { encodeSearchCursor } from '../../../src/lib/db/elastic/search-query.js';
import { ANONYMOUS, type Viewer } from '../../../src/lib/db/elastic/viewer.js';
import type { NovaError } from '../../../src/lib/errors.js';
import { esError } from '../../support/elastic-cluster.js';
import { novaFailure as failure } from '../../support/nova-error.js';

// A CommonJS module whose typings declare a default export: at run time the import is the
// class itself.
const Mock = MockModule as unknown as typeof MockModule.default;

type Body = Record<string, unknown>;
type Answer = Body | errors.ResponseError | errors.TimeoutError;

const agent: Viewer = { userId: crypto.randomUUID(), permissions: ['tickets:read', 'kb:read'] };
const user: Viewer = { userId: crypto.randomUUID(), permissions: ['tickets:search'] };

const responseError = esError;

const ticket = (n: number): TicketHit => ({
  id: `t${n}`,
  key: `NOVA-${n}`,
  title: `VPN down ${n}`,
  description: 'The VPN drops every hour.',
  status: 'open',
  priority: 'high',
  priority_rank: 3,
  category: 'network',
  tags: ['vpn'],
  requester_id: user.userId ?? '',
  assignee_id: null,
  created_at: `2024-01-0${n}T00:00:00.000Z`,
  updated_at: `2024-01-0${n}T00:00:00.000Z`,
  resolved_at: null,
  version: n,
});

const hit = (n: number, score: number | null, highlight?: Record<string, string[]>) => ({
  _index: 'nova_tickets-v1',
  _id: `t${n}`,
  _score: score,
  _source: ticket(n),
  ...(highlight ? { highlight } : {}),
  sort: [score ?? 0, Date.UTC(2024, 0, n), `t${n}`],
});

const searchResponse = (
  hits: ReturnType<typeof hit>[],
  total: Body['total'] = { value: 42, relation: 'eq' },
  took = 7,
): Body => ({
  took,
  timed_out: false,
  _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
  hits: { total, max_score: hits[0]?._score ?? null, hits },
});

const twoHits = () =>
  searchResponse([
    hit(1, 2.5, { title: ['<mark>VPN</mark> down 1'] }),
    hit(2, 1.25, { description: ['The <mark>VPN</mark> drops'] }),
  ]);

/**
 * A client on the mock that answers every _search from a script (the last answer repeats)
 * and records what it received.
 */
function setup(
  answers: Answer[],
  config: Pick<ElasticConfig, 'maxRetries'> = { maxRetries: 0 },
  record?: (search: SearchRecord) => void,
) {
  const mock = new Mock();
  const requests: { method: string; path: string; body: Body }[] = [];
  const script = [...answers];
  mock.add({ method: ['GET', 'POST'], path: '/:index/_search' }, (params: MockPattern) => {
    requests.push({
      method: String(params.method),
      path: String(params.path),
      body: (params.body ?? {}) as Body,
    });
    const answer = script.length > 1 ? script.shift() : script[0];
    if (!answer) throw new Error('no scripted answer');
    return answer;
  });
  const client = new Client({
    node: 'http://localhost:9200',
    Connection: mock.getConnection(),
    maxRetries: 0,
  });
  return { requests, service: new SearchService(client, config, record) };
}

describe('search pages', () => {
  it('maps hits, scores, highlights, total and took', async () => {
    const { service, requests } = setup([twoHits()]);
    const page = await service.tickets('vpn', {}, { viewer: agent, size: 2 });
    expect(page.items).toEqual([
      {
        id: 't1',
        score: 2.5,
        document: ticket(1),
        highlight: { title: ['<mark>VPN</mark> down 1'] },
      },
      {
        id: 't2',
        score: 1.25,
        document: ticket(2),
        highlight: { description: ['The <mark>VPN</mark> drops'] },
      },
    ]);
    expect(page.total).toEqual({ value: 42, relation: 'eq' });
    expect(page.tookMs).toBe(7);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.path).toBe('/nova_tickets/_search');
    // The total is exact up to 10,000 only, and the search bounded in the cluster.
    expect(requests[0]?.body).toMatchObject({ size: 2, track_total_hits: 10_000, timeout: '5s' });
    expect(page.timedOut).toBe(false);
  });

  it('says when the cluster ran out of time, with the hits found by then', async () => {
    const { service } = setup([{ ...twoHits(), timed_out: true }]);
    const page = await service.tickets('vpn', {}, { viewer: agent });
    expect(page.timedOut).toBe(true);
    expect(page.items).toHaveLength(2);
  });

  it('has no highlight or score where Elasticsearch gives none', async () => {
    const { service } = setup([searchResponse([hit(3, null)], { value: 10001, relation: 'gte' })]);
    const page = await service.tickets('', {}, { viewer: agent });
    expect(page.items).toEqual([{ id: 't3', score: null, document: ticket(3), highlight: {} }]);
    expect(page.total).toEqual({ value: 10001, relation: 'gte' });
  });

  it('reads a plain-number total as exact', async () => {
    const { service } = setup([searchResponse([hit(1, 1)], 1)]);
    expect((await service.tickets('vpn', {}, { viewer: agent })).total).toEqual({
      value: 1,
      relation: 'eq',
    });
  });

  it('offers a cursor only for a full page, and the cursor continues after the last hit', async () => {
    const first = twoHits();
    const { service, requests } = setup([first, searchResponse([hit(3, 0.5)])]);
    const page = await service.tickets('vpn', { status: 'open' }, { viewer: agent, size: 2 });
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(page.nextCursor).toBe(
      encodeSearchCursor('tickets', 'relevance', [1.25, Date.UTC(2024, 0, 2), 't2']),
    );

    const next = await service.tickets(
      'vpn',
      { status: 'open' },
      { viewer: agent, size: 2, cursor: page.nextCursor ?? undefined },
    );
    expect(requests[1]?.body.search_after).toEqual([1.25, Date.UTC(2024, 0, 2), 't2']);
    expect(requests[1]?.body.from).toBeUndefined();
    expect(requests[0]?.body.search_after).toBeUndefined();
    // One hit on a page of two: the last page.
    expect(next.items.map((i) => i.id)).toEqual(['t3']);
    expect(next.nextCursor).toBeNull();
  });

  it('has no cursor when fewer hits than the page size come back', async () => {
    const { service } = setup([twoHits(), searchResponse([])]);
    expect((await service.tickets('vpn', {}, { viewer: agent, size: 3 })).nextCursor).toBeNull();
    const empty = await service.tickets('vpn', {}, { viewer: agent });
    expect(empty.items).toEqual([]);
    expect(empty.nextCursor).toBeNull();
  });

  it('searches the knowledge base on its own alias, with its visibility filters', async () => {
    const { service, requests } = setup([searchResponse([])]);
    await service.knowledgeBase('vpn', {}, { viewer: ANONYMOUS });
    expect(requests[0]?.path).toBe('/nova_kb/_search');
    expect(JSON.stringify(requests[0]?.body)).toContain('"visibility":"public"');
    expect(requests[0]?.body._source).toEqual({ excludes: ['suggest', 'content'] });
  });

  it('sends the viewer’s visibility filter to the cluster', async () => {
    const { service, requests } = setup([searchResponse([])]);
    await service.tickets('vpn', {}, { viewer: user });
    await service.tickets('vpn', {}, { viewer: agent });
    const [own, all] = requests.map((r) => r.body.query as { bool: { filter: unknown[] } });
    expect(own?.bool.filter).toEqual([{ term: { requester_id: user.userId } }]);
    expect(all?.bool.filter).toEqual([]);
  });
});

describe('failures', () => {
  it('retries a 429 and a 503, then answers', async () => {
    for (const status of [429, 503]) {
      const { service, requests } = setup(
        [responseError(status, 'es_rejected_execution_exception'), twoHits()],
        { maxRetries: 2 },
      );
      const page = await service.tickets('vpn', {}, { viewer: agent });
      expect(page.items).toHaveLength(2);
      expect(requests).toHaveLength(2);
    }
  });

  it('does not retry a search the client gave up on: another would be as slow', async () => {
    const { service, requests } = setup([new errors.TimeoutError('Request timed out'), twoHits()], {
      maxRetries: 2,
    });
    const error = await failure(() => service.tickets('vpn', {}, { viewer: agent }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(requests).toHaveLength(1);
  });

  it('gives up after maxRetries with UNAVAILABLE', async () => {
    const { service, requests } = setup([responseError(503, 'master_not_discovered_exception')], {
      maxRetries: 2,
    });
    const error = await failure(() => service.tickets('vpn', {}, { viewer: agent }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('503 master_not_discovered_exception');
    expect(error.message).toContain('tickets search failed');
    expect(error.cause).toBeInstanceOf(errors.ResponseError);
    expect(requests).toHaveLength(3);
  });

  it('says to run bootstrap when the index is missing, without retrying', async () => {
    const { service, requests } = setup(
      [responseError(404, 'index_not_found_exception', 'no such index [nova_kb]')],
      { maxRetries: 2 },
    );
    const error = await failure(() => service.knowledgeBase('vpn', {}, { viewer: ANONYMOUS }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('nova bootstrap elastic');
    expect(error.message).toContain('index_not_found_exception');
    expect(requests).toHaveLength(1);
  });

  it('reports a refused request (400) as our bug, without retrying', async () => {
    const { service, requests } = setup(
      [responseError(400, 'search_phase_execution_exception', 'all shards failed')],
      { maxRetries: 2 },
    );
    const error = await failure(() => service.tickets('vpn', {}, { viewer: agent }));
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('search_phase_execution_exception: all shards failed');
    expect(requests).toHaveLength(1);
  });

  it('maps other errors to UNAVAILABLE', () => {
    expect(searchError('tickets', responseError(500, 'exception')).code).toBe('UNAVAILABLE');
    const refused = searchError('kb', new errors.ConnectionError('connect ECONNREFUSED'));
    expect(refused.code).toBe('UNAVAILABLE');
    expect(refused.message).toContain('ECONNREFUSED');
  });

  it('rejects bad input before sending anything', async () => {
    const { service, requests } = setup([twoHits()]);
    const bad: [() => Promise<unknown>, NovaError['code'], string][] = [
      [() => service.tickets('x'.repeat(257), {}, { viewer: agent }), 'VALIDATION_FAILED', 'q'],
      [
        () => service.tickets('vpn', { status: 'nope' as 'open' }, { viewer: agent }),
        'VALIDATION_FAILED',
        'filters.status',
      ],
      [
        () => service.tickets('vpn', {}, { viewer: agent, size: 101 }),
        'VALIDATION_FAILED',
        'options.size',
      ],
      [() => service.tickets('vpn', {}, { viewer: ANONYMOUS }), 'FORBIDDEN', 'viewer'],
      [
        () => service.knowledgeBase('vpn', { visibility: 'internal' }, { viewer: user }),
        'FORBIDDEN',
        'filters.visibility',
      ],
      [
        () => service.suggest({ prefix: '', scope: 'kb', viewer: ANONYMOUS }),
        'VALIDATION_FAILED',
        'prefix',
      ],
      [
        () => service.suggest({ prefix: 'vp', scope: 'tickets', viewer: ANONYMOUS }),
        'FORBIDDEN',
        'viewer',
      ],
    ];
    for (const [call, code, field] of bad) {
      const error = await failure(call);
      expect({ code: error.code, field: error.field }).toEqual({ code, field });
    }
    expect(requests).toEqual([]);
  });
});

describe('the search record', () => {
  it('reports scope, query, result count, time, user, filters and sort', async () => {
    const records: SearchRecord[] = [];
    const { service } = setup(
      [twoHits(), searchResponse([], { value: 0, relation: 'eq' }, 3)],
      {
        maxRetries: 0,
      },
      (s) => records.push(s),
    );
    await service.tickets(
      '  VPN down ',
      { status: 'open', tags: ['VPN', 'vpn'] },
      { viewer: user },
    );
    await service.knowledgeBase('', { category: 'howto' }, { viewer: ANONYMOUS });
    expect(records).toEqual([
      {
        scope: 'tickets',
        query: 'VPN down',
        resultCount: 42,
        tookMs: 7,
        userId: user.userId,
        filters: { status: 'open', tags: ['vpn'] },
        sort: 'relevance',
        mode: 'lexical',
      },
      {
        scope: 'kb',
        query: '',
        resultCount: 0,
        tookMs: 3,
        userId: null,
        filters: { category: 'howto' },
        sort: 'newest',
        mode: 'lexical',
      },
    ]);
  });

  it('records nothing for a failed search', async () => {
    const records: SearchRecord[] = [];
    const { service } = setup([responseError(400, 'parsing_exception')], { maxRetries: 0 }, (s) =>
      records.push(s),
    );
    await failure(() => service.tickets('vpn', {}, { viewer: agent }));
    expect(records).toEqual([]);
  });
});

describe('suggest', () => {
  const suggestResponse = (options: Body[]): Body => ({
    took: 2,
    timed_out: false,
    _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
    hits: { total: { value: 0, relation: 'eq' }, max_score: null, hits: [] },
    suggest: { titles: [{ text: 'vp', offset: 0, length: 2, options }] },
  });
  const option = (text: string, id: string, source: Body) => ({
    text,
    _index: 'nova_tickets-v1',
    _id: id,
    _score: 1,
    _source: source,
    contexts: { audience: ['staff'] },
  });

  it('turns completion options into suggestions linking to the key or slug', async () => {
    const { service, requests } = setup([
      suggestResponse([
        option('VPN down', 't1', { id: 't1', title: 'VPN down', key: 'NOVA-1' }),
        option('VPN setup', 'a1', { id: 'a1', title: 'VPN setup', slug: 'vpn-setup' }),
        option('VPN other', 'x1', { id: 'x1', title: 'VPN other' }),
      ]),
    ]);
    expect(await service.suggest({ prefix: 'vp', scope: 'tickets', viewer: agent })).toEqual([
      { text: 'VPN down', id: 't1', ref: 'NOVA-1' },
      { text: 'VPN setup', id: 'a1', ref: 'vpn-setup' },
      { text: 'VPN other', id: 'x1', ref: null },
    ]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.path).toBe('/nova_tickets/_search');
    expect(requests[0]?.body.suggest).toMatchObject({
      titles: { prefix: 'vp', completion: { contexts: { audience: ['staff'] } } },
    });
  });

  it('asks only for the viewer’s audience, and returns nothing when nothing matches', async () => {
    const { service, requests } = setup([suggestResponse([])]);
    expect(await service.suggest({ prefix: 'vp', scope: 'tickets', viewer: user })).toEqual([]);
    expect(await service.suggest({ prefix: 'vp', scope: 'kb', viewer: ANONYMOUS })).toEqual([]);
    const audiences = requests.map(
      (r) =>
        (r.body.suggest as { titles: { completion: { contexts: { audience: string[] } } } }).titles
          .completion.contexts.audience,
    );
    expect(audiences).toEqual([[`requester:${user.userId}`], ['public']]);
    expect(requests[1]?.path).toBe('/nova_kb/_search');
  });

  it('retries a 429 and fails UNAVAILABLE on a missing index', async () => {
    const retried = setup(
      [responseError(429, 'es_rejected_execution_exception'), suggestResponse([])],
      {
        maxRetries: 1,
      },
    );
    expect(await retried.service.suggest({ prefix: 'vp', scope: 'kb', viewer: ANONYMOUS })).toEqual(
      [],
    );
    expect(retried.requests).toHaveLength(2);
    const missing = setup([responseError(404, 'index_not_found_exception')]);
    const error = await failure(() =>
      missing.service.suggest({ prefix: 'vp', scope: 'kb', viewer: ANONYMOUS }),
    );
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('nova bootstrap elastic');
    expect(error.message).toMatch(/^suggest search/);
  });
});

describe('the promise contract', () => {
  // Bad input must reject the promise, so `.catch()` on the call sees it like any failure.
  it('reports bad input as a rejected promise, not a synchronous throw', async () => {
    const { service } = setup([twoHits()]);
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = service.tickets('x'.repeat(257), {}, { viewer: agent });
    }).not.toThrow();
    await expect(promise).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'q' });
  });
});
