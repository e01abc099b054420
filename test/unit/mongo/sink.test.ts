/**
 * The MongoDB sink, request by request: what insertMany receives (unordered, the
 * collection's write concern) and how each kind of driver failure is accounted. Failures are
 * the driver's own error classes, built the way its bulk path builds them.
 */
import {
  BSON,
  type Db,
  MongoBulkWriteError,
  MongoNetworkError,
  MongoServerSelectionError,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  chunksOf,
  classifyInsertError,
  MongoSink,
  wtimeoutFor,
} from '../../../src/lib/db/mongo/sink.js';
import { socketTimeoutFor } from '../../../src/lib/db/mongo.js';
import { DEFAULT_WRITE_CONCERN } from '../../../src/lib/telemetry/collections.js';
import type { TelemetryDocument } from '../../../src/lib/telemetry/events.js';
import { activity } from '../../support/telemetry.js';

type BulkResult = ConstructorParameters<typeof MongoBulkWriteError>[1];
/** The parts of the driver's BulkWriteResult the sink reads. */
const result = (
  insertedCount: number,
  extra: { writeErrors?: object[]; writeConcernError?: { code: number; errmsg: string } } = {},
) =>
  ({
    insertedCount,
    getWriteErrors: () => extra.writeErrors ?? [],
    getWriteConcernError: () => extra.writeConcernError,
  }) as unknown as BulkResult;

const bulkError = (
  writeErrors: { index: number; code: number; errmsg: string }[],
  inserted: number,
) =>
  new MongoBulkWriteError(
    {
      message: writeErrors[0]?.errmsg ?? 'write failed',
      code: writeErrors[0]?.code ?? 1,
      writeErrors,
    } as never,
    result(inserted),
  );

describe('classifyInsertError', () => {
  it('counts duplicates of a retried batch as written and schema failures as rejected', () => {
    const error = bulkError(
      [
        {
          index: 0,
          code: 11000,
          errmsg: 'E11000 duplicate key error collection: nova_logs.user_activity',
        },
        { index: 3, code: 121, errmsg: 'Document failed validation' },
      ],
      3,
    );
    expect(classifyInsertError(error, 5)).toEqual({
      written: 4,
      rejected: [{ index: 3, reason: 'code 121: Document failed validation' }],
    });
  });

  it('counts documents stored without the write concern confirmed as written, and says so', () => {
    // The driver's shape when the reply carries a writeConcernError: rethrown with only
    // { message, code }, the details on result (bulk/common.js).
    const concern = { code: 64, errmsg: 'waiting for replication timed out' };
    const error = new MongoBulkWriteError(
      { message: concern.errmsg, code: concern.code } as never,
      result(3, { writeConcernError: concern }),
    );
    expect(classifyInsertError(error, 3)).toEqual({
      written: 3,
      rejected: [],
      writeConcernError: 'write concern not confirmed (64): waiting for replication timed out',
    });
    const both = new MongoBulkWriteError(
      { message: concern.errmsg, code: concern.code } as never,
      result(2, {
        writeConcernError: concern,
        writeErrors: [{ index: 1, code: 121, errmsg: 'Document failed validation' }],
      }),
    );
    expect(classifyInsertError(both, 3)).toMatchObject({ written: 2, rejected: [{ index: 1 }] });
  });

  it('retries the batch when the driver split it and a later part failed whole (nothing counted unstored)', () => {
    // 100 documents sent as two commands: the first stored 49 and reported one duplicate,
    // the second never reached the server. 50 documents were neither stored nor refused.
    const error = bulkError([{ index: 7, code: 11000, errmsg: 'E11000 duplicate key' }], 49);
    expect(() => classifyInsertError(error, 100)).toThrow(error);
  });

  it('rethrows failures of the whole batch so the writer retries it', () => {
    const network = new MongoNetworkError('connection reset');
    // The driver wraps a mid-bulk network error in a MongoBulkWriteError without writeErrors.
    const wrapped = new MongoBulkWriteError(network, result(0));
    for (const error of [
      network,
      wrapped,
      new MongoServerSelectionError('no primary', {} as never),
    ]) {
      expect(() => classifyInsertError(error, 5)).toThrow(error);
    }
  });
});

function fakeDb() {
  const calls: { collection: string; documents: TelemetryDocument[]; options: unknown }[] = [];
  let next: () => Promise<{ insertedCount: number }> = async () => ({ insertedCount: 0 });
  const db = {
    collection: (collection: string) => ({
      insertMany: (documents: TelemetryDocument[], options: unknown) => {
        calls.push({ collection, documents, options });
        return next();
      },
    }),
  } as unknown as Db;
  return { db, calls, respond: (fn: typeof next) => (next = fn) };
}

