/** The progress line: drawn in place on a terminal, throttled, cleared at the end; silent elsewhere. */
import { describe, expect, it, vi } from 'vitest';
import { activityLine, progressLine } from '../../src/cli/progress.js';

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, write: (chunk: string) => written.push(chunk) > 0, written };
}

describe('progressLine', () => {
  it('writes nothing when the stream is not a terminal', () => {
    const out = stream(false);
    expect(progressLine(out as unknown as NodeJS.WriteStream)).toBeUndefined();
    expect(out.written).toEqual([]);
  });

  it('redraws one line with the rate and ETA, at most every 100 ms, and clears it', () => {
    const out = stream(true);
    let now = 0;
    const line = progressLine(out as unknown as NodeJS.WriteStream, () => now);
    now = 1000;
    line?.update('logs', 1000, 4000);
    now = 1050; // too soon: not drawn
    line?.update('logs', 1100, 4000);
    now = 2000;
    line?.update('logs', 2000, 4000);
    now = 2010; // the last row is always drawn
    line?.update('logs', 4000, 4000);
    line?.done();
    line?.done();
    expect(out.written).toEqual([
      '\r\x1b[2Klogs  1,000/4,000 rows  0 rows/s',
      '\r\x1b[2Klogs  2,000/4,000 rows  2,000 rows/s  ETA 1s',
      '\r\x1b[2Klogs  4,000/4,000 rows  3,960 rows/s  ETA 0s',
      '\r\x1b[2K',
    ]);
  });
});

describe('activityLine', () => {
  it('writes nothing when the stream is not a terminal', () => {
    expect(activityLine(stream(false) as unknown as NodeJS.WriteStream)).toBeUndefined();
  });

  it('shows the running step with its seconds, redrawn each second, and clears it', () => {
    vi.useFakeTimers();
    try {
      const out = stream(true);
      let now = 0;
      const line = activityLine(out as unknown as NodeJS.WriteStream, () => now);
      line?.show('bootstrap mongo');
      now = 1000;
      vi.advanceTimersByTime(1000);
      now = 2000;
      line?.show('bootstrap elastic');
      now = 3000;
      vi.advanceTimersByTime(1000);
      line?.done();
      now = 9000;
      vi.advanceTimersByTime(5000); // stopped: nothing more
      expect(out.written).toEqual([
        '\r\x1b[2Kbootstrap mongo … 0s',
        '\r\x1b[2Kbootstrap mongo … 1s',
        '\r\x1b[2Kbootstrap elastic … 0s',
        '\r\x1b[2Kbootstrap elastic … 1s',
        '\r\x1b[2K',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});
