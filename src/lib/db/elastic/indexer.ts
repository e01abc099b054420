/**
 * The outbox indexer: drains PostgreSQL's search outbox into Elasticsearch with _bulk.
 *
 * - One bulk operation per entity and batch: its newest outbox row decides (delete, or index
 *   the row as it is now in PostgreSQL), and every row of the entity is settled with it.
 * - Idempotent: documents carry the PostgreSQL row version as an external version
 *   (version_type external_gte), so a re-delivered or late write can never replace a newer
 *   document; the cluster answers 409 and the row is simply done.
 * - Retries only what failed: items answered 429/502/503/504 go back to the outbox with a
 *   backoff; an item the cluster refuses (a mapping error) counts an attempt and is parked,
 *   with its error, after `maxAttempts`. A cluster that is down counts no attempts: an outage
 *   never parks good rows.
 * - Lag is the age of the oldest pending row.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { backoffDelay } from '../../retry.js';
import { describeElasticError } from './client.js';
import { ENTITY_ALIAS, searchDocument } from './documents.js';
import type { OutboxRow, OutboxStore } from './outbox-store.js';

export interface IndexerOptions {
  /** Outbox rows per batch (default 500). */
  batchSize?: number;
  /** How long claimed rows stay invisible to other indexers (default 60 s). */
  leaseMs?: number;
  /** Refusals before a row is parked (default 5). */
  maxAttempts?: number;
  /** First delay before a row is retried (default 1000 ms), doubling up to 60 s. */
  retryDelayMs?: number;
  random?: () => number;
}

export interface DrainResult {
  claimed: number;
  indexed: number;
  deleted: number;
  /** Rows whose entity no longer exists or whose document was already newer (409). */
  skipped: number;
  /** Rows sent back to the outbox for a later attempt. */
  retried: number;
  parked: number;
}

const EMPTY: DrainResult = {
  claimed: 0,
  indexed: 0,
  deleted: 0,
  skipped: 0,
  retried: 0,
  parked: 0,
};
const TRANSIENT = new Set([429, 502, 503, 504]);
const add = (a: DrainResult, b: DrainResult): DrainResult => ({
  claimed: a.claimed + b.claimed,
  indexed: a.indexed + b.indexed,
  deleted: a.deleted + b.deleted,
  skipped: a.skipped + b.skipped,
  retried: a.retried + b.retried,
  parked: a.parked + b.parked,
});

interface Entity {
  rows: OutboxRow[];
  latest: OutboxRow;
}

export class Indexer {
  readonly #outbox: OutboxStore;
  readonly #client: Client;
  readonly #options: Required<IndexerOptions>;
  #totals: DrainResult = { ...EMPTY };
  #lastError: { message: string; at: string } | null = null;

