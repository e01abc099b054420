/**
 * GET /api/analytics/search and GET /api/analytics/performance: the MongoDB analytics
 * aggregations of novaDb.mongo over HTTP (analytics:read).
 *
 *   /api/analytics/search?timeRange=24h&scope=kb&top=20
 *   /api/analytics/performance?service=api&timeRange=7d
 *
 * `timeRange` is validated by the data layer (15m, 24h, 7d..., within the retention), never
 * passed into date math as given.
 *
 * An aggregation over days of events can run for seconds (up to the store's 15 s bound): at
 * most `concurrency` run at once in this process (NOVA_ANALYTICS_CONCURRENCY, default 4);
 * beyond, 429 RATE_LIMITED with Retry-After, rather than a queue that grows with the load
 * and a MongoDB busy with queries whose callers have given up.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { NovaDb } from '../../lib/db/index.js';
import { NovaError } from '../../lib/errors.js';
import { parseInput } from '../../lib/validation.js';
import { type Gate, requirePermission } from '../auth.js';
import { documented } from '../openapi.js';
import { asQueryError, integer, param, requireStore } from './query.js';

const searchQuery = z.strictObject({
  timeRange: param.default('24h'),
  scope: z.enum(['tickets', 'kb']).optional(),
  top: integer.optional(),
});

const performanceQuery = z.strictObject({
  timeRange: param.default('24h'),
  service: param.optional(),
  endpoint: param.optional(),
});

export const DEFAULT_ANALYTICS_CONCURRENCY = 4;

const ANALYTICS_RESPONSES = {
  200: 'The aggregation',
  400: 'A parameter is malformed (the error names it)',
  401: 'No token, or one that identifies nobody',
  403: 'The token does not grant analytics:read',
  429: 'Too many analytics queries running (Retry-After)',
  503: 'MongoDB is not configured or not answering',
};

export function analyticsRoutes(
  app: FastifyInstance,
  db: NovaDb,
  gate: Gate,
  concurrency = DEFAULT_ANALYTICS_CONCURRENCY,
) {
  const mongo = () => {
    requireStore(db.mongoConfigured, 'analytics need MongoDB', 'MONGO_URL');
    return db.mongo;
  };
  const preHandler = requirePermission(gate, 'analytics:read');
  let running = 0;
  /** One query, counted against the limit while it runs. */
  const bounded = async <T>(reply: FastifyReply, query: () => Promise<T>): Promise<T> => {
    if (running >= concurrency) {
      reply.header('retry-after', '1');
      throw new NovaError(
        'RATE_LIMITED',
        `${concurrency} analytics queries are running (NOVA_ANALYTICS_CONCURRENCY): retry in 1 s`,
      );
    }
    running += 1;
    try {
      return await query().catch((error: unknown) => Promise.reject(asQueryError(error)));
    } finally {
      running -= 1;
    }
  };

  app.get(
    '/api/analytics/search',
    {
      preHandler,
      ...documented({
        summary: 'What people search for: top queries, zero-result queries, volumes',
        permission: 'analytics:read',
        query: searchQuery,
        responses: ANALYTICS_RESPONSES,
      }),
    },
    async (request, reply) => {
      const { timeRange, scope, top } = parseInput(searchQuery, request.query, '');
      const store = mongo();
      return bounded(reply, () =>
        store.searchAnalytics(timeRange, { ...(scope ? { scope } : {}), ...(top ? { top } : {}) }),
      );
    },
  );

  app.get(
    '/api/analytics/performance',
    {
      preHandler,
      ...documented({
        summary: 'Latency percentiles and error rates by service and endpoint',
        permission: 'analytics:read',
        query: performanceQuery,
        responses: ANALYTICS_RESPONSES,
      }),
    },
    async (request, reply) => {
      const { timeRange, service, endpoint } = parseInput(performanceQuery, request.query, '');
      const store = mongo();
      return bounded(reply, () =>
        store.performance(timeRange, {
          ...(service ? { service } : {}),
          ...(endpoint ? { endpoint } : {}),
        }),
      );
    },
  );
}
