/**
 * The indexer's PostgreSQL side: claim a batch of outbox rows under a lease and settle them (delete on success, back off or park on failure).
 *
 * A lease instead of a transaction held across the HTTP call: claimed rows get available_at
 * = now() + lease, so a crashed indexer's rows come back by themselves, and several
 * indexers share the outbox (FOR UPDATE SKIP LOCKED) without waiting on each other. A row
 * delivered twice (crash between the bulk and the acknowledgement) is harmless: documents
 * carry external versions.
 */
import type pg from 'pg';
import type { SearchEntityType } from './documents.js';
import { SearchSource } from './search-source.js';

export interface OutboxRow {
  id: string;
  entity_type: SearchEntityType;
  entity_id: string;
  operation: 'index' | 'delete';
  entity_version: number;
  attempts: number;
}

export class OutboxStore {
  readonly #pool: pg.Pool;
  /** The rows the outbox points at. */
  readonly source: SearchSource;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.source = new SearchSource(pool);
  }

  /** Up to `limit` available rows, oldest first, leased for `leaseMs`; none of `exclude`. */
  async claim(limit: number, leaseMs: number, exclude: string[] = []): Promise<OutboxRow[]> {
    const { rows } = await this.#pool.query<OutboxRow>(
      `UPDATE search_outbox SET available_at = now() + make_interval(secs => $2::double precision / 1000)
        WHERE id IN (
          SELECT id FROM search_outbox
           WHERE parked_at IS NULL AND available_at <= now() AND id <> ALL($3::bigint[])
           ORDER BY id LIMIT $1
           FOR UPDATE SKIP LOCKED)
        RETURNING id::text, entity_type::text, entity_id::text, operation::text, entity_version, attempts`,
      [limit, leaseMs, exclude],
    );
    return rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  /** Done: the rows leave the outbox. */
  async acknowledge(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#pool.query('DELETE FROM search_outbox WHERE id = ANY($1::bigint[])', [ids]);
  }

  /**
   * Not done: back to the queue after `delayMs`. `counts` (an item the cluster refused, not an
   * outage) adds an attempt; at `maxAttempts` the row is parked with its error for an operator.
   */
  async release(
    ids: string[],
    {
      delayMs,
      error,
      counts,
      maxAttempts,
    }: { delayMs: number; error: string; counts: boolean; maxAttempts: number },
  ): Promise<number> {
    if (ids.length === 0) return 0;
    const { rows } = await this.#pool.query<{ parked: boolean }>(
      `UPDATE search_outbox
          SET attempts = attempts + $2::int,
              last_error = left($3, 2000),
              available_at = now() + make_interval(secs => $4::double precision / 1000),
              parked_at = CASE WHEN attempts + $2::int >= $5 THEN now() END
        WHERE id = ANY($1::bigint[])
        RETURNING parked_at IS NOT NULL AS parked`,
      [ids, counts ? 1 : 0, error, delayMs, maxAttempts],
    );
    return rows.filter((r) => r.parked).length;
  }

  /** Age of the oldest pending (not parked) row in ms, 0 when the outbox is empty; and counts. */
  async lag(): Promise<{ lagMs: number; pending: number; parked: number }> {
    const { rows } = await this.#pool.query<{
      lag_ms: string | null;
      pending: string;
      parked: string;
    }>(
      `SELECT (extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)) * 1000)::bigint::text AS lag_ms,
              count(*) FILTER (WHERE parked_at IS NULL)::text AS pending,
              count(*) FILTER (WHERE parked_at IS NOT NULL)::text AS parked
         FROM search_outbox`,
    );
    const row = rows[0];
    return {
      lagMs: Number(row?.lag_ms ?? 0),
      pending: Number(row?.pending ?? 0),
      parked: Number(row?.parked ?? 0),
    };
  }
}
