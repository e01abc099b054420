/**
 * A scriptable telemetry sink for writer tests: it stores documents by _id (so a retried
 * duplicate is visible as such), and can be switched to fail, stall (never answer) or refuse
 * chosen documents, the ways a real store misbehaves.
 */
import type { SinkResult, TelemetrySink } from '../../src/lib/telemetry/batch-writer.js';
import type { TelemetryCollection } from '../../src/lib/telemetry/collections.js';
import type { TelemetryDocument } from '../../src/lib/telemetry/events.js';
import { type TelemetryEvent, userActivityEvent } from '../../src/lib/telemetry/events.js';

export type SinkMode = 'ok' | 'fail' | 'stall';

export class ScriptedSink implements TelemetrySink {
  mode: SinkMode = 'ok';
  /** Collections that fail, or never answer, while the others work. */
  failing = new Set<TelemetryCollection>();
  stalling = new Set<TelemetryCollection>();
  /** Reported with every successful write (stored, write concern not confirmed). */
  writeConcernError: string | undefined;
  /** Documents refused one by one (by details.n). */
  refuse = (_doc: TelemetryDocument) => false;
  readonly stored = new Map<string, { collection: TelemetryCollection; doc: TelemetryDocument }>();
  /** Every stored _id in arrival order, duplicates included. */
  readonly arrivals: string[] = [];
  calls = 0;

  async write(
    collection: TelemetryCollection,
    documents: TelemetryDocument[],
  ): Promise<SinkResult> {
    this.calls++;
    if (this.mode === 'stall' || this.stalling.has(collection)) return new Promise<never>(() => {});
    if (this.mode === 'fail' || this.failing.has(collection)) {
      throw new Error('connect ECONNREFUSED 127.0.0.1:27017');
    }
    const rejected: SinkResult['rejected'] = [];
    documents.forEach((doc, index) => {
      if (this.refuse(doc)) {
        rejected.push({ index, reason: 'code 121: Document failed validation' });
        return;
      }
      const id = doc._id.toHexString();
      this.arrivals.push(id);
      this.stored.set(id, { collection, doc });
    });
    const written = documents.length - rejected.length;
    return this.writeConcernError
      ? { written, rejected, writeConcernError: this.writeConcernError }
      : { written, rejected };
  }
}

const context = { service: 'test' };

export const activity = (n: number): TelemetryEvent =>
  userActivityEvent(context, `user-${n}`, 'ticket_viewed', { n });
