import { aggregate } from 'mingo';
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  bucketFor,
  bucketStarts,
  MAX_BUCKETS,
  parseTimeRange,
  truncate,
} from '../../../src/lib/db/mongo/time-range.js';
import { expectNovaError } from '../../support/nova-error.js';

const NOW = new Date('2026-11-25T12:34:56.789Z');
const DAY = 86_400_000;

describe('parseTimeRange', () => {
  it.each([
    ['15m', 15 * 60_000, '1 minute'],
    ['1h', 3_600_000, '1 minute'],
    ['24h', DAY, '30 minute'],
    ['7d', 7 * DAY, '3 hour'],
    ['30d', 30 * DAY, '12 hour'],
    ['90d', 90 * DAY, '2 day'],
  ])('%s spans %i ms in %s buckets', (text, ms, bucket) => {
    const range = parseTimeRange(text, { maxMs: 90 * DAY, now: NOW });
    expect(range.to).toEqual(NOW);
    expect(range.to.getTime() - range.from.getTime()).toBe(ms);
    expect(`${range.bucket.binSize} ${range.bucket.unit}`).toBe(bucket);
    expect(Math.ceil(ms / range.bucket.ms)).toBeLessThanOrEqual(MAX_BUCKETS);
  });

  it.each([
    '',
    '24',
    'h',
    '1w',
    '1y',
    '0m',
    '-1h',
    '1.5h',
    '30s',
    '24h; db.dropDatabase()',
    '12345d',
    undefined,
    24,
    { $gt: '' },
  ])('refuses %j with VALIDATION_FAILED on timeRange', (input) => {
    expectNovaError(() => parseTimeRange(input, { maxMs: 90 * DAY, now: NOW }), {
      code: 'VALIDATION_FAILED',
      field: 'timeRange',
    });
  });

  it('refuses a range longer than the retention, naming it', () => {
    const error = expectNovaError(() => parseTimeRange('8d', { maxMs: 7 * DAY, now: NOW }), {
      code: 'VALIDATION_FAILED',
      field: 'timeRange',
    });
    expect(error.message).toContain('7d');
    expect(parseTimeRange('7d', { maxMs: 7 * DAY, now: NOW }).label).toBe('7d');
  });
});

describe('buckets', () => {
  it('picks the smallest bucket that keeps the chart within MAX_BUCKETS', () => {
    expect(bucketFor(60 * 60_000)).toMatchObject({ unit: 'minute', binSize: 1 });
    expect(bucketFor(61 * 60_000)).toMatchObject({ unit: 'minute', binSize: 5 });
  });

  it('labels buckets exactly as $dateTrunc does, 2-day bins included (reference 2000-01-01)', () => {
    const range = parseTimeRange('90d', { maxMs: 90 * DAY, now: NOW });
    const starts = bucketStarts(range);
    const docs = starts.map((start) => ({ timestamp: new Date(start + 1234) }));
    const truncated = aggregate(docs, [
      {
        $project: {
          _id: 0,
          t: { $dateTrunc: { date: '$timestamp', unit: 'day', binSize: 2 } },
        },
      },
    ]) as Document[];
    expect(truncated.map((d) => (d.t as Date).getTime())).toEqual(starts);
    // 2000-01-01 + an even number of days: 2026-11-24 is one, 2026-11-25 is not.
    expect(new Date(truncate(NOW.getTime(), range.bucket)).toISOString()).toBe(
      '2026-11-24T00:00:00.000Z',
    );
  });

  it('covers the whole range with consecutive buckets', () => {
    const range = parseTimeRange('24h', { maxMs: DAY, now: NOW });
    const starts = bucketStarts(range);
    expect(starts[0]).toBeLessThanOrEqual(range.from.getTime());
    expect((starts.at(-1) ?? 0) + range.bucket.ms).toBeGreaterThan(range.to.getTime());
    starts.slice(1).forEach((s, i) => {
      expect(s - (starts[i] ?? 0)).toBe(range.bucket.ms);
    });
  });
});
