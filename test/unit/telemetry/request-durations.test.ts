/**
 * The service's own request-duration histogram (src/telemetry/request-durations.ts) against
 * the SDK's: the same values recorded into both give the same points, cumulative; delta
 * producers give each interval's counts; the series are bounded as the SDK bounds them; and
 * the OTLP reader made for delta exporters is given delta points.
 */
import { ValueType } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import {
  CARDINALITY_LIMIT,
  REQUEST_DURATION_BOUNDARIES,
  RequestDurations,
  requestDurations,
} from '../../../src/telemetry/request-durations.js';
import { periodicReader } from '../../../src/telemetry/sdk.js';

/** A reader collected by hand. */
class ManualReader extends MetricReader {
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

type Point = DataPoint<Histogram>;

/** A fresh aggregation, produced into a reader bound to a MeterProvider. */
function aggregated(temporality: AggregationTemporality) {
  const durations = new RequestDurations();
  const reader = new ManualReader({ metricProducers: [durations.producer(temporality)] });
  new MeterProvider({ readers: [reader] });
  return { durations, reader };
}

async function pointsOf(reader: MetricReader): Promise<Point[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((scope) =>
    scope.metrics
      .filter((metric) => metric.descriptor.name === 'http.server.request.duration')
      .flatMap((metric) => metric.dataPoints as Point[]),
  );
}

/** Route, method, status and seconds: on boundaries, between them, beyond the last, NaN, negative. */
const REQUESTS: [string | undefined, string, number, number][] = [
  ['/api/health', 'GET', 200, 0],
  ['/api/health', 'GET', 200, 0.005],
  ['/api/health', 'GET', 200, 0.0051],
  ['/api/health', 'GET', 200, 0.1],
  ['/api/health', 'GET', 200, 10],
  ['/api/health', 'GET', 200, 12.5],
  ['/api/health', 'GET', 200, Number.NaN],
  ['/api/health', 'GET', 200, -0.5],
  ['/api/health', 'GET', 401, 0.002],
  ['/api/tickets', 'POST', 201, 0.3],
  [undefined, 'GET', 404, 0.001],
  [undefined, 'PROPFIND', 404, 0.75],
];

const byAttributes = (points: Point[]) =>
  new Map(points.map((point) => [JSON.stringify(point.attributes), point]));

describe('request durations aggregated by the service', () => {
  it('gives the points the SDK histogram gives for the same requests', async () => {
    const sdkReader = new ManualReader();
    const provider = new MeterProvider({ readers: [sdkReader] });
    const histogram = provider
      .getMeter('nova-service')
      .createHistogram('http.server.request.duration', {
        unit: 's',
        valueType: ValueType.DOUBLE,
        advice: { explicitBucketBoundaries: [...REQUEST_DURATION_BOUNDARIES] },
      });
    const durations = new RequestDurations();
    const ours = new ManualReader({
      metricProducers: [durations.producer(AggregationTemporality.CUMULATIVE)],
    });
    new MeterProvider({ readers: [ours] });
    for (const [route, method, status, seconds] of REQUESTS) {
      durations.record(seconds, method, status, route);
      histogram.record(seconds, {
        'http.request.method': method,
        'http.response.status_code': status,
        ...(route ? { 'http.route': route } : {}),
      });
    }
    const expected = byAttributes(await pointsOf(sdkReader));
    const actual = byAttributes(await pointsOf(ours));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(actual.size).toBe(5);
    for (const [key, point] of expected) expect(actual.get(key)?.value).toEqual(point.value);
    // The health series, spelled out: 0.005 and 0.1 count in the bucket they bound; NaN and
    // the negative value nowhere.
    const health = actual.get(
      JSON.stringify({
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'http.route': '/api/health',
      }),
    );
    expect(health?.value.count).toBe(6);
    expect(health?.value.buckets.counts).toEqual([2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    expect(health?.value.min).toBe(0);
    expect(health?.value.max).toBe(12.5);
    await provider.shutdown();
  });

  it('counts an empty route pattern as no route: one series, without http.route', async () => {
    const { durations, reader } = aggregated(AggregationTemporality.CUMULATIVE);
    durations.record(0.01, 'GET', 404, undefined);
    durations.record(0.01, 'GET', 404, '');
    const points = await pointsOf(reader);
    expect(points.map((point) => [point.attributes, point.value.count])).toEqual([
      [{ 'http.request.method': 'GET', 'http.response.status_code': 404 }, 2],
    ]);
  });

  it('serves them on /metrics as a Prometheus histogram', async () => {
    const durations = new RequestDurations();
    const reader = new PrometheusExporter({
      preventServerStart: true,
      metricProducers: [durations.producer(AggregationTemporality.CUMULATIVE)],
    });
    const provider = new MeterProvider({ readers: [reader] });
    durations.record(0.02, 'GET', 200, '/api/health');
    durations.record(0.2, 'GET', 200, '/api/health');
    const { resourceMetrics } = await reader.collect();
    const text = new PrometheusSerializer().serialize(resourceMetrics);
    expect(text).toMatch(/^# TYPE http_server_request_duration histogram$/m);
    expect(text).toMatch(
      /^http_server_request_duration_bucket\{[^}]*http_route="\/api\/health"[^}]*le="0.025"\} 1$/m,
    );
    expect(text).toMatch(/^http_server_request_duration_count\{[^}]*\} 2$/m);
    await provider.shutdown();
  });

  it('gives a delta reader each interval: only the series that changed, without min and max', async () => {
    const { durations, reader } = aggregated(AggregationTemporality.DELTA);
    expect(await pointsOf(reader)).toEqual([]);
    durations.record(0.02, 'GET', 200, '/api/health');
    durations.record(0.3, 'POST', 201, '/api/tickets');
    const first = await pointsOf(reader);
    expect(first.map((point) => point.value.count)).toEqual([1, 1]);
    durations.record(0.04, 'GET', 200, '/api/health');
    durations.record(0.001, 'GET', 200, '/api/health');
    const [second, ...others] = await pointsOf(reader);
    expect(others).toEqual([]);
    expect(second?.attributes['http.route']).toBe('/api/health');
    expect(second?.value.count).toBe(2);
    expect(second?.value.sum).toBeCloseTo(0.041, 12);
    expect(second?.value.buckets.counts.slice(0, 4)).toEqual([1, 0, 0, 1]);
    expect(second?.value.min).toBeUndefined();
    expect(second?.value.max).toBeUndefined();
    // The interval starts where the previous collection ended.
    expect(second?.startTime).toEqual(first[0]?.endTime);
    expect(await pointsOf(reader)).toEqual([]);
  });

  it('keeps at most the SDK limit of series; the rest count in one overflow series', async () => {
    const { durations, reader } = aggregated(AggregationTemporality.CUMULATIVE);
    const extra = 50;
    for (let i = 0; i < CARDINALITY_LIMIT + extra; i++) {
      durations.record(0.01, 'GET', 200, `/route/${i}`);
    }
    durations.record(0.01, 'GET', 200, '/route/0');
    const points = await pointsOf(reader);
    expect(points).toHaveLength(CARDINALITY_LIMIT);
    expect(points[0]?.value.count).toBe(2);
    const overflow = points.at(-1);
    expect(overflow?.attributes).toEqual({ 'otel.metric.overflow': true });
    expect(overflow?.value.count).toBe(extra + 1);
  });

  it("gives OTLP's own reader the exporter's temporality", async () => {
    const delta = periodicReader(new InMemoryMetricExporter(AggregationTemporality.DELTA));
    const cumulative = periodicReader(
      new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    );
    const provider = new MeterProvider({ readers: [delta, cumulative] });
    const temporalities = async (reader: MetricReader) =>
      (await reader.collect()).resourceMetrics.scopeMetrics
        .flatMap((scope) => scope.metrics)
        .filter((metric) => metric.descriptor.name === 'http.server.request.duration')
        .map((metric) => metric.aggregationTemporality);
    // The process's aggregation, which the service records into.
    requestDurations.record(0.01, 'GET', 200, '/api/health');
    expect(await temporalities(delta)).toEqual([AggregationTemporality.DELTA]);
    expect(await temporalities(cumulative)).toEqual([AggregationTemporality.CUMULATIVE]);
    await provider.shutdown();
  });
});
