/**
 * The telemetry writer's MongoDB side: one unordered insertMany per collection and batch,
 * with that collection's write concern.
 *
 * Unordered, so one refused document does not stop the others. Documents carry their `_id`
 * from the caller (events.ts), so a batch retried after a lost reply cannot be stored twice:
 * the copies already stored come back as duplicate-key errors (11000) and count as written.
 * Per-document errors of other kinds (schema validation, 121) are rejections, never retried.
 * Anything else (network, no primary, write concern not met) throws, and the writer retries
 * the whole batch.
 */
import type { Db, WriteConcernSettings } from 'mongodb';
import type { SinkResult, TelemetrySink } from '../../telemetry/batch-writer.js';
import type { TelemetryCollection, WriteAcknowledgement } from '../../telemetry/collections.js';
import type { TelemetryDocument } from '../../telemetry/events.js';

const DUPLICATE_KEY = 11000;

interface WriteErrorLike {
  index: number;
  code: number;
  errmsg?: string;
}

/** The per-document errors of an insertMany failure, or undefined when it failed as a whole. */
function documentErrors(error: unknown): WriteErrorLike[] | undefined {
  if (!(error instanceof Error) || error.name !== 'MongoBulkWriteError') return undefined;
  const raw = (error as { writeErrors?: WriteErrorLike | WriteErrorLike[] }).writeErrors;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.length > 0 ? list : undefined;
}

/** Splits an insertMany failure into written and rejected; rethrows whole-batch failures. */
export function classifyInsertError(error: unknown, documentCount: number): SinkResult {
  const errors = documentErrors(error);
  if (!errors) throw error;
  const rejected = errors
    .filter((e) => e.code !== DUPLICATE_KEY)
    .map((e) => ({ index: e.index, reason: `code ${e.code}: ${e.errmsg ?? 'write error'}` }));
  return { written: documentCount - rejected.length, rejected };
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
