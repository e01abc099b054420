/**
 * CachedProbe with an injected clock: one run for concurrent callers, the result reused while
 * fresh, a new run once it is stale, and a failure never cached; and the bounds HealthService
 * puts on its probes.
 */
import { describe, expect, it } from 'vitest';
import { HealthService } from '../../src/service/health.js';
import { CachedProbe } from '../../src/service/probe.js';

/** A probe whose runs stay pending until the test settles them, and a clock the test moves. */
function scripted() {
  const runs: { resolve(value: number): void; reject(error: Error): void }[] = [];
  const clock = { now: 1_000 };
  const probe = new CachedProbe(
    () =>
      new Promise<number>((resolve, reject) => {
        runs.push({ resolve, reject });
      }),
    100,
    () => clock.now,
  );
  const run = (i: number) => {
    const found = runs[i];
    if (!found) throw new Error(`run ${i} never started (${runs.length} runs)`);
    return found;
  };
  return { probe, runs, run, clock };
}

describe('CachedProbe', { timeout: 2000 }, () => {
  it('shares one run among concurrent callers', async () => {
    const { probe, runs, run } = scripted();
    const callers = Array.from({ length: 20 }, () => probe.get());
    expect(runs).toHaveLength(1);
    expect(probe.runs).toBe(1);
    run(0).resolve(7);
    expect(await Promise.all(callers)).toEqual(Array(20).fill(7));
    expect(runs).toHaveLength(1);
  });

  it('reuses a fresh result within the TTL without running', async () => {
    const { probe, runs, run, clock } = scripted();
    const first = probe.get();
    run(0).resolve(1);
    await first;
    clock.now += 99;
    expect(await probe.get()).toBe(1);
    expect(runs).toHaveLength(1);
    expect(probe.runs).toBe(1);
  });

  it('hands out a fresh result without waiting, and nothing once it is stale or before any', async () => {
    const { probe, run, clock } = scripted();
    expect(probe.fresh()).toBeUndefined();
    const first = probe.get();
    expect(probe.fresh()).toBeUndefined(); // in flight is not fresh
    run(0).resolve(5);
    await first;
    expect(probe.fresh()).toBe(5);
    clock.now += 100;
    expect(probe.fresh()).toBeUndefined();
    expect(probe.runs).toBe(1); // fresh() never starts a run
  });

  it('runs again once the result is as old as the TTL, sharing that run too', async () => {
    const { probe, runs, run, clock } = scripted();
    const first = probe.get();
    run(0).resolve(1);
    await first;
    clock.now += 100;
    const [a, b] = [probe.get(), probe.get()];
    expect(runs).toHaveLength(2);
    run(1).resolve(2);
    expect(await Promise.all([a, b])).toEqual([2, 2]);
    expect(await probe.get()).toBe(2);
    expect(probe.runs).toBe(2);
  });

  it('measures freshness from when the run finished, not when it started', async () => {
    const { probe, runs, run, clock } = scripted();
    const first = probe.get();
    clock.now += 80; // a slow probe
    run(0).resolve(1);
    await first;
    clock.now += 50; // 130 after the start, 50 after the answer
    expect(await probe.get()).toBe(1);
    expect(runs).toHaveLength(1);
  });

  it('does not cache a failure: every waiting caller sees it, the next call runs again', async () => {
    const { probe, runs, run } = scripted();
    const callers = [probe.get(), probe.get()];
    run(0).reject(new Error('connection refused'));
    for (const caller of callers) await expect(caller).rejects.toThrow('connection refused');
    const next = probe.get();
    expect(runs).toHaveLength(2);
    run(1).resolve(3);
    expect(await next).toBe(3);
    expect(probe.runs).toBe(2);
  });

  it('after a failed refresh serves neither the failure nor the stale value: the next call runs', async () => {
    const { probe, runs, run, clock } = scripted();
    const first = probe.get();
    run(0).resolve(5);
    await first;
    clock.now += 150;
    const stale = probe.get();
    run(1).reject(new Error('timeout'));
    await expect(stale).rejects.toThrow('timeout');
    // The failed run left no value behind: the old one is stale, so a new run starts.
    const retry = probe.get();
    expect(runs).toHaveLength(3);
    run(2).resolve(6);
    expect(await retry).toBe(6);
  });
});

describe('HealthService probe bounds', () => {
  it('reports a dependency that does not answer within probeTimeoutMs as down, without waiting', async () => {
    const health = new HealthService(
      [
        { name: 'postgres', required: true, probe: async () => ({ status: 'up', latencyMs: 1 }) },
        { name: 'elasticsearch', required: false, probe: () => new Promise<never>(() => {}) },
      ],
      { intervalMs: 60_000, probeTimeoutMs: 100 },
    );
    const started = performance.now();
    const report = await health.report({ details: true });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(report.status).toBe('degraded');
    expect(report.checks.elasticsearch).toMatchObject({
      status: 'down',
      details: { error: 'no answer within 100 ms' },
    });
  });

  it('reports each status change once (and the first probe), not every probe', async () => {
    let clock = 0;
    const states: ('up' | 'down')[] = ['up', 'up', 'down', 'down', 'up'];
    const changes: unknown[] = [];
    const health = new HealthService(
      [
        {
          name: 'mongodb',
          required: false,
          probe: async () => ({ status: states.shift() ?? 'up' }),
        },
      ],
      { intervalMs: 10, now: () => clock, onStatusChange: (change) => changes.push(change) },
    );
    for (let i = 0; i < 5; i++) {
      // Many readers of one probe result: still one change.
      await Promise.all([health.report({ details: false }), health.report({ details: true })]);
      clock += 10;
    }
    expect(health.probeRuns()).toEqual({ mongodb: 5 });
    expect(changes).toEqual([
      { name: 'mongodb', status: 'up', previous: undefined },
      { name: 'mongodb', status: 'down', previous: 'up' },
      { name: 'mongodb', status: 'up', previous: 'down' },
    ]);
  });

  it('still reports a dependency whose status-change listener throws (a warning, not a 500)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const health = new HealthService(
      [{ name: 'kibana', required: false, probe: async () => ({ status: 'down' }) }],
      {
        onStatusChange: () => {
          throw new Error('writer gone');
        },
      },
    );
    const report = await health.report({ details: false });
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(report.checks.kibana?.status).toBe('down');
    expect(warnings).toEqual(["reporting kibana's status change failed: writer gone"]);
  });

  it('readiness asks the required dependencies only', async () => {
    const health = new HealthService([
      { name: 'postgres', required: true, probe: async () => ({ status: 'up' }) },
      { name: 'mongodb', required: false, probe: () => new Promise<never>(() => {}) },
    ]);
    const report = await health.report({ details: false, requiredOnly: true });
    expect(report).toEqual({
      status: 'ok',
      checks: { postgres: { status: 'up', required: true } },
    });
    expect(health.probeRuns()).toEqual({ postgres: 1, mongodb: 0 });
  });
});
