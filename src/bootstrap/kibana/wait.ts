/**
 * Up is not ready: Kibana answers long before it can import (while it migrates its own
 * indices), so the bootstrap waits until /api/status says the saved objects service is
 * available, polling with backoff, for at most `waitMs`. Not until everything is `available`:
 * one degraded plugin keeps Kibana's overall level down while the import works (see
 * lib/kibana.ts). Refused credentials end the wait at once: waiting does not fix a password.
 */
import type { KibanaConfig } from '../../config.js';
import { NovaError } from '../../lib/errors.js';
import { credentialsRefused, type KibanaHealth, kibanaHealth } from '../../lib/kibana.js';

export interface WaitOptions {
  /** The bound on waiting (default 60 s); at least one probe is always made. */
  waitMs?: number;
  /** Delay after the first probe, doubling up to `maxDelayMs` (defaults 250 and 5000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected in tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const lastAnswer = (health: KibanaHealth) =>
  health.level
    ? `level ${health.level}${health.error ? ` (${health.error})` : ''}`
    : (health.error ?? `status ${health.status}`);

/** Resolves with Kibana's health once it can import; throws UNAVAILABLE at the deadline. */
export async function waitForKibana(
  config: KibanaConfig,
  {
    waitMs = 60_000,
    baseDelayMs = 250,
    maxDelayMs = 5000,
    now = Date.now,
    sleep = defaultSleep,
  }: WaitOptions = {},
): Promise<KibanaHealth> {
  const deadline = now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    // No probe may outlive the deadline by more than a moment.
    const timeoutMs = Math.max(100, Math.min(config.requestTimeoutMs, deadline - now()));
    const health = await kibanaHealth(config, timeoutMs);
    if (health.ready) return health;
    if (credentialsRefused(health)) {
      throw new NovaError('BOOTSTRAP_FAILED', `Kibana at ${config.url}: ${health.error}`);
    }
    const left = deadline - now();
    if (left <= 0) {
      throw new NovaError(
        'UNAVAILABLE',
        `Kibana at ${config.url} did not report its saved objects available within ${Math.round(waitMs / 100) / 10} s ` +
          `(${attempt} checks of /api/status); last answer: ${lastAnswer(health)}`,
      );
    }
    // One client polling one server: plain doubling, no jitter needed.
    await sleep(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1), left));
  }
}