  constructor(outbox: OutboxStore, client: Client, options: IndexerOptions = {}) {
    this.#outbox = outbox;
    this.#client = client;
    this.#options = {
      batchSize: 500,
      leaseMs: 60_000,
      maxAttempts: 5,
      retryDelayMs: 1000,
      random: Math.random,
      ...options,
    };
  }

  /** Totals since start and the last error, for health and metrics. */
  stats() {
    return { ...this.#totals, lastError: this.#lastError };
  }

  /** Age of the oldest pending row (ms), pending and parked counts. */
  lag() {
    return this.#outbox.lag();
  }

  /** Batches until the outbox has nothing available, or a batch could not be delivered. */
  async drain(): Promise<DrainResult> {
    let total = { ...EMPTY };
    for (;;) {
      const result = await this.drainBatch();
      total = add(total, result);
      if (result.claimed === 0 || result.retried === result.claimed) return total;
    }
  }

  /** One batch: claim, bulk, settle. */
  async drainBatch(): Promise<DrainResult> {
    const rows = await this.#outbox.claim(this.#options.batchSize, this.#options.leaseMs);
    if (rows.length === 0) return { ...EMPTY };
    const result = await this.#deliver(rows);
    this.#totals = add(this.#totals, result);
    return result;
  }

  async #deliver(rows: OutboxRow[]): Promise<DrainResult> {
    const result: DrainResult = { ...EMPTY, claimed: rows.length };
    const entities = new Map<string, Entity>();
    for (const row of rows) {
      const key = `${row.entity_type}:${row.entity_id}`;
      const entity = entities.get(key);
      if (!entity) entities.set(key, { rows: [row], latest: row });
      else {
        entity.rows.push(row);
        if (row.entity_version >= entity.latest.entity_version) entity.latest = row;
      }
    }
    const toIndex = (type: OutboxRow['entity_type']) =>
      [...entities.values()]
        .filter((e) => e.latest.operation === 'index' && e.latest.entity_type === type)
        .map((e) => e.latest.entity_id);
    const [tickets, articles] = await Promise.all([
      this.#outbox.source.rows('ticket', toIndex('ticket')),
      this.#outbox.source.rows('kb_article', toIndex('kb_article')),
    ]);

    const operations: estypes.BulkRequest['operations'] = [];
    const sent: Entity[] = [];
    const done: string[] = [];
    for (const entity of entities.values()) {
      const { latest } = entity;
      const _index = ENTITY_ALIAS[latest.entity_type];
      if (latest.operation === 'delete') {
        operations.push({
          delete: {
            _index,
            _id: latest.entity_id,
            version: latest.entity_version,
            version_type: 'external_gte',
          },
        });
        sent.push(entity);
        continue;
      }
      const row =
        latest.entity_type === 'ticket'
          ? tickets.get(latest.entity_id)
          : articles.get(latest.entity_id);
      if (!row) {
        // Deleted since: its own delete row follows in the outbox.
        done.push(...entity.rows.map((r) => r.id));
        result.skipped += entity.rows.length;
        continue;
      }
      const document = searchDocument(latest.entity_type, row);
      operations.push(
        {
          index: {
            _index,
            _id: latest.entity_id,
            version: row.version,
            version_type: 'external_gte',
          },
        },
        document,
      );
      sent.push(entity);
    }

    if (sent.length > 0) {
      let response: estypes.BulkResponse;
      try {
        response = await this.#client.bulk({ operations });
      } catch (error) {
        // The cluster, not the documents: back off, count no attempt.
        const ids = sent.flatMap((e) => e.rows.map((r) => r.id));
        this.#fail(error);
        await this.#outbox.release(ids, {
          delayMs: this.#delay(rows),
          error: describeElasticError(error),
          counts: false,
          maxAttempts: this.#options.maxAttempts,
        });
        result.retried += ids.length;
        await this.#outbox.acknowledge(done);
        return result;
      }
      for (const [i, item] of response.items.entries()) {
        const entity = sent[i] as Entity;
        const ids = entity.rows.map((r) => r.id);
        const outcome = Object.values(item)[0] as estypes.BulkResponseItem;
        const status = outcome.status;
        const isDelete = 'delete' in item;
        if (status < 300 || (isDelete && status === 404)) {
          done.push(...ids);
          if (isDelete) result.deleted += ids.length;
          else result.indexed += ids.length;
        } else if (status === 409) {
          done.push(...ids); // a newer version is already there
          result.skipped += ids.length;
        } else {
          const reason = `${status} ${outcome.error?.type ?? 'error'}: ${outcome.error?.reason ?? ''}`;
          this.#lastError = { message: reason, at: new Date().toISOString() };
          const parked = await this.#outbox.release(ids, {
            delayMs: this.#delay(entity.rows),
            error: reason,
            counts: !TRANSIENT.has(status),
            maxAttempts: this.#options.maxAttempts,
          });
          result.parked += parked;
          result.retried += ids.length - parked;
        }
      }
    }
    await this.#outbox.acknowledge(done);
    return result;
  }

  #delay(rows: OutboxRow[]): number {
    const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
    const base = this.#options.retryDelayMs;
    return base + backoffDelay(attempts, base, 60_000, this.#options.random);
  }

  #fail(error: unknown): void {
    this.#lastError = { message: describeElasticError(error), at: new Date().toISOString() };
  }
}
