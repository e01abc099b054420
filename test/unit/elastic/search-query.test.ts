/**
 * Search requests as pure data: what ticketSearch, articleSearch and suggestSearch build
 * from validated input, and what they refuse. No client, no cluster.
 */
import type { estypes } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { articleDocument, ticketDocument } from '../../../src/lib/db/elastic/documents.js';
import {
  articleSearch,
  type BuiltSearch,
  encodeSearchCursor,
  suggestSearch,
  textQuery,
  ticketSearch,
} from '../../../src/lib/db/elastic/search-query.js';
import {
  ANONYMOUS,
  AUDIENCE,
  articleVisibility,
  ticketVisibility,
  type Viewer,
} from '../../../src/lib/db/elastic/viewer.js';
import { expectNovaError } from '../../support/nova-error.js';

type Query = estypes.QueryDslQueryContainer;

const agentId = crypto.randomUUID();
const userId = crypto.randomUUID();
const agent: Viewer = { userId: agentId, permissions: ['tickets:read', 'kb:read'] };
const user: Viewer = { userId, permissions: ['tickets:search', 'kb:search'] };
const kbStaff: Viewer = { userId: crypto.randomUUID(), permissions: ['kb:read'] };

const bool = (built: BuiltSearch): estypes.QueryDslBoolQuery => {
  const b = built.request.query?.bool;
  if (!b) throw new Error('expected a bool query');
  return b;
};
const asList = (value: Query | Query[] | undefined): Query[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const filtersOf = (built: BuiltSearch) => asList(bool(built).filter);
const mustOf = (built: BuiltSearch) => asList(bool(built).must);
/** The filters an agent's ticket search gets for these filters (no visibility filter). */
const ticketFilters = (filters: unknown) => filtersOf(ticketSearch('', filters, { viewer: agent }));

/** Like expectNovaError, for fields given as a prefix (zod may add the failing array index). */
const expectFieldPrefix = (call: () => unknown, code: 'VALIDATION_FAILED', prefix: string) => {
  const error = expectNovaError(call, { code });
  expect(error.field ?? '').toMatch(new RegExp(`^${prefix.replaceAll('.', '\\.')}`));
  return error;
};

describe('textQuery and the ticket query body', () => {
  it('scores a fuzzy best-fields match, exact keyword matches and a phrase bonus', () => {
    expect(textQuery('tickets', 'printer jam')).toEqual({
      bool: {
        should: [
          {
            multi_match: {
              query: 'printer jam',
              fields: ['title^3', 'description'],
              type: 'best_fields',
              fuzziness: 'AUTO',
              prefix_length: 1,
              minimum_should_match: '2<75%',
            },
          },
          { match: { key: { query: 'printer jam', boost: 10 } } },
          { match: { tags: { query: 'printer jam', boost: 2 } } },
          { match: { category: { query: 'printer jam', boost: 1.5 } } },
          {
            combined_fields: {
              query: 'printer jam',
              fields: ['title^3', 'description'],
              minimum_should_match: '2<75%',
            },
          },
          {
            multi_match: {
              query: 'printer jam',
              fields: ['title^3', 'description'],
              type: 'phrase',
              boost: 2,
            },
          },
        ],
        minimum_should_match: 1,
      },
    });
  });

  it('weights articles by title, summary and content, with the slug as the exact match', () => {
    const should = asList(textQuery('kb', 'vpn').bool?.should);
    expect(should[0]?.multi_match).toMatchObject({
      fields: ['title^3', 'summary^2', 'content'],
      fuzziness: 'AUTO',
      prefix_length: 1,
    });
    expect(should).toContainEqual({ match: { slug: { query: 'vpn', boost: 5 } } });
    expect(should.at(-1)?.multi_match).toMatchObject({ type: 'phrase', boost: 2 });
  });

  it('puts the trimmed query in must, on the tickets alias, the total exact up to 10,000, bounded in time', () => {
    const built = ticketSearch('  printer jam  ', {}, { viewer: agent });
    expect(built.q).toBe('printer jam');
    expect(built.request.index).toBe('nova_tickets');
    expect(built.request.track_total_hits).toBe(10_000);
    expect(built.request.timeout).toBe('5s');
    expect(mustOf(built)).toEqual([textQuery('tickets', 'printer jam')]);
    expect(built.request._source).toEqual({ excludes: ['suggest'] });
  });

  it('never sends query_string syntax: operators and field:* are plain text', () => {
    const hostile = [
      'title:* OR status:closed',
      'requester_id:* AND NOT status:open',
      '"unterminated (group',
      'a\\ b/ c~ d^99 {*}',
      'query_string simple_query_string',
    ];
    for (const q of hostile) {
      const requests = [
        ticketSearch(q, {}, { viewer: user }).request,
        articleSearch(q, {}, { viewer: ANONYMOUS }).request,
        suggestSearch({ prefix: q.slice(0, 50), scope: 'kb', viewer: ANONYMOUS }).request,
      ];
      for (const request of requests) {
        // The query text itself may contain the words; the request's keys must not.
        const json = JSON.stringify(request, (key, value) =>
          (key === 'query' || key === 'prefix') && typeof value === 'string' ? '<text>' : value,
        );
        expect(json).toContain('<text>');
        expect(json).not.toContain('query_string');
        expect(json).not.toContain('simple_query_string');
      }
      const must = mustOf(ticketSearch(q, {}, { viewer: user }));
      expect(must[0]?.bool?.should).toContainEqual({
        multi_match: expect.objectContaining({ query: q.trim(), type: 'best_fields' }),
      });
    }
  });
});

describe('query text and sort', () => {
  it('matches everything, newest first, without a query (empty, blank, undefined or null)', () => {
    for (const q of ['', '   ', undefined, null]) {
      const built = ticketSearch(q, {}, { viewer: agent });
      expect(mustOf(built)).toEqual([{ match_all: {} }]);
      expect(built.sort).toBe('newest');
      expect(built.request.sort).toEqual([{ created_at: 'desc' }, { id: 'asc' }]);
    }
  });

  it('sorts by relevance with a query, ending on id for stable pages', () => {
    const built = ticketSearch('vpn', {}, { viewer: agent });
    expect(built.sort).toBe('relevance');
    expect(built.request.sort).toEqual(['_score', { created_at: 'desc' }, { id: 'asc' }]);
  });

  it('applies an explicit sort', () => {
    expect(ticketSearch('vpn', {}, { viewer: agent, sort: 'oldest' }).request.sort).toEqual([
      { created_at: 'asc' },
      { id: 'asc' },
    ]);
    const priority = ticketSearch('', {}, { viewer: agent, sort: 'priority' });
    expect(priority.sort).toBe('priority');
    expect(priority.request.sort).toEqual([
      { priority_rank: 'desc' },
      { created_at: 'desc' },
      { id: 'asc' },
    ]);
    expect(articleSearch('', {}, { viewer: ANONYMOUS, sort: 'newest' }).request.sort).toEqual([
      { published_at: 'desc' },
      { id: 'asc' },
    ]);
    expect(articleSearch('vpn', {}, { viewer: ANONYMOUS }).request.sort).toEqual([
      '_score',
      { published_at: 'desc' },
      { id: 'asc' },
    ]);
  });

  it('refuses relevance without a query, and an unknown sort', () => {
    for (const q of ['', '   ']) {
      expectNovaError(() => ticketSearch(q, {}, { viewer: agent, sort: 'relevance' }), {
        code: 'VALIDATION_FAILED',
        field: 'options.sort',
      });
      expectNovaError(() => articleSearch(q, {}, { viewer: ANONYMOUS, sort: 'relevance' }), {
        code: 'VALIDATION_FAILED',
        field: 'options.sort',
      });
    }
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, sort: 'alphabetical' }), {
      code: 'VALIDATION_FAILED',
      field: 'options.sort',
    });
  });

  it('limits the query to 256 characters and to strings', () => {
    expect(ticketSearch('a'.repeat(256), {}, { viewer: agent }).q).toHaveLength(256);
    expectNovaError(() => ticketSearch('a'.repeat(257), {}, { viewer: agent }), {
      code: 'VALIDATION_FAILED',
      field: 'q',
    });
    for (const q of [42, { match_all: {} }, ['vpn'], true]) {
      expectNovaError(() => ticketSearch(q, {}, { viewer: agent }), {
        code: 'VALIDATION_FAILED',
        field: 'q',
      });
      expectNovaError(() => articleSearch(q, {}, { viewer: ANONYMOUS }), {
        code: 'VALIDATION_FAILED',
        field: 'q',
      });
    }
  });
});

