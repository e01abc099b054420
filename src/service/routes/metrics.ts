/**
 * GET /metrics: the service's metrics in Prometheus' text format, on the service's own port.
 * Unauthenticated, as scrapers expect: it carries counts and timings, no identities (routes
 * are patterns, never URLs). 404 when OTEL_METRICS_EXPORTER leaves Prometheus out.
 */
import type { FastifyInstance } from 'fastify';
import { NovaError } from '../../lib/errors.js';
import { prometheusEnabled, renderMetrics } from '../../telemetry/prometheus.js';
import { UNTRACED } from '../tracing.js';

export function metricsRoute(app: FastifyInstance) {
  app.get('/metrics', UNTRACED, async (_request, reply) => {
    if (!prometheusEnabled()) {
      throw new NovaError('NOT_FOUND', 'Prometheus metrics are off (OTEL_METRICS_EXPORTER)');
    }
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(await renderMetrics());
  });
}
