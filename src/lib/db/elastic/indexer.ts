/**
 * The outbox indexer: drains PostgreSQL's search outbox into Elasticsearch with _bulk.
 *
 * - One document per entity, index and batch: the entity's newest outbox row decides (delete,
 *   or index the row as it is now in PostgreSQL), and every row of the entity is settled
 *   with it. Tickets go to nova_tickets, articles to nova_kb and, with an embedding
 *   provider, published articles with their embeddings to nova_ai_context (projections.ts).
 * - Idempotent: documents carry the PostgreSQL row version as an external version
 *   (version_type external_gte), so a re-delivered or late write can never replace a newer
 *   document; the cluster answers 409 and the row is simply done.
 * - Retries only what failed: items answered 429/502/503/504 go back to the outbox with a
 *   backoff; an item the cluster refuses (a mapping error) counts an attempt and is parked,
 *   with its error, after `maxAttempts`. A cluster or embedding provider that is down counts
 *   no attempts: an outage never parks good rows, and a provider outage does not hold back
 *   the lexical indices (those documents are written; the rows come back for the embeddings).
 * - Requests are split to stay under 10 MB.
 * - Lag is the age of the oldest pending row.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, estypes } from '@elastic/elasticsearch';
import type { EmbeddingProvider } from '../../embeddings.js';
import { backoffDelay } from '../../retry.js';
import {
  type BulkAction,
  bulkChunks,
  bulkOperations,
  itemOutcome,
  MAX_BULK_BYTES,
} from './bulk.js';
import { describeElasticError } from './client.js';
import type { ArticleRow, SearchEntityType } from './documents.js';
import { SEARCH_INDICES, type SearchIndexKey } from './index-specs.js';
import type { OutboxRow, OutboxStore } from './outbox-store.js';
import { INDEX_ENTITY, projectRows, type SearchRow } from './projections.js';

export interface IndexerOptions {
  /** Outbox rows per batch (default 500). */
  batchSize?: number;
  /** How long claimed rows stay invisible to other indexers (default 60 s). */
  leaseMs?: number;
  /** Refusals before a row is parked (default 5). */
  maxAttempts?: number;
  /** First delay before a row is retried (default 1000 ms), doubling up to 60 s. */
  retryDelayMs?: number;
  /** Largest bulk request body (default 10 MB). */
  maxBulkBytes?: number;
  /** Fills nova_ai_context; without one that index is left alone. */
  embeddings?: EmbeddingProvider;
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
  /** Documents with embeddings written to nova_ai_context. */
  embedded: number;
}

const EMPTY: DrainResult = {
  claimed: 0,
  indexed: 0,
  deleted: 0,
  skipped: 0,
  retried: 0,
  parked: 0,
  embedded: 0,
};
const add = (a: DrainResult, b: DrainResult): DrainResult => ({
  claimed: a.claimed + b.claimed,
  indexed: a.indexed + b.indexed,
  deleted: a.deleted + b.deleted,
  skipped: a.skipped + b.skipped,
  retried: a.retried + b.retried,
  parked: a.parked + b.parked,
  embedded: a.embedded + b.embedded,
});

interface Entity {
  rows: OutboxRow[];
  latest: OutboxRow;
  /** The lexical document was already newer (409). */
  stale?: boolean;
  /** Its nova_ai_context document was written (counted once the entity is done). */
  embedded?: boolean;
  /** Why the entity goes back to the outbox; `counts` when the cluster refused a document. */
  failure?: { reason: string; counts: boolean };
}

/** An action and the entity it settles. */
interface Sent {
  action: BulkAction;
  entity: Entity;
  lexical: boolean;
}

export class Indexer {
  readonly #outbox: OutboxStore;
  readonly #client: Client;
  readonly #embeddings: EmbeddingProvider | undefined;
  readonly #options: Required<Omit<IndexerOptions, 'embeddings'>>;
  #totals: DrainResult = { ...EMPTY };
  #lastError: { message: string; at: string } | null = null;

