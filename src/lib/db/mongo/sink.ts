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
  BSON,
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
  readonly #maxCommandBytes: number;

  constructor(
    db: () => Promise<Db>,
    writeConcern: Readonly<Record<TelemetryCollection, WriteAcknowledgement>>,
    timeoutMs: number,
    maxCommandBytes = MAX_COMMAND_BYTES,
  ) {
    this.#db = db;
    this.#writeConcern = writeConcern;
    this.#timeoutMs = timeoutMs;
    this.#maxCommandBytes = maxCommandBytes;
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

  /**
   * One insertMany per chunk of at most `maxCommandBytes` (BSON): each is one server command,
   * so its answer accounts for every document in it (the driver would otherwise split a large
   * batch at 16 MiB itself, see classifyInsertError). A chunk that fails whole fails the
   * batch, which the writer retries whole: chunks already stored come back as duplicates.
   */
  async write(
    collection: TelemetryCollection,
    documents: TelemetryDocument[],
  ): Promise<SinkResult> {
    const db = await this.#db();
    const total: SinkResult = { written: 0, rejected: [] };
    let offset = 0;
    for (const chunk of chunksOf(documents, this.#maxCommandBytes)) {
      const result = await this.#insert(db, collection, chunk);
      total.written += result.written;
      total.rejected.push(...result.rejected.map((r) => ({ ...r, index: r.index + offset })));
      if (result.writeConcernError) total.writeConcernError = result.writeConcernError;
      offset += chunk.length;
    }
    return total;
  }

  async #insert(db: Db, collection: TelemetryCollection, documents: TelemetryDocument[]) {
    try {
      const result = await db
        .collection<TelemetryDocument>(collection)
        .insertMany(documents, { ordered: false, writeConcern: this.writeConcernFor(collection) });
      return { written: result.insertedCount, rejected: [] } as SinkResult;
    } catch (error) {
      return classifyInsertError(error, documents.length);
    }
  }
}

/**
 * The driver's own split point: a batch's documents may total at most maxBsonObjectSize
 * (16 MiB) per command (bulk/common); a little under it, for the command's envelope.
 */
export const MAX_COMMAND_BYTES = 16 * 1024 * 1024 - 64 * 1024;

/** Consecutive chunks of at most `maxBytes` of BSON each (a larger document alone). */
export function chunksOf(documents: TelemetryDocument[], maxBytes: number): TelemetryDocument[][] {
  const chunks: TelemetryDocument[][] = [];
  let current: TelemetryDocument[] = [];
  let bytes = 0;
  for (const document of documents) {
    const size = BSON.calculateObjectSize(document);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(document);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
