/**
 * kNN requests on nova_ai_context, for semantic and hybrid search. Pure, like
 * search-query.ts: the query text is validated here, embedded by the caller, and only the
 * vector reaches Elasticsearch.
 *
 * nova_ai_context holds published knowledge-base articles (source_type kb_article) with
 * their visibility, category and tags, so the kNN pre-filter applies the same visibility
 * rules and filters as the lexical search: a filtered hybrid search never lets an
 * unfiltered semantic hit in.
 */
import type { estypes } from '@elastic/elasticsearch';
import { z } from 'zod';
import { parseInput, uuid } from '../../validation.js';
import { SEARCH_INDICES } from './index-specs.js';
import { MAX_QUERY_LENGTH } from './search-query.js';
import { STAFF_KB, type Viewer } from './viewer.js';

export const MAX_SEMANTIC_SIZE = 50;

const semanticOptions = z.strictObject({
  viewer: z.strictObject({
    userId: uuid.nullable(),
    permissions: z.array(z.string().max(128)).max(500).readonly(),
  }),
  size: z.number().int().min(1).max(MAX_SEMANTIC_SIZE).default(10),
});
export type SemanticOptions = z.input<typeof semanticOptions>;

const semanticQuery = z
  .string({ message: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`);

export function parseSemantic(q: unknown, options: unknown) {
  return {
    q: parseInput(semanticQuery, q, 'q'),
    ...parseInput(semanticOptions, options ?? {}, 'options'),
  };
}

/**
 * Published articles only ever enter the index; internal ones only reach kb:read. The
 * filters are the lexical search's, already validated (and refused there when forbidden).
 */
export function contextFilters(
  viewer: Viewer,
  filters: { category?: string; tags?: readonly string[]; visibility?: string } = {},
): estypes.QueryDslQueryContainer[] {
  const visibility =
    filters.visibility ?? (viewer.permissions.includes(STAFF_KB) ? undefined : 'public');
  return [
    ...(visibility ? [{ term: { visibility } }] : []),
    ...(filters.category ? [{ term: { category: filters.category } }] : []),
    ...(filters.tags ?? []).map((tag) => ({ term: { tags: tag } })),
  ];
}

export function knnRequest(
  vector: number[],
  size: number,
  filter: estypes.QueryDslQueryContainer[],
): estypes.SearchRequest {
  return {
    index: SEARCH_INDICES.ai_context,
    size,
    knn: {
      field: 'embedding',
      query_vector: vector,
      k: size,
      // More candidates than results: approximate search recalls better (Elastic's advice).
      num_candidates: Math.max(100, size * 10),
      filter: [{ term: { source_type: 'kb_article' } }, ...filter],
    },
    _source: { excludes: ['embedding', 'content'] },
  };
}
