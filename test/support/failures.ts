/**
 * expectFailure: runs a call that must fail with a NovaError and checks that no table
 * changed (bad input leaves nothing half-written).
 */
import { expect } from 'vitest';
import { isNovaError, type NovaError } from '../../src/lib/errors.js';
import { snapshotCounts, type TestDatabase } from './database.js';

export async function expectFailure(
  t: TestDatabase,
  call: () => Promise<unknown>,
): Promise<NovaError> {
  const before = await snapshotCounts(t);
  const error = await call().then(
    () => expect.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  expect(await snapshotCounts(t)).toEqual(before);
  if (!isNovaError(error)) throw error;
  return error;
}
