/**
 * `_bulk` building blocks shared by the outbox indexer and reindex: actions that remember
 * which entity they came from, requests split by size, and one reading of an item's answer.
 */
import type { estypes } from '@elastic/elasticsearch';

/** One bulk operation (and its document, for an index), and the row id it was made from. */
export interface BulkAction {
  source: string;
  op: estypes.BulkOperationContainer;
  doc?: object;
  /**
   * The document as its NDJSON line, serialized once: measured for the size limit and handed
   * to the client as is (its serializer passes strings through).
   */
  line?: string;
  /** UTF-8 bytes of the action and its document, roughly for the action line. */
  bytes: number;
}

/** Bulk requests stay well under http.max_content_length (100 MB by default). */
export const MAX_BULK_BYTES = 10 * 1024 * 1024;
/** The action line of an operation, roughly; documents are measured. */
const ACTION_LINE_BYTES = 200;

/** Index `doc` as `_id` with an external version: Elasticsearch refuses an older one (409). */
export const indexAction = (
  index: string,
  id: string,
  version: number,
  doc: object,
  source = id,
): BulkAction => {
  const line = JSON.stringify(doc);
  return {
    source,
    op: { index: { _index: index, _id: id, version, version_type: 'external_gte' } },
    doc,
    line,
    bytes: ACTION_LINE_BYTES + Buffer.byteLength(line),
  };
};

/** Delete `_id`; with a version, a document newer than the delete survives it (409). */
export const deleteAction = (
  index: string,
  id: string,
  version?: number,
  source = id,
): BulkAction => ({
  source,
  op: {
    delete:
      version === undefined
        ? { _index: index, _id: id }
        : { _index: index, _id: id, version, version_type: 'external_gte' },
  },
  bytes: ACTION_LINE_BYTES,
});

/**
 * Consecutive groups of actions of at most `maxBytes` each (articles can be 200 kB, an
 * embedding 30 kB); an action larger than the limit goes alone.
 */
export function bulkChunks(actions: readonly BulkAction[], maxBytes = MAX_BULK_BYTES) {
  const chunks: BulkAction[][] = [];
  let chunk: BulkAction[] = [];
  let bytes = 0;
  for (const action of actions) {
    if (chunk.length > 0 && bytes + action.bytes > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(action);
    bytes += action.bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** The request body of a chunk: each operation, followed by its document for an index. */
export const bulkOperations = (chunk: readonly BulkAction[]): estypes.BulkRequest['operations'] =>
  chunk.flatMap((action) => (action.line === undefined ? [action.op] : [action.op, action.line]));

/** Statuses of an item worth sending again: the cluster under load, not the document. */
const TRANSIENT = new Set([429, 502, 503, 504]);

export type ItemOutcome =
  /** Written, or a delete of a document that was not there. */
  | { kind: 'done'; delete: boolean }
  /** A newer version is already there: nothing to do. */
  | { kind: 'stale'; delete: boolean }
  | { kind: 'transient'; status: number; reason: string }
  /** Refused for what it is (a mapping error): sending it again will not help. */
  | { kind: 'refused'; status: number; reason: string };

export function itemOutcome(item: estypes.BulkResponse['items'][number]): ItemOutcome {
  const isDelete = item.delete !== undefined;
  const { status, error } = Object.values(item)[0] as estypes.BulkResponseItem;
  if (status < 300 || (isDelete && status === 404)) return { kind: 'done', delete: isDelete };
  if (status === 409) return { kind: 'stale', delete: isDelete };
  const reason = `${status} ${error?.type ?? 'error'}: ${error?.reason ?? ''}`.trim();
  return { kind: TRANSIENT.has(status) ? 'transient' : 'refused', status, reason };
}