describe('ticket filters', () => {
  it('filters by one status or several', () => {
    expect(ticketFilters({ status: 'open' })).toEqual([{ terms: { status: ['open'] } }]);
    expect(ticketFilters({ status: ['open', 'pending'] })).toEqual([
      { terms: { status: ['open', 'pending'] } },
    ]);
  });

  it('refuses an unknown status rather than matching nothing', () => {
    expectFieldPrefix(
      () => ticketFilters({ status: 'nope' }),
      'VALIDATION_FAILED',
      'filters.status',
    );
    expectFieldPrefix(
      () => ticketFilters({ status: ['open', 'nope'] }),
      'VALIDATION_FAILED',
      'filters.status',
    );
    expectFieldPrefix(() => ticketFilters({ status: [] }), 'VALIDATION_FAILED', 'filters.status');
    expectFieldPrefix(
      () => ticketFilters({ status: 'OPEN' }),
      'VALIDATION_FAILED',
      'filters.status',
    );
  });

  it('filters by priority and category', () => {
    expect(ticketFilters({ priority: ['high', 'urgent'], category: ' network ' })).toEqual([
      { terms: { priority: ['high', 'urgent'] } },
      { terms: { category: ['network'] } },
    ]);
    expectFieldPrefix(
      () => ticketFilters({ priority: 'critical' }),
      'VALIDATION_FAILED',
      'filters.priority',
    );
    expectNovaError(() => ticketFilters({ category: '  ' }), {
      code: 'VALIDATION_FAILED',
      field: 'filters.category',
    });
  });

  it('filters by requester, which must be a UUID', () => {
    const requester = crypto.randomUUID();
    expect(ticketFilters({ requesterId: requester })).toEqual([
      { terms: { requester_id: [requester] } },
    ]);
    expectNovaError(() => ticketFilters({ requesterId: 'bob' }), {
      code: 'VALIDATION_FAILED',
      field: 'filters.requesterId',
    });
  });

  it('filters unassigned tickets with null, one assignee with a UUID', () => {
    expect(ticketFilters({ assigneeId: null })).toEqual([
      { bool: { must_not: [{ exists: { field: 'assignee_id' } }] } },
    ]);
    const assignee = crypto.randomUUID();
    expect(ticketFilters({ assigneeId: assignee })).toEqual([{ term: { assignee_id: assignee } }]);
    expect(ticketFilters({})).toEqual([]);
    expectNovaError(() => ticketFilters({ assigneeId: 'nobody' }), {
      code: 'VALIDATION_FAILED',
      field: 'filters.assigneeId',
    });
  });

  it('requires every tag, lowercased and deduplicated', () => {
    expect(ticketFilters({ tags: ['VPN', 'vpn', ' Remote '] })).toEqual([
      { term: { tags: 'vpn' } },
      { term: { tags: 'remote' } },
    ]);
    expectFieldPrefix(() => ticketFilters({ tags: [''] }), 'VALIDATION_FAILED', 'filters.tags');
    expectFieldPrefix(() => ticketFilters({ tags: 'vpn' }), 'VALIDATION_FAILED', 'filters.tags');
  });

  it('filters a creation range from Dates or ISO strings, as UTC ISO strings', () => {
    expect(
      ticketFilters({
        createdFrom: new Date('2024-01-01T00:00:00.000Z'),
        createdTo: '2024-03-01T12:00:00+02:00',
      }),
    ).toEqual([
      {
        range: {
          created_at: { gte: '2024-01-01T00:00:00.000Z', lte: '2024-03-01T10:00:00.000Z' },
        },
      },
    ]);
    expect(ticketFilters({ createdFrom: '2024-05-06T07:08:09Z' })).toEqual([
      { range: { created_at: { gte: '2024-05-06T07:08:09.000Z' } } },
    ]);
    expect(ticketFilters({ createdTo: new Date('2024-05-06T07:08:09.123Z') })).toEqual([
      { range: { created_at: { lte: '2024-05-06T07:08:09.123Z' } } },
    ]);
  });

  it('refuses a date that is not one', () => {
    for (const bad of ['yesterday', '2024-13-01T00:00:00Z', 1704067200000, new Date('garbage')]) {
      expectNovaError(() => ticketFilters({ createdFrom: bad }), {
        code: 'VALIDATION_FAILED',
        field: 'filters.createdFrom',
      });
    }
    expectNovaError(() => ticketFilters({ createdTo: 'soon' }), {
      code: 'VALIDATION_FAILED',
      field: 'filters.createdTo',
    });
  });

  it('combines filters, and refuses an unknown one instead of ignoring it', () => {
    expect(ticketFilters({ status: 'open', priority: 'low', tags: ['a'] })).toEqual([
      { terms: { status: ['open'] } },
      { terms: { priority: ['low'] } },
      { term: { tags: 'a' } },
    ]);
    // An unknown filter is named itself.
    expectNovaError(() => ticketFilters({ state: 'open' }), {
      code: 'VALIDATION_FAILED',
      field: 'filters.state',
    });
    expectNovaError(() => ticketFilters({ status: 'open', requester_id: userId }), {
      code: 'VALIDATION_FAILED',
      field: 'filters.requester_id',
    });
    expectNovaError(() => ticketFilters('status:open'), {
      code: 'VALIDATION_FAILED',
      field: 'filters',
    });
  });

  it('echoes the validated filters for the search log', () => {
    const built = ticketSearch('vpn', { status: 'open', tags: ['VPN', 'vpn'] }, { viewer: agent });
    expect(built.filters).toEqual({ status: 'open', tags: ['vpn'] });
    expect(built.viewer).toEqual(agent);
  });
});

