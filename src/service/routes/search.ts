/**
 * GET /api/tickets/search and GET /api/kb/search: the Elasticsearch search of novaDb over
 * HTTP, as the caller's viewer (their permissions decide what they see, as in the data layer).
 *
 *   /api/tickets/search?q=vpn&status=open,pending&priority=high&assignee=none&sort=priority
 *   /api/kb/search?q=setup&category=documentation&tags=vpn&size=20&cursor=...
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type {
  ArticleSearchFilters,
  ArticleSearchOptions,
  NovaDb,
  TicketSearchFilters,
  TicketSearchOptions,
} from '../../lib/db/index.js';
import { parseInput } from '../../lib/validation.js';
import { type Gate, requirePermission } from '../auth.js';
import { documented } from '../openapi.js';
import { asQueryError, integer, list, param, requireStore } from './query.js';

const paging = {
  q: param.default(''),
  size: integer.optional(),
  from: integer.optional(),
  cursor: param.optional(),
  sort: param.optional(),
};

const ticketQuery = z.strictObject({
  ...paging,
  status: list.optional(),
  priority: list.optional(),
  category: param.optional(),
  /** A user id, or `none` for unassigned tickets. */
  assignee: param.optional(),
  requester: param.optional(),
  tags: list.optional(),
  createdFrom: param.optional(),
  createdTo: param.optional(),
});

const articleQuery = z.strictObject({
  ...paging,
  category: param.optional(),
  tags: list.optional(),
  visibility: param.optional(),
});

const SEARCH_RESPONSES = {
  200: 'A page of hits, with highlights and the cursor of the next page',
  400: 'A parameter is malformed (the error names it)',
  401: 'No token, or one that identifies nobody',
  403: 'The token does not grant the permission',
  503: 'Elasticsearch is not configured or not answering',
};

const defined = <T extends object>(value: T) =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

export function searchRoutes(app: FastifyInstance, db: NovaDb, gate: Gate) {
  const configured = () =>
    requireStore(db.elasticConfigured, 'search needs Elasticsearch', 'ELASTIC_URL');
  app.get(
    '/api/tickets/search',
    {
      preHandler: requirePermission(gate, 'tickets:search'),
      ...documented({
        summary: 'Search support tickets, as the caller sees them',
        permission: 'tickets:search',
        query: ticketQuery,
        responses: SEARCH_RESPONSES,
      }),
    },
    async (request) => {
      const query = parseInput(ticketQuery, request.query, '');
      configured();
      const { q, size, from, cursor, sort, assignee, requester, ...rest } = query;
      const filters = defined({
        ...rest,
        assigneeId: assignee === 'none' ? null : assignee,
        requesterId: requester,
      });
      const options = defined({ viewer: viewerOf(request), size, from, cursor, sort });
      return (
        db
          // Strings as sent: the data layer's schemas check each value (status, priority...).
          .searchTickets(q, filters as TicketSearchFilters, options as TicketSearchOptions)
          .catch((error: unknown) => Promise.reject(asQueryError(error)))
      );
    },
  );

  app.get(
    '/api/kb/search',
    {
      preHandler: requirePermission(gate, 'kb:search'),
      ...documented({
        summary: 'Search the knowledge base, as the caller sees it',
        permission: 'kb:search',
        query: articleQuery,
        responses: SEARCH_RESPONSES,
      }),
    },
    async (request) => {
      const { q, size, from, cursor, sort, ...filters } = parseInput(
        articleQuery,
        request.query,
        '',
      );
      configured();
      const options = defined({ viewer: viewerOf(request), size, from, cursor, sort });
      return db
        .searchKnowledgeBase(
          q,
          defined(filters) as ArticleSearchFilters,
          options as ArticleSearchOptions,
        )
        .catch((error: unknown) => Promise.reject(asQueryError(error)));
    },
  );
}

/** The authenticated caller as a search viewer (set by requirePermission). */
function viewerOf(request: { principal?: { userId: string; permissions: string[] } }) {
  const principal = request.principal;
  return { userId: principal?.userId ?? null, permissions: principal?.permissions ?? [] };
}
