/**
 * The service's own access line against pino's: for the same request, the same JSON, key for
 * key and in the same order (time aside), whatever the path holds; nothing below info.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { writeAccessLine } from '../../src/service/access-line.js';

function loggers(level = 'info') {
  const lines: string[] = [];
  const root = pino(
    {
      level,
      serializers: {
        req: (req: { id: string; method: string; path: string }) => req,
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
    { write: (line: string) => lines.push(line) },
  );
  return { lines, child: root.child({ reqId: 'r-1' }) };
}

const NO_TRACE = { trace_id: undefined, span_id: undefined, trace_flags: undefined };
const SAMPLED = {
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  span_id: '00f067aa0ba902b7',
  trace_flags: '01',
};

describe('writeAccessLine', () => {
  it.each([
    ['/api/health', NO_TRACE],
    ['/api/kb/search', SAMPLED],
    ['/a"b\\\\c\u0001é\u2028</script>', NO_TRACE],
  ])('writes what pino writes for %j', (path, trace) => {
    const { lines, child } = loggers();
    const facts = { id: 'r-1', method: 'GET', path, statusCode: 404, responseTime: 1.2345, trace };
    expect(writeAccessLine(child, facts)).toBe(true);
    child.info(
      {
        req: { id: facts.id, method: facts.method, path },
        res: { statusCode: facts.statusCode },
        responseTime: facts.responseTime,
        ...trace,
      },
      'request completed',
    );
    const [ours, theirs] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    const untimed = (line: Record<string, unknown> | undefined) => ({ ...line, time: 0 });
    expect(untimed(ours)).toEqual(untimed(theirs));
    expect(Object.keys(ours ?? {})).toEqual(Object.keys(theirs ?? {}));
    expect((ours?.req as { path: string } | undefined)?.path).toBe(path);
  });

  it('writes nothing when the level leaves info lines out', () => {
    const { lines, child } = loggers('warn');
    const facts = {
      id: 'r-1',
      method: 'GET',
      path: '/',
      statusCode: 200,
      responseTime: 1,
      trace: NO_TRACE,
    };
    expect(writeAccessLine(child, facts)).toBe(false);
    expect(lines).toEqual([]);
  });
});
