/**
 * The OpenTelemetry Node SDK as the service runs it, configured by the standard OTEL_*
 * variables:
 *
 * - traces of requests (the service's own SERVER span per request, service/tracing.ts,
 *   continuing an incoming traceparent), PostgreSQL (pg, under Prisma's adapter too),
 *   MongoDB and undici (global fetch and the Elasticsearch client), exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or the _TRACES_ one) is
 *   set (grpc, http/protobuf or http/json: exporters.ts); without an endpoint spans are
 *   still made (their ids go into logs and telemetry events) but not sent;
 * - metrics read by GET /metrics (Prometheus) and, with an endpoint, exported over OTLP (from
 *   the same aggregation when the exporter wants cumulative data: shared-export.ts);
 * - log lines carry trace_id and span_id (service/tracing.ts).
 *
 * http.server.request.duration is aggregated by the service itself and produced into every
 * reader (request-durations.ts), so it exists with or without the SDK.
 * @opentelemetry/instrumentation-http is not used: the service makes no node:http client
 * calls, the service makes its own server span, and the HTTP instrumentation's server span
 * per request halved throughput (`npm run bench:http`, /api/health with OpenTelemetry on:
 * 0.20 of a bare server with it, 0.38 without). Probe and scrape requests (/livez, /readyz,
 * /metrics) make no spans.
 */
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { envDetector, hostDetector } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  InstrumentType,
  type MetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { exportersFor, otlpMetricExporter, otlpTraceExporter } from './exporters.js';
import { PooledIdGenerator } from './ids.js';
import { METRIC_VIEWS, markReader, prometheusReader } from './prometheus.js';
import { requestDurations } from './request-durations.js';
import {
  exportFromReader,
  type SharedExport,
  sharesPrometheusAggregation,
} from './shared-export.js';
import { telemetry } from './state.js';

type Env = Record<string, string | undefined>;

/** What the service traces; the tests run the same list against an in-memory exporter. */
export function instrumentations() {
  return [new UndiciInstrumentation(), new PgInstrumentation(), new MongoDBInstrumentation()];
}

/**
 * OTLP's own reader: for an exporter that wants what Prometheus does not keep (delta), or
 * when /metrics is off.
 */
export function periodicReader(exporter: PushMetricExporter): PeriodicExportingMetricReader {
  const temporality =
    exporter.selectAggregationTemporality?.(InstrumentType.HISTOGRAM) ??
    AggregationTemporality.CUMULATIVE;
  return new PeriodicExportingMetricReader({
    exporter,
    metricProducers: [requestDurations.producer(temporality)],
  });
}

export async function startSdk(env: Env): Promise<NodeSDK> {
  const wanted = exportersFor(env);
  for (const warning of wanted.warnings) process.stderr.write(`nova: telemetry: ${warning}\n`);
  const metricReaders: MetricReader[] = [];
  let shared: SharedExport | undefined;
  if (wanted.prometheus) metricReaders.push(prometheusReader);
  if (wanted.otlpMetrics) {
    const exporter = await otlpMetricExporter(wanted.otlpMetrics);
    // One aggregation for /metrics and OTLP when the exporter wants what Prometheus keeps.
    if (wanted.prometheus && sharesPrometheusAggregation(exporter)) {
      shared = exportFromReader(prometheusReader, exporter);
    } else metricReaders.push(periodicReader(exporter));
  }
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || 'nova-api',
    // OTEL_RESOURCE_ATTRIBUTES and the host; not the process (its owner and command line).
    resourceDetectors: [envDetector, hostDetector],
    metricReaders,
    views: METRIC_VIEWS,
    ...(wanted.otlpTraces
      ? { traceExporter: await otlpTraceExporter(wanted.otlpTraces) }
      : { spanProcessors: [new NoopSpanProcessor()] }),
    // Made for every request, sampled or not: cheaper than the default (ids.ts).
    idGenerator: new PooledIdGenerator(),
    // Logs stay in pino (stdout); the SDK's default would ship them to localhost:4318.
    logRecordProcessors: [],
    instrumentations: instrumentations(),
  });
  sdk.start();
  markReader(wanted.prometheus);
  telemetry.shutdown = async () => {
    // The last metrics are collected while the SDK still holds the reader; their export then
    // runs beside the spans' flush, so a slow metrics endpoint cannot hold the spans back.
    const last = await shared?.stop();
    await Promise.all([last?.exported, sdk.shutdown()]);
  };
  return sdk;
}
