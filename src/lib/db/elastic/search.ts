/**
 * Ticket and knowledge-base search, and title suggestions: run the requests of
 * search-query.ts (reads, so transient failures are retried), shape the answers, and record
 * each search through the telemetry writer when there is one.
 */
import { type Client, errors, type estypes } from '@elastic/elasticsearch';
import type { ElasticConfig } from '../../../config.js';
import { NovaError } from '../../errors.js';
import { describeElasticError, withElasticRetry } from './client.js';
import {
  type ArticleSearchFilters,
  type ArticleSearchOptions,
  articleSearch,
  type BuiltSearch,
  encodeSearchCursor,
  type SearchScopeName,
  type SuggestInput,
  suggestSearch,
  type TicketSearchFilters,
  type TicketSearchOptions,
  ticketSearch,
} from './search-query.js';

export interface TicketHit {
  id: string;
  key: string;
  title: string;
  description: string;
  status: string;
  priority: string;
  category: string | null;
  tags: string[];
  requester_id: string;
  assignee_id: string | null;
  created_at: string;
  updated_at: string;
  resolved_at: string | null;
  version: number;
}

export interface ArticleHit {
  id: string;
  slug: string;
  title: string;
  summary: string | null;
  category: string;
  tags: string[];
  status: string;
  visibility: string;
  author_id: string;
  published_at: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface SearchHit<T> {
  id: string;
  /** null when sorted by something other than relevance. */
  score: number | null;
  document: T;
  /** Matched fragments by field; the document's own HTML is escaped, matches are in <mark>. */
  highlight: Record<string, string[]>;
}

export interface SearchPage<T> {
  items: SearchHit<T>[];
  /** Exact up to 10,000; beyond, a lower bound (relation "gte"). */
  total: { value: number; relation: 'eq' | 'gte' };
  tookMs: number;
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface Suggestion {
  text: string;
  id: string;
  /** The ticket key or article slug, to link to. */
  ref: string | null;
}

/** What each search reports, for search analytics. */
export interface SearchRecord {
  scope: SearchScopeName;
  query: string;
  resultCount: number;
  tookMs: number;
  userId: string | null;
  filters: Record<string, unknown>;
  sort: string;
}

export class SearchService {
  readonly #client: Client;
  readonly #config: Pick<ElasticConfig, 'maxRetries'>;
  readonly #record: ((search: SearchRecord) => void) | undefined;

  constructor(
    client: Client,
    config: Pick<ElasticConfig, 'maxRetries'>,
    record?: (search: SearchRecord) => void,
  ) {
    this.#client = client;
    this.#config = config;
    this.#record = record;
  }

  // async: bad input rejects the promise like every other failure, never throws synchronously.
  readonly tickets = async (
    q: string,
    filters: TicketSearchFilters,
    options: TicketSearchOptions,
  ): Promise<SearchPage<TicketHit>> =>
    this.#search<TicketHit>('tickets', ticketSearch(q, filters, options));

  readonly knowledgeBase = async (
    q: string,
    filters: ArticleSearchFilters,
    options: ArticleSearchOptions,
  ): Promise<SearchPage<ArticleHit>> =>
    this.#search<ArticleHit>('kb', articleSearch(q, filters, options));

  readonly suggest = async (input: SuggestInput): Promise<Suggestion[]> => {
    const { request } = suggestSearch(input);
    const response = await this.#run('suggest', () =>
      this.#client.search<Record<string, unknown>>(request),
    );
    const entries = response.suggest?.titles ?? [];
    return entries.flatMap((entry) => {
      const options = Array.isArray(entry.options) ? entry.options : [entry.options];
      return options.map((option) => {
        const completion = option as estypes.SearchCompletionSuggestOption<Record<string, unknown>>;
        const ref = completion._source?.key ?? completion._source?.slug;
        return {
          text: completion.text,
          id: completion._id ?? '',
          ref: typeof ref === 'string' ? ref : null,
        };
      });
    });
  };

  async #search<T>(scope: SearchScopeName, built: BuiltSearch): Promise<SearchPage<T>> {
    const response = await this.#run(scope, () => this.#client.search<T>(built.request));
    const hits = response.hits.hits;
    const total =
      typeof response.hits.total === 'number'
        ? { value: response.hits.total, relation: 'eq' as const }
        : {
            value: response.hits.total?.value ?? hits.length,
            relation: response.hits.total?.relation ?? 'eq',
          };
    const last = hits.at(-1);
    const page: SearchPage<T> = {
      items: hits.map((hit) => ({
        id: hit._id,
        score: hit._score ?? null,
        document: hit._source as T,
        highlight: hit.highlight ?? {},
      })),
      total,
      tookMs: response.took,
      nextCursor:
        last?.sort && hits.length === built.request.size
          ? encodeSearchCursor(scope, built.sort, last.sort)
          : null,
    };
    this.#record?.({
      scope,
      query: built.q,
      resultCount: total.value,
      tookMs: response.took,
      userId: built.viewer.userId,
      filters: built.filters,
      sort: built.sort,
    });
    return page;
  }

  /** Transient failures are retried; what remains becomes UNAVAILABLE or INTERNAL. */
  async #run<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await withElasticRetry(this.#config, request);
    } catch (error) {
      throw searchError(what, error);
    }
  }
}

/**
 * A missing index means bootstrap has not run; a refused request is a bug of ours (inputs
 * are validated before they get here); anything else is the cluster being unavailable.
 */
export function searchError(what: string, error: unknown): NovaError {
  const detail = describeElasticError(error);
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    if (status === 404) {
      return new NovaError(
        'UNAVAILABLE',
        `${what} search: index missing, run \`nova bootstrap elastic\` (${detail})`,
        { cause: error },
      );
    }
    if (status === 400) {
      return new NovaError('INTERNAL', `${what} search was refused: ${detail}`, { cause: error });
    }
  }
  return new NovaError('UNAVAILABLE', `${what} search failed: ${detail}`, { cause: error });
}