describe('options', () => {
  it('pages 10 hits by default and at most 100', () => {
    expect(ticketSearch('', {}, { viewer: agent }).request.size).toBe(10);
    expect(ticketSearch('', {}, { viewer: agent, size: 100 }).request.size).toBe(100);
    for (const size of [101, 0, -1, 2.5, '10']) {
      expectNovaError(() => ticketSearch('', {}, { viewer: agent, size }), {
        code: 'VALIDATION_FAILED',
        field: 'options.size',
      });
    }
  });

  it('allows from within the first 10,000 hits only', () => {
    const built = ticketSearch('', {}, { viewer: agent, from: 9990, size: 10 });
    expect(built.request.from).toBe(9990);
    expect(built.request.search_after).toBeUndefined();
    expect(ticketSearch('', {}, { viewer: agent }).request.from).toBeUndefined();
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, from: 9991, size: 10 }), {
      code: 'VALIDATION_FAILED',
      field: 'options.from',
    });
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, from: 9991 }), {
      code: 'VALIDATION_FAILED',
      field: 'options.from',
    });
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, from: -1 }), {
      code: 'VALIDATION_FAILED',
      field: 'options.from',
    });
  });

  it('refuses from and cursor together', () => {
    const cursor = encodeSearchCursor('tickets', 'newest', [1704067200000, 'id1']);
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, from: 10, cursor }), {
      code: 'VALIDATION_FAILED',
      field: 'options.cursor',
    });
  });

  it('refuses an unknown option', () => {
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, page: 2 }), {
      code: 'VALIDATION_FAILED',
      field: 'options.page',
    });
    expectNovaError(() => articleSearch('', {}, { viewer: ANONYMOUS, limit: 5 }), {
      code: 'VALIDATION_FAILED',
      field: 'options.limit',
    });
  });

  it('requires a well-formed viewer', () => {
    for (const options of [{}, undefined, null, { size: 5 }]) {
      expectFieldPrefix(
        () => ticketSearch('vpn', {}, options),
        'VALIDATION_FAILED',
        'options.viewer',
      );
      expectFieldPrefix(
        () => articleSearch('vpn', {}, options),
        'VALIDATION_FAILED',
        'options.viewer',
      );
    }
    expectNovaError(
      () => ticketSearch('', {}, { viewer: { userId: 'bob', permissions: ['tickets:read'] } }),
      { code: 'VALIDATION_FAILED', field: 'options.viewer.userId' },
    );
    expectFieldPrefix(
      () => ticketSearch('', {}, { viewer: { userId } }),
      'VALIDATION_FAILED',
      'options.viewer',
    );
    expectFieldPrefix(
      () => ticketSearch('', {}, { viewer: { ...agent, admin: true } }),
      'VALIDATION_FAILED',
      'options.viewer',
    );
  });
});