  constructor(outbox: OutboxStore, client: Client, options: IndexerOptions = {}) {
    const { embeddings, ...rest } = options;
    this.#outbox = outbox;
    this.#client = client;
    this.#embeddings = embeddings;
    this.#options = {
      batchSize: 500,
      leaseMs: 60_000,
      maxAttempts: 5,
      retryDelayMs: 1000,
      maxBulkBytes: MAX_BULK_BYTES,
      random: Math.random,
      ...rest,
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

  /**
   * Drains, then waits `idleMs` for new rows, until `signal` aborts; the service runs this.
   * After a failed round (PostgreSQL unreachable, rows put back) the wait doubles, up to
   * 30 s, so an outage is not polled in a tight loop.
   */
  async run(
    signal: AbortSignal,
    { idleMs = 1000, onDrain }: { idleMs?: number; onDrain?: (result: DrainResult) => void } = {},
  ): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const result = await this.drain();
        if (result.claimed > 0) onDrain?.(result);
        failures = result.retried > 0 ? failures + 1 : 0;
      } catch (error) {
        this.#lastError = { message: (error as Error).message, at: new Date().toISOString() };
        failures++;
      }
      const wait = failures === 0 ? idleMs : Math.min(30_000, idleMs * 2 ** failures);
      await sleep(wait, undefined, { signal }).catch(() => undefined);
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
    const entities = groupByEntity(rows);
    const sent = await this.#actions(entities);
    for (const chunk of bulkChunks(
      sent.map((s) => s.action),
      this.#options.maxBulkBytes,
    )) {
      const part = sent.splice(0, chunk.length);
      let response: estypes.BulkResponse;
      try {
        response = await this.#client.bulk({ operations: bulkOperations(chunk) });
      } catch (error) {
        // The cluster, not the documents: back off, count no attempt.
        const reason = this.#fail(error);
        for (const { entity } of part) entity.failure ??= { reason, counts: false };
        continue;
      }
      for (const [i, item] of response.items.entries()) {
        const { entity, lexical } = part[i] as Sent;
        const outcome = itemOutcome(item);
        if (outcome.kind === 'stale' && lexical) entity.stale = true;
        if (outcome.kind === 'done' && !lexical && !outcome.delete) entity.embedded = true;
        if (outcome.kind === 'transient' || outcome.kind === 'refused') {
          this.#lastError = { message: outcome.reason, at: new Date().toISOString() };
          if (!entity.failure?.counts) {
            entity.failure = { reason: outcome.reason, counts: outcome.kind === 'refused' };
          }
        }
      }
    }
    await this.#settle([...entities.values()], result);
    return result;
  }

  /**
   * The actions of a batch: per entity, its lexical document (or delete) and, with an
   * embedding provider, its nova_ai_context one. A provider that fails leaves the lexical
   * side to go ahead: those entities come back later for their embeddings.
   */
  async #actions(entities: Map<string, Entity>): Promise<Sent[]> {
    const sent: Sent[] = [];
    const keys: SearchIndexKey[] = this.#embeddings
      ? ['tickets', 'kb', 'ai_context']
      : ['tickets', 'kb'];
    const present = new Map<SearchEntityType, Map<string, SearchRow>>();
    for (const type of ['ticket', 'kb_article'] as const) {
      const ids = [...entities.values()]
        .filter((e) => e.latest.operation === 'index' && e.latest.entity_type === type)
        .map((e) => e.latest.entity_id);
      present.set(type, await this.#outbox.source.rows(type, ids));
    }
    for (const key of keys) {
      const type = INDEX_ENTITY[key];
      const mine = [...entities.values()].filter((e) => e.latest.entity_type === type);
      const rows = present.get(type) as Map<string, SearchRow>;
      const gone = mine
        .filter((e) => e.latest.operation === 'delete')
        .map((e) => ({ id: e.latest.entity_id, version: e.latest.entity_version }));
      const alias = SEARCH_INDICES[key];
      let actions: BulkAction[];
      try {
        actions = await projectRows(key, alias, [...rows.values()], gone, this.#embeddings);
      } catch (error) {
        // Only the embeddings can fail: published articles wait for the provider, while
        // drafts and deleted articles (no embedding needed) still leave nova_ai_context.
        const reason = `embedding provider: ${(error as Error).message}`;
        this.#lastError = { message: reason, at: new Date().toISOString() };
        const waiting = [...rows.values()].filter(
          (row) => (row as ArticleRow).status === 'published',
        );
        for (const row of waiting) {
          const entity = entities.get(`${type}:${row.id}`) as Entity;
          entity.failure ??= { reason, counts: false };
        }
        const rest = [...rows.values()].filter((row) => !waiting.includes(row));
        actions = await projectRows(key, alias, rest, gone, this.#embeddings);
      }
      for (const action of actions) {
        const entity = entities.get(`${type}:${action.source}`) as Entity;
        sent.push({ action, entity, lexical: key !== 'ai_context' });
      }
    }
    // Deleted since the row was written: its own delete row follows in the outbox.
    for (const entity of entities.values()) {
      const { latest } = entity;
      if (latest.operation === 'index' && !present.get(latest.entity_type)?.has(latest.entity_id)) {
        entity.stale = true;
      }
    }
    return sent;
  }

  /** Done entities leave the outbox; the others go back, grouped by reason. */
  async #settle(entities: Entity[], result: DrainResult): Promise<void> {
    const done: string[] = [];
    const failed = new Map<string, Entity[]>();
    for (const entity of entities) {
      const ids = entity.rows.map((r) => r.id);
      if (entity.failure) {
        const group = `${entity.failure.counts}:${entity.failure.reason}`;
        failed.set(group, [...(failed.get(group) ?? []), entity]);
        continue;
      }
      done.push(...ids);
      if (entity.embedded) result.embedded++;
      if (entity.stale) result.skipped += ids.length;
      else if (entity.latest.operation === 'delete') result.deleted += ids.length;
      else result.indexed += ids.length;
    }
    for (const group of failed.values()) {
      const { reason, counts } = (group[0] as Entity).failure as NonNullable<Entity['failure']>;
      const rows = group.flatMap((e) => e.rows);
      const ids = rows.map((r) => r.id);
      const parked = await this.#outbox.release(ids, {
        delayMs: this.#delay(rows),
        error: reason,
        counts,
        maxAttempts: this.#options.maxAttempts,
      });
      result.parked += parked;
      result.retried += ids.length - parked;
    }
    await this.#outbox.acknowledge(done);
  }

  #delay(rows: OutboxRow[]): number {
    const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
    const base = this.#options.retryDelayMs;
    return base + backoffDelay(attempts, base, 60_000, this.#options.random);
  }

  #fail(error: unknown): string {
    const message = describeElasticError(error);
    this.#lastError = { message, at: new Date().toISOString() };
    return message;
  }
}

/** Outbox rows by entity; the newest row of each decides what is sent. */
function groupByEntity(rows: OutboxRow[]): Map<string, Entity> {
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
  return entities;
}
