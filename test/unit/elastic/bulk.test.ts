/**
 * The `_bulk` building blocks the indexer and reindex share: actions and their versions,
 * requests split by size, the request body, and how an item's answer is read.
 */
import type { estypes } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import {
  type BulkAction,
  bulkChunks,
  bulkOperations,
  deleteAction,
  indexAction,
  itemOutcome,
  MAX_BULK_BYTES,
} from '../../../src/lib/db/elastic/bulk.js';

/** The action line each operation is counted as, besides its document. */
const ACTION_LINE = 200;

/** A document whose JSON is exactly `bytes` characters long. */
const docOf = (bytes: number) => ({ t: 'x'.repeat(bytes - '{"t":""}'.length) });

/** An index action counted as `size` bytes in all (action line included). */
const sized = (id: string, size: number) =>
  indexAction('nova_kb', id, 1, docOf(size - ACTION_LINE));

const ids = (chunks: BulkAction[][]) => chunks.map((chunk) => chunk.map((a) => a.source));

type Item = estypes.BulkResponse['items'][number];
const item = (
  action: 'index' | 'delete',
  status: number,
  error?: { type: string; reason: string },
): Item => ({ [action]: { _index: 'nova_kb', _id: 'a1', status, ...(error ? { error } : {}) } });

describe('indexAction and deleteAction', () => {
  it('indexes with the row version as an external_gte version, the id as its source', () => {
    const doc = { title: 'VPN' };
    expect(indexAction('nova_kb', 'a1', 7, doc)).toStrictEqual({
      source: 'a1',
      op: { index: { _index: 'nova_kb', _id: 'a1', version: 7, version_type: 'external_gte' } },
      doc,
      line: '{"title":"VPN"}',
      bytes: ACTION_LINE + '{"title":"VPN"}'.length,
    });
  });

  it('serializes the document once, when the action is built, and counts its UTF-8 bytes', () => {
    const doc = { title: 'VPN', tags: ['remote', 'mail'], nested: { n: 1, ok: true } };
    const action = indexAction('nova_kb', 'a1', 1, doc);
    expect(action.line).toBe(JSON.stringify(doc));
    expect(JSON.parse(action.line as string)).toEqual(doc);
    expect(action.bytes).toBe(ACTION_LINE + (action.line as string).length);
    // The line is what was built: a later change to the object is not sent.
    doc.title = 'changed';
    expect(bulkOperations([action])?.[1]).toBe(
      '{"title":"VPN","tags":["remote","mail"],"nested":{"n":1,"ok":true}}',
    );

    // CJK takes 3 bytes a character in UTF-8, an emoji 4 (2 UTF-16 code units).
    const cjk = indexAction('nova_kb', 'c1', 1, { title: '日本語のマニュアル' });
    expect(cjk.line).toBe('{"title":"日本語のマニュアル"}');
    expect(cjk.bytes).toBe(ACTION_LINE + Buffer.byteLength(cjk.line as string, 'utf8'));
    expect(cjk.bytes).toBe(ACTION_LINE + '{"title":""}'.length + 9 * 3);
    const emoji = indexAction('nova_kb', 'e1', 1, { title: '🚀🔥' });
    expect(emoji.bytes).toBe(ACTION_LINE + '{"title":""}'.length + 2 * 4);
    expect(emoji.bytes - ACTION_LINE).toBeGreaterThan((emoji.line as string).length);
  });

  it('keeps a source other than the document id (nova_ai_context ids name their article)', () => {
    const action = indexAction('nova_ai_context', 'kb_article:a1', 3, {}, 'a1');
    expect(action.source).toBe('a1');
    expect(action.op.index?._id).toBe('kb_article:a1');
  });

  it('deletes at a version only when one is given', () => {
    expect(deleteAction('nova_tickets', 't1', 4)).toStrictEqual({
      source: 't1',
      op: {
        delete: { _index: 'nova_tickets', _id: 't1', version: 4, version_type: 'external_gte' },
      },
      bytes: ACTION_LINE,
    });
    expect(deleteAction('nova_tickets', 't1')).toStrictEqual({
      source: 't1',
      op: { delete: { _index: 'nova_tickets', _id: 't1' } },
      bytes: ACTION_LINE,
    });
    expect(deleteAction('nova_ai_context', 'kb_article:a1', 2, 'a1').source).toBe('a1');
  });

  it('a delete carries no document and no line', () => {
    expect(deleteAction('nova_kb', 'a1', 2)).not.toHaveProperty('doc');
    expect(deleteAction('nova_kb', 'a1', 2)).not.toHaveProperty('line');
  });
});

