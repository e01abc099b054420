/** Trace and span ids from the pooled generator (src/telemetry/ids.ts). */
import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (original) => {
  const real = await original<typeof import('node:crypto')>();
  return { ...real, randomFillSync: vi.fn(real.randomFillSync) };
});

const { PooledIdGenerator } = await import('../../../src/telemetry/ids.js');

describe('PooledIdGenerator', () => {
  it('cuts lowercase hex ids of W3C length, all different, across many pools', () => {
    const ids = new PooledIdGenerator();
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      traces.add(ids.generateTraceId());
      spans.add(ids.generateSpanId());
    }
    expect(traces.size).toBe(20_000);
    expect(spans.size).toBe(20_000);
    for (const id of [...traces].slice(0, 500)) expect(id).toMatch(/^[0-9a-f]{32}$/);
    for (const id of [...spans].slice(0, 500)) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('never hands out the all-zero (invalid) id: it cuts another, refilling the pool', () => {
    const fill = vi.mocked(crypto.randomFillSync);
    fill.mockClear();
    fill.mockImplementationOnce(<T>(buffer: T) => {
      (buffer as Buffer).fill(0);
      return buffer;
    });
    const ids = new PooledIdGenerator();
    const span = ids.generateSpanId();
    expect(span).not.toBe('0'.repeat(16));
    expect(span).toMatch(/^[0-9a-f]{16}$/);
    expect(fill).toHaveBeenCalledTimes(2);
  });
});
