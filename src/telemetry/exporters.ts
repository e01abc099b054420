/**
 * Which exporters the standard OTEL_* variables ask for, and the OTLP exporters for them.
 *
 * - Metrics: Prometheus (GET /metrics) always, OTLP when an endpoint is set;
 *   OTEL_METRICS_EXPORTER (otlp, prometheus, none; comma-separated) replaces that choice.
 * - Traces: OTLP when an endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or the _TRACES_ one);
 *   OTEL_TRACES_EXPORTER (otlp, none) replaces that. Unlike the SDK's own default, nothing
 *   is sent to localhost:4318 when no endpoint was given.
 * - Protocol: OTEL_EXPORTER_OTLP_{TRACES,METRICS}_PROTOCOL, then OTEL_EXPORTER_OTLP_PROTOCOL,
 *   then http/protobuf: grpc, http/protobuf or http/json (a value not among them is skipped). The exporters read their endpoint,
 *   headers, timeout and TLS settings from the same variables themselves.
 *
 * A value that is not understood is named in a warning and ignored, never a reason not to
 * start: a misspelt telemetry setting must not take the service down.
 */
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';
const PROTOCOLS: readonly string[] = ['grpc', 'http/protobuf', 'http/json'];
const DEFAULT_PROTOCOL: OtlpProtocol = 'http/protobuf';

type Env = Record<string, string | undefined>;
type Signal = 'TRACES' | 'METRICS';

export interface ExporterChoice {
  prometheus: boolean;
  /** The OTLP protocol of each signal's export, or false when it is not exported. */
  otlpMetrics: OtlpProtocol | false;
  otlpTraces: OtlpProtocol | false;
  /** Settings that were not understood, each with what is done instead. */
  warnings: string[];
}

/** Pure: the choice the environment makes. */
export function exportersFor(env: Env): ExporterChoice {
  const warnings: string[] = [];
  const endpoint = (signal: Signal) =>
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
  const list = (name: string, known: readonly string[]): string[] | undefined => {
    if (!env[name]) return undefined;
    const items = (env[name] ?? '')
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter(Boolean);
    for (const item of items.filter((i) => !known.includes(i))) {
      warnings.push(`${name}: '${item}' is not supported (${known.join(', ')}); ignored`);
    }
    // As the specification and the SDK read it: `none` anywhere in the list means none at all.
    if (items.includes('none')) {
      if (items.length > 1) warnings.push(`${name}: 'none' is listed, so nothing else is used`);
      return [];
    }
    return items;
  };
  const invalid = new Set<string>();
  const protocol = (signal: Signal): OtlpProtocol => {
    for (const name of [`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
      const value = env[name]?.trim().toLowerCase();
      if (!value) continue;
      if (PROTOCOLS.includes(value)) return value as OtlpProtocol;
      if (!invalid.has(name)) {
        invalid.add(name);
        warnings.push(`${name}: '${value}' is not one of ${PROTOCOLS.join(', ')}; ignored`);
      }
    }
    return DEFAULT_PROTOCOL;
  };
  const metrics = list('OTEL_METRICS_EXPORTER', ['otlp', 'prometheus', 'none']) ?? [
    'prometheus',
    ...(endpoint('METRICS') ? ['otlp'] : []),
  ];
  const traces =
    list('OTEL_TRACES_EXPORTER', ['otlp', 'none']) ?? (endpoint('TRACES') ? ['otlp'] : []);
  return {
    prometheus: metrics.includes('prometheus'),
    otlpMetrics: metrics.includes('otlp') && protocol('METRICS'),
    otlpTraces: traces.includes('otlp') && protocol('TRACES'),
    warnings,
  };
}

/** The OTLP span exporter for `protocol`; only that protocol's package is loaded. */
export async function otlpTraceExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  }
}

/** The OTLP metric exporter for `protocol`; only that protocol's package is loaded. */
export async function otlpMetricExporter(protocol: OtlpProtocol): Promise<PushMetricExporter> {
  switch (protocol) {
    case 'grpc':
      return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
  }
}
