/**
 * The service's own access line against pino's: for the same request, the same JSON, key for
 * key and in the same order (time aside), whatever the path holds; nothing below info.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  batchAccessLines,
  flushAccessLines,
  writeAccessLine,
} from '../../src/service/access-line.js';

function loggers(level = 'info', batched = false) {
  const lines: string[] = [];
  const stream = { write: (line: string) => lines.push(line) };
  const root = pino(
    {
      level,
      serializers: {
        req: (req: { id: string; method: string; path: string }) => req,
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
    batched ? batchAccessLines(stream) : stream,
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

  it("hands a turn's lines to the destination in one write, in order, at the turn's end", async () => {
    const { lines, child } = loggers('info', true);
    const other = loggers('info', true);
    const unbatched = loggers();
    const fact = (id: string) => ({
      id,
      method: 'GET',
      path: '/api/health',
      statusCode: 200,
      responseTime: 1,
      trace: NO_TRACE,
    });
    writeAccessLine(child, fact('a'));
    writeAccessLine(child, fact('b'));
    expect(lines).toEqual([]);
    // A line for another destination sends the waiting ones to theirs first.
    writeAccessLine(other.child, fact('c'));
    expect(lines).toHaveLength(1);
    writeAccessLine(child, fact('d'));
    // Any other stream gets each line at once, as pino gives it.
    writeAccessLine(unbatched.child, fact('e'));
    expect(unbatched.lines).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    const ids = (written: string[]) =>
      written.map((batch) =>
        batch
          .trimEnd()
          .split('\n')
          .map((line) => (JSON.parse(line) as { req: { id: string } }).req.id),
      );
    expect(ids(lines)).toEqual([['a', 'b'], ['d']]);
    expect(ids(other.lines)).toEqual([['c']]);
    // What the service's close does: the waiting lines go out now.
    writeAccessLine(child, fact('f'));
    flushAccessLines();
    expect(ids(lines).at(-1)).toEqual(['f']);
  });

  it('writes the waiting lines when the process exits', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = `
      import pino from 'pino';
      import { serviceDestination, writeAccessLine } from './src/service/access-line.ts';
      const log = pino({}, serviceDestination()).child({ reqId: 'r' });
      writeAccessLine(log, { id: 'last', method: 'GET', path: '/', statusCode: 200,
        responseTime: 1, trace: {} });
      process.exit(0);`;
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    expect(out).toContain('"id":"last"');
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
