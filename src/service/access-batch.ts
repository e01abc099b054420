/**
 * Access lines for the service's own stdout destination go out once per turn of the event
 * loop: the lines of every request that finished in the turn, in one write at its end
 * (setImmediate), not one write each.
 *
 * Why: pino's destination (sonic-boom) measures, on every write, the byte length of the last
 * chunk it holds unwritten (up to 16 KB), and that flattens the chunk, built by appending,
 * into a new string. With the lines of 50 requests finishing in one turn, each line cost a
 * copy of several KB: about 9 KB of garbage per request, and 3 µs of a 25 µs request in
 * `npm run bench:http` with OpenTelemetry off. One write per turn pays that once.
 *
 * Access lines keep their order. A warning or error written through pino in the same turn can
 * come before the access lines of requests that finished earlier in it; every line carries
 * its time. Waiting lines are written at the turn's end, when the service closes
 * (flushAccessLines, from its onClose hook) and, synchronously, at process exit. Any other
 * destination (a stream a caller gives) gets one write per line, as pino gives it.
 */
import { writeSync } from 'node:fs';
import pino from 'pino';

export interface Destination {
  write(lines: string): unknown;
  /** sonic-boom's file descriptor. */
  fd?: number;
}

/** Destinations whose access lines wait for the turn's end. */
const batched = new WeakSet<object>();

/** Makes the access lines for `stream` wait for the turn's end; returns `stream`. */
export function batchAccessLines<T extends Destination>(stream: T): T {
  batched.add(stream);
  return stream;
}

/** Whether `stream`'s access lines wait for the turn's end. */
export const accessLinesBatched = (stream: object) => batched.has(stream);

/** pino's stdout destination (as its default: asynchronous), its access lines batched. */
export const serviceDestination = () =>
  batchAccessLines(pino.destination({ dest: 1, sync: false }));

/** The destination of the lines waiting for the turn's end, and those lines. */
let target: Destination | undefined;
let pending = '';
let scheduled = false;
let exitHooked = false;

/** Hands the waiting access lines to their destination now. */
export function flushAccessLines(): void {
  if (pending === '' || target === undefined) return;
  const lines = pending;
  pending = '';
  target.write(lines);
}

function flushAtTurnEnd(): void {
  scheduled = false;
  flushAccessLines();
}

/** Writes an access line: now, or at the turn's end for a batched destination. */
export function writeLine(stream: Destination, line: string): void {
  if (!batched.has(stream)) {
    stream.write(line);
    return;
  }
  // Another batched destination (tests make several): the lines waiting go out first.
  if (stream !== target) {
    flushAccessLines();
    target = stream;
  }
  pending += line;
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAtTurnEnd);
  }
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', flushAtExit);
  }
}

/** How long exit may wait for a full pipe to take the last lines: a slow reader, not a dead one. */
const EXIT_WAIT_MS = 1000;

/**
 * At exit nothing asynchronous runs any more, so the waiting lines are written to the
 * destination's descriptor directly, waiting out a full non-blocking pipe (EAGAIN) for up to
 * EXIT_WAIT_MS; a blocking descriptor blocks as any synchronous write does. What the
 * destination itself still holds is flushed by pino's own exit handler, registered when the
 * destination was made, so before this one: the lines keep their order.
 */
function flushAtExit(): void {
  const stream = target;
  const lines = pending;
  pending = '';
  if (stream === undefined || lines === '') return;
  try {
    if (typeof stream.fd !== 'number' || stream.fd < 0) {
      stream.write(lines);
      return;
    }
    let rest = Buffer.from(lines);
    const deadline = Date.now() + EXIT_WAIT_MS;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(stream.fd, rest));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline)
          throw error;
        Atomics.wait(pause, 0, 0, 1);
      }
    }
  } catch {
    // A destination closed, a reader gone or too slow: nothing more can be written.
  }
}
