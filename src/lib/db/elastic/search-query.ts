/**
 * Search requests, built from validated input. Pure: every query is a unit test, and the
 * client's own request types check every body.
 *
 * - User text only ever reaches `multi_match` and `match` (never `query_string`, whose syntax
 *   errors and `field:*` tricks a caller could exploit); it is at most 256 characters.
 * - Field weights are applied here, at query time (mappings carry no `boost` on 8.x).
 * - Filters are validated against the same enums as PostgreSQL: an unknown status is an
 *   error, not a filter that silently matches nothing.
 * - Deep pages use search_after with a cursor that remembers its sort; `from` is for the
 *   first 10,000 hits only, like Elasticsearch's own max_result_window.
 */
import type { estypes } from '@elastic/elasticsearch';
import { z } from 'zod';
import {
  decodeCursor,
  encodeCursor,
  failValidation,
  parseInput,
  tags as tagList,
  uuid,
} from '../../validation.js';
import { ARTICLE_VISIBILITIES } from '../postgres/articles.js';
import { TICKET_PRIORITIES, TICKET_STATUSES } from '../postgres/tickets.js';
import { SEARCH_INDICES } from './index-specs.js';
import { articleVisibility, ticketVisibility, type Viewer } from './viewer.js';

export const MAX_QUERY_LENGTH = 256;
export const MAX_PAGE_SIZE = 100;
/** Elasticsearch's default index.max_result_window. */
const MAX_WINDOW = 10_000;
/**
 * How long a search may run in the cluster before it answers with what it found so far
 * (`timed_out: true`), half the client's default request timeout so the partial answer comes
 * back before the client gives up on it. A fuzzy query over many documents is the slow case.
 */
export const SEARCH_TIMEOUT = '5s';

