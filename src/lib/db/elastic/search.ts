/**
 * Ticket and knowledge-base search, and title suggestions: run the requests of
 * search-query.ts (reads, so transient failures are retried), shape the answers, and record
 * each search through the telemetry writer when there is one.
 */
import { type Client, errors, type estypes } from '@elastic/elasticsearch';
import type { ElasticConfig } from '../../../config.js';
import type { EmbeddingProvider } from '../../embeddings.js';
import { isNovaError, NovaError } from '../../errors.js';
import { describeElasticError, isRetryableSearchError, withElasticRetry } from './client.js';
import type { articleDocument, ticketDocument } from './documents.js';
import { reciprocalRankFusion } from './rank-fusion.js';
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
import {
  contextFilters,
  knnRequest,
  parseSemantic,
  type SemanticOptions,
} from './semantic-query.js';

/** A ticket as search returns it: the indexed document (dates as ISO strings). */
export type TicketHit = Omit<ReturnType<typeof ticketDocument>, 'suggest'>;

/** An article as search returns it: the indexed document without its body. */
export type ArticleHit = Omit<ReturnType<typeof articleDocument>, 'suggest' | 'content'>;

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
  /** Exact up to 10,000 (relation eq); beyond, at least that (gte). */
  total: { value: number; relation: 'eq' | 'gte' };
  /** True when the search ran out of time (5 s) in the cluster: the hits found by then. */
  timedOut: boolean;
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

/** A knowledge-base article found by meaning (and, in hybrid search, by words). */
export interface ContextHit {
  id: string;
  source_type: string;
  source_id: string;
  title: string;
  visibility: string;
  category: string | null;
  tags: string[];
  updated_at: string;
}

export interface FusedHit {
  /** The article's id. */
  id: string;
  /** Reciprocal-rank-fusion score (semantic search: the kNN similarity). */
  score: number;
  /** 1-based rank in the lexical and the semantic list; null where absent. */
  ranks: { lexical: number | null; semantic: number | null };
  title: string;
  category: string | null;
  tags: string[];
  visibility: string;
  highlight: Record<string, string[]>;
}

export interface FusedPage {
  items: FusedHit[];
  tookMs: number;
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
  mode: 'lexical' | 'semantic' | 'hybrid';
}

export class SearchService {
  readonly #client: Client;
  readonly #config: Pick<ElasticConfig, 'maxRetries'>;
  readonly #record: ((search: SearchRecord) => void) | undefined;
  readonly #embeddings: EmbeddingProvider | undefined;

  constructor(
    client: Client,
    config: Pick<ElasticConfig, 'maxRetries'>,
    record?: (search: SearchRecord) => void,
    embeddings?: EmbeddingProvider,
  ) {
    this.#client = client;
    this.#config = config;
    this.#record = record;
    this.#embeddings = embeddings;
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
      timedOut: response.timed_out,
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
      mode: 'lexical',
    });
    return page;
  }

  /** Knowledge-base articles nearest in meaning to `q` (kNN on nova_ai_context). */
  readonly semanticKnowledgeBase = async (
    q: string,
    options: SemanticOptions,
  ): Promise<FusedPage> => {
    const input = parseSemantic(q, options);
    const vector = await this.#embed(input.q);
    const response = await this.#run('semantic', () =>
      this.#client.search<ContextHit>(knnRequest(vector, input.size, contextFilters(input.viewer))),
    );
    const items = response.hits.hits.map((hit, i) =>
      fusedHit(hit._source as ContextHit, hit._score ?? 0, { lexical: null, semantic: i + 1 }),
    );
    this.#log('semantic', input, items.length, response.took, {});
    return { items, tookMs: response.took };
  };

  /**
   * Lexical and semantic search of the knowledge base, fused with reciprocal rank fusion:
   * an article both find ranks above one only either finds. Filters and visibility apply to
   * both sides.
   */
  readonly hybridKnowledgeBase = async (
    q: string,
    filters: ArticleSearchFilters,
    options: SemanticOptions,
  ): Promise<FusedPage> => {
    const input = parseSemantic(q, options);
    const window = Math.min(100, Math.max(50, input.size * 2));
    const lexical = articleSearch(input.q, filters, { viewer: input.viewer, size: window });
    const vector = await this.#embed(input.q);
    const [words, meaning] = await Promise.all([
      this.#run('hybrid', () => this.#client.search<ArticleHit>(lexical.request)),
      this.#run('hybrid', () =>
        this.#client.search<ContextHit>(
          knnRequest(vector, window, contextFilters(input.viewer, lexical.filters)),
        ),
      ),
    ]);
    const byWords = new Map(words.hits.hits.map((h) => [h._id, h]));
    const byMeaning = new Map(
      meaning.hits.hits.map((h) => [(h._source as ContextHit).source_id, h]),
    );
    const fused = reciprocalRankFusion([[...byWords.keys()], [...byMeaning.keys()]]).slice(
      0,
      input.size,
    );
    const items = fused.map(({ id, score, ranks }) => {
      const word = byWords.get(id);
      const source = (word?._source ?? byMeaning.get(id)?._source) as ArticleHit | ContextHit;
      return {
        ...fusedHit(source, score, { lexical: ranks[0] ?? null, semantic: ranks[1] ?? null }),
        id,
        highlight: word?.highlight ?? {},
      };
    });
    const took = Math.max(words.took, meaning.took);
    this.#log('hybrid', input, items.length, took, lexical.filters);
    return { items, tookMs: took };
  };

  async #embed(q: string): Promise<number[]> {
    if (!this.#embeddings) {
      throw new NovaError(
        'CONFIG_INVALID',
        'semantic search needs an embedding provider: set EMBEDDING_URL and EMBEDDING_MODEL',
        { field: 'EMBEDDING_URL' },
      );
    }
    const [vector] = await this.#embeddings.embed([q]).catch((error: unknown) => {
      // A query the provider refuses is the caller's to change: name it.
      if (isNovaError(error, 'VALIDATION_FAILED')) {
        throw new NovaError('VALIDATION_FAILED', `q: ${error.message}`, {
          field: 'q',
          cause: error,
        });
      }
      throw error;
    });
    return vector as number[];
  }

  #log(
    mode: 'semantic' | 'hybrid',
    input: { q: string; viewer: { userId: string | null } },
    count: number,
    took: number,
    filters: Record<string, unknown>,
  ): void {
    this.#record?.({
      scope: 'kb',
      query: input.q,
      resultCount: count,
      tookMs: took,
      userId: input.viewer.userId,
      filters,
      sort: 'relevance',
      mode,
    });
  }

  /** Transient failures are retried; what remains becomes UNAVAILABLE or INTERNAL. */
  async #run<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await withElasticRetry(this.#config, request, undefined, isRetryableSearchError);
    } catch (error) {
      throw searchError(what, error);
    }
  }
}

function fusedHit(
  source: ArticleHit | ContextHit,
  score: number,
  ranks: FusedHit['ranks'],
): FusedHit {
  return {
    id: 'source_id' in source ? source.source_id : source.id,
    score,
    ranks,
    title: source.title,
    category: source.category,
    tags: source.tags,
    visibility: source.visibility,
    highlight: {},
  };
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
