/**
 * Access lines on the service's own destination go out once per turn of the event loop
 * (src/service/access-batch.ts): in order, one write per turn, at once for any other
 * destination, at close, and all of them at process exit, also through a full non-blocking
 * pipe whose reader is slow.
 */
import { spawn } from 'node:child_process';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  accessLinesBatched,
  batchAccessLines,
  flushAccessLines,
} from '../../src/service/access-batch.js';
import { writeAccessLine } from '../../src/service/access-line.js';
import { buildApp } from '../../src/service/app.js';

function logger(batched: boolean) {
  const lines: string[] = [];
  const stream = { write: (line: string) => lines.push(line) };
  const root = pino({}, batched ? batchAccessLines(stream) : stream);
  return { lines, child: root.child({ reqId: 'r-1' }) };
}

const fact = (id: string) => ({
  id,
  method: 'GET',
  path: '/api/health',
  statusCode: 200,
  responseTime: 1,
  trace: { trace_id: undefined, span_id: undefined, trace_flags: undefined },
});

/** The request ids of each write. */
const ids = (written: string[]) =>
  written.map((batch) =>
    batch
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { req: { id: string } }).req.id),
  );

describe('access lines per turn', () => {
  it("hands a turn's lines to the destination in one write, in order, at the turn's end", async () => {
    const { lines, child } = logger(true);
    const other = logger(true);
    const unbatched = logger(false);
    writeAccessLine(child, fact('a'));
    writeAccessLine(child, fact('b'));
    expect(lines).toEqual([]);
    // A line for another destination sends the waiting ones to theirs first.
    writeAccessLine(other.child, fact('c'));
    expect(lines).toHaveLength(1);
    writeAccessLine(child, fact('d'));
    // Any other stream gets each line at once, as pino gives it.
    writeAccessLine(unbatched.child, fact('e'));
    expect(ids(unbatched.lines)).toEqual([['e']]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ids(lines)).toEqual([['a', 'b'], ['d']]);
    expect(ids(other.lines)).toEqual([['c']]);
    // What the service's close does: the waiting lines go out now.
    writeAccessLine(child, fact('f'));
    flushAccessLines();
    expect(ids(lines).at(-1)).toEqual(['f']);
  });

  it("batches the service's default destination, never a stream the caller gives", async () => {
    const streamOf = (app: ReturnType<typeof buildApp>) =>
      (app.log as unknown as Record<symbol, object>)[pino.symbols.streamSym] as object;
    const deps = {
      db: {} as never,
      health: {} as never,
      ready: async () => ({ ready: true, reasons: [] }),
    };
    const own = buildApp(deps);
    const given = buildApp(deps, { logger: { level: 'info', stream: { write: () => {} } } });
    expect(accessLinesBatched(streamOf(own))).toBe(true);
    expect(accessLinesBatched(streamOf(given))).toBe(false);
    await Promise.all([own.close(), given.close()]);
  });

  it('writes every waiting line at exit, through a full non-blocking pipe and a slow reader', async () => {
    const LINES = 20_000;
    // Touching process.stdout makes a piped fd 1 non-blocking, as the CLI does; the lines,
    // about 5 MB, are far more than a pipe holds.
    const script = `
      import pino from 'pino';
      import { serviceDestination } from './src/service/access-batch.ts';
      import { writeAccessLine } from './src/service/access-line.ts';
      void process.stdout.fd;
      const log = pino({}, serviceDestination()).child({ reqId: 'r' });
      for (let i = 0; i < ${LINES}; i++) {
        writeAccessLine(log, { id: 'line-' + i, method: 'GET', path: '/' + 'x'.repeat(150),
          statusCode: 200, responseTime: 1, trace: {} });
      }
      process.exit(0);`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const chunks: Buffer[] = [];
    child.stdout.pause();
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The reader falls behind: nothing is read until the child is writing at exit.
    setTimeout(() => child.stdout.resume(), 300);
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const lines = Buffer.concat(chunks).toString().trimEnd().split('\n');
    expect(lines).toHaveLength(LINES);
    expect(lines.map((line) => (JSON.parse(line) as { req: { id: string } }).req.id)).toEqual(
      Array.from({ length: LINES }, (_, i) => `line-${i}`),
    );
  });
});
