/**
 * A one-line progress display for long commands, redrawn in place on a terminal at most ten
 * times a second: `logs  12,000/100,000 rows  4,210 rows/s  ETA 21s`. On anything that is not
 * a terminal (a pipe, a CI log) it writes nothing, so output stays what it was.
 */
import type { WriteStream } from 'node:tty';

const REDRAW_MS = 100;

export interface ProgressLine {
  update(label: string, done: number, total: number): void;
  /** Clears the line (once; later calls do nothing). */
  done(): void;
}

const number = (n: number) => Math.round(n).toLocaleString('en-US');

export function progressLine(
  stream: NodeJS.WriteStream | WriteStream,
  now: () => number = Date.now,
): ProgressLine | undefined {
  if (!stream.isTTY) return undefined;
  let started: { label: string; at: number } | undefined;
  let drawn = 0;
  let visible = false;
  return {
    update(label, done, total) {
      const at = now();
      if (started?.label !== label) started = { label, at };
      if (at - drawn < REDRAW_MS && done < total) return;
      drawn = at;
      const seconds = (at - started.at) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      const eta = rate > 0 ? `  ETA ${Math.ceil((total - done) / rate)}s` : '';
      stream.write(
        `\r\x1b[2K${label}  ${number(done)}/${number(total)} rows  ${number(rate)} rows/s${eta}`,
      );
      visible = true;
    },
    done() {
      if (visible) stream.write('\r\x1b[2K');
      visible = false;
    },
  };
}

export interface ActivityLine {
  /** What is running now; the line shows it with the seconds it has taken so far. */
  show(label: string): void;
  /** Clears the line and stops its clock. */
  done(): void;
}

/**
 * A one-line "what is running" display for steps without a row count (each bootstrap step,
 * which may wait for its store): `bootstrap mongo … 12s`, redrawn every second in place on
 * a terminal. Silent, like progressLine, on anything else.
 */
export function activityLine(
  stream: NodeJS.WriteStream | WriteStream,
  now: () => number = Date.now,
): ActivityLine | undefined {
  if (!stream.isTTY) return undefined;
  let current: { label: string; since: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    if (!current) return;
    const seconds = Math.floor((now() - current.since) / 1000);
    stream.write(`\r\x1b[2K${current.label} … ${seconds}s`);
  };
  return {
    show(label) {
      current = { label, since: now() };
      draw();
      timer ??= setInterval(draw, 1000);
      // The line never keeps a finished command alive.
      timer.unref();
    },
    done() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (current) stream.write('\r\x1b[2K');
      current = undefined;
    },
  };
}