describe('ticket visibility', () => {
  it('lets tickets:read see every ticket: no requester filter at all', () => {
    const built = ticketSearch('vpn', {}, { viewer: agent });
    expect(filtersOf(built)).toEqual([]);
    expect(JSON.stringify(built.request)).not.toContain('requester_id');
    expect(ticketVisibility(agent)).toEqual({ filter: [], audience: ['staff'] });
  });

  it('limits any other signed-in user to the tickets they requested', () => {
    expect(filtersOf(ticketSearch('vpn', {}, { viewer: user }))).toEqual([
      { term: { requester_id: userId } },
    ]);
    // tickets:search alone is not tickets:read.
    const searcher: Viewer = { userId, permissions: ['tickets:search', 'tickets:write'] };
    expect(filtersOf(ticketSearch('', {}, { viewer: searcher }))).toEqual([
      { term: { requester_id: userId } },
    ]);
  });

  it('keeps the own-tickets filter when the caller asks for someone else’s tickets', () => {
    const other = crypto.randomUUID();
    const filters = filtersOf(ticketSearch('', { requesterId: other }, { viewer: user }));
    expect(filters).toContainEqual({ term: { requester_id: userId } });
    expect(filters).toContainEqual({ terms: { requester_id: [other] } });
    expect(filters).toHaveLength(2);
  });

  it('refuses an anonymous caller', () => {
    expectNovaError(() => ticketSearch('vpn', {}, { viewer: ANONYMOUS }), {
      code: 'FORBIDDEN',
      field: 'viewer',
    });
    expectNovaError(() => ticketSearch('', {}, { viewer: { userId: null, permissions: [] } }), {
      code: 'FORBIDDEN',
    });
    expectNovaError(() => ticketVisibility(ANONYMOUS), { code: 'FORBIDDEN', field: 'viewer' });
  });
});

