/** Which exporters the standard OTEL_* variables ask the SDK for (src/telemetry/sdk.ts). */
import { describe, expect, it } from 'vitest';
import { exportersFor } from '../../../src/telemetry/sdk.js';

describe('exportersFor', () => {
  it('serves Prometheus only, and sends nothing, without an OTLP endpoint', () => {
    expect(exportersFor({})).toEqual({ prometheus: true, otlpMetrics: false, otlpTraces: false });
  });

  it('adds OTLP traces and metrics when an endpoint is set', () => {
    expect(exportersFor({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual({
      prometheus: true,
      otlpMetrics: true,
      otlpTraces: true,
    });
    expect(
      exportersFor({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }),
    ).toEqual({ prometheus: true, otlpMetrics: false, otlpTraces: true });
    expect(
      exportersFor({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:4318/v1/metrics' }),
    ).toEqual({ prometheus: true, otlpMetrics: true, otlpTraces: false });
  });

  it('follows OTEL_METRICS_EXPORTER and OTEL_TRACES_EXPORTER when given', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(exportersFor({ ...endpoint, OTEL_METRICS_EXPORTER: 'otlp' })).toMatchObject({
      prometheus: false,
      otlpMetrics: true,
    });
    expect(
      exportersFor({ ...endpoint, OTEL_METRICS_EXPORTER: ' Prometheus , none ' }),
    ).toMatchObject({
      prometheus: true,
      otlpMetrics: false,
    });
    expect(exportersFor({ ...endpoint, OTEL_METRICS_EXPORTER: 'none' })).toMatchObject({
      prometheus: false,
      otlpMetrics: false,
    });
    expect(exportersFor({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toMatchObject({
      otlpTraces: false,
    });
  });
});
