/**
 * Per-client limits on requests that carry credentials, checked before the token is looked
 * up: an unknown token costs a PostgreSQL query (a known one is served from memory), so a
 * client sending fake tokens could otherwise turn each request into database load, and slow
 * everyone's authentication with it.
 *
 * - failuresPerMinute: a client whose tokens failed that many times this minute has its
 *   credentialed requests refused (429 RATE_LIMITED, Retry-After) until the minute ends,
 *   without a lookup;
 * - requestsPerSecond: a token bucket per client for credentialed requests (bursts of twice
 *   the rate), the same answer beyond it.
 *
 * Anonymous requests are not counted: they cost no lookup. The client is request.ip: the
 * connection's address, or the X-Forwarded-For client of a proxy named in NOVA_TRUST_PROXY. At most MAX_CLIENTS are tracked, least recently seen dropped
 * first: a flood from many addresses cannot grow memory.
 */
import type { ClientLimits } from '../config.js';
import { setMostRecent } from '../lib/recent-map.js';

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  requestsPerSecond: 1000,
  failuresPerMinute: 30,
};

const MAX_CLIENTS = 100_000;
const MINUTE_MS = 60_000;

interface ClientState {
  /** Requests the bucket holds, refilled at requestsPerSecond up to twice that. */
  tokens: number;
  refilledAt: number;
  failures: number;
  windowStart: number;
}

export class ClientLimiter {
  readonly #limits: ClientLimits;
  readonly #now: () => number;
  readonly #clients = new Map<string, ClientState>();

  constructor(limits: ClientLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  get tracked(): number {
    return this.#clients.size;
  }

  /** undefined when the client may go on; otherwise the seconds it should wait. */
  admit(client: string): number | undefined {
    const { requestsPerSecond, failuresPerMinute } = this.#limits;
    if (requestsPerSecond === 0 && failuresPerMinute === 0) return undefined;
    const now = this.#now();
    const state = this.#state(client, now);
    if (failuresPerMinute > 0 && state.failures >= failuresPerMinute) {
      return Math.ceil((state.windowStart + MINUTE_MS - now) / 1000);
    }
    if (requestsPerSecond === 0) return undefined;
    const burst = 2 * requestsPerSecond;
    state.tokens = Math.min(
      burst,
      state.tokens + ((now - state.refilledAt) * requestsPerSecond) / 1000,
    );
    state.refilledAt = now;
    if (state.tokens < 1) return Math.ceil((1 - state.tokens) / requestsPerSecond);
    state.tokens -= 1;
    return undefined;
  }

  /** A failed authentication; true when it is the one that reached the minute's limit. */
  failed(client: string): boolean {
    const state = this.#state(client, this.#now());
    state.failures += 1;
    return state.failures === this.#limits.failuresPerMinute;
  }

  #state(client: string, now: number): ClientState {
    let state = this.#clients.get(client);
    if (state === undefined) {
      state = {
        tokens: 2 * this.#limits.requestsPerSecond,
        refilledAt: now,
        failures: 0,
        windowStart: now,
      };
    } else if (now - state.windowStart >= MINUTE_MS) {
      state.failures = 0;
      state.windowStart = now;
    }
    setMostRecent(this.#clients, client, state, MAX_CLIENTS);
    return state;
  }
}