describe('knowledge-base search', () => {
  const published = { term: { status: 'published' } };
  const publicOnly = { term: { visibility: 'public' } };

  it('shows published public articles to anonymous callers and users without kb:read', () => {
    for (const viewer of [ANONYMOUS, user]) {
      const built = articleSearch('vpn', {}, { viewer });
      expect(built.request.index).toBe('nova_kb');
      expect(filtersOf(built)).toEqual([published, publicOnly]);
    }
    expect(filtersOf(articleSearch('', { visibility: 'public' }, { viewer: ANONYMOUS }))).toEqual([
      published,
      publicOnly,
    ]);
  });

  it('shows staff every published article, or the visibility they ask for', () => {
    expect(filtersOf(articleSearch('vpn', {}, { viewer: kbStaff }))).toEqual([published]);
    expect(
      filtersOf(articleSearch('vpn', { visibility: 'internal' }, { viewer: kbStaff })),
    ).toEqual([published, { term: { visibility: 'internal' } }]);
    expect(filtersOf(articleSearch('vpn', { visibility: 'public' }, { viewer: agent }))).toEqual([
      published,
      publicOnly,
    ]);
  });

  it('refuses internal articles to non-staff', () => {
    for (const viewer of [ANONYMOUS, user]) {
      expectNovaError(() => articleSearch('vpn', { visibility: 'internal' }, { viewer }), {
        code: 'FORBIDDEN',
        field: 'filters.visibility',
      });
    }
    expectNovaError(() => articleVisibility(user, 'internal'), {
      code: 'FORBIDDEN',
      field: 'filters.visibility',
    });
  });

  it('validates the article filters', () => {
    expect(
      filtersOf(
        articleSearch('', { category: 'howto', tags: ['VPN', 'Mac'] }, { viewer: kbStaff }),
      ),
    ).toEqual([
      published,
      { terms: { category: ['howto'] } },
      { term: { tags: 'vpn' } },
      { term: { tags: 'mac' } },
    ]);
    expectNovaError(() => articleSearch('', { visibility: 'secret' }, { viewer: kbStaff }), {
      code: 'VALIDATION_FAILED',
      field: 'filters.visibility',
    });
    // Drafts are never searchable: status is not a filter a caller may set.
    expectNovaError(() => articleSearch('', { status: 'draft' }, { viewer: kbStaff }), {
      code: 'VALIDATION_FAILED',
      field: 'filters.status',
    });
  });

  it('refuses the ticket-only priority sort', () => {
    expectNovaError(() => articleSearch('vpn', {}, { viewer: ANONYMOUS, sort: 'priority' }), {
      code: 'VALIDATION_FAILED',
      field: 'options.sort',
    });
  });

  it('leaves the article body and the suggest field out of hits', () => {
    expect(articleSearch('vpn', {}, { viewer: ANONYMOUS }).request._source).toEqual({
      excludes: ['suggest', 'content'],
    });
  });
});