describe('bulkChunks', () => {
  it('makes no chunk of no actions', () => {
    expect(bulkChunks([])).toEqual([]);
    expect(bulkChunks([], 1)).toEqual([]);
  });

  it('fills a chunk up to the limit exactly and starts the next one past it', () => {
    const actions = ['a', 'b', 'c', 'd', 'e'].map((id) => sized(id, 500));
    expect(ids(bulkChunks(actions, 1000))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(ids(bulkChunks(actions, 999))).toEqual([['a'], ['b'], ['c'], ['d'], ['e']]);
    expect(ids(bulkChunks(actions, 1500))).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });

  it('counts a delete as its action line only', () => {
    const actions = [
      sized('a', 600),
      deleteAction('nova_kb', 'b', 2),
      deleteAction('nova_kb', 'c'),
    ];
    expect(ids(bulkChunks(actions, 1000))).toEqual([['a', 'b', 'c']]);
    expect(ids(bulkChunks(actions, 999))).toEqual([['a', 'b'], ['c']]);
  });

  it('counts UTF-8 bytes: a multi-byte document splits where an ASCII one as long does not', () => {
    const frame = '{"t":""}'.length;
    // 390 characters each: 2 * (200 + 8 + 390) = 1196 bytes in ASCII, under 1200.
    const ascii = (id: string) => indexAction('nova_kb', id, 1, { t: 'x'.repeat(390) });
    const cjk = (id: string) => indexAction('nova_kb', id, 1, { t: '語'.repeat(390) });
    expect(ascii('a').line?.length).toBe(cjk('c').line?.length);
    expect(ascii('a').bytes).toBe(ACTION_LINE + frame + 390);
    expect(ids(bulkChunks([ascii('a'), ascii('b')], 1200))).toEqual([['a', 'b']]);
    // The same number of CJK characters, 3 bytes each: 200 + 8 + 1170 bytes apiece.
    expect(cjk('c').bytes).toBe(ACTION_LINE + frame + 390 * 3);
    expect(ids(bulkChunks([cjk('c'), cjk('d')], 1200))).toEqual([['c'], ['d']]);
    expect(ids(bulkChunks([cjk('c'), cjk('d')], 2 * cjk('c').bytes))).toEqual([['c', 'd']]);
    // An emoji is 2 UTF-16 code units and 4 bytes.
    const emoji = indexAction('nova_kb', 'e', 1, { t: '🙂'.repeat(195) });
    expect(emoji.line?.length).toBe(ascii('a').line?.length);
    expect(emoji.bytes).toBe(ACTION_LINE + frame + 195 * 4);
    expect(ids(bulkChunks([ascii('a'), emoji], 1200))).toEqual([['a'], ['e']]);
  });

  it('sizes an action by its bytes', () => {
    const small = sized('a', 300);
    const counted = { ...sized('b', 300), bytes: 900 };
    expect(ids(bulkChunks([small, sized('b', 300)], 1000))).toEqual([['a', 'b']]);
    expect(ids(bulkChunks([small, counted], 1000))).toEqual([['a'], ['b']]);
  });

  it('keeps the order of the actions across chunks', () => {
    const actions = Array.from({ length: 25 }, (_, i) =>
      i % 3 === 0 ? deleteAction('nova_kb', `x${i}`, i) : sized(`x${i}`, 300 + i * 10),
    );
    const chunks = bulkChunks(actions, 1200);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.flat()).toEqual(actions);
    for (const chunk of chunks) expect(chunk.length).toBeGreaterThan(0);
  });

  it('sends an action larger than the limit alone, wherever it is', () => {
    const actions = [sized('a', 400), sized('big', 5000), sized('b', 400), sized('huge', 9000)];
    expect(ids(bulkChunks(actions, 1000))).toEqual([['a'], ['big'], ['b'], ['huge']]);
    expect(ids(bulkChunks([sized('big', 5000), sized('a', 400), sized('b', 400)], 1000))).toEqual([
      ['big'],
      ['a', 'b'],
    ]);
  });

  it('defaults to 10 MB requests', () => {
    expect(MAX_BULK_BYTES).toBe(10 * 1024 * 1024);
    const fourMb = 4 * 1024 * 1024;
    const actions = ['a', 'b', 'c'].map((id) => sized(id, fourMb));
    expect(ids(bulkChunks(actions))).toEqual([['a', 'b'], ['c']]);
    const small = Array.from({ length: 1000 }, (_, i) => sized(`s${i}`, 1000));
    expect(bulkChunks(small)).toHaveLength(1);
  });
});

