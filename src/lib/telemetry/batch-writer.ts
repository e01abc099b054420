/**
 * The bounded, batched, never-blocking path from `log*` calls to a store.
 *
 * - `offer` is synchronous and O(1): the event joins an in-memory FIFO, or is dropped when
 *   the buffer (queued + in flight) is full. Drop policy: the newest event is dropped and
 *   counted per collection; events already waiting keep their place, as in OpenTelemetry's
 *   batch processor. Nothing is ever awaited or thrown on the caller's path.
 * - The buffer is written out when `batchSize` events wait or every `flushIntervalMs`, one
 *   batch at a time, each collection's share in one unordered insert (so a slow majority write to
 *   audit_logs does not hold up the others' acknowledgement within the batch).
 * - A write that throws or exceeds `writeTimeoutMs` is retried with capped exponential
 *   backoff and full jitter, for as long as the process lives: the events stay buffered, so
 *   nothing is lost while the store recovers within the buffer. Documents the store refuses
 *   one by one (validation) are counted as rejected, never retried.
 * - `close` stops intake and flushes within a time bound; what is left is counted as dropped.
 */
import { backoffDelay } from '../retry.js';
import { TELEMETRY_COLLECTIONS, type TelemetryCollection } from './collections.js';
import type { TelemetryDocument, TelemetryEvent } from './events.js';

