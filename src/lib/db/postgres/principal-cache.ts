/**
 * Resolved API-token principals, cached per process so an authenticated request costs no
 * query on a warm cache (resolving one costs five, and the token's last_used_at a sixth).
 *
 * Correctness comes first:
 * - Invalidation at once, everywhere: triggers notify the channel `nova_principals` on every
 *   change of a token, a user's `active`, a user's roles or a role's permissions, by any
 *   writer (prisma/migrations/20261205090000_principal_notify). Each cache LISTENs on its own
 *   connection and drops what a notification names. The process that made a change also
 *   drops it synchronously, so it never sees its own change late.
 * - While that connection is not listening (not yet, or lost), the cache is bypassed: every
 *   request resolves from the database, as without a cache, until LISTEN is back; then the
 *   cache starts empty, since notifications sent meanwhile were missed.
 * - An entry lives at most `ttlMs`, and never past the token's own expiry: an expired token
 *   is refused at its expiry, cached or not.
 * - Bounded: at most `maxEntries` principals, least recently used evicted first. Only
 *   tokens that authenticated are cached as principals.
 * - Refused tokens (unknown, revoked, expired, an inactive user's) are remembered apart, for
 *   REFUSED_TTL_MS at most and at most `maxEntries` of them, so the same bad token sent again
 *   and again costs no query; they never evict a principal, and any invalidation forgets them
 *   all (a user made active again, say). Random tokens, each new, are the client rate
 *   limiter's to stop (src/service/client-limits.ts).
 * - Keyed by the token as presented, so a hit hashes nothing: SHA-256 through OpenSSL cost
 *   about 5 µs of CPU per request under load (`npm run bench:http`), more than the rest of
 *   authentication. The token is then held in this process's memory for at most the TTL,
 *   as every request's headers hold it anyway; it is never logged, and the database keeps
 *   only its hash.
 */
import pg from 'pg';
import { setMostRecent } from '../../recent-map.js';
import type { AuthenticatedToken } from './api-tokens.js';

export const PRINCIPALS_CHANNEL = 'nova_principals';

/** How long a refused token is refused from memory (at most the cache's TTL). */
export const REFUSED_TTL_MS = 10_000;

export interface PrincipalCacheOptions {
  /** How long a principal may be served from memory (> 0). */
  ttlMs: number;
  maxEntries: number;
  /** Opens the listening connection (a pg.Client on the store's URL; tests inject). */
  connect: () => pg.Client;
  /** Delay before listening again after the connection was lost. */
  reconnectDelayMs?: number;
  now?: () => number;
}

interface Entry {
  principal: AuthenticatedToken;
  /** The earlier of the TTL's end and the token's expiry, in ms since the epoch. */
  until: number;
}

export class PrincipalCache {
  readonly #options: Required<Omit<PrincipalCacheOptions, 'connect'>> &
    Pick<PrincipalCacheOptions, 'connect'>;
  /** Insertion order is recency order: a hit moves its entry to the end. */
  readonly #entries = new Map<string, Entry>();
  /**
   * The entry last moved to the end (the entry, not its token, which is kept no longer than
   * the entry). A hit on it again leaves the order as it is: moving an entry is a delete and
   * an insert, whose deleted slots make the Map rehash every so often, and the same caller
   * asking again and again is the common case (one server under load, authenticated against
   * anonymous /api/health in alternating rounds: 0.83 to 0.87 with the move on every hit,
   * 0.89 to 0.92 without).
   */
  #mostRecent: Entry | undefined;
  /** Tokens that did not authenticate, until when they are refused from memory. */
  readonly #refused = new Map<string, number>();
  #client: pg.Client | undefined;
  #listening = false;
  #closed = false;
  #starting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** Counts invalidations: a principal read before one must not be cached after it. */
  #generation = 0;

  constructor(options: PrincipalCacheOptions) {
    this.#options = { reconnectDelayMs: 1000, now: Date.now, ...options };
  }

