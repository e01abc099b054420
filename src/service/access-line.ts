/**
 * The access line of a request that succeeded or was refused (status below 500), written
 * straight to the logger's destination in the exact form pino would give it:
 *
 *   {"level":30,"time":…,"pid":…,"hostname":…,"reqId":…,"req":{"id","method","path"},
 *    "res":{"statusCode"},"responseTime":…[,"trace_id","span_id","trace_flags"],
 *    "msg":"request completed"}
 *
 * Why: one line per request is the service's largest allocation per request, and pino's
 * general path (serializers, the mixin, key-by-key JSON) costs about 1.9 µs of CPU for it
 * against 0.6 µs for this (a line to /dev/null, Node 24, this machine's 2-core VM). The time
 * and the bindings (pid, hostname, reqId) are pino's own, taken from the request's child
 * logger; warnings and errors keep going through pino.
 *
 * On the service's own stdout destination (serviceDestination), the lines of one turn of the
 * event loop reach it together, in one write at the turn's end (setImmediate), not one write
 * each. Why: pino's destination (sonic-boom),
 * on every write, measures the byte length of all it holds unwritten, which flattens that
 * string: with the lines of 50 requests finishing in one turn, each line cost a copy of
 * several KB (about 9 KB of garbage a request, and 3 µs of a request's 25 µs in
 * `npm run bench:http`, OpenTelemetry off). One write per turn pays that once. The order of
 * access lines is kept; a warning or error written through pino in the same turn can come
 * before the access lines of requests that finished earlier in it (each line has its time).
 * Pending lines are written at the turn's end, when the service closes and at process exit.
 * Any other destination (a stream a caller gives) gets one write per line, as pino gives it.
 */
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import type { TraceFields } from './tracing.js';

const { chindingsSym, streamSym, timeSym } = pino.symbols;

interface Destination {
  write(lines: string): unknown;
  flushSync?(): void;
}

/** Destinations whose access lines wait for the turn's end. */
const batched = new WeakSet<object>();

/** Makes the access lines for `stream` wait for the turn's end; returns `stream`. */
export function batchAccessLines<T extends Destination>(stream: T): T {
  batched.add(stream);
  return stream;
}

/** pino's stdout destination (as its default, asynchronous), its access lines batched. */
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

function queue(stream: Destination, line: string): void {
  // Another logger's destination (tests make several): the lines waiting go out first.
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

/** At exit the lines go out synchronously, even after pino flushed its destination. */
function flushAtExit(): void {
  const stream = target;
  try {
    flushAccessLines();
    stream?.flushSync?.();
  } catch {
    // A destination already closed or not yet open: nothing more can be written.
  }
}

export interface AccessFacts {
  id: string;
  method: string;
  path: string;
  statusCode: number;
  responseTime: number;
  trace: Readonly<TraceFields>;
}

/** False when the logger's level leaves info lines out: nothing was written. */
export function writeAccessLine(log: FastifyBaseLogger, facts: AccessFacts): boolean {
  const logger = log as unknown as pino.Logger;
  if (!logger.isLevelEnabled('info')) return false;
  // pino's own parts of every line: the destination, the time and the bindings.
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[streamSym] as Destination;
  const time = (internals[timeSym] as () => string).call(logger);
  const bindings = internals[chindingsSym] as string;
  const { trace } = facts;
  const traced =
    trace.trace_id === undefined
      ? ''
      : `,"trace_id":"${trace.trace_id}","span_id":"${trace.span_id}","trace_flags":"${trace.trace_flags}"`;
  const line = `{"level":30${time}${bindings},"req":{"id":${JSON.stringify(facts.id)},"method":${JSON.stringify(facts.method)},"path":${JSON.stringify(facts.path)}},"res":{"statusCode":${facts.statusCode}},"responseTime":${facts.responseTime}${traced},"msg":"request completed"}\n`;
  if (batched.has(stream)) queue(stream, line);
  else stream.write(line);
  return true;
}
