/** NovaError assertions: a synchronous throw, or a rejection (or throw) of an async call. */
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

/** The NovaError an async call failed with, whether it threw or rejected. */
export async function novaFailure(
  run: Promise<unknown> | (() => Promise<unknown>),
): Promise<NovaError> {
  let thrown: unknown;
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (error) {
    thrown = error;
  }
  if (!isNovaError(thrown)) throw new Error(`expected a NovaError, got ${String(thrown)}`);
  return thrown;
}
