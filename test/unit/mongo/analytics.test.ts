/**
 * The analytics pipelines, checked two ways: their exact shape (what MongoDB receives), and
 * their results on seeded events, evaluated with mingo, an in-memory implementation of the
 * MongoDB query language. mingo is not MongoDB: it proves the pipeline logic (grouping,
 * bucketing, error rates); the live suite runs the same pipelines on a real server.
 */
import { aggregate } from 'mingo';
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  PERCENTILES,
  performancePipeline,
  searchAnalyticsPipeline,
  toPerformanceReport,
  toSearchAnalytics,
} from '../../../src/lib/db/mongo/analytics.js';
import { parseTimeRange } from '../../../src/lib/db/mongo/time-range.js';
import { performanceEvent, searchEvent } from '../../../src/lib/telemetry/events.js';
import { expectNovaError } from '../../support/nova-error.js';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const DAY = 86_400_000;
const range24h = () => parseTimeRange('24h', { maxMs: 90 * DAY, now: NOW });
const at = (msAgo: number) => ({ service: 'api', now: () => new Date(NOW.getTime() - msAgo) });
const HOUR = 3_600_000;

// mingo 7.2.7 sorts $percentile inputs as strings, so seeded latencies share a digit count
// (MongoDB itself sorts numerically; the live suite covers it).
function seedSearches(): Document[] {
  const docs: Document[] = [];
  const add = (msAgo: number, query: string, results: number, ms: number) =>
    docs.push(searchEvent(at(msAgo), 'tickets', query, results, ms).document);
  for (let i = 0; i < 5; i++) add(HOUR / 2, 'VPN  setup', 3, 110 + i); // 5x at 11:30
  for (let i = 0; i < 3; i++) add(2 * HOUR + 60_000, 'printer jam', 0, 300); // 3x zero results
  add(5 * HOUR, 'password reset', 7, 900);
  add(2 * DAY, 'too old', 1, 5); // outside the 24h range
  return docs;
}

describe('search analytics', () => {
  it('sends Dates and fixed operators, never the raw range text', () => {
    const range = range24h();
    const pipeline = searchAnalyticsPipeline(range);
    expect(pipeline[0]).toEqual({ $match: { timestamp: { $gte: range.from, $lt: range.to } } });
    expect(range.from).toBeInstanceOf(Date);
    expect(JSON.stringify(pipeline)).not.toContain('24h');
    const facet = pipeline[1]?.$facet;
    expect(Object.keys(facet)).toEqual(['volume', 'topQueries', 'zeroResultQueries', 'summary']);
    expect(facet.summary[0].$group.latency).toEqual({
      $percentile: { input: '$durationMs', p: [...PERCENTILES], method: 'approximate' },
    });
    expect(facet.volume[0].$group._id).toEqual({
      $dateTrunc: { date: '$timestamp', unit: 'minute', binSize: 30 },
    });
  });

  it('filters by scope only when asked, and validates scope and top', () => {
    const range = range24h();
    expect(searchAnalyticsPipeline(range, { scope: 'kb' })[0]?.$match.scope).toBe('kb');
    expectNovaError(() => searchAnalyticsPipeline(range, { scope: 'wiki' as 'kb' }), {
      code: 'VALIDATION_FAILED',
      field: 'scope',
    });
    expectNovaError(() => searchAnalyticsPipeline(range, { top: 0 }), {
      code: 'VALIDATION_FAILED',
      field: 'top',
    });
    expectNovaError(() => searchAnalyticsPipeline(range, { top: 51 }), {
      code: 'VALIDATION_FAILED',
      field: 'top',
    });
  });

  it('computes volume buckets, top and zero-result queries and latency on seeded data', () => {
    const range = range24h();
    const [facets] = aggregate(seedSearches(), searchAnalyticsPipeline(range)) as Document[];
    const report = toSearchAnalytics(facets, range);
    expect(report.totalSearches).toBe(9);
    expect(report.zeroResultSearches).toBe(3);
    expect(report.topQueries).toEqual([
      { query: 'vpn setup', count: 5, avgResults: 3 },
      { query: 'printer jam', count: 3, avgResults: 0 },
      { query: 'password reset', count: 1, avgResults: 7 },
    ]);
    expect(report.zeroResultQueries).toEqual([{ query: 'printer jam', count: 3 }]);
    // 24h in 30-minute buckets (the smallest giving at most 60), empty ones as zero.
    expect(report.bucket).toBe('30 minute');
    expect(report.volume).toHaveLength(48);
    expect(report.volume.reduce((sum, b) => sum + b.searches, 0)).toBe(9);
    expect(report.volume.find((b) => b.start === '2026-11-25T11:30:00.000Z')).toEqual({
      start: '2026-11-25T11:30:00.000Z',
      searches: 5,
      zeroResults: 0,
    });
    expect(report.volume.find((b) => b.start === '2026-11-25T09:30:00.000Z')?.zeroResults).toBe(3);
    const { p50, p95, p99 } = report.latencyMs;
    expect(p50).toBeGreaterThanOrEqual(110);
    expect(p50).toBeLessThanOrEqual(300);
    expect(p99).toBeGreaterThanOrEqual(p95 ?? 0);
    expect(p99).toBeLessThanOrEqual(900);
  });

  it('reports an empty range as zeros, not as an error', () => {
    const range = range24h();
    const [facets] = aggregate([], searchAnalyticsPipeline(range)) as Document[];
    const report = toSearchAnalytics(facets, range);
    expect(report).toMatchObject({
      totalSearches: 0,
      zeroResultSearches: 0,
      latencyMs: { p50: null, p95: null, p99: null },
      topQueries: [],
    });
    expect(report.volume.every((b) => b.searches === 0)).toBe(true);
  });

  it('keeps the nulls $percentile gives a group without a numeric value (not 0 ms)', () => {
    const range = range24h();
    const report = toSearchAnalytics(
      { summary: [{ total: 2, zero: 0, latency: [null, null, null] }], volume: [], top: [] },
      range,
    );
    expect(report.latencyMs).toEqual({ p50: null, p95: null, p99: null });
  });
});

