/** Terminal output helpers shared by the commands: one format for errors, JSON when asked. */
import { isNovaError } from '../lib/errors.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const printJson = (value: unknown) =>
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );

/** Prints an error once, without stack traces for expected failures; returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`nova: ${error.message}\nRun \`nova help\` for usage.\n`);
    return 2;
  }
  if (isNovaError(error)) {
    const field = error.field ? ` (field: ${error.field})` : '';
    process.stderr.write(`nova: error ${error.code}: ${error.message}${field}\n`);
    return 1;
  }
  process.stderr.write(
    `nova: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 1;
}
