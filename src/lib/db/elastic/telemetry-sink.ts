/**
 * The telemetry writer's Elasticsearch side: one `_bulk` request per collection and batch,
 * a `create` action per event into the nova_logs data stream (data streams take no other),
 * each document its ECS projection (ecs.ts).
 *
 * The same accounting as the MongoDB sink (mongo/sink.ts), item by item:
 * - 201: written. Each action carries the event's ObjectId as `_id`, so a batch sent again
 *   after a lost reply meets 409 (version_conflict_engine_exception) for the copies already
 *   stored: written too, never stored twice. (Elasticsearch checks ids per backing index: a
 *   retry that crosses a rollover could store a second copy.)
 * - 429, 502, 503, 504 (the cluster under load), and 401, 403, 404 (the data stream or the
 *   app's privileges missing: a bootstrap away, not a fault of the document): the whole batch
 *   throws and the writer retries it with backoff; what was stored answers 409 next time.
 * - Anything else (400 document_parsing_exception, a 500 for this document): rejected with
 *   the cluster's reason, never retried, as with MongoDB's validation errors.
 * A failure of the request itself (connection refused, timeout, 401 for the request, 5xx)
 * throws (with the cluster's reason, the driver's error as `cause`), and the writer retries
 * the batch. A document that cannot even be projected (a
 * timestamp that is not a date) is rejected without being sent.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import type { SinkResult, TelemetrySink } from '../../telemetry/batch-writer.js';
import type { TelemetryCollection } from '../../telemetry/collections.js';
import type { TelemetryDocument } from '../../telemetry/events.js';
import { itemOutcome } from './bulk.js';
import { describeElasticError } from './client.js';
import { type EcsEvent, toEcs } from './ecs.js';
import { LOGS_DATA_STREAM } from './index-specs.js';

/** Item statuses that say the target is not usable yet, not that the document is wrong. */
const TARGET_UNAVAILABLE = new Set([401, 403, 404]);

/** Some items must be sent again: the batch is retried whole (stored ones answer 409). */
export class BulkRetryError extends Error {
  override readonly name = 'BulkRetryError';
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * What a `_bulk` answer means for the batch, `sent[i]` being the batch position of the
 * i-th action. Throws BulkRetryError when an item should be sent again.
 */
export function classifyBulkResponse(
  response: Pick<estypes.BulkResponse, 'errors' | 'items'>,
  sent: readonly number[],
): SinkResult {
  const items = Array.isArray(response.items) ? response.items : [];
  if (items.length !== sent.length) {
    // Not an answer to this request (a proxy's page, say): nothing is known to be stored.
    throw new Error(`_bulk answered ${items.length} items for ${sent.length} actions`);
  }
  if (response.errors === false) return { written: sent.length, rejected: [] };
  let written = 0;
  const rejected: SinkResult['rejected'] = [];
  const retry: string[] = [];
  items.forEach((item, i) => {
    const outcome = itemOutcome(item);
    if (outcome.kind === 'done' || outcome.kind === 'stale') {
      written++;
    } else if (outcome.kind === 'transient' || TARGET_UNAVAILABLE.has(outcome.status)) {
      retry.push(outcome.reason);
    } else {
      rejected.push({ index: sent[i] as number, reason: outcome.reason });
    }
  });
  if (retry.length > 0) {
    throw new BulkRetryError(
      `${retry.length} of ${items.length} events not stored, retrying: ${retry[0]}`,
    );
  }
  return { written, rejected };
}

export class ElasticSink implements TelemetrySink {
  readonly #client: () => Client;
  readonly #timeoutMs: number;
  readonly #index: string;

  /**
   * `client` is asked for at the first write (a client that cannot be built, say an
   * unreadable CA file, fails writes, which are counted and retried, not the caller).
   * `timeoutMs` bounds each request (TELEMETRY_WRITE_TIMEOUT_MS).
   */
  constructor(client: () => Client, timeoutMs: number, index = LOGS_DATA_STREAM) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    this.#index = index;
  }

  /** The request body for a batch, and which documents it carries (the others are refused). */
  operations(collection: TelemetryCollection, documents: readonly TelemetryDocument[]) {
    const operations: estypes.BulkRequest<EcsEvent>['operations'] = [];
    const sent: number[] = [];
    const rejected: SinkResult['rejected'] = [];
    documents.forEach((document, index) => {
      let source: EcsEvent;
      try {
        source = toEcs(collection, document);
      } catch (error) {
        rejected.push({ index, reason: `not an ECS document: ${messageOf(error)}` });
        return;
      }
      operations.push({ create: { _index: this.#index, _id: source.event.id } }, source);
      sent.push(index);
    });
    return { operations, sent, rejected };
  }

  async write(
    collection: TelemetryCollection,
    documents: TelemetryDocument[],
  ): Promise<SinkResult> {
    const { operations, sent, rejected } = this.operations(collection, documents);
    if (sent.length === 0) return { written: 0, rejected };
    const client = this.#client();
    let response: estypes.BulkResponse;
    try {
      response = await client.bulk<EcsEvent>(
        { operations },
        { requestTimeout: this.#timeoutMs, maxRetries: 0 },
      );
    } catch (error) {
      // "503 master_not_discovered_exception: ...", with the store, for lastError and health.
      throw new Error(`Elasticsearch _bulk into ${this.#index}: ${describeElasticError(error)}`, {
        cause: error,
      });
    }
    const result = classifyBulkResponse(response, sent);
    return { written: result.written, rejected: [...rejected, ...result.rejected] };
  }
}
