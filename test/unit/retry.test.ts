import { describe, expect, it, vi } from 'vitest';
import { backoffDelay, withRetry } from '../../src/lib/retry.js';

const transient = Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });

describe('withRetry', () => {
  it('retries transient failures with growing, capped, jittered delays, then succeeds', async () => {
    const sleeps: number[] = [];
    const operation = vi
      .fn()
      .mockRejectedValueOnce(transient)
      .mockRejectedValueOnce(transient)
      .mockResolvedValue('ok');
    const result = await withRetry(operation, {
      attempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 150,
      isTransient: () => true,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 1,
    });
    expect(result).toBe('ok');
    expect(operation).toHaveBeenCalledTimes(3);
    expect(sleeps).toEqual([100, 150]);
  });

  it('stops after the configured attempts and rethrows the last error', async () => {
    const operation = vi.fn().mockRejectedValue(transient);
    const onRetry = vi.fn();
    await expect(
      withRetry(operation, {
        attempts: 3,
        isTransient: () => true,
        onRetry,
        sleep: async () => undefined,
      }),
    ).rejects.toBe(transient);
    expect(operation).toHaveBeenCalledTimes(3);
    expect(onRetry).toHaveBeenCalledTimes(2);
  });

  it('surfaces other errors at once', async () => {
    const fatal = new Error('syntax error');
    const operation = vi.fn().mockRejectedValue(fatal);
    await expect(
      withRetry(operation, {
        attempts: 5,
        isTransient: (e) => e !== fatal,
        sleep: async () => undefined,
      }),
    ).rejects.toBe(fatal);
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('draws full jitter between zero and the capped exponential', () => {
    expect(backoffDelay(1, 100, 2000, () => 0)).toBe(0);
    expect(backoffDelay(3, 100, 2000, () => 0.5)).toBe(200);
    expect(backoffDelay(10, 100, 2000, () => 1)).toBe(2000);
  });
});