describe('highlight', () => {
  it('highlights matches in <mark>, escaping the document’s own HTML, when there is a query', () => {
    expect(ticketSearch('vpn', {}, { viewer: agent }).request.highlight).toEqual({
      encoder: 'html',
      pre_tags: ['<mark>'],
      post_tags: ['</mark>'],
      fields: {
        title: { number_of_fragments: 0 },
        description: { fragment_size: 160, number_of_fragments: 2, no_match_size: 160 },
      },
    });
    const kb = articleSearch('vpn', {}, { viewer: ANONYMOUS }).request.highlight;
    expect(kb).toMatchObject({ encoder: 'html', pre_tags: ['<mark>'], post_tags: ['</mark>'] });
    expect(Object.keys(kb?.fields ?? {})).toEqual(['title', 'summary', 'content']);
  });

  it('does not highlight without a query, or when turned off', () => {
    expect(ticketSearch('', {}, { viewer: agent }).request.highlight).toBeUndefined();
    expect(articleSearch('  ', {}, { viewer: ANONYMOUS }).request.highlight).toBeUndefined();
    expect(
      ticketSearch('vpn', {}, { viewer: agent, highlight: false }).request.highlight,
    ).toBeUndefined();
    expectNovaError(() => ticketSearch('vpn', {}, { viewer: agent, highlight: 'no' }), {
      code: 'VALIDATION_FAILED',
      field: 'options.highlight',
    });
  });
});

describe('cursor', () => {
  it('continues after the last hit of the same sort', () => {
    const after = [1704067200000, 'id1'];
    const built = ticketSearch(
      '',
      {},
      { viewer: agent, sort: 'newest', cursor: encodeSearchCursor('tickets', 'newest', after) },
    );
    expect(built.request.search_after).toEqual(after);
    expect(built.request.from).toBeUndefined();
    expect(built.request.sort).toEqual([{ created_at: 'desc' }, { id: 'asc' }]);
    // The default sort is the same: no explicit sort needed.
    expect(
      ticketSearch(
        '',
        {},
        { viewer: agent, cursor: encodeSearchCursor('tickets', 'newest', after) },
      ).request.search_after,
    ).toEqual(after);
    const relevance = [3.25, 1704067200000, 'id2'];
    expect(
      ticketSearch(
        'vpn',
        {},
        { viewer: agent, cursor: encodeSearchCursor('tickets', 'relevance', relevance) },
      ).request.search_after,
    ).toEqual(relevance);
  });

  it('refuses a cursor of another sort, or with the wrong number of values', () => {
    const oldest = encodeSearchCursor('tickets', 'oldest', [1704067200000, 'id1']);
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, sort: 'newest', cursor: oldest }), {
      code: 'VALIDATION_FAILED',
      field: 'options.cursor',
    });
    const relevance = encodeSearchCursor('tickets', 'relevance', [1.5, 1704067200000, 'id1']);
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, cursor: relevance }), {
      code: 'VALIDATION_FAILED',
      field: 'options.cursor',
    });
    const short = encodeSearchCursor('tickets', 'newest', ['id1']);
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, cursor: short }), {
      code: 'VALIDATION_FAILED',
      field: 'options.cursor',
    });
  });

  it('refuses a ticket cursor in a knowledge-base search', () => {
    const ticketCursor = encodeSearchCursor('tickets', 'newest', [1704067200000, 'id1']);
    expectNovaError(() => articleSearch('', {}, { viewer: agent, cursor: ticketCursor }), {
      code: 'VALIDATION_FAILED',
      field: 'options.cursor',
    });
    const kbCursor = encodeSearchCursor('kb', 'newest', [1704067200000, 'id1']);
    expect(articleSearch('', {}, { viewer: agent, cursor: kbCursor }).request.search_after).toEqual(
      [1704067200000, 'id1'],
    );
  });

  it('refuses a cursor it did not make', () => {
    const forged = [
      'not a cursor!',
      Buffer.from('{"sort":"newest"}').toString('base64url'),
      Buffer.from('{"sort":"newest","after":[{"$gt":1},"x"]}').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
      // The right sort, but values the cluster would refuse (a date must be epoch ms).
      Buffer.from('{"sort":"tickets/newest","after":["not-a-date","x"]}').toString('base64url'),
      Buffer.from('{"sort":"tickets/newest","after":[1704067200000,null]}').toString('base64url'),
      '',
    ];
    for (const cursor of forged) {
      expectNovaError(() => ticketSearch('', {}, { viewer: agent, cursor }), {
        code: 'VALIDATION_FAILED',
        field: 'options.cursor',
      });
    }
    expectNovaError(() => ticketSearch('', {}, { viewer: agent, cursor: 'x'.repeat(2049) }), {
      code: 'VALIDATION_FAILED',
      field: 'options.cursor',
    });
  });
});

