/**
 * Analytics time ranges: "15m", "1h", "24h", "7d", "30d" (any whole number of minutes,
 * hours or days), at most the queried collection's retention, since older data has expired.
 * The text is parsed here into two Dates and a bucket size; nothing of it reaches a query.
 */
import { formatDuration, parseDuration } from '../../duration.js';
import { NovaError } from '../../errors.js';

export type BucketUnit = 'minute' | 'hour' | 'day';

export interface Bucket {
  unit: BucketUnit;
  binSize: number;
  ms: number;
}

export interface TimeRange {
  /** The range as given, normalised ("24h"). */
  label: string;
  from: Date;
  to: Date;
  bucket: Bucket;
}

const UNIT_MS: Record<BucketUnit, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const LADDER: readonly [BucketUnit, number][] = [
  ['minute', 1],
  ['minute', 5],
  ['minute', 15],
  ['minute', 30],
  ['hour', 1],
  ['hour', 3],
  ['hour', 6],
  ['hour', 12],
  ['day', 1],
  ['day', 2],
  ['day', 7],
];
/** Charts stay readable: at most this many buckets per range. */
export const MAX_BUCKETS = 60;

/** The smallest bucket that covers `rangeMs` in at most MAX_BUCKETS buckets. */
export function bucketFor(rangeMs: number): Bucket {
  for (const [unit, binSize] of LADDER) {
    const ms = UNIT_MS[unit] * binSize;
    if (Math.ceil(rangeMs / ms) <= MAX_BUCKETS) return { unit, binSize, ms };
  }
  return { unit: 'day', binSize: 7, ms: 7 * UNIT_MS.day };
}

export function parseTimeRange(
  input: unknown,
  { maxMs, now = new Date(), field = 'timeRange' }: { maxMs: number; now?: Date; field?: string },
): TimeRange {
  const text = typeof input === 'string' ? input.trim() : '';
  const ms = /^\d{1,4}[mhd]$/.test(text) ? parseDuration(text) : undefined;
  if (ms === undefined) {
    throw new NovaError(
      'VALIDATION_FAILED',
      `${field} must be a whole number of minutes, hours or days, such as 15m, 1h, 24h, 7d or 30d`,
      { field },
    );
  }
  if (ms > maxMs) {
    throw new NovaError(
      'VALIDATION_FAILED',
      `${field} ${text} is longer than the data is kept (${formatDuration(maxMs)})`,
      { field },
    );
  }
  return { label: text, from: new Date(now.getTime() - ms), to: now, bucket: bucketFor(ms) };
}

/**
 * MongoDB's $dateTrunc counts bins from 2000-01-01T00:00Z for every unit but week; the same
 * arithmetic here lets empty buckets be filled in with the server's boundaries.
 */
const REFERENCE = Date.UTC(2000, 0, 1);
export const truncate = (time: number, bucket: Bucket) =>
  REFERENCE + Math.floor((time - REFERENCE) / bucket.ms) * bucket.ms;

/** Every bucket start in [from, to), as the server would label it. */
export function bucketStarts(range: TimeRange): number[] {
  const starts: number[] = [];
  for (
    let t = truncate(range.from.getTime(), range.bucket);
    t < range.to.getTime();
    t += range.bucket.ms
  ) {
    starts.push(t);
  }
  return starts;
}
