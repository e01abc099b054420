/**
 * What `npm run up`'s checks say while they run. Each check names its step; on a terminal the
 * step shows on one line with the seconds it has taken (a pull or a plugin download can take
 * minutes), redrawn in place on stderr; elsewhere steps show nothing. Lines worth keeping (an
 * image being pulled, a plugin being installed) are printed either way. At the end, one line
 * says what was checked and how long it took.
 */
import { activityLine } from '../src/cli/progress.js';

export interface Progress {
  /** The check running now: what it checks (`images`), and on what (`postgres:15.14`). */
  step(check: string, subject?: string): void;
  /** What the current check waits on (a pull, an install): shown, not counted as a check. */
  busy(check: string, what: string): void;
  /** A line to keep in the output. */
  log(line: string): void;
}

/** Steps unseen, lines on stdout: for callers that show no progress (and the tests). */
export const PLAIN: Progress = {
  step: () => undefined,
  busy: () => undefined,
  log: (line) => console.log(line),
};

export interface CheckProgress extends Progress {
  /** Clears the line; what was checked, e.g. "Docker engine, images ×5 (12s)". */
  finish(): string;
}

export function checkProgress(
  stream: NodeJS.WriteStream = process.stderr,
  out: (line: string) => void = console.log,
  now: () => number = Date.now,
): CheckProgress {
  const activity = activityLine(stream, now);
  const started = now();
  const checks = new Map<string, number>();
  return {
    step(check, subject) {
      checks.set(check, (checks.get(check) ?? 0) + 1);
      activity?.show(subject ? `${check}: ${subject}` : check);
    },
    busy(check, what) {
      activity?.show(`${check}: ${what}`);
    },
    log(line) {
      activity?.done();
      out(line);
    },
    finish() {
      activity?.done();
      const done = [...checks].map(([check, n]) => (n > 1 ? `${check} ×${n}` : check));
      return `${done.join(', ')} (${Math.round((now() - started) / 1000)}s)`;
    },
  };
}
