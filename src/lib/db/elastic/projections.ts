/**
 * What each search index holds of PostgreSQL's rows, as bulk actions. The outbox indexer
 * (writing through the aliases) and reindex (writing into a new versioned index) both build
 * their requests here, so an index holds the same documents whichever of them wrote it.
 *
 * nova_ai_context holds published articles only, each with the embedding of its text; an
 * article that is unpublished or deleted leaves it.
 */
import type { EmbeddingProvider } from '../../embeddings.js';
import { NovaError } from '../../errors.js';
import { type BulkAction, deleteAction, indexAction } from './bulk.js';
import {
  type ArticleRow,
  contextDocument,
  contextId,
  contextText,
  type SearchEntityType,
  searchDocument,
  type TicketRow,
} from './documents.js';
import type { SearchIndexKey } from './index-specs.js';

/** The entity type each search index is built from. */
export const INDEX_ENTITY: Readonly<Record<SearchIndexKey, SearchEntityType>> = {
  tickets: 'ticket',
  kb: 'kb_article',
  ai_context: 'kb_article',
};

export type SearchRow = TicketRow | ArticleRow;

/** An entity that no longer exists; with its last version, a delete never outruns a rewrite. */
export interface Gone {
  id: string;
  version?: number;
}

/**
 * The actions that make `index` (an alias, or a versioned index being built) hold `present`
 * as they are now and nothing of `gone`. For nova_ai_context the published rows are embedded
 * in one call to the provider, which throws when the provider fails.
 */
export async function projectRows(
  key: SearchIndexKey,
  index: string,
  present: readonly SearchRow[],
  gone: readonly Gone[],
  embeddings?: EmbeddingProvider,
): Promise<BulkAction[]> {
  if (key !== 'ai_context') {
    const type = INDEX_ENTITY[key];
    return [
      ...present.map((row) => indexAction(index, row.id, row.version, searchDocument(type, row))),
      ...gone.map(({ id, version }) => deleteAction(index, id, version)),
    ];
  }
  const articles = present as readonly ArticleRow[];
  const published = articles.filter((row) => row.status === 'published');
  // Leaving the index needs no embedding: deletes go out even without a provider.
  const deletes = [
    ...articles
      .filter((row) => row.status !== 'published')
      .map((row) => deleteAction(index, contextId(row.id), row.version, row.id)),
    ...gone.map(({ id, version }) => deleteAction(index, contextId(id), version, id)),
  ];
  if (published.length === 0) return deletes;
  if (!embeddings) {
    throw new NovaError(
      'CONFIG_INVALID',
      'nova_ai_context needs an embedding provider: set EMBEDDING_URL and EMBEDDING_MODEL',
      { field: 'EMBEDDING_URL' },
    );
  }
  const vectors = await embeddings.embed(published.map(contextText));
  return [
    ...published.map((row, i) =>
      indexAction(
        index,
        contextId(row.id),
        row.version,
        contextDocument(row, vectors[i] as number[]),
        row.id,
      ),
    ),
    ...deletes,
  ];
}

/**
 * The actions whose rows are still at the version they were built from. Embedding can take
 * long (a provider retrying), longer than Elasticsearch keeps a delete's version
 * (index.gc_deletes, 60 s): a document built from a row read before a slow embedding, and
 * sent after a newer delete was forgotten, would come back. So after that slow step the rows
 * are checked again, and what changed is left to its newer outbox row. A delete of a row that
 * is gone stays.
 */
export async function stillCurrent(
  actions: BulkAction[],
  versions: (ids: string[]) => Promise<Map<string, number>>,
): Promise<{ current: BulkAction[]; changed: Set<string> }> {
  const now = await versions([...new Set(actions.map((a) => a.source))]);
  const changed = new Set<string>();
  const current = actions.filter((action) => {
    const built = (action.op.index ?? action.op.delete)?.version;
    const version = now.get(action.source);
    const ok = version === undefined ? action.op.delete !== undefined : version === built;
    if (!ok) changed.add(action.source);
    return ok;
  });
  return { current, changed };
}
