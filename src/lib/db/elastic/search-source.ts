/**
 * The PostgreSQL side of search documents: the rows the indexer and `nova reindex` turn into
 * documents, read by id, page by page (keyset on id), or as "touched since" from the audit
 * trail, which records deletes too.
 */
import type pg from 'pg';
import type { ArticleRow, SearchEntityType, TicketRow } from './documents.js';

const SELECT = {
  ticket: `SELECT id::text, key, title, description, status::text, priority::text, category, tags,
                  requester_id::text, assignee_id::text, created_at, updated_at, resolved_at, version
             FROM support_tickets`,
  kb_article: `SELECT id::text, slug, title, summary, content, category, tags, status::text,
                      visibility::text, author_id::text, published_at, created_at, updated_at, version
                 FROM knowledge_base_articles`,
} as const;

const TABLE: Readonly<Record<SearchEntityType, string>> = {
  ticket: 'support_tickets',
  kb_article: 'knowledge_base_articles',
};

export interface RowOf {
  ticket: TicketRow;
  kb_article: ArticleRow;
}

export class SearchSource {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** The current version of each id; a deleted entity is absent. Cheap: no documents. */
  async versions(type: SearchEntityType, ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.#pool.query<{ id: string; version: number }>(
      `SELECT id::text, version FROM ${TABLE[type]} WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.version]));
  }

  /** The current rows of these ids; a deleted entity is simply absent. */
  async rows<T extends SearchEntityType>(type: T, ids: string[]): Promise<Map<string, RowOf[T]>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.#pool.query<RowOf[T]>(
      `${SELECT[type]} WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /** Up to `limit` rows after `afterId` in id order: a full scan that never holds a snapshot. */
  async page<T extends SearchEntityType>(
    type: T,
    afterId: string | null,
    limit: number,
  ): Promise<RowOf[T][]> {
    const { rows } = await this.#pool.query<RowOf[T]>(
      `${SELECT[type]} WHERE $1::uuid IS NULL OR id > $1::uuid ORDER BY id LIMIT $2`,
      [afterId, limit],
    );
    return rows;
  }

  /** How many rows a full scan will read. */
  async count(type: SearchEntityType): Promise<number> {
    const table = type === 'ticket' ? 'support_tickets' : 'knowledge_base_articles';
    const { rows } = await this.#pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${table}`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Ids of entities written (created, updated or deleted) since `since`, from the audit
   * trail: every write of a ticket or article commits its audit row in the same transaction.
   */
  async touchedSince(type: SearchEntityType, since: Date): Promise<string[]> {
    const { rows } = await this.#pool.query<{ entity_id: string }>(
      `SELECT DISTINCT entity_id FROM audit_logs WHERE entity_type = $1 AND created_at >= $2`,
      [type, since],
    );
    return rows.map((r) => r.entity_id);
  }

  /** The database's clock, so "since" is compared with the same clock that wrote created_at. */
  async now(): Promise<Date> {
    const { rows } = await this.#pool.query<{ now: Date }>('SELECT now() AS now');
    return rows[0]?.now ?? new Date();
  }
}
