/**
 * The bounded, batched, never-blocking path from `log*` calls to a store.
 *
 * - `offer` is synchronous and O(1): the event joins its collection's FIFO, or is dropped
 *   when the buffer (all collections, queued + in flight) is full. Drop policy: the newest
 *   event is dropped and counted per collection; events already waiting keep their place, as
 *   in OpenTelemetry's batch processor. Nothing is awaited or thrown on the caller's path;
 *   even the first write is started on a later turn of the event loop.
 * - Each collection is a lane of its own: its own batches (one unordered insert each), its own
 *   retries and backoff. A collection the store refuses or answers slowly (a majority write
 *   to audit_logs with a secondary down) delays only itself; the others keep flowing, within
 *   the shared bound.
 * - A lane writes when `batchSize` of its events wait or every `flushIntervalMs`. A write
 *   that throws or exceeds `writeTimeoutMs` is retried with capped exponential backoff and
 *   full jitter, for as long as the process lives: the events stay buffered, so nothing is
 *   lost while the store recovers within the buffer. Documents the store refuses one by one
 *   (validation) are counted as rejected, never retried.
 * - `flush` settles what was buffered when it was called (later events do not hold it up);
 *   `close` stops intake and flushes within a time bound, counting what is left as dropped.
 * - Writes make no spans: they run on the writer's behalf, not a caller's, and traced they
 *   would start a trace per batch, or land in whichever request's trace happened to start
 *   the writer or fill a batch.
 */
import { untraced } from '../../telemetry/untraced.js';
import { settleBy } from '../deadline.js';
import { backoffDelay } from '../retry.js';
import { TELEMETRY_COLLECTIONS, type TelemetryCollection } from './collections.js';
import type { TelemetryDocument, TelemetryEvent } from './events.js';

/** What a store did with one collection's documents; throwing means "none were stored". */
export interface SinkResult {
  /** Stored now or found already stored (a retried duplicate). */
  written: number;
  /** Refused for good, with the store's reason (e.g. schema validation). */
  rejected: { index: number; reason: string }[];
  /** Stored, but the requested write concern was not confirmed (e.g. wtimeout). */
  writeConcernError?: string;
}

export interface TelemetrySink {
  write(collection: TelemetryCollection, documents: TelemetryDocument[]): Promise<SinkResult>;
}

export interface BatchWriterOptions {
  bufferSize: number;
  batchSize: number;
  flushIntervalMs: number;
  writeTimeoutMs: number;
  /** First retry delay (default 100 ms), doubling up to `maxRetryDelayMs` (default 30 s). */
  baseRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  random?: () => number;
}

export interface CollectionCounters {
  queued: number;
  written: number;
  dropped: number;
  rejected: number;
  /** Failed attempts in a row; 0 when the last write of this collection succeeded. */
  consecutiveFailures: number;
}

export interface WriterStats {
  capacity: number;
  /** Events held now: waiting plus in flight. */
  depth: number;
  queued: number;
  written: number;
  dropped: number;
  rejected: number;
  /** Write attempts that failed (each is retried). */
  failedFlushes: number;
  /** The worst collection's failed attempts in a row; 0 when every collection is writing. */
  consecutiveFailures: number;
  /** Writes stored without the requested write concern being confirmed. */
  writeConcernErrors: number;
  lastError: { message: string; at: string } | null;
  lastRejection: { collection: TelemetryCollection; reason: string; at: string } | null;
  lastWriteAt: string | null;
  collections: Record<TelemetryCollection, CollectionCounters>;
}

export interface CloseReport {
  written: number;
  /** Events still buffered when the time bound ran out (also counted in `dropped`). */
  abandoned: number;
}

class WriteTimeout extends Error {
  override readonly name = 'WriteTimeout';
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
// close() is awaited and bounded: its timers keep the process alive until it returns.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One collection's queue. Events stay in it until settled; the in-flight ones are its head. */
class Lane {
  readonly collection: TelemetryCollection;
  readonly counters: CollectionCounters = {
    queued: 0,
    written: 0,
    dropped: 0,
    rejected: 0,
    consecutiveFailures: 0,
  };
  queue: TelemetryEvent[] = [];
  head = 0;
  /** Events ever accepted / settled (written, rejected or abandoned): flush targets. */
  enqueued = 0;
  settled = 0;
  failures = 0;
  draining: Promise<void> | undefined;
  backoff: NodeJS.Timeout | undefined;
  kickScheduled = false;
  /** Called after every attempt (and on abandonment): flush waits on these. */
  readonly waiters = new Set<() => void>();

