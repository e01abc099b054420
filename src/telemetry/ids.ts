/**
 * Trace and span ids cut from a pool of random hex: the SDK's default generator makes each id
 * from Math.random 4 bytes at a time and hex-encodes a Buffer per id, about 0.28 µs for a
 * request's trace and span id, and the SDK makes them for every request, before its sampler
 * decides (Tracer.startSpan), so an unsampled request pays it too. Slicing a string of
 * crypto-random hex costs about 0.04 µs, and the ids come from the system's CSPRNG rather
 * than Math.random.
 *
 * A slice shares the pool's string, so a pool (16 KiB of characters) lives as long as any id
 * cut from it: a few pools at most, for the spans a batch processor holds.
 */
import { randomFillSync } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

const POOL_BYTES = 8192;
const ZERO_SPAN = '0'.repeat(16);
const ZERO_TRACE = '0'.repeat(32);

export class PooledIdGenerator implements IdGenerator {
  #hex = '';
  #at = 0;

  #take(chars: number, zero: string): string {
    for (;;) {
      if (this.#at + chars > this.#hex.length) {
        this.#hex = randomFillSync(Buffer.allocUnsafe(POOL_BYTES)).toString('hex');
        this.#at = 0;
      }
      const id = this.#hex.slice(this.#at, this.#at + chars);
      this.#at += chars;
      // All zeros is the invalid id (W3C Trace Context); one in 2^64 at worst: cut another.
      if (id !== zero) return id;
    }
  }

  generateTraceId(): string {
    return this.#take(32, ZERO_TRACE);
  }

  generateSpanId(): string {
    return this.#take(16, ZERO_SPAN);
  }
}