  /** Whether lookups are served from memory: only while notifications are received. */
  get active(): boolean {
    return this.#listening;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Taken before reading a principal from the database and handed to `set`: if anything was
   * invalidated meanwhile (a revoke committed between the read and the caching), the read
   * may be stale and is not cached.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Starts listening, once; resolves when LISTEN is in place (or failed, to retry later). */
  start(): Promise<void> {
    this.#starting ??= this.#listen();
    return this.#starting;
  }

  /** The cached principal of a token, or undefined (then resolve it from the database). */
  get(token: string): AuthenticatedToken | undefined {
    if (!this.#listening) return undefined;
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    if (entry.until <= this.#options.now()) {
      this.#entries.delete(token);
      return undefined;
    }
    if (entry !== this.#mostRecent) {
      setMostRecent(this.#entries, token, entry, this.#options.maxEntries);
      this.#mostRecent = entry;
    }
    return entry.principal;
  }

  /** True when the token was refused lately and nothing was invalidated since. */
  refused(token: string): boolean {
    if (!this.#listening) return false;
    const until = this.#refused.get(token);
    if (until === undefined) return false;
    if (until > this.#options.now()) return true;
    this.#refused.delete(token);
    return false;
  }

  /** Remembers a token that did not authenticate, read at `generation`. */
  refuse(token: string, generation: number): void {
    if (!this.#listening || generation !== this.#generation) return;
    const until = this.#options.now() + Math.min(this.#options.ttlMs, REFUSED_TTL_MS);
    setMostRecent(this.#refused, token, until, this.#options.maxEntries);
  }

  /**
   * Caches a principal that just authenticated, read at `generation`; `expiresAt` is the
   * token's own expiry.
   */
  set(
    token: string,
    principal: AuthenticatedToken,
    expiresAt: Date | null,
    generation: number,
  ): void {
    if (!this.#listening || generation !== this.#generation) return;
    const until = Math.min(
      this.#options.now() + this.#options.ttlMs,
      expiresAt?.getTime() ?? Infinity,
    );
    const entry = { principal, until };
    setMostRecent(this.#entries, token, entry, this.#options.maxEntries);
    this.#mostRecent = entry;
  }

  /** Drops what a `nova_principals` payload names: `token:<id>`, `user:<id>` or `all`. */
  invalidate(payload: string): void {
    this.#generation += 1;
    this.#refused.clear();
    const [kind, id] = payload.split(':', 2);
    if (kind === 'token' || kind === 'user') {
      const field = kind === 'token' ? 'tokenId' : 'userId';
      for (const [token, entry] of this.#entries) {
        if (entry.principal[field] === id) this.#entries.delete(token);
      }
      return;
    }
    this.#entries.clear();
  }

  /** Stops listening and forgets everything; the cache is then bypassed for good. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listening = false;
    this.#entries.clear();
    this.#refused.clear();
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #listen(): Promise<void> {
    if (this.#closed) return;
    const client = this.#options.connect();
    this.#client = client;
    const lost = () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      this.#listening = false;
      this.#generation += 1;
      this.#entries.clear();
      this.#refused.clear();
      client.end().catch(() => undefined);
      if (this.#closed) return;
      this.#retry = setTimeout(() => {
        this.#starting = this.#listen();
      }, this.#options.reconnectDelayMs);
      this.#retry.unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', ({ channel, payload }) => {
      if (channel === PRINCIPALS_CHANNEL) this.invalidate(payload ?? 'all');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PRINCIPALS_CHANNEL}`);
      if (this.#client !== client) return;
      this.#entries.clear();
      this.#refused.clear();
      this.#listening = true;
    } catch {
      lost();
    }
  }
}

/** The listening connection: the store's URL, one client outside the pool. */
export const listenerClient = (url: string, connectTimeoutMs: number) => () =>
  new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