describe('MongoSink', () => {
  it('sends one unordered insertMany with the collection write concern', async () => {
    const { db, calls, respond } = fakeDb();
    respond(async () => ({ insertedCount: 2 }));
    const sink = new MongoSink(async () => db, DEFAULT_WRITE_CONCERN, 10_000);
    const docs = [activity(1).document, activity(2).document];
    expect(await sink.write('user_activity', docs)).toEqual({ written: 2, rejected: [] });
    expect(calls).toEqual([
      {
        collection: 'user_activity',
        documents: docs,
        options: { ordered: false, writeConcern: { w: 1 } },
      },
    ]);
  });

  it('waits for a majority on audit_logs, bounded by a wtimeout inside the writer’s own timeout', async () => {
    const { db, calls, respond } = fakeDb();
    respond(async () => ({ insertedCount: 1 }));
    await new MongoSink(async () => db, DEFAULT_WRITE_CONCERN, 7000).write('audit_logs', [
      activity(1).document,
    ]);
    expect(calls[0]?.options).toEqual({
      ordered: false,
      // The server answers (write concern not confirmed) before the writer's 7 s run out.
      writeConcern: { w: 'majority', wtimeoutMS: 3500 },
    });
  });

  it('honours a configured write concern per collection', () => {
    const sink = new MongoSink(
      async () => ({}) as Db,
      { ...DEFAULT_WRITE_CONCERN, api_usage: 2, audit_logs: 1 },
      5000,
    );
    expect(sink.writeConcernFor('api_usage')).toEqual({ w: 2, wtimeoutMS: 2500 });
    expect(sink.writeConcernFor('audit_logs')).toEqual({ w: 1 });
  });

  it('reports per-document outcomes and throws whole-batch failures', async () => {
    const { db, respond } = fakeDb();
    const sink = new MongoSink(async () => db, DEFAULT_WRITE_CONCERN, 5000);
    respond(async () => {
      throw bulkError([{ index: 1, code: 121, errmsg: 'Document failed validation' }], 1);
    });
    expect(
      await sink.write('system_logs', [activity(1).document, activity(2).document]),
    ).toMatchObject({
      written: 1,
      rejected: [{ index: 1 }],
    });
    respond(async () => {
      throw new MongoNetworkError('connect ECONNREFUSED');
    });
    await expect(sink.write('system_logs', [activity(3).document])).rejects.toThrow('ECONNREFUSED');
  });
});

describe('the bounds, in order', () => {
  it('wtimeout < the writer’s timeout < the socket timeout, whatever the write timeout', () => {
    for (const writeTimeoutMs of [1000, 10_000, 60_000, 600_000]) {
      expect(wtimeoutFor(writeTimeoutMs)).toBeLessThan(writeTimeoutMs);
      expect(writeTimeoutMs).toBeLessThan(socketTimeoutFor(writeTimeoutMs));
    }
    // And past analytics' 15 s server-side limit, so a slow aggregate ends on the server first.
    expect(socketTimeoutFor(1000)).toBeGreaterThan(15_000);
  });
});

describe('MongoSink batches larger than one command', () => {
  it('sends chunks of at most the command size, each answered in full, with rejections at their batch index', async () => {
    const { db, calls, respond } = fakeDb();
    const docs = [1, 2, 3, 4, 5].map((n) => activity(n).document);
    const size = BSON.calculateObjectSize(docs[0] as TelemetryDocument);
    expect(chunksOf(docs, size * 2 + 1).map((c) => c.length)).toEqual([2, 2, 1]);
    let call = 0;
    respond(async () => {
      call++;
      if (call === 2) {
        throw bulkError([{ index: 1, code: 121, errmsg: 'Document failed validation' }], 1);
      }
      return { insertedCount: call === 1 ? 2 : 1 };
    });
    const sink = new MongoSink(async () => db, DEFAULT_WRITE_CONCERN, 10_000, size * 2 + 1);
    expect(await sink.write('user_activity', docs)).toEqual({
      written: 4,
      rejected: [{ index: 3, reason: 'code 121: Document failed validation' }],
    });
    expect(calls.map((c) => c.documents.length)).toEqual([2, 2, 1]);
  });

  it('fails the batch when a later chunk fails whole (the writer retries it; stored ones come back as duplicates)', async () => {
    const { db, respond } = fakeDb();
    const docs = [1, 2, 3].map((n) => activity(n).document);
    const size = BSON.calculateObjectSize(docs[0] as TelemetryDocument);
    let call = 0;
    respond(async () => {
      call++;
      if (call === 2) throw new MongoNetworkError('connection reset');
      return { insertedCount: 2 };
    });
    const sink = new MongoSink(async () => db, DEFAULT_WRITE_CONCERN, 10_000, size * 2 + 1);
    await expect(sink.write('user_activity', docs)).rejects.toThrow('connection reset');
  });
});
