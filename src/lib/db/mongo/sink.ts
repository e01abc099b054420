/**
 * The telemetry writer's MongoDB side: one unordered insertMany per collection and batch,
 * with that collection's write concern.
 *
 * Unordered, so one refused document does not stop the others. Documents carry their `_id`
 * from the caller (events.ts), so a batch retried after a lost reply cannot be stored twice:
 * the copies already stored come back as duplicate-key errors (11000) and count as written.
 * Per-document errors of other kinds (schema validation, 121) are rejections, never retried.
 * Stored without the write concern confirmed counts as written, and is reported. Anything
 * else (network, no primary) throws, and the writer retries the whole batch.
 */
import {
  type BulkWriteResult,
  type Db,
  MongoBulkWriteError,
  type WriteConcernSettings,
} from 'mongodb';
import type { SinkResult, TelemetrySink } from '../../telemetry/batch-writer.js';
import type { TelemetryCollection, WriteAcknowledgement } from '../../telemetry/collections.js';
import type { TelemetryDocument } from '../../telemetry/events.js';

const DUPLICATE_KEY = 11000;

interface WriteErrorLike {
  index: number;
  code: number;
  errmsg?: string;
}

/**
 * Splits an insertMany failure into written and rejected; rethrows failures of the whole
 * batch (the writer retries them).
 *
 * The driver reports per-document errors on `writeErrors`, except when the reply also carried
 * a write concern error: then it rethrows with an empty `writeErrors` and keeps both on
 * `result` (mongodb 7.x, bulk/common.js). A batch of ours is one server command (at most
 * TELEMETRY_BATCH_SIZE documents of at most ~20 KiB), so a result with errors is complete:
 * every document not listed was stored.
 */
export function classifyInsertError(error: unknown, documentCount: number): SinkResult {
  if (!(error instanceof MongoBulkWriteError)) throw error;
  const result = error.result as Partial<BulkWriteResult> | undefined;
  const listed = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  const writeErrors: WriteErrorLike[] =
    listed.length > 0 ? listed : (result?.getWriteErrors?.() ?? []);
  const concern = result?.getWriteConcernError?.();
  if (writeErrors.length === 0 && !concern) throw error;
  const rejected = writeErrors
    .filter((e) => e.code !== DUPLICATE_KEY)
    .map((e) => ({ index: e.index, reason: `code ${e.code}: ${e.errmsg ?? 'write error'}` }));
  const written = documentCount - rejected.length;
  return concern
    ? {
        written,
        rejected,
        writeConcernError: `write concern not confirmed (${concern.code ?? '?'}): ${concern.errmsg ?? ''}`,
      }
    : { written, rejected };
}

export class MongoSink implements TelemetrySink {
  readonly #db: () => Promise<Db>;
  readonly #writeConcern: Readonly<Record<TelemetryCollection, WriteAcknowledgement>>;
  readonly #timeoutMs: number;

  constructor(
    db: () => Promise<Db>,
    writeConcern: Readonly<Record<TelemetryCollection, WriteAcknowledgement>>,
    timeoutMs: number,
  ) {
    this.#db = db;
    this.#writeConcern = writeConcern;
    this.#timeoutMs = timeoutMs;
  }

  /** `w` from config; a majority write also gets a wtimeout so a lost secondary cannot hang it. */
  writeConcernFor(collection: TelemetryCollection): WriteConcernSettings {
    const w = this.#writeConcern[collection];
    return w === 'majority' || w > 1 ? { w, wtimeoutMS: this.#timeoutMs } : { w };
  }

  async write(
    collection: TelemetryCollection,
    documents: TelemetryDocument[],
  ): Promise<SinkResult> {
    try {
      const db = await this.#db();
      const result = await db
        .collection<TelemetryDocument>(collection)
        .insertMany(documents, { ordered: false, writeConcern: this.writeConcernFor(collection) });
      return { written: result.insertedCount, rejected: [] };
    } catch (error) {
      return classifyInsertError(error, documents.length);
    }
  }
}
