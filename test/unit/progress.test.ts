/** The progress line: drawn in place on a terminal, throttled, cleared at the end; silent elsewhere. */
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/progress.js';

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