function seedPerformance(): Document[] {
  const docs: Document[] = [];
  const add = (service: string, endpoint: string, ms: number, details: Record<string, unknown>) =>
    docs.push(performanceEvent(at(HOUR), service, endpoint, ms, details).document);
  for (let i = 0; i < 8; i++) add('api', '/tickets/search', 150 + i, { statusCode: 200 });
  for (let i = 0; i < 2; i++) add('api', '/tickets/search', 900, { statusCode: 503 });
  for (let i = 0; i < 4; i++) add('api', '/kb/search', 20, { success: i > 0 });
  add('worker', '/index', 5, {});
  return docs;
}

describe('performance analytics', () => {
  it('groups by service and endpoint with count, error rate and percentiles', () => {
    const range = range24h();
    const rows = aggregate(seedPerformance(), performancePipeline(range)) as Document[];
    const report = toPerformanceReport(rows, range);
    expect(
      report.endpoints.map((e) => [e.service, e.endpoint, e.count, e.errors, e.errorRate]),
    ).toEqual([
      ['api', '/tickets/search', 10, 2, 0.2],
      ['api', '/kb/search', 4, 1, 0.25],
      ['worker', '/index', 1, 0, 0],
    ]);
    const search = report.endpoints[0]?.latencyMs;
    expect(search?.p50).toBeGreaterThanOrEqual(150);
    expect(search?.p50).toBeLessThan(900);
    expect(search?.p99).toBe(900);
  });

  it('filters by service and endpoint as plain equality values', () => {
    const range = range24h();
    const rows = aggregate(seedPerformance(), performancePipeline(range, { service: 'worker' }));
    expect(rows).toHaveLength(1);
    expect(performancePipeline(range, { service: 'api', endpoint: '/kb/search' })[0]).toEqual({
      $match: {
        timestamp: { $gte: range.from, $lt: range.to },
        service: 'api',
        endpoint: '/kb/search',
      },
    });
  });

  it('refuses operator objects and oversized filters (query-string injection)', () => {
    const range = range24h();
    for (const service of [{ $ne: null }, ['api'], '', 'x'.repeat(257)]) {
      expectNovaError(() => performancePipeline(range, { service: service as string }), {
        code: 'VALIDATION_FAILED',
        field: 'service',
      });
    }
    expectNovaError(
      () => performancePipeline(range, { endpoint: { $gt: '' } as unknown as string }),
      {
        code: 'VALIDATION_FAILED',
        field: 'endpoint',
      },
    );
  });
});
