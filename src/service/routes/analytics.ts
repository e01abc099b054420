/**
 * GET /api/analytics/search and GET /api/analytics/performance: the MongoDB analytics
 * aggregations of novaDb.mongo over HTTP (analytics:read).
 *
 *   /api/analytics/search?timeRange=24h&scope=kb&top=20
 *   /api/analytics/performance?service=api&timeRange=7d
 *
 * `timeRange` is validated by the data layer (15m, 24h, 7d..., within the retention), never
 * passed into date math as given.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { NovaDb } from '../../lib/db/index.js';
import { parseInput } from '../../lib/validation.js';
import { type Gate, requirePermission } from '../auth.js';
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

export function analyticsRoutes(app: FastifyInstance, db: NovaDb, gate: Gate) {
  const mongo = () => {
    requireStore(db.mongoConfigured, 'analytics need MongoDB', 'MONGO_URL');
    return db.mongo;
  };
  const preHandler = requirePermission(gate, 'analytics:read');

  app.get('/api/analytics/search', { preHandler }, async (request) => {
    const { timeRange, scope, top } = parseInput(searchQuery, request.query, '');
    return mongo()
      .searchAnalytics(timeRange, { ...(scope ? { scope } : {}), ...(top ? { top } : {}) })
      .catch((error: unknown) => Promise.reject(asQueryError(error)));
  });

  app.get('/api/analytics/performance', { preHandler }, async (request) => {
    const { timeRange, service, endpoint } = parseInput(performanceQuery, request.query, '');
    return mongo()
      .performance(timeRange, {
        ...(service ? { service } : {}),
        ...(endpoint ? { endpoint } : {}),
      })
      .catch((error: unknown) => Promise.reject(asQueryError(error)));
  });
}
