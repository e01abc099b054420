/**
 * A cached, single-flight probe: however many requests ask at once, a dependency is probed
 * at most once per interval. A health endpoint hammered by load balancers, dashboards and a
 * benchmark must not multiply the load on the databases it reports on.
 */
export class CachedProbe<T> {
  readonly #probe: () => Promise<T>;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #value: { result: T; at: number } | undefined;
  #inFlight: Promise<T> | undefined;
  /** Probes run so far (for tests and metrics). */
  runs = 0;

  constructor(probe: () => Promise<T>, ttlMs: number, now: () => number = () => performance.now()) {
    this.#probe = probe;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The last result while it is fresh, without waiting; undefined once it is not. */
  fresh(): T | undefined {
    const value = this.#value;
    return value && this.#now() - value.at < this.#ttlMs ? value.result : undefined;
  }

  /** The last result while it is fresh; otherwise the one probe in flight, started if none. */
  get(): Promise<T> {
    const fresh = this.fresh();
    if (fresh !== undefined) return Promise.resolve(fresh);
    if (!this.#inFlight) {
      this.runs++;
      this.#inFlight = this.#probe()
        .then((result) => {
          this.#value = { result, at: this.#now() };
          return result;
        })
        .finally(() => {
          this.#inFlight = undefined;
        });
    }
    return this.#inFlight;
  }
}