describe('suggestSearch', () => {
  const completionOf = (raw: unknown) => {
    const titles = suggestSearch(raw).request.suggest?.titles;
    if (typeof titles !== 'object') throw new Error('expected a titles suggester');
    return titles.completion;
  };
  const audienceOf = (raw: unknown) => completionOf(raw)?.contexts?.audience;

  it('builds a fuzzy completion request on the scope’s alias', () => {
    const { request, scope } = suggestSearch({ prefix: '  vp ', scope: 'kb', viewer: ANONYMOUS });
    expect(scope).toBe('kb');
    expect(request.index).toBe('nova_kb');
    // Suggestions only: no hits (a request without size runs an unfiltered match_all).
    expect(request.size).toBe(0);
    expect(request._source).toEqual(['id', 'title', 'key', 'slug']);
    expect(request.suggest).toEqual({
      titles: {
        prefix: 'vp',
        completion: {
          field: 'suggest',
          size: 5,
          skip_duplicates: true,
          contexts: { audience: ['public'] },
          fuzzy: { fuzziness: 'AUTO', prefix_length: 2 },
        },
      },
    });
    expect(suggestSearch({ prefix: 'vp', scope: 'tickets', viewer: agent }).request.index).toBe(
      'nova_tickets',
    );
  });

  it('suggests tickets to staff, and to anyone else only their own', () => {
    expect(audienceOf({ prefix: 'vp', scope: 'tickets', viewer: agent })).toEqual(['staff']);
    expect(audienceOf({ prefix: 'vp', scope: 'tickets', viewer: user })).toEqual([
      `requester:${userId}`,
    ]);
    expectNovaError(() => suggestSearch({ prefix: 'vp', scope: 'tickets', viewer: ANONYMOUS }), {
      code: 'FORBIDDEN',
    });
  });

  it('suggests public articles to everyone, internal ones to kb:read', () => {
    expect(audienceOf({ prefix: 'vp', scope: 'kb', viewer: ANONYMOUS })).toEqual(['public']);
    expect(audienceOf({ prefix: 'vp', scope: 'kb', viewer: user })).toEqual(['public']);
    expect(audienceOf({ prefix: 'vp', scope: 'kb', viewer: kbStaff })).toEqual(['staff']);
  });

  it('validates prefix, scope and size', () => {
    // A completion field keeps 50 characters of each input (max_input_length): no longer prefix.
    expect(() =>
      suggestSearch({ prefix: 'x'.repeat(50), scope: 'kb', viewer: ANONYMOUS }),
    ).not.toThrow();
    expectNovaError(
      () => suggestSearch({ prefix: 'x'.repeat(51), scope: 'kb', viewer: ANONYMOUS }),
      {
        code: 'VALIDATION_FAILED',
        field: 'prefix',
      },
    );
    for (const prefix of ['', '   ']) {
      expectNovaError(() => suggestSearch({ prefix, scope: 'kb', viewer: ANONYMOUS }), {
        code: 'VALIDATION_FAILED',
        field: 'prefix',
      });
    }
    expectNovaError(() => suggestSearch({ prefix: 'a'.repeat(101), scope: 'kb', viewer: agent }), {
      code: 'VALIDATION_FAILED',
      field: 'prefix',
    });
    expectNovaError(() => suggestSearch({ prefix: 'vp', scope: 'users', viewer: agent }), {
      code: 'VALIDATION_FAILED',
      field: 'scope',
    });
    const size = (n: number) => ({ prefix: 'vp', scope: 'kb', viewer: agent, size: n });
    expect(completionOf(size(20))?.size).toBe(20);
    for (const n of [21, 0]) {
      expectNovaError(() => suggestSearch(size(n)), { code: 'VALIDATION_FAILED', field: 'size' });
    }
    expectFieldPrefix(
      () => suggestSearch({ prefix: 'vp', scope: 'kb' }),
      'VALIDATION_FAILED',
      'viewer',
    );
    expectNovaError(() => suggestSearch({ prefix: 'vp', scope: 'kb', viewer: agent, extra: 1 }), {
      code: 'VALIDATION_FAILED',
    });
  });
});

