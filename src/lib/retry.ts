/**
 * Bounded retries with exponential backoff and full jitter, for transient failures only.
 * Anything `isTransient` rejects surfaces at once, unchanged.
 */
export interface RetryOptions {
  /** Total attempts including the first (default 4). */
  attempts?: number;
  /** Delay before the second attempt, in ms; doubles each time (default 100). */
  baseDelayMs?: number;
  /** Upper bound of a single delay, in ms (default 2000). */
  maxDelayMs?: number;
  /** Which errors are worth another attempt. */
  isTransient: (error: unknown) => boolean;
  /** Called before each wait, e.g. to count or log retries. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Injected in tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** "Full jitter" (AWS architecture blog): uniform in [0, min(max, base * 2^n)]. */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number) {
  return Math.round(random() * Math.min(max, base * 2 ** (attempt - 1)));
}

export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const {
    attempts = 4,
    baseDelayMs = 100,
    maxDelayMs = 2000,
    isTransient,
    onRetry,
    sleep = defaultSleep,
    random = Math.random,
  } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      const delay = backoffDelay(attempt, baseDelayMs, maxDelayMs, random);
      onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
