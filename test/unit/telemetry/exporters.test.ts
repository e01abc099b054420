/** Which exporters the standard OTEL_* variables ask for (src/telemetry/exporters.ts). */
import { OTLPMetricExporter as GrpcMetrics } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as JsonMetrics } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetrics } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraces } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraces } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraces } from '@opentelemetry/exporter-trace-otlp-proto';
import { describe, expect, it } from 'vitest';
import {
  exportersFor,
  otlpMetricExporter,
  otlpTraceExporter,
} from '../../../src/telemetry/exporters.js';

const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };

describe('exportersFor', () => {
  it('serves Prometheus only, and sends nothing, without an OTLP endpoint', () => {
    expect(exportersFor({})).toEqual({
      prometheus: true,
      otlpMetrics: false,
      otlpTraces: false,
      warnings: [],
    });
  });

  it('adds OTLP traces and metrics (http/protobuf) when an endpoint is set', () => {
    expect(exportersFor(endpoint)).toEqual({
      prometheus: true,
      otlpMetrics: 'http/protobuf',
      otlpTraces: 'http/protobuf',
      warnings: [],
    });
    expect(
      exportersFor({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }),
    ).toMatchObject({ prometheus: true, otlpMetrics: false, otlpTraces: 'http/protobuf' });
    expect(
      exportersFor({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:4318/v1/metrics' }),
    ).toMatchObject({ prometheus: true, otlpMetrics: 'http/protobuf', otlpTraces: false });
  });

  it('follows OTEL_METRICS_EXPORTER and OTEL_TRACES_EXPORTER when given', () => {
    expect(exportersFor({ ...endpoint, OTEL_METRICS_EXPORTER: 'otlp' })).toMatchObject({
      prometheus: false,
      otlpMetrics: 'http/protobuf',
    });
    expect(
      exportersFor({ ...endpoint, OTEL_METRICS_EXPORTER: ' Prometheus , OTLP ' }),
    ).toMatchObject({ prometheus: true, otlpMetrics: 'http/protobuf', warnings: [] });
    // `none` anywhere means none, as the specification and the SDK read it.
    expect(exportersFor({ ...endpoint, OTEL_METRICS_EXPORTER: 'prometheus,none' })).toMatchObject({
      prometheus: false,
      otlpMetrics: false,
      warnings: ["OTEL_METRICS_EXPORTER: 'none' is listed, so nothing else is used"],
    });
    expect(exportersFor({ ...endpoint, OTEL_METRICS_EXPORTER: 'none' })).toMatchObject({
      prometheus: false,
      otlpMetrics: false,
    });
    expect(exportersFor({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toMatchObject({
      otlpTraces: false,
    });
  });

  it('takes the protocol per signal, then the general one', () => {
    expect(exportersFor({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatchObject({
      otlpMetrics: 'grpc',
      otlpTraces: 'grpc',
      warnings: [],
    });
    expect(
      exportersFor({
        ...endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'HTTP/JSON',
      }),
    ).toMatchObject({ otlpMetrics: 'grpc', otlpTraces: 'http/json', warnings: [] });
  });

  it('names what it does not understand, and carries on with the defaults', () => {
    const choice = exportersFor({
      ...endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http',
      OTEL_TRACES_EXPORTER: 'otlp,zipkin',
      OTEL_METRICS_EXPORTER: 'prometheus,console',
    });
    expect(choice).toMatchObject({
      prometheus: true,
      otlpMetrics: false,
      otlpTraces: 'http/protobuf',
    });
    expect(choice.warnings).toEqual([
      "OTEL_METRICS_EXPORTER: 'console' is not supported (otlp, prometheus, none); ignored",
      "OTEL_TRACES_EXPORTER: 'zipkin' is not supported (otlp, none); ignored",
      "OTEL_EXPORTER_OTLP_PROTOCOL: 'http' is not one of grpc, http/protobuf, http/json; ignored",
    ]);
  });

  it('skips an invalid per-signal protocol for the general one, naming each bad value once', () => {
    const choice = exportersFor({
      ...endpoint,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    expect(choice).toMatchObject({ otlpTraces: 'grpc', otlpMetrics: 'grpc' });
    expect(choice.warnings).toEqual([
      "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http' is not one of grpc, http/protobuf, http/json; ignored",
      "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift' is not one of grpc, http/protobuf, http/json; ignored",
    ]);
    const twice = exportersFor({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http' });
    expect(twice.warnings).toHaveLength(1);
  });
});

describe('OTLP exporters', () => {
  it.each([
    ['grpc', GrpcTraces, GrpcMetrics],
    ['http/json', JsonTraces, JsonMetrics],
    ['http/protobuf', ProtoTraces, ProtoMetrics],
  ] as const)('%s builds that protocol’s exporters', async (protocol, traces, metrics) => {
    const spans = await otlpTraceExporter(protocol);
    const points = await otlpMetricExporter(protocol);
    try {
      expect(spans).toBeInstanceOf(traces);
      expect(points).toBeInstanceOf(metrics);
    } finally {
      await spans.shutdown();
      await points.shutdown();
    }
  });
});