const query = z
  .string({ message: 'must be a string' })
  .trim()
  .max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`);
const date = z.union([z.date(), z.iso.datetime({ offset: true }).transform((v) => new Date(v))]);
const oneOrMany = <T extends readonly [string, ...string[]]>(values: T) =>
  z.union([z.enum(values), z.array(z.enum(values)).min(1).max(values.length)]);
const keywordValue = z.string().trim().min(1).max(100);

const ticketFilters = z.strictObject({
  status: oneOrMany(TICKET_STATUSES).optional(),
  priority: oneOrMany(TICKET_PRIORITIES).optional(),
  category: keywordValue.optional(),
  /** null: unassigned tickets. */
  assigneeId: uuid.nullable().optional(),
  requesterId: uuid.optional(),
  /** Every tag must be present. */
  tags: tagList.optional(),
  createdFrom: date.optional(),
  createdTo: date.optional(),
});
export type TicketSearchFilters = z.input<typeof ticketFilters>;

const articleFilters = z.strictObject({
  category: keywordValue.optional(),
  tags: tagList.optional(),
  visibility: z.enum(ARTICLE_VISIBILITIES).optional(),
});
export type ArticleSearchFilters = z.input<typeof articleFilters>;

const viewer = z.strictObject({
  userId: uuid.nullable(),
  permissions: z.array(z.string().max(128)).max(500).readonly(),
});

const options = <S extends readonly [string, ...string[]]>(sorts: S) =>
  z
    .strictObject({
      viewer,
      size: z.number().int().min(1).max(MAX_PAGE_SIZE).default(10),
      from: z.number().int().min(0).optional(),
      cursor: z.string().max(2048).optional(),
      sort: z.enum(sorts).optional(),
      highlight: z.boolean().default(true),
    })
    .refine((o) => !(o.from !== undefined && o.cursor !== undefined), {
      message: 'use either from or cursor, not both',
      path: ['cursor'],
    })
    .refine((o) => (o.from ?? 0) + o.size <= MAX_WINDOW, {
      message: `from + size must be at most ${MAX_WINDOW}; use cursor for deeper pages`,
      path: ['from'],
    });

const TICKET_SORTS = ['relevance', 'newest', 'oldest', 'priority'] as const;
const ARTICLE_SORTS = ['relevance', 'newest', 'oldest'] as const;
export type TicketSort = (typeof TICKET_SORTS)[number];
export type ArticleSort = (typeof ARTICLE_SORTS)[number];

export interface SearchOptions<S extends string> {
  /** Who is searching: decides what they may see. */
  viewer: Viewer;
  /** Hits per page, 1-100 (default 10). */
  size?: number;
  /** Offset of the first hit, for shallow pages (from + size at most 10,000). */
  from?: number;
  /** `nextCursor` of the previous page, for deep pages. */
  cursor?: string;
  /** Default: relevance with a query, newest without. */
  sort?: S;
  /** Highlighted fragments of matched fields (default true). */
  highlight?: boolean;
}
export type TicketSearchOptions = SearchOptions<TicketSort>;
export type ArticleSearchOptions = SearchOptions<ArticleSort>;

/** Sort clauses; every one ends on `id` so search_after is deterministic. */
const SORTS: Record<string, Record<string, estypes.SortCombinations[]>> = {
  tickets: {
    relevance: ['_score', { created_at: 'desc' }, { id: 'asc' }],
    newest: [{ created_at: 'desc' }, { id: 'asc' }],
    oldest: [{ created_at: 'asc' }, { id: 'asc' }],
    priority: [{ priority_rank: 'desc' }, { created_at: 'desc' }, { id: 'asc' }],
  },
  kb: {
    relevance: ['_score', { published_at: 'desc' }, { id: 'asc' }],
    newest: [{ published_at: 'desc' }, { id: 'asc' }],
    oldest: [{ published_at: 'asc' }, { id: 'asc' }],
  },
};

/**
 * What a cursor carries: the sort it belongs to and the last hit's sort values. Every sort
 * ends on the id (a string); the values before it are numbers (a score, a rank, or a date as
 * Elasticsearch returns it, epoch milliseconds), so a tampered cursor is refused here rather
 * than by the cluster.
 */
const cursorShape = z.strictObject({
  sort: z.string(),
  after: z
    .array(z.union([z.number(), z.string()]))
    .min(2)
    .max(5)
    .refine(
      (values) =>
        values.slice(0, -1).every((v) => typeof v === 'number' && Number.isFinite(v)) &&
        typeof values.at(-1) === 'string',
    ),
});

/** A cursor names its scope and sort: one from a ticket search is refused by a KB search. */
export const encodeSearchCursor = (
  scope: SearchScopeName,
  sort: string,
  after: estypes.SortResults,
) => encodeCursor({ sort: `${scope}/${sort}`, after });

/** A field's weight and whether fuzzy matching applies: the ranking, in one table. */
interface Scope {
  index: string;
  /** Full-text fields with their query-time weights. */
  text: string[];
  /** Exact-match keyword fields (a ticket key, a tag), with a boost. */
  exact: Record<string, number>;
  highlight: Record<string, estypes.SearchHighlightField>;
  exclude: string[];
}

const SCOPES = {
  tickets: {
    index: SEARCH_INDICES.tickets,
    text: ['title^3', 'description'],
    exact: { key: 10, tags: 2, category: 1.5 },
    highlight: {
      title: { number_of_fragments: 0 },
      description: { fragment_size: 160, number_of_fragments: 2, no_match_size: 160 },
    },
    exclude: ['suggest'],
  },
  kb: {
    index: SEARCH_INDICES.kb,
    text: ['title^3', 'summary^2', 'content'],
    exact: { slug: 5, tags: 2, category: 1.5 },
    highlight: {
      title: { number_of_fragments: 0 },
      summary: { number_of_fragments: 0 },
      content: { fragment_size: 160, number_of_fragments: 2 },
    },
    // Articles can be 200 kB: hits carry the summary and highlights, not the body.
    exclude: ['suggest', 'content'],
  },
} as const satisfies Record<'tickets' | 'kb', Scope>;
export type SearchScopeName = keyof typeof SCOPES;

/** The scoring part: fuzzy best-fields match, exact keyword matches, and a phrase bonus. */
export function textQuery(scope: SearchScopeName, q: string): estypes.QueryDslQueryContainer {
  const { text, exact } = SCOPES[scope];
  return {
    bool: {
      should: [
        {
          multi_match: {
            query: q,
            fields: [...text],
            type: 'best_fields',
            fuzziness: 'AUTO',
            // The first character must match: fuzzy expansion stays cheap and predictable.
            prefix_length: 1,
            // Two words must both match; with more, three quarters of them.
            minimum_should_match: '2<75%',
          },
        },
        ...Object.entries(exact).map(
          ([field, boost]): estypes.QueryDslQueryContainer => ({
            match: { [field]: { query: q, boost } },
          }),
        ),
        // Words spread over fields ("vpn" in the title, the rest in the description): the
        // best-fields clause scores field by field and would miss it. Not fuzzy.
        {
          combined_fields: { query: q, fields: [...text], minimum_should_match: '2<75%' },
        },
        { multi_match: { query: q, fields: [...text], type: 'phrase', boost: 2 } },
      ],
      minimum_should_match: 1,
    },
  };
}

function pageOf(
  scope: SearchScopeName,
  sortName: string,
  sorts: Record<string, estypes.SortCombinations[]>,
  o: {
    size: number;
    from?: number | undefined;
    cursor?: string | undefined;
  },
): Pick<estypes.SearchRequest, 'size' | 'from' | 'search_after' | 'sort'> {
  const sort = sorts[sortName] as estypes.SortCombinations[];
  const page: Pick<estypes.SearchRequest, 'size' | 'from' | 'search_after' | 'sort'> = {
    size: o.size,
    sort,
  };
  if (o.cursor !== undefined) {
    const cursor = decodeCursor(cursorShape, o.cursor, 'options.cursor');
    if (cursor.sort !== `${scope}/${sortName}` || cursor.after.length !== sort.length) {
      failValidation(
        `options.cursor: it belongs to "${cursor.sort}", not "${scope}/${sortName}"`,
        'options.cursor',
      );
    }
    page.search_after = cursor.after;
  } else if (o.from !== undefined) {
    page.from = o.from;
  }
  return page;
}

export interface BuiltSearch {
  request: estypes.SearchRequest;
  scope: SearchScopeName;
  /** The sort actually used, for the next cursor. */
  sort: string;
  /** Validated input, for the search log. */
  q: string;
  filters: Record<string, unknown>;
  viewer: Viewer;
}

function build(
  scope: SearchScopeName,
  q: string,
  visibility: estypes.QueryDslQueryContainer[],
  filters: estypes.QueryDslQueryContainer[],
  o: z.output<ReturnType<typeof options>>,
  echo: Record<string, unknown>,
): BuiltSearch {
  const spec: Scope = SCOPES[scope];
  const sortName = o.sort ?? (q ? 'relevance' : 'newest');
  const request: estypes.SearchRequest = {
    index: spec.index,
    // Exact up to the deepest page anyone can ask for; beyond it, "at least 10,000"
    // (relation gte): an exact count of millions of fuzzy matches costs every shard.
    track_total_hits: MAX_WINDOW,
    timeout: SEARCH_TIMEOUT,
    query: {
      bool: {
        must: q ? [textQuery(scope, q)] : [{ match_all: {} }],
        filter: [...visibility, ...filters],
      },
    },
    _source: { excludes: spec.exclude },
    ...pageOf(scope, sortName, SORTS[scope] as Record<string, estypes.SortCombinations[]>, o),
  };
  if (q && o.highlight) {
    request.highlight = {
      // Escapes the document's own HTML, so fragments are safe to render: only <mark> is ours.
      encoder: 'html',
      pre_tags: ['<mark>'],
      post_tags: ['</mark>'],
      fields: spec.highlight,
    };
  }
  return { request, scope, sort: sortName, q, filters: echo, viewer: o.viewer };
}

const terms = (
  field: string,
  value: string | readonly string[] | undefined,
): estypes.QueryDslQueryContainer[] =>
  value === undefined
    ? []
    : [{ terms: { [field]: typeof value === 'string' ? [value] : [...value] } }];
const allTags = (value: readonly string[] | undefined): estypes.QueryDslQueryContainer[] =>
  (value ?? []).map((tag) => ({ term: { tags: tag } }));

export function ticketSearch(rawQ: unknown, rawFilters: unknown, rawOptions: unknown): BuiltSearch {
  const q = parseInput(query, rawQ ?? '', 'q');
  const f = parseInput(ticketFilters, rawFilters ?? {}, 'filters');
  const o = parseInput(options(TICKET_SORTS), rawOptions ?? {}, 'options');
  if (o.sort === 'relevance' && !q)
    failValidation('options.sort: relevance needs a query', 'options.sort');
  const filters: estypes.QueryDslQueryContainer[] = [
    ...terms('status', f.status),
    ...terms('priority', f.priority),
    ...terms('category', f.category),
    ...terms('requester_id', f.requesterId),
    ...allTags(f.tags),
  ];
  if (f.assigneeId === null)
    filters.push({ bool: { must_not: [{ exists: { field: 'assignee_id' } }] } });
  else if (f.assigneeId !== undefined) filters.push({ term: { assignee_id: f.assigneeId } });
  if (f.createdFrom || f.createdTo) {
    filters.push({
      range: {
        created_at: {
          ...(f.createdFrom ? { gte: f.createdFrom.toISOString() } : {}),
          ...(f.createdTo ? { lte: f.createdTo.toISOString() } : {}),
        },
      },
    });
  }
  return build('tickets', q, ticketVisibility(o.viewer).filter, filters, o, f);
}

export function articleSearch(
  rawQ: unknown,
  rawFilters: unknown,
  rawOptions: unknown,
): BuiltSearch {
  const q = parseInput(query, rawQ ?? '', 'q');
  const f = parseInput(articleFilters, rawFilters ?? {}, 'filters');
  const o = parseInput(options(ARTICLE_SORTS), rawOptions ?? {}, 'options');
  if (o.sort === 'relevance' && !q)
    failValidation('options.sort: relevance needs a query', 'options.sort');
  const filters = [...terms('category', f.category), ...allTags(f.tags)];
  return build('kb', q, articleVisibility(o.viewer, f.visibility).filter, filters, o, f);
}

const suggestInput = z.strictObject({
  // A completion field keeps at most max_input_length (50) characters of each input: a
  // longer prefix could never match (CompletionFieldMapper).
  prefix: z.string().trim().min(1, 'must not be empty').max(50),
  scope: z.enum(['tickets', 'kb']),
  size: z.number().int().min(1).max(20).default(5),
  viewer,
});
export type SuggestInput = z.input<typeof suggestInput>;

/** Title completions the viewer may see: contexts are the audiences of viewer.ts. */
export function suggestSearch(raw: unknown): {
  request: estypes.SearchRequest;
  scope: SearchScopeName;
} {
  const input = parseInput(suggestInput, raw);
  const audience =
    input.scope === 'tickets'
      ? ticketVisibility(input.viewer).audience
      : articleVisibility(input.viewer).audience;
  return {
    scope: input.scope,
    request: {
      index: SCOPES[input.scope].index,
      // Suggestions only: without size 0 the request also runs an unfiltered match_all.
      size: 0,
      _source: ['id', 'title', 'key', 'slug'],
      suggest: {
        titles: {
          prefix: input.prefix,
          completion: {
            field: 'suggest',
            size: input.size,
            skip_duplicates: true,
            contexts: { audience },
            // One typo after the first two characters, as people type.
            fuzzy: { fuzziness: 'AUTO', prefix_length: 2 },
          },
        },
      },
    },
  };
}
