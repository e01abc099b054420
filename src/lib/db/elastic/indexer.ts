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
import { isNovaError } from '../../errors.js';
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
import { SEARCH_INDICES } from './index-specs.js';
import type { OutboxRow, OutboxStore } from './outbox-store.js';
import {
  type Gone,
  INDEX_ENTITY,
  projectRows,
  type SearchRow,
  stillCurrent,
} from './projections.js';

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

  /**
   * Batches until the outbox has nothing available, the cluster could not be reached, or
   * `signal` aborts (checked between batches: the batch in flight is settled). A row put back
   * is not claimed again by the same drain, so one refused row never keeps it spinning and
   * never hides the rows behind it. `onBatch` hears the running total after each batch.
   */
  async drain(signal?: AbortSignal, onBatch?: (total: DrainResult) => void): Promise<DrainResult> {
    let total = { ...EMPTY };
    const released = new Set<string>();
    while (!signal?.aborted) {
      const { result, unreachable } = await this.#batch(released);
      total = add(total, result);
      onBatch?.(total);
      if (result.claimed === 0 || unreachable) break;
    }
    return total;
  }

  /**
   * Drains, then waits `idleMs` for new rows, until `signal` aborts; the service runs this.
   * After a round that settled nothing (PostgreSQL or the cluster unreachable, every row put
   * back) the wait doubles, up to 30 s, so an outage is not polled in a tight loop; a round
   * that settled anything resets it.
   */
  async run(
    signal: AbortSignal,
    { idleMs = 1000, onDrain }: { idleMs?: number; onDrain?: (result: DrainResult) => void } = {},
  ): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const result = await this.drain(signal);
        if (result.claimed > 0) onDrain?.(result);
        const settled = result.claimed - result.retried;
        failures = result.claimed > 0 && settled === 0 ? failures + 1 : 0;
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
    return (await this.#batch(new Set())).result;
  }

  /** A batch, skipping the rows in `released` and adding those it puts back. */
  async #batch(released: Set<string>) {
    const rows = await this.#outbox.claim(this.#options.batchSize, this.#options.leaseMs, [
      ...released,
    ]);
    if (rows.length === 0) return { result: { ...EMPTY }, unreachable: false };
    const { result, unreachable } = await this.#deliver(rows, released);
    this.#totals = add(this.#totals, result);
    return { result, unreachable };
  }

  async #deliver(rows: OutboxRow[], released: Set<string>) {
    const result: DrainResult = { ...EMPTY, claimed: rows.length };
    const entities = groupByEntity(rows);
    const sent = await this.#actions(entities);
    const chunks = bulkChunks(
      sent.map((s) => s.action),
      this.#options.maxBulkBytes,
    );
    let unreachable = 0;
    for (const chunk of chunks) {
      const part = sent.splice(0, chunk.length);
      let response: estypes.BulkResponse;
      try {
        response = await this.#client.bulk({ operations: bulkOperations(chunk) });
      } catch (error) {
        // The cluster, not the documents: back off, count no attempt.
        const reason = this.#fail(error);
        for (const { entity } of part) entity.failure ??= { reason, counts: false };
        unreachable++;
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
    await this.#settle([...entities.values()], result, released);
    return { result, unreachable: chunks.length > 0 && unreachable === chunks.length };
  }

  /**
   * The actions of a batch: per entity, its lexical document (or delete) and its
   * nova_ai_context one: the embedded document of a published article (with a provider), or
   * a delete (always, so an indexer without a provider still takes unpublished and deleted
   * articles out). A provider that fails does not hold back the lexical indices; when it
   * took time, every row is checked again before anything is sent (stillCurrent).
   */
  async #actions(entities: Map<string, Entity>): Promise<Sent[]> {
    const all = [...entities.values()];
    const presentOf = (type: SearchEntityType) =>
      this.#outbox.source.rows(
        type,
        all
          .filter((e) => e.latest.operation === 'index' && e.latest.entity_type === type)
          .map((e) => e.latest.entity_id),
      );
    const [tickets, articles] = await Promise.all([presentOf('ticket'), presentOf('kb_article')]);
    const present: Record<SearchEntityType, Map<string, SearchRow>> = {
      ticket: tickets,
      kb_article: articles,
    };
    const entityOf = (type: SearchEntityType, id: string) =>
      entities.get(`${type}:${id}`) as Entity;
    const sent: Sent[] = [];
    for (const key of ['tickets', 'kb'] as const) {
      const type = INDEX_ENTITY[key];
      const actions = await projectRows(
        key,
        SEARCH_INDICES[key],
        [...present[type].values()],
        goneOf(all, type),
      );
      for (const action of actions)
        sent.push({ action, entity: entityOf(type, action.source), lexical: true });
    }
    const context = await this.#contextActions(
      [...articles.values()],
      goneOf(all, 'kb_article'),
      entityOf,
    );
    for (const action of context.actions) {
      sent.push({ action, entity: entityOf('kb_article', action.source), lexical: false });
    }
    // Deleted since the row was written: its own delete row follows in the outbox.
    for (const entity of all) {
      const { latest } = entity;
      if (latest.operation === 'index' && !present[latest.entity_type].has(latest.entity_id)) {
        entity.stale = true;
      }
    }
    if (!context.slow) return sent;
    const current: Sent[] = [];
    for (const type of ['ticket', 'kb_article'] as const) {
      const mine = sent.filter((s) => s.entity.latest.entity_type === type);
      const { changed } = await stillCurrent(
        mine.map((s) => s.action),
        (ids) => this.#outbox.source.versions(type, ids),
      );
      for (const id of changed) entityOf(type, id).stale = true;
      current.push(...mine.filter((s) => !changed.has(s.action.source)));
    }
    return current;
  }

  /**
   * nova_ai_context's actions. A provider outage (UNAVAILABLE) or misconfiguration
   * (CONFIG_INVALID) holds back every published article, counting no attempt; any other
   * refusal (an input it will not take) is narrowed down by embedding the articles one by
   * one, so only the one it refuses counts attempts and is parked in the end.
   */
  async #contextActions(
    articles: SearchRow[],
    gone: Gone[],
    entityOf: (type: SearchEntityType, id: string) => Entity,
  ): Promise<{ actions: BulkAction[]; slow: boolean }> {
    const index = SEARCH_INDICES.ai_context;
    const published = articles.filter((row) => (row as ArticleRow).status === 'published');
    const others = articles.filter((row) => (row as ArticleRow).status !== 'published');
    const deletes = await projectRows('ai_context', index, others, gone);
    if (!this.#embeddings || published.length === 0) return { actions: deletes, slow: false };
    const embed = (rows: SearchRow[]) =>
      projectRows('ai_context', index, rows, [], this.#embeddings);
    try {
      return { actions: [...(await embed(published)), ...deletes], slow: true };
    } catch (error) {
      const outage = isNovaError(error, 'UNAVAILABLE') || isNovaError(error, 'CONFIG_INVALID');
      if (outage || published.length === 1) {
        this.#heldBack(published, error, !outage, entityOf);
        return { actions: deletes, slow: true };
      }
    }
    const actions = [...deletes];
    for (const row of published) {
      try {
        actions.push(...(await embed([row])));
      } catch (error) {
        const outage = isNovaError(error, 'UNAVAILABLE') || isNovaError(error, 'CONFIG_INVALID');
        this.#heldBack([row], error, !outage, entityOf);
      }
    }
    return { actions, slow: true };
  }

  #heldBack(
    rows: SearchRow[],
    error: unknown,
    counts: boolean,
    entityOf: (type: SearchEntityType, id: string) => Entity,
  ): void {
    const message = (error as Error).message;
    const reason = message.startsWith('embedding provider')
      ? message
      : `embedding provider: ${message}`;
    this.#lastError = { message: reason, at: new Date().toISOString() };
    for (const row of rows) entityOf('kb_article', row.id).failure ??= { reason, counts };
  }

  /** Done entities leave the outbox; the others go back, grouped by reason. */
  async #settle(entities: Entity[], result: DrainResult, released: Set<string>): Promise<void> {
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
      for (const id of ids) released.add(id);
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

/** The entities of a type whose newest row is a delete, with that row's version. */
const goneOf = (entities: Entity[], type: SearchEntityType): Gone[] =>
  entities
    .filter((e) => e.latest.operation === 'delete' && e.latest.entity_type === type)
    .map((e) => ({ id: e.latest.entity_id, version: e.latest.entity_version }));

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
