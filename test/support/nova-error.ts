/** Asserts that a synchronous call throws a NovaError with the given code (and field). */
import { expect } from 'vitest';
import { isNovaError, type NovaError } from '../../src/lib/errors.js';

export function expectNovaError(
  call: () => unknown,
  expected: { code: NovaError['code']; field?: string },
): NovaError {
  let thrown: unknown;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  if (!isNovaError(thrown)) throw new Error(`expected a NovaError, got ${String(thrown)}`);
  expect({ code: thrown.code, field: thrown.field }).toMatchObject(expected);
  return thrown;
}
