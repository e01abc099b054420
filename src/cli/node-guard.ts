/**
 * Refuses an unsupported Node before the CLI does anything else. src/cli.ts imports this
 * module first, and ES modules are evaluated in import order, so it runs before any other
 * module of the CLI (the database drivers, Fastify, OpenTelemetry) is evaluated: an old Node
 * gets one clear line and exit code 2, not a crash deep inside a dependency.
 */
import { writeSync } from 'node:fs';
import { checkNodeVersion } from './runtime.js';

const problem = checkNodeVersion(process.versions.node);
if (problem !== undefined) {
  // writeSync: the line must be out before process.exit, whatever stderr is (file, pipe, TTY).
  writeSync(2, `nova: error NODE_UNSUPPORTED: ${problem}\n`);
  process.exit(2);
}
