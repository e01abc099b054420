/**
 * Short durations as operators write them ("15m", "24h", "90d"), parsed into milliseconds.
 * One grammar for retention settings and analytics time ranges, so "7d" means the same
 * everywhere. Months and years are deliberately absent: they have no fixed length.
 */
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export type DurationUnit = keyof typeof UNIT_MS;

const DURATION = /^(\d{1,6})([smhd])$/;

/** Milliseconds for "<integer><s|m|h|d>", or undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  return ms > 0 ? ms : undefined;
}

/** The shortest exact spelling: 7_776_000_000 -> "90d", 5_400_000 -> "90m". */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

export const DAY_MS = UNIT_MS.d;
