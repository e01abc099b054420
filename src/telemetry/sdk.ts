/**
 * The OpenTelemetry Node SDK as the service runs it, configured by the standard OTEL_*
 * variables:
 *
 * - traces of requests (@fastify/otel: a SERVER span per request, continuing an incoming
 *   traceparent, with the route handler and the authentication preHandler), PostgreSQL (pg,
 *   under Prisma's adapter too), MongoDB and undici (global fetch and the Elasticsearch
 *   client), exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or the _TRACES_ one) is
 *   set; without an endpoint spans are still made (their ids go into logs and telemetry
 *   events) but not sent;
 * - metrics read by GET /metrics (Prometheus) and, with an endpoint, exported over OTLP;
 *   OTEL_METRICS_EXPORTER (otlp, prometheus, none; comma-separated) narrows that;
 * - pino log records carry trace_id and span_id.
 *
 * http.server.request.duration is recorded by the service itself (service/metrics.ts, so it
 * exists with or without the SDK). @opentelemetry/instrumentation-http is not used: the
 * service makes no node:http client calls, @fastify/otel already makes the server span, and
 * the HTTP instrumentation's own server span per request halved throughput (`npm run
 * bench:http`, /api/health with OpenTelemetry on: 0.20 of a bare server with it, 0.38
 * without). Probe and scrape requests (/livez, /readyz, /metrics) make no spans.
 */
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { envDetector, hostDetector } from '@opentelemetry/resources';
import { type MetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { markReader, prometheusReader } from './prometheus.js';
import { telemetry } from './state.js';

type Env = Record<string, string | undefined>;

const UNTRACED = new Set(['/livez', '/readyz', '/metrics']);

/** Which exporters the environment asks for. Pure, for tests. */
export function exportersFor(env: Env) {
  const endpoint = (name: string) =>
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${name}_ENDPOINT`]);
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter(Boolean);
  const metricsWanted = env.OTEL_METRICS_EXPORTER
    ? list(env.OTEL_METRICS_EXPORTER)
    : ['prometheus', ...(endpoint('METRICS') ? ['otlp'] : [])];
  const tracesWanted = env.OTEL_TRACES_EXPORTER
    ? list(env.OTEL_TRACES_EXPORTER)
    : endpoint('TRACES')
      ? ['otlp']
      : [];
  return {
    prometheus: metricsWanted.includes('prometheus'),
    otlpMetrics: metricsWanted.includes('otlp'),
    otlpTraces: tracesWanted.includes('otlp'),
  };
}

export function startSdk(env: Env): NodeSDK {
  const wanted = exportersFor(env);
  const metricReaders: MetricReader[] = [];
  if (wanted.prometheus) metricReaders.push(prometheusReader);
  if (wanted.otlpMetrics) {
    metricReaders.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter() }));
  }
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || 'nova-api',
    // OTEL_RESOURCE_ATTRIBUTES and the host; not the process (its owner and command line).
    resourceDetectors: [envDetector, hostDetector],
    metricReaders,
    ...(wanted.otlpTraces
      ? { traceExporter: new OTLPTraceExporter() }
      : { spanProcessors: [new NoopSpanProcessor()] }),
    // Logs stay in pino (stdout); the SDK's default would ship them to localhost:4318.
    logRecordProcessors: [],
    instrumentations: [
      new UndiciInstrumentation(),
      new PgInstrumentation(),
      new MongoDBInstrumentation(),
      new PinoInstrumentation({ disableLogSending: true }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        // Called with route patterns and with request URLs (query strings included).
        ignorePaths: (route) => UNTRACED.has(route.url.split('?')[0] ?? ''),
        // url.path without the query string: it carries search text, kept out of traces as it
        // is out of logs and metrics.
        requestHook: (span, request) => {
          span.setAttribute('url.path', request.url.split('?')[0] ?? '/');
        },
        // The request, its handler and preHandler (authentication): the spans worth reading.
        // A span per lifecycle hook would cost more than the hooks themselves.
        instrumentHooks: ['preHandler'],
      }),
    ],
  });
  sdk.start();
  markReader(wanted.prometheus);
  telemetry.shutdown = () => sdk.shutdown();
  return sdk;
}