/** A line as the cluster reads it: the client sends a string line as it is, an object as JSON. */
const parsed = (line: unknown) => (typeof line === 'string' ? JSON.parse(line) : line);

describe('bulkOperations', () => {
  it('puts each document right after its index operation; deletes have none', () => {
    const a = indexAction('nova_kb', 'a', 1, { title: 'A' });
    const b = deleteAction('nova_kb', 'b', 3);
    const c = indexAction('nova_kb', 'c', 2, { title: 'C' });
    expect(bulkOperations([a, b, c])?.map(parsed)).toEqual([
      { index: { _index: 'nova_kb', _id: 'a', version: 1, version_type: 'external_gte' } },
      { title: 'A' },
      { delete: { _index: 'nova_kb', _id: 'b', version: 3, version_type: 'external_gte' } },
      { index: { _index: 'nova_kb', _id: 'c', version: 2, version_type: 'external_gte' } },
      { title: 'C' },
    ]);
    expect(bulkOperations([b])).toHaveLength(1);
    expect(bulkOperations([])).toEqual([]);
  });

  it('hands the document over as its serialized line, unchanged', () => {
    const a = indexAction('nova_kb', 'a', 1, { title: 'Ünïcode 日本 🚀' });
    const [op, line] = bulkOperations([a]) ?? [];
    expect(op).toBe(a.op);
    expect(line).toBe(a.line);
    expect(line).toBe('{"title":"Ünïcode 日本 🚀"}');
  });
});

describe('itemOutcome', () => {
  it('a write that went through is done', () => {
    expect(itemOutcome(item('index', 200))).toEqual({ kind: 'done', delete: false });
    expect(itemOutcome(item('index', 201))).toEqual({ kind: 'done', delete: false });
    expect(itemOutcome(item('delete', 200))).toEqual({ kind: 'done', delete: true });
  });

  it('a delete of a document that is not there is done; an index answered 404 is refused', () => {
    expect(itemOutcome(item('delete', 404))).toEqual({ kind: 'done', delete: true });
    expect(
      itemOutcome(
        item('index', 404, { type: 'index_not_found_exception', reason: 'no such index' }),
      ),
    ).toEqual({
      kind: 'refused',
      status: 404,
      reason: '404 index_not_found_exception: no such index',
    });
  });

  it('a version conflict means a newer document is already there', () => {
    const conflict = { type: 'version_conflict_engine_exception', reason: 'current version [5]' };
    expect(itemOutcome(item('index', 409, conflict))).toEqual({ kind: 'stale', delete: false });
    expect(itemOutcome(item('delete', 409, conflict))).toEqual({ kind: 'stale', delete: true });
  });

  it.each([429, 502, 503, 504])('%i is the cluster under load: transient', (status) => {
    expect(
      itemOutcome(
        item('index', status, { type: 'es_rejected_execution_exception', reason: 'busy' }),
      ),
    ).toEqual({
      kind: 'transient',
      status,
      reason: `${status} es_rejected_execution_exception: busy`,
    });
  });

  it('a mapping error is refused, with its type and reason', () => {
    const outcome = itemOutcome(
      item('index', 400, {
        type: 'mapper_parsing_exception',
        reason: 'failed to parse field [created_at] of type [date]',
      }),
    );
    expect(outcome).toEqual({
      kind: 'refused',
      status: 400,
      reason: '400 mapper_parsing_exception: failed to parse field [created_at] of type [date]',
    });
  });

  it('other failures are refused, even without an error body', () => {
    expect(itemOutcome(item('index', 500))).toEqual({
      kind: 'refused',
      status: 500,
      reason: '500 error:',
    });
    expect(itemOutcome(item('delete', 400))).toMatchObject({ kind: 'refused' });
  });
});
