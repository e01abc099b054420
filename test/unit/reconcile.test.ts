/**
 * The bootstrap loop every store shares (src/bootstrap/reconcile.ts): a transient failure
 * halfway through applying (a primary stepping down) is planned and applied again until the
 * wait deadline, never reported as final; anything else is final at once.
 */
import { describe, expect, it } from 'vitest';
import { type Reconciler, reconcile } from '../../src/bootstrap/reconcile.js';
import { NovaError } from '../../src/lib/errors.js';

class Transient extends Error {}

/** A store of three steps; `failOn` makes applying that step fail once with `error`. */
function store(failOn: string | undefined, error: unknown) {
  const done = new Set<string>();
  const applied: string[] = [];
  let failed = false;
  const reconciler: Reconciler<{ description: string }> = {
    store: 'Test',
    plan: async () => ({
      steps: ['a', 'b', 'c'].filter((s) => !done.has(s)).map((description) => ({ description })),
      warnings: [],
    }),
    apply: async (steps) => {
      for (const { description } of steps) {
        if (description === failOn && !failed) {
          failed = true;
          throw error;
        }
        done.add(description);
        applied.push(description);
      }
    },
    isTransient: (e) => e instanceof Transient,
    describe: (e) => String((e as Error).message),
  };
  return { reconciler, applied };
}

describe('reconcile', () => {
  it.each([
    ['the driver’s transient error', new Transient('primary stepped down')],
    ['a step error already wrapped as UNAVAILABLE', new NovaError('UNAVAILABLE', 'step b failed')],
  ])('plans and applies what is left after %s halfway', async (_what, error) => {
    const { reconciler, applied } = store('b', error);
    const result = await reconcile(reconciler, { dryRun: false, waitMs: 10_000 });
    expect(result.changed).toBe(true);
    // a once, not again: the second round applies only what the new plan holds.
    expect(applied).toEqual(['a', 'b', 'c']);
  });

  it('fails at once on anything else: BOOTSTRAP_FAILED, nothing applied after it', async () => {
    const { reconciler, applied } = store('b', new Error('refused'));
    await expect(reconcile(reconciler, { dryRun: false, waitMs: 10_000 })).rejects.toMatchObject({
      code: 'BOOTSTRAP_FAILED',
      message: 'Test bootstrap failed: refused',
    });
    expect(applied).toEqual(['a']);
  });

  it('stops retrying at the deadline: UNAVAILABLE', async () => {
    const { reconciler } = store('b', new Transient('no primary'));
    await expect(reconcile(reconciler, { dryRun: false, waitMs: 0 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });
});
