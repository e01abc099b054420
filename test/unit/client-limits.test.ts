/** The per-client limiter on a clock of the test's own. */
import { describe, expect, it } from 'vitest';
import { ClientLimiter } from '../../src/service/client-limits.js';

const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

describe('ClientLimiter', () => {
  it('refuses a client past its failed authentications until the minute ends, others not', () => {
    const time = clock();
    const limiter = new ClientLimiter({ requestsPerSecond: 0, failuresPerMinute: 3 }, time.now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.admit('10.0.0.1')).toBeUndefined();
      expect(limiter.failed('10.0.0.1')).toBe(i === 2);
    }
    time.advance(15_000);
    expect(limiter.admit('10.0.0.1')).toBe(45);
    expect(limiter.admit('10.0.0.2')).toBeUndefined();
    time.advance(45_000);
    expect(limiter.admit('10.0.0.1')).toBeUndefined();
  });

  it('lets a burst of twice the rate through, then the rate', () => {
    const time = clock();
    const limiter = new ClientLimiter({ requestsPerSecond: 5, failuresPerMinute: 0 }, time.now);
    const admitted = () =>
      Array.from({ length: 20 }, () => limiter.admit('c')).filter((w) => w === undefined).length;
    expect(admitted()).toBe(10);
    expect(limiter.admit('c')).toBe(1);
    time.advance(1000);
    expect(admitted()).toBe(5);
    time.advance(60_000);
    expect(admitted()).toBe(10);
  });

  it('is off with both limits at 0, and tracks nobody', () => {
    const limiter = new ClientLimiter({ requestsPerSecond: 0, failuresPerMinute: 0 });
    for (let i = 0; i < 1000; i++) expect(limiter.admit('c')).toBeUndefined();
    expect(limiter.tracked).toBe(0);
  });

  it('tracks at most 100,000 clients, whatever a flood of addresses does', () => {
    const limiter = new ClientLimiter({ requestsPerSecond: 10, failuresPerMinute: 3 });
    for (let i = 0; i < 150_000; i++) limiter.admit(`fd00::${i.toString(16)}`);
    expect(limiter.tracked).toBe(100_000);
  });
});