describe('suggest contexts of indexed documents match the viewers’ audiences', () => {
  const at = new Date('2024-01-01T00:00:00.000Z');
  const ticketRow = (requesterId: string) => ({
    id: crypto.randomUUID(),
    key: 'NOVA-1',
    title: 'VPN down',
    description: 'since Monday',
    status: 'open',
    priority: 'high',
    category: null,
    tags: [],
    requester_id: requesterId,
    assignee_id: null,
    created_at: at,
    updated_at: at,
    resolved_at: null,
    version: 1,
  });
  const articleRow = (status: string, visibility: string) => ({
    id: crypto.randomUUID(),
    slug: 'vpn-setup',
    title: 'VPN setup',
    summary: null,
    content: 'Install the client.',
    category: 'howto',
    tags: [],
    status,
    visibility,
    author_id: agentId,
    published_at: status === 'published' ? at : null,
    created_at: at,
    updated_at: at,
    version: 1,
  });
  /** Whether a completion query with these contexts can return a document indexed with those. */
  const reaches = (viewerAudience: string[], documentAudience: string[] | undefined) =>
    viewerAudience.some((a) => documentAudience?.includes(a) ?? false);

  it('indexes tickets for staff and their requester only', () => {
    const doc = ticketDocument(ticketRow(userId));
    expect(doc.suggest).toEqual({
      input: ['VPN down', 'NOVA-1'],
      contexts: { audience: [AUDIENCE.staff, `requester:${userId}`] },
    });
    const stranger: Viewer = { userId: crypto.randomUUID(), permissions: [] };
    expect(reaches(ticketVisibility(agent).audience, doc.suggest.contexts.audience)).toBe(true);
    expect(reaches(ticketVisibility(user).audience, doc.suggest.contexts.audience)).toBe(true);
    expect(reaches(ticketVisibility(stranger).audience, doc.suggest.contexts.audience)).toBe(false);
  });

  it('indexes published public articles for everyone, internal ones for staff, drafts not at all', () => {
    const open = articleDocument(articleRow('published', 'public'));
    const internal = articleDocument(articleRow('published', 'internal'));
    expect(open.suggest?.input).toEqual(['VPN setup']);
    expect(open.suggest?.contexts.audience).toEqual(['public', 'staff']);
    expect(internal.suggest?.contexts.audience).toEqual(['staff']);
    const staff = articleVisibility(kbStaff).audience;
    const everyone = articleVisibility(ANONYMOUS).audience;
    expect(reaches(everyone, open.suggest?.contexts.audience)).toBe(true);
    expect(reaches(staff, open.suggest?.contexts.audience)).toBe(true);
    expect(reaches(everyone, internal.suggest?.contexts.audience)).toBe(false);
    expect(reaches(staff, internal.suggest?.contexts.audience)).toBe(true);
    for (const status of ['draft', 'archived']) {
      const doc = articleDocument(articleRow(status, 'public'));
      expect(doc).not.toHaveProperty('suggest');
      expect(doc.status).toBe(status);
    }
  });
});
