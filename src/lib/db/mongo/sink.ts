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
 * `result` (mongodb 7.x, bulk/common.js). Written is what the server says it inserted plus
 * the duplicates (stored before). The driver splits a large unordered insert into several
 * commands, and one of them can fail whole after another reported errors: documents neither
 * inserted nor refused were never stored, so then the batch is retried whole (its `_id`s make
 * that safe: what is stored comes back as a duplicate).
 */
export function classifyInsertError(error: unknown, documentCount: number): SinkResult {
  if (!(error instanceof MongoBulkWriteError)) throw error;
  const result = error.result as Partial<BulkWriteResult> | undefined;
  const listed = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  const writeErrors: WriteErrorLike[] =
    listed.length > 0 ? listed : (result?.getWriteErrors?.() ?? []);
  const concern = result?.getWriteConcernError?.();
  if (writeErrors.length === 0 && !concern) throw error;
  const duplicates = writeErrors.filter((e) => e.code === DUPLICATE_KEY).length;
  const rejected = writeErrors
    .filter((e) => e.code !== DUPLICATE_KEY)
    .map((e) => ({ index: e.index, reason: `code ${e.code}: ${e.errmsg ?? 'write error'}` }));
  const written = (result?.insertedCount ?? 0) + duplicates;
  if (written + rejected.length < documentCount) throw error;
  return concern
    ? {
        written,
        rejected,
        writeConcernError: `write concern not confirmed (${concern.code ?? '?'}): ${concern.errmsg ?? ''}`,
      }
    : { written, rejected };
}

/** Half the writer's timeout: the rest is for the insert itself and the reply. */
export const wtimeoutFor = (writeTimeoutMs: number) => Math.max(1, Math.floor(writeTimeoutMs / 2));

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

  /**
   * `w` from config; a majority write also gets a wtimeout so a lost secondary cannot hang it,
   * well inside the writer's own timeout: the server then answers "stored, write concern not
   * confirmed" (counted as written, reported) before the writer gives up. Were it equal, the
   * writer would always give up first and retry the batch forever while a majority is missing,
   * each retry waiting again, until the lane's events filled the buffer every lane shares.
   * (The driver's own timeoutMS has no effect in mongodb 7.x: deprecated.)
   */
  writeConcernFor(collection: TelemetryCollection): WriteConcernSettings {
    const w = this.#writeConcern[collection];
    return w === 'majority' || w > 1 ? { w, wtimeoutMS: wtimeoutFor(this.#timeoutMs) } : { w };
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
