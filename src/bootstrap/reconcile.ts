/**
 * The shape every store's bootstrap shares: wait (bounded) until the store answers, plan,
 * stop there on a dry run or when nothing is to do, apply, then plan again and fail unless
 * nothing is left, so "applied" means "converged". A failure the store's driver calls
 * transient becomes UNAVAILABLE; anything else not already a NovaError, BOOTSTRAP_FAILED.
 */
import { NovaError } from '../lib/errors.js';
import { withRetry } from '../lib/retry.js';

export interface Plan<Step> {
  steps: Step[];
  warnings: string[];
}

export interface Reconciler<Step extends { description: string }> {
  /** The store as messages name it: "MongoDB", "Elasticsearch". */
  store: string;
  plan(): Promise<Plan<Step>>;
  apply(steps: Step[]): Promise<void>;
  isTransient(error: unknown): boolean;
  describe(error: unknown): string;
  /** An apply failure that a concurrent bootstrap explains: plan and apply once more. */
  isRace?(error: unknown): boolean;
}

export async function reconcile<Step extends { description: string }>(
  store: Reconciler<Step>,
  { dryRun, waitMs }: { dryRun: boolean; waitMs: number },
): Promise<{ planned: Plan<Step>; changed: boolean }> {
  try {
    const deadline = Date.now() + waitMs;
    /** Retried with backoff while `isTransient` says so, until the one deadline. */
    const untilDeadline = (isTransient: (error: unknown) => boolean) => ({
      attempts: Number.MAX_SAFE_INTEGER,
      baseDelayMs: 250,
      maxDelayMs: 5000,
      isTransient: (error: unknown) => isTransient(error) && Date.now() < deadline,
    });
    // Up is not ready (no primary yet, a cluster electing a master): retry until the deadline.
    const planned = await withRetry(
      () => store.plan(),
      untilDeadline((error) => store.isTransient(error)),
    );
    if (dryRun || planned.steps.length === 0) return { planned, changed: false };
    // A transient failure halfway (a primary stepping down) is not the end: the steps already
    // applied stay applied, so plan again and apply what is left, until the same deadline.
    let attempt = 0;
    await withRetry(
      async () => {
        const steps = attempt++ === 0 ? planned.steps : (await store.plan()).steps;
        try {
          await store.apply(steps);
        } catch (error) {
          if (!store.isRace?.(error)) throw error;
          await store.apply((await store.plan()).steps);
        }
      },
      untilDeadline((error) => transient(store, error)),
    );
    const left = await store.plan();
    if (left.steps.length > 0) {
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `${store.store} bootstrap did not converge; still to do: ${left.steps.map((s) => s.description).join('; ')}`,
      );
    }
    return { planned, changed: true };
  } catch (error) {
    if (error instanceof NovaError) throw error;
    throw new NovaError(
      transient(store, error) ? 'UNAVAILABLE' : 'BOOTSTRAP_FAILED',
      `${store.store} bootstrap failed: ${store.describe(error)}`,
      { cause: error },
    );
  }
}

/** The driver's word, or, for a step's error already wrapped with its context, its code. */
const transient = (store: { isTransient(error: unknown): boolean }, error: unknown) =>
  error instanceof NovaError ? error.code === 'UNAVAILABLE' : store.isTransient(error);
