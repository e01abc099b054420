/**
 * OTLP metrics from the Prometheus reader's aggregation (src/telemetry/shared-export.ts): what
 * the exporter receives is what /metrics shows, cumulative, once per export; exporters that want
 * something else (delta, exponential histograms) are not given it; a failing or silent exporter
 * neither throws nor blocks shutdown.
 */
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  InMemoryMetricExporter,
  MeterProvider,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  exportFromReader,
  sharesPrometheusAggregation,
} from '../../../src/telemetry/shared-export.js';

function meterWithReader() {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider.getMeter('test').createHistogram('http.server.request.duration');
  return { reader, provider, histogram };
}

/** The data points of the exported histogram, export by export. */
const counts = (exporter: InMemoryMetricExporter) =>
  exporter
    .getMetrics()
    .map(
      (rm) =>
        (rm.scopeMetrics[0]?.metrics[0]?.dataPoints[0]?.value as { count: number } | undefined)
          ?.count,
    );

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('OTLP metrics from the Prometheus aggregation', () => {
  it('exports what the reader collects, cumulative, and once more at shutdown', async () => {
    const { reader, provider, histogram } = meterWithReader();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const shared = exportFromReader(reader, exporter);
    histogram.record(0.01, { 'http.route': '/api/health' });
    histogram.record(0.02, { 'http.route': '/api/health' });
    await shared.exportOnce();
    histogram.record(0.03, { 'http.route': '/api/health' });
    await (await shared.stop()).exported;
    expect(counts(exporter)).toEqual([2, 3]);
    // The same aggregation /metrics reads: no second storage.
    const { resourceMetrics } = await reader.collect();
    const point = resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints[0];
    expect((point?.value as { count: number } | undefined)?.count).toBe(3);
    await provider.shutdown();
  });

  it('exports every interval, never two at once', async () => {
    vi.useFakeTimers();
    try {
      const { reader, provider, histogram } = meterWithReader();
      let calls = 0;
      let answer: ((r: { code: ExportResultCode }) => void) | undefined;
      const slow: PushMetricExporter = {
        export: (_metrics, done) => {
          calls++;
          answer = done;
        },
        forceFlush: async () => undefined,
        shutdown: async () => undefined,
      };
      exportFromReader(reader, slow, { intervalMs: 1000, timeoutMs: 10_000 });
      histogram.record(1);
      await vi.advanceTimersByTimeAsync(1000);
      expect(calls).toBe(1);
      await vi.advanceTimersByTimeAsync(1000); // the first is still running: skipped
      expect(calls).toBe(1);
      answer?.({ code: ExportResultCode.SUCCESS });
      await vi.advanceTimersByTimeAsync(1000);
      expect(calls).toBe(2);
      answer?.({ code: ExportResultCode.SUCCESS });
      await provider.shutdown();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failed or silent export is logged, not thrown, and shutdown still ends', async () => {
    const { reader, provider, histogram } = meterWithReader();
    histogram.record(1);
    const failing: PushMetricExporter = {
      export: (_m, done) => done({ code: ExportResultCode.FAILED, error: new Error('refused') }),
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
    await expect(
      (await exportFromReader(reader, failing).stop()).exported,
    ).resolves.toBeUndefined();
    const silent: PushMetricExporter = {
      export: () => undefined,
      forceFlush: async () => undefined,
      shutdown: vi.fn(async () => undefined),
    };
    const shared = exportFromReader(reader, silent, { timeoutMs: 50 });
    await expect((await shared.stop()).exported).resolves.toBeUndefined();
    expect(silent.shutdown).toHaveBeenCalledOnce();
    await provider.shutdown();
  });

  it('waits for attributes a detector finds later (host.id) before it exports', async () => {
    const reader = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({
      readers: [reader],
      resource: resourceFromAttributes({ 'host.id': Promise.resolve('host-7') }),
    });
    provider.getMeter('test').createCounter('c').add(1);
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    await (await exportFromReader(reader, exporter).stop()).exported;
    expect(exporter.getMetrics()[0]?.resource.attributes['host.id']).toBe('host-7');
    await provider.shutdown();
  });

  it('stop collects at once; the export may finish after the provider is gone', async () => {
    const { reader, provider, histogram } = meterWithReader();
    histogram.record(1);
    let answer: ((r: { code: ExportResultCode }) => void) | undefined;
    const shutdown = vi.fn(async () => undefined);
    const slow: PushMetricExporter = {
      export: (_metrics, done) => {
        answer = done;
      },
      forceFlush: async () => undefined,
      shutdown,
    };
    const { exported } = await exportFromReader(reader, slow).stop();
    await provider.shutdown(); // the SDK's own shutdown, running beside the export
    expect(shutdown).not.toHaveBeenCalled();
    answer?.({ code: ExportResultCode.SUCCESS });
    await exported;
    expect(shutdown).toHaveBeenCalledOnce();
  });

  it('is used only for exporters that want cumulative data and the default aggregations', () => {
    expect(
      sharesPrometheusAggregation(new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)),
    ).toBe(true);
    expect(
      sharesPrometheusAggregation(new InMemoryMetricExporter(AggregationTemporality.DELTA)),
    ).toBe(false);
    // The OTLP exporter as the environment configures it.
    expect(sharesPrometheusAggregation(new OTLPMetricExporter())).toBe(true);
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', 'delta');
    expect(sharesPrometheusAggregation(new OTLPMetricExporter())).toBe(false);
    vi.unstubAllEnvs();
    const exponential = new OTLPMetricExporter({
      aggregationPreference: () => ({ type: AggregationType.EXPONENTIAL_HISTOGRAM }),
    });
    expect(sharesPrometheusAggregation(exponential)).toBe(false);
  });
});
