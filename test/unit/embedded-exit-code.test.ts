/**
 * A process that starts and stops an embedded PostgreSQL exits with the code it set: the
 * exit hooks the embedded server installs (to stop a server still running) must not touch it.
 * An earlier library's 'beforeExit' hook called process.exit(0), which turned every failed
 * command (and `npm test` with failing tests) into exit 0.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { TSX } from '../support/cli.js';

it('keeps the exit code a process set after starting and stopping an embedded PostgreSQL', () => {
  const module = resolve('src/bootstrap/postgres/embedded.ts');
  const script = `
    const { startEmbeddedPostgres, temporaryEmbeddedRoot } = await import(${JSON.stringify(module)});
    const { root, remove } = temporaryEmbeddedRoot('nova-exit-code-');
    const server = await startEmbeddedPostgres({ root, ephemeral: true });
    await server.stop();
    remove();
    process.exitCode = 3;`;
  const child = spawnSync(
    process.execPath,
    ['--import', TSX, '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' },
  );
  expect(child.stderr).toBe('');
  expect(child.status).toBe(3);
});
