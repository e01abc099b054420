/**
 * GET /metrics: the service's metrics in Prometheus' text format, on the service's own port.
 * Open by default, as scrapers expect: it carries counts and timings, no identities (routes
 * are patterns, never URLs) and no database hosts (METRIC_VIEWS); with NOVA_METRICS_TOKEN it
 * needs that token. 404 when OTEL_METRICS_EXPORTER leaves Prometheus out.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { NovaError } from '../../lib/errors.js';
import { prometheusEnabled, renderMetrics } from '../../telemetry/prometheus.js';
import { documented } from '../openapi.js';
import { UNTRACED } from '../tracing.js';

/**
 * `token` (NOVA_METRICS_TOKEN): scrapes must send `Authorization: Bearer <token>`
 * (Prometheus' `authorization` scrape setting); without it /metrics is open to whoever
 * reaches the port.
 */
export function metricsRoute(app: FastifyInstance, token?: string) {
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  app.get(
    '/metrics',
    documented(
      {
        summary: 'Metrics in the Prometheus text format',
        responses: {
          200: 'The metrics',
          401: 'NOVA_METRICS_TOKEN is set and the scrape did not send it',
          404: 'Prometheus metrics are off (OTEL_METRICS_EXPORTER)',
        },
        produces: 'text/plain; version=0.0.4',
      },
      UNTRACED,
    ),
    async (request, reply) => {
      if (expected && !timingSafeEqual(digest(request.headers.authorization ?? ''), expected)) {
        reply.header('www-authenticate', 'Bearer');
        throw new NovaError(
          'UNAUTHENTICATED',
          '/metrics needs the scrape token (NOVA_METRICS_TOKEN)',
          {
            field: 'authorization',
          },
        );
      }
      if (!prometheusEnabled()) {
        throw new NovaError('NOT_FOUND', 'Prometheus metrics are off (OTEL_METRICS_EXPORTER)');
      }
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(await renderMetrics());
    },
  );
}

/** Equal-length digests, so the comparison takes the same time whatever was sent. */
const digest = (text: string) => createHash('sha256').update(text).digest();
