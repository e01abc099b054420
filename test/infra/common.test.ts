/**
 * Durations as the Docker provider reads them back: Go's time.Duration String() (the
 * provider stores healthcheck durations as Go durations), e.g. 120 s is `2m0s`.
 */
import { expect, it } from 'vitest';
import { goDuration, runtimeLimits } from '../../infra/common.js';

it.each([
  [0, '0s'],
  [5, '5s'],
  [59, '59s'],
  [60, '1m0s'],
  [90, '1m30s'],
  [120, '2m0s'],
  [3600, '1h0m0s'],
  [3725, '1h2m5s'],
])('%i seconds is %s', (seconds, text) => {
  expect(goDuration(seconds)).toBe(text);
});

it('refuses what is not whole seconds', () => {
  expect(() => goDuration(1.5)).toThrow(/whole seconds/);
});

it('gives a container no swap beyond its memory, and one grace for docker stop and the provider', () => {
  expect(runtimeLimits(512, 60)).toEqual({
    memory: 512,
    memorySwap: 512,
    stopTimeout: 60,
    destroyGraceSeconds: 60,
  });
});
