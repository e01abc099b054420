/**
 * The Prometheus side of the service's metrics: one MetricReader, read by GET /metrics on the
 * service's own port (no second listener). When the OpenTelemetry SDK runs (sdk.ts, loaded
 * with --import) it owns this reader next to any OTLP exporter; when it does not (tests,
 * OTEL_SDK_DISABLED, `nova serve` started without the preload), `ensureMeterProvider` binds
 * the reader to a local MeterProvider, so /metrics works either way. The request durations
 * come from the service's own aggregation (request-durations.ts), produced into this reader.
 */
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  createDenyListAttributesProcessor,
  MeterProvider,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { requestDurations } from './request-durations.js';

export const prometheusReader = new PrometheusExporter({
  preventServerStart: true,
  metricProducers: [requestDurations.producer(AggregationTemporality.CUMULATIVE)],
});
// No target_info: /metrics is unauthenticated, and the resource names the host, the process
// owner and its command line. OTLP, to the operator's own collector, still carries them.
const serializer = new PrometheusSerializer(undefined, false, undefined, true);
/** sdk: the SDK reads it; off: the SDK runs without it (OTEL_METRICS_EXPORTER); local: ours. */
let owner: 'sdk' | 'off' | 'local' | undefined;

/** Called by the SDK at start: whether it took the reader. */
export const markReader = (taken: boolean) => {
  owner = taken ? 'sdk' : 'off';
};

/** False when OTEL_METRICS_EXPORTER leaves Prometheus out: /metrics then answers 404. */
export const prometheusEnabled = () => owner !== 'off';

/**
 * Views for every metric, whichever provider reads it: without server.address and
 * server.port, which the database and HTTP client instrumentations add (the hosts and ports
 * of PostgreSQL, MongoDB and Elasticsearch are nobody's business on /metrics, and per-host
 * series only multiply the series count).
 */
export const METRIC_VIEWS: ViewOptions[] = [
  {
    instrumentName: '*',
    attributesProcessors: [createDenyListAttributesProcessor(['server.address', 'server.port'])],
  },
];

/** A local MeterProvider for the reader, unless the SDK runs. */
export function ensureMeterProvider(serviceName: string): void {
  if (owner !== undefined) return;
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    readers: [prometheusReader],
    views: METRIC_VIEWS,
  });
  metrics.setGlobalMeterProvider(provider);
  owner = 'local';
}

/** The current metrics in Prometheus' text exposition format. */
export async function renderMetrics(): Promise<string> {
  const { resourceMetrics } = await prometheusReader.collect();
  return serializer.serialize(resourceMetrics);
}