  constructor(collection: TelemetryCollection) {
    this.collection = collection;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  settle(count: number): void {
    this.head += count;
    this.settled += count;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  notify(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  nextAttempt(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  clearBackoff(): void {
    clearTimeout(this.backoff);
    this.backoff = undefined;
  }
}

export class BatchWriter {
  readonly #sink: TelemetrySink;
  readonly #options: Required<BatchWriterOptions>;
  readonly #lanes: Record<TelemetryCollection, Lane>;
  #depth = 0;
  #interval: NodeJS.Timeout;
  #closed = false;
  #abandoned = false;
  #failedFlushes = 0;
  #writeConcernErrors = 0;
  #lastError: WriterStats['lastError'] = null;
  #lastRejection: WriterStats['lastRejection'] = null;
  #lastWriteAt: string | null = null;

  constructor(sink: TelemetrySink, options: BatchWriterOptions) {
    this.#sink = sink;
    this.#options = {
      baseRetryDelayMs: 100,
      maxRetryDelayMs: 30_000,
      random: Math.random,
      ...options,
    };
    this.#lanes = Object.fromEntries(TELEMETRY_COLLECTIONS.map((c) => [c, new Lane(c)])) as Record<
      TelemetryCollection,
      Lane
    >;
    this.#interval = setInterval(() => {
      for (const lane of this.#all()) this.#kick(lane);
    }, this.#options.flushIntervalMs);
    this.#interval.unref();
  }

  /** Events held now, all collections, waiting plus in flight. */
  get depth(): number {
    return this.#depth;
  }

  /** False when the next event would be dropped (buffer full or writer closed). */
  get accepting(): boolean {
    return !this.#closed && this.#depth < this.#options.bufferSize;
  }

  /** Counts an event dropped before it was even built (see TelemetryLog); returns false. */
  drop(collection: TelemetryCollection): false {
    this.#lanes[collection].counters.dropped++;
    return false;
  }

  /** Buffers the event; false when it was dropped (buffer full or writer closed). */
  offer(event: TelemetryEvent): boolean {
    if (!this.accepting) return this.drop(event.collection);
    const lane = this.#lanes[event.collection];
    lane.counters.queued++;
    lane.queue.push(event);
    lane.enqueued++;
    this.#depth++;
    if (lane.pending >= this.#options.batchSize && !lane.kickScheduled) {
      // Started on the next turn: the caller never pays for taking or sending a batch.
      lane.kickScheduled = true;
      setImmediate(() => {
        lane.kickScheduled = false;
        this.#kick(lane);
      }).unref();
    }
    return true;
  }

  /**
   * Settles what is buffered now (events offered later do not hold it up), without waiting
   * out a backoff; true when all of it was written or rejected, false when a write failed
   * (those events stay buffered for the retry).
   */
  async flush(): Promise<boolean> {
    const results = await Promise.all(
      this.#all().map((lane) => this.#flushLane(lane, lane.enqueued)),
    );
    return results.every(Boolean);
  }

  /** Stops intake and flushes for at most `timeoutMs`; the rest is dropped and counted. */
  async close(timeoutMs: number): Promise<CloseReport> {
    this.#closed = true;
    clearInterval(this.#interval);
    const before = this.#total('written');
    const deadline = Date.now() + timeoutMs;
    await Promise.all(
      this.#all().map(async (lane) => {
        lane.clearBackoff();
        for (let attempt = 1; lane.pending > 0 && Date.now() < deadline; attempt++) {
          const done = await settleBy(deadline, this.#flushLane(lane, lane.enqueued));
          if (done !== false) continue;
          const wait = backoffDelay(
            attempt,
            this.#options.baseRetryDelayMs,
            1000,
            this.#options.random,
          );
          await settleBy(deadline, sleep(wait));
        }
      }),
    );
    const abandoned = this.#depth;
    if (abandoned > 0) {
      // A write still in flight may yet land; it is reported dropped and ignored if it does.
      this.#abandoned = true;
      for (const lane of this.#all()) {
        lane.counters.dropped += lane.pending;
        lane.settle(lane.pending);
        lane.notify();
      }
      this.#depth = 0;
    }
    return { written: this.#total('written') - before, abandoned };
  }

  stats(): WriterStats {
    const collections = Object.fromEntries(
      this.#all().map((lane) => [lane.collection, { ...lane.counters }]),
    ) as Record<TelemetryCollection, CollectionCounters>;
    return {
      capacity: this.#options.bufferSize,
      depth: this.#depth,
      queued: this.#total('queued'),
      written: this.#total('written'),
      dropped: this.#total('dropped'),
      rejected: this.#total('rejected'),
      failedFlushes: this.#failedFlushes,
      consecutiveFailures: Math.max(...this.#all().map((l) => l.counters.consecutiveFailures)),
      writeConcernErrors: this.#writeConcernErrors,
      lastError: this.#lastError,
      lastRejection: this.#lastRejection,
      lastWriteAt: this.#lastWriteAt,
      collections,
    };
  }

  #all(): Lane[] {
    return TELEMETRY_COLLECTIONS.map((c) => this.#lanes[c]);
  }

  #total(key: 'queued' | 'written' | 'dropped' | 'rejected'): number {
    return this.#all().reduce((sum, lane) => sum + lane.counters[key], 0);
  }

  /** Starts a lane's drain unless one runs or a backoff is pending (no hammering a dead store). */
  #kick(lane: Lane): void {
    if (lane.draining || lane.backoff || lane.pending === 0 || this.#abandoned) return;
    lane.draining = this.#drain(lane).finally(() => {
      lane.draining = undefined;
    });
  }

  /** Writes the lane's batches until it is empty or an attempt fails (then backs off). */
  async #drain(lane: Lane): Promise<void> {
    while (lane.pending > 0 && !this.#abandoned) {
      if (!(await this.#writeBatch(lane))) {
        if (!this.#closed) this.#scheduleRetry(lane);
        return;
      }
    }
  }

  async #flushLane(lane: Lane, target: number): Promise<boolean> {
    while (lane.settled < target && !this.#abandoned) {
      if (!lane.draining) {
        lane.clearBackoff();
        this.#kick(lane);
      }
      const failures = lane.failures;
      await lane.nextAttempt();
      if (lane.failures > failures) return false;
    }
    return lane.settled >= target && !this.#abandoned; // abandoned events were not written
  }

  /** One attempt at the lane's oldest events; false when the store did not take them. */
  async #writeBatch(lane: Lane): Promise<boolean> {
    const count = Math.min(this.#options.batchSize, lane.pending);
    const documents: TelemetryDocument[] = [];
    for (let i = 0; i < count; i++) {
      documents.push((lane.queue[lane.head + i] as TelemetryEvent).document);
    }
    try {
      const result = await this.#withTimeout(
        untraced(() => this.#sink.write(lane.collection, documents)),
      );
      if (this.#abandoned) return true;
      lane.counters.written += result.written;
      lane.counters.rejected += result.rejected.length;
      lane.counters.consecutiveFailures = 0;
      const now = new Date().toISOString();
      const last = result.rejected.at(-1);
      if (last) this.#lastRejection = { collection: lane.collection, reason: last.reason, at: now };
      if (result.writeConcernError) {
        this.#writeConcernErrors++;
        this.#lastError = { message: result.writeConcernError, at: now };
      }
      this.#lastWriteAt = now;
      lane.settle(count);
      this.#depth -= count;
      return true;
    } catch (error) {
      if (this.#abandoned) return true;
      lane.failures++;
      lane.counters.consecutiveFailures++;
      this.#failedFlushes++;
      this.#lastError = {
        message: `${lane.collection}: ${message(error)}`,
        at: new Date().toISOString(),
      };
      return false;
    } finally {
      lane.notify();
    }
  }

  #withTimeout<T>(promise: Promise<T>): Promise<T> {
    const ms = this.#options.writeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WriteTimeout(`write took longer than ${ms} ms`)), ms);
      timer.unref();
    });
    promise.catch(() => {}); // a write that loses the race may still reject later
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  #scheduleRetry(lane: Lane): void {
    const delay = backoffDelay(
      lane.counters.consecutiveFailures,
      this.#options.baseRetryDelayMs,
      this.#options.maxRetryDelayMs,
      this.#options.random,
    );
    lane.backoff = setTimeout(() => {
      lane.backoff = undefined;
      this.#kick(lane);
    }, delay);
    lane.backoff.unref();
  }
}