/** What a store did with one collection's documents; throwing means "none were stored". */
export interface SinkResult {
  /** Stored now or found already stored (a retried duplicate). */
  written: number;
  /** Refused for good, with the store's reason (e.g. schema validation). */
  rejected: { index: number; reason: string }[];
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
  /** Consecutive failed attempts; 0 when the last write succeeded. */
  consecutiveFailures: number;
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

export class BatchWriter {
  readonly #sink: TelemetrySink;
  readonly #options: Required<BatchWriterOptions>;
  /** FIFO: live events are #queue[#head..]; compacted now and then instead of shift(). */
  #queue: TelemetryEvent[] = [];
  #head = 0;
  /** Events of a failed attempt, written first next time. */
  #retry: TelemetryEvent[] = [];
  #inFlight: TelemetryEvent[] = [];
  #draining: Promise<void> | undefined;
  #interval: NodeJS.Timeout | undefined;
  #backoff: NodeJS.Timeout | undefined;
  #closed = false;
  #abandoned = false;
  #counters = Object.fromEntries(
    TELEMETRY_COLLECTIONS.map((c) => [c, { queued: 0, written: 0, dropped: 0, rejected: 0 }]),
  ) as Record<TelemetryCollection, CollectionCounters>;
  #failedFlushes = 0;
  #consecutiveFailures = 0;
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
    this.#interval = setInterval(() => this.#kick(), this.#options.flushIntervalMs);
    this.#interval.unref();
  }

  get depth(): number {
    return this.#queue.length - this.#head + this.#retry.length + this.#inFlight.length;
  }

  /** False when the next event would be dropped (buffer full or writer closed). */
  get accepting(): boolean {
    return !this.#closed && this.depth < this.#options.bufferSize;
  }

  /** Counts an event dropped before it was even built (see TelemetryLog); returns false. */
  drop(collection: TelemetryCollection): false {
    this.#counters[collection].dropped++;
    return false;
  }

  /** Buffers the event; false when it was dropped (buffer full or writer closed). */
  offer(event: TelemetryEvent): boolean {
    if (!this.accepting) return this.drop(event.collection);
    const counters = this.#counters[event.collection];
    counters.queued++;
    this.#queue.push(event);
    if (this.depth >= this.#options.batchSize) this.#kick();
    return true;
  }

  /**
   * Writes what is buffered now, without waiting out a backoff; resolves true when the
   * buffer emptied, false when a write failed (the events stay buffered for the retry).
   */
  async flush(): Promise<boolean> {
    await this.#draining; // undefined when idle
    this.#clearBackoff();
    await this.#drain();
    return this.depth === 0;
  }

  /** Stops intake and flushes for at most `timeoutMs`; the rest is dropped and counted. */
  async close(timeoutMs: number): Promise<CloseReport> {
    this.#closed = true;
    clearInterval(this.#interval);
    this.#clearBackoff();
    const before = this.#total('written');
    const deadline = Date.now() + timeoutMs;
    let attempt = 0;
    while (this.depth > 0 && Date.now() < deadline) {
      const drained = await this.#within(deadline, this.flush());
      if (drained !== false || this.depth === 0) continue;
      attempt++;
      const wait = backoffDelay(
        attempt,
        this.#options.baseRetryDelayMs,
        1000,
        this.#options.random,
      );
      await this.#within(deadline, new Promise((r) => setTimeout(r, wait)));
    }
    const abandoned = this.depth;
    if (abandoned > 0) {
      // A write still in flight may yet land; it is reported dropped and ignored if it does.
      this.#abandoned = true;
      for (const event of this.#pending()) this.#counters[event.collection].dropped++;
      this.#discardPending();
    }
    return { written: this.#total('written') - before, abandoned };
  }

  stats(): WriterStats {
    const collections = structuredClone(this.#counters);
    return {
      capacity: this.#options.bufferSize,
      depth: this.depth,
      queued: this.#total('queued'),
      written: this.#total('written'),
      dropped: this.#total('dropped'),
      rejected: this.#total('rejected'),
      failedFlushes: this.#failedFlushes,
      consecutiveFailures: this.#consecutiveFailures,
      lastError: this.#lastError,
      lastRejection: this.#lastRejection,
      lastWriteAt: this.#lastWriteAt,
      collections,
    };
  }

  #total(key: keyof CollectionCounters): number {
    return TELEMETRY_COLLECTIONS.reduce((sum, c) => sum + this.#counters[c][key], 0);
  }

  /** Starts a drain unless one runs or a backoff is pending (a dead store is not hammered). */
  #kick(): void {
    if (this.#draining || this.#backoff || this.depth === 0) return;
    this.#drain().catch(() => {}); // #drain records its own failures; it never rejects
  }

  /** Writes batches until the buffer is empty or an attempt fails (then schedules a retry). */
  #drain(): Promise<void> {
    this.#draining ??= (async () => {
      try {
        while (this.depth > 0 && !this.#abandoned) {
          if (!(await this.#writeBatch(this.#take()))) {
            this.#scheduleRetry();
            return;
          }
        }
      } finally {
        this.#draining = undefined;
      }
    })();
    return this.#draining;
  }

  #take(): TelemetryEvent[] {
    const size = this.#options.batchSize;
    const batch = this.#retry.splice(0, size);
    const fromQueue = Math.min(size - batch.length, this.#queue.length - this.#head);
    for (let i = 0; i < fromQueue; i++) batch.push(this.#queue[this.#head + i] as TelemetryEvent);
    this.#head += fromQueue;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#inFlight = batch;
    return batch;
  }

  #pending(): TelemetryEvent[] {
    return [...this.#inFlight, ...this.#retry, ...this.#queue.slice(this.#head)];
  }

  #discardPending(): void {
    this.#retry = [];
    this.#queue = [];
    this.#head = 0;
    this.#inFlight = [];
  }

  /** One attempt at a batch; false when any collection's write failed (those events stay). */
  async #writeBatch(batch: TelemetryEvent[]): Promise<boolean> {
    const groups = new Map<TelemetryCollection, TelemetryEvent[]>();
    for (const event of batch) {
      const group = groups.get(event.collection);
      if (group) group.push(event);
      else groups.set(event.collection, [event]);
    }
    const failed: TelemetryEvent[] = [];
    await Promise.all(
      [...groups].map(async ([collection, events]) => {
        try {
          const result = await this.#withTimeout(
            this.#sink.write(
              collection,
              events.map((e) => e.document),
            ),
          );
          if (this.#abandoned) return;
          const counters = this.#counters[collection];
          counters.written += result.written;
          counters.rejected += result.rejected.length;
          const last = result.rejected.at(-1);
          if (last) {
            this.#lastRejection = { collection, reason: last.reason, at: new Date().toISOString() };
          }
        } catch (error) {
          failed.push(...events);
          this.#lastError = { message: message(error), at: new Date().toISOString() };
        }
      }),
    );
    if (this.#abandoned) return true;
    this.#inFlight = [];
    if (failed.length === 0) {
      this.#consecutiveFailures = 0;
      this.#lastWriteAt = new Date().toISOString();
      return true;
    }
    this.#retry = failed.concat(this.#retry);
    this.#failedFlushes++;
    this.#consecutiveFailures++;
    return false;
  }

  #withTimeout<T>(promise: Promise<T>): Promise<T> {
    const ms = this.#options.writeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WriteTimeout(`write took longer than ${ms} ms`)), ms);
    });
    promise.catch(() => {}); // a write that loses the race may still reject later
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  #scheduleRetry(): void {
    if (this.#closed) return; // close() paces its own attempts
    const delay = backoffDelay(
      this.#consecutiveFailures,
      this.#options.baseRetryDelayMs,
      this.#options.maxRetryDelayMs,
      this.#options.random,
    );
    this.#backoff = setTimeout(() => {
      this.#backoff = undefined;
      this.#kick();
    }, delay);
    this.#backoff.unref();
  }

  #clearBackoff(): void {
    clearTimeout(this.#backoff);
    this.#backoff = undefined;
  }

  /** The promise's value, or undefined once the deadline passes. */
  async #within<T>(deadline: number, promise: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
    });
    return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
  }
}
