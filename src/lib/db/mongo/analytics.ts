/**
 * The analytics aggregations behind the service's /api/analytics endpoints, as pure
 * functions: a validated range and filters in, a pipeline out; raw results in, a typed report
 * out. Percentiles use $percentile (MongoDB 7.0+, t-digest, method "approximate").
 */
import type { Document } from 'mongodb';
import { NovaError } from '../../errors.js';
import { SEARCH_SCOPES, type SearchScope } from '../../telemetry/events.js';
import { bucketStarts, type TimeRange } from './time-range.js';

export const PERCENTILES = [0.5, 0.95, 0.99] as const;
const MAX_TOP = 50;
const MAX_GROUPS = 200;

export interface Latency {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SearchAnalytics {
  timeRange: string;
  from: string;
  to: string;
  bucket: string;
  totalSearches: number;
  zeroResultSearches: number;
  latencyMs: Latency;
  volume: { start: string; searches: number; zeroResults: number }[];
  topQueries: { query: string; count: number; avgResults: number }[];
  zeroResultQueries: { query: string; count: number }[];
}

export interface EndpointPerformance {
  service: string;
  endpoint: string;
  count: number;
  errors: number;
  errorRate: number;
  latencyMs: Latency;
}

export interface PerformanceReport {
  timeRange: string;
  from: string;
  to: string;
  endpoints: EndpointPerformance[];
}

const percentile = (input: string) => ({
  $percentile: { input, p: [...PERCENTILES], method: 'approximate' },
});

function filterText(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > 256) {
    throw new NovaError('VALIDATION_FAILED', `${field} must be a string of 1-256 characters`, {
      field,
    });
  }
  return value;
}

function topN(value: unknown): number {
  if (value === undefined) return 10;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_TOP) {
    throw new NovaError('VALIDATION_FAILED', `top must be an integer from 1 to ${MAX_TOP}`, {
      field: 'top',
    });
  }
  return value as number;
}

export interface SearchAnalyticsOptions {
  scope?: SearchScope;
  /** How many top and zero-result queries (default 10, at most 50). */
  top?: number;
}

export function searchAnalyticsPipeline(
  range: TimeRange,
  options: SearchAnalyticsOptions = {},
): Document[] {
  if (options.scope !== undefined && !SEARCH_SCOPES.includes(options.scope)) {
    throw new NovaError('VALIDATION_FAILED', `scope must be one of ${SEARCH_SCOPES.join(', ')}`, {
      field: 'scope',
    });
  }
  const top = topN(options.top);
  const match: Document = { timestamp: { $gte: range.from, $lt: range.to } };
  if (options.scope) match.scope = options.scope;
  const byCount = { $sort: { count: -1, _id: 1 } };
  return [
    { $match: match },
    {
      $facet: {
        volume: [
          {
            $group: {
              _id: {
                $dateTrunc: {
                  date: '$timestamp',
                  unit: range.bucket.unit,
                  binSize: range.bucket.binSize,
                },
              },
              searches: { $sum: 1 },
              zeroResults: { $sum: { $cond: [{ $eq: ['$resultCount', 0] }, 1, 0] } },
            },
          },
          { $sort: { _id: 1 } },
        ],
        topQueries: [
          {
            $group: { _id: '$query', count: { $sum: 1 }, avgResults: { $avg: '$resultCount' } },
          },
          byCount,
          { $limit: top },
        ],
        zeroResultQueries: [
          { $match: { resultCount: 0 } },
          { $group: { _id: '$query', count: { $sum: 1 } } },
          byCount,
          { $limit: top },
        ],
        summary: [
          {
            $group: {
              _id: null,
              total: { $sum: 1 },
              zeroResults: { $sum: { $cond: [{ $eq: ['$resultCount', 0] }, 1, 0] } },
              latency: percentile('$durationMs'),
            },
          },
        ],
      },
    },
  ];
}

const latency = (values: unknown): Latency => {
  // $percentile gives null where a group saw no numeric value (accumulator_percentile.cpp).
  const [p50, p95, p99] = Array.isArray(values)
    ? values.map((v) => (v === null || v === undefined ? null : Number(v)))
    : [];
  return { p50: p50 ?? null, p95: p95 ?? null, p99: p99 ?? null };
};

const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The report, with every bucket of the range present (empty ones as zero). */
export function toSearchAnalytics(raw: Document | undefined, range: TimeRange): SearchAnalytics {
  const facets = raw ?? {};
  const summary = facets.summary?.[0];
  const counts = new Map<number, { searches: number; zeroResults: number }>();
  for (const row of facets.volume ?? []) {
    counts.set(new Date(row._id).getTime(), {
      searches: Number(row.searches),
      zeroResults: Number(row.zeroResults),
    });
  }
  return {
    timeRange: range.label,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    bucket: `${range.bucket.binSize} ${range.bucket.unit}`,
    totalSearches: Number(summary?.total ?? 0),
    zeroResultSearches: Number(summary?.zeroResults ?? 0),
    latencyMs: latency(summary?.latency),
    volume: bucketStarts(range).map((start) => ({
      start: new Date(start).toISOString(),
      ...(counts.get(start) ?? { searches: 0, zeroResults: 0 }),
    })),
    topQueries: (facets.topQueries ?? []).map((row: Document) => ({
      query: String(row._id),
      count: Number(row.count),
      avgResults: round(Number(row.avgResults), 2),
    })),
    zeroResultQueries: (facets.zeroResultQueries ?? []).map((row: Document) => ({
      query: String(row._id),
      count: Number(row.count),
    })),
  };
}

export interface PerformanceOptions {
  service?: string;
  endpoint?: string;
}

export function performancePipeline(
  range: TimeRange,
  options: PerformanceOptions = {},
): Document[] {
  const match: Document = { timestamp: { $gte: range.from, $lt: range.to } };
  const service = filterText(options.service, 'service');
  const endpoint = filterText(options.endpoint, 'endpoint');
  if (service !== undefined) match.service = service;
  if (endpoint !== undefined) match.endpoint = endpoint;
  return [
    { $match: match },
    {
      $group: {
        _id: { service: '$service', endpoint: '$endpoint' },
        count: { $sum: 1 },
        errors: { $sum: { $cond: [{ $eq: ['$success', false] }, 1, 0] } },
        latency: percentile('$durationMs'),
      },
    },
    { $sort: { count: -1, '_id.service': 1, '_id.endpoint': 1 } },
    { $limit: MAX_GROUPS },
  ];
}

export function toPerformanceReport(rows: Document[], range: TimeRange): PerformanceReport {
  return {
    timeRange: range.label,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    endpoints: rows.map((row) => {
      const count = Number(row.count);
      const errors = Number(row.errors);
      return {
        service: String(row._id.service),
        endpoint: String(row._id.endpoint),
        count,
        errors,
        errorRate: count === 0 ? 0 : round(errors / count),
        latencyMs: latency(row.latency),
      };
    }),
  };
}
