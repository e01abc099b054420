/**
 * PostgreSQL rows as search documents. The row's `version` becomes the document's external
 * version, so Elasticsearch itself refuses a stale write.
 */
import { TICKET_PRIORITIES } from '../postgres/tickets.js';
import { SEARCH_INDICES } from './index-specs.js';
import { AUDIENCE } from './viewer.js';

/** The outbox's entity types, and the alias each is indexed under. */
export type SearchEntityType = 'ticket' | 'kb_article';
export const ENTITY_ALIAS: Readonly<Record<SearchEntityType, string>> = {
  ticket: SEARCH_INDICES.tickets,
  kb_article: SEARCH_INDICES.kb,
};

/** low 1 ... urgent 4: sorting by priority means sorting by severity. */
export const PRIORITY_RANK: Readonly<Record<string, number>> = Object.fromEntries(
  TICKET_PRIORITIES.map((p, i) => [p, i + 1]),
);

export interface TicketRow {
  id: string;
  key: string;
  title: string;
  description: string;
  status: string;
  priority: string;
  category: string | null;
  tags: string[];
  requester_id: string;
  assignee_id: string | null;
  created_at: Date;
  updated_at: Date;
  resolved_at: Date | null;
  version: number;
}

export interface ArticleRow {
  id: string;
  slug: string;
  title: string;
  summary: string | null;
  content: string;
  category: string;
  tags: string[];
  status: string;
  visibility: string;
  author_id: string;
  published_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
}

export const ticketDocument = (row: TicketRow) => ({
  id: row.id,
  key: row.key,
  title: row.title,
  description: row.description,
  status: row.status,
  priority: row.priority,
  priority_rank: PRIORITY_RANK[row.priority] ?? 0,
  category: row.category,
  tags: row.tags,
  requester_id: row.requester_id,
  assignee_id: row.assignee_id,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
  resolved_at: row.resolved_at?.toISOString() ?? null,
  version: row.version,
  suggest: {
    input: [row.title, row.key],
    contexts: { audience: [AUDIENCE.staff, AUDIENCE.requester(row.requester_id)] },
  },
});

export const articleDocument = (row: ArticleRow) => ({
  id: row.id,
  slug: row.slug,
  title: row.title,
  summary: row.summary,
  content: row.content,
  category: row.category,
  tags: row.tags,
  status: row.status,
  visibility: row.visibility,
  author_id: row.author_id,
  published_at: row.published_at?.toISOString() ?? null,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
  version: row.version,
  // Only published articles are suggested; public ones to everyone, internal ones to staff.
  ...(row.status === 'published'
    ? {
        suggest: {
          input: [row.title],
          contexts: {
            audience:
              row.visibility === 'public' ? [AUDIENCE.public, AUDIENCE.staff] : [AUDIENCE.staff],
          },
        },
      }
    : {}),
});

/**
 * The text of an article that is embedded for nova_ai_context: title, summary and the start
 * of the content. Embedding models read a bounded window (512 to 8192 tokens); 8000
 * characters (about 2000 tokens) fit the common ones, and an article's topic is in its start.
 */
export const MAX_CONTEXT_CHARS = 8000;
export const contextText = (row: ArticleRow): string =>
  [row.title, row.summary, row.content]
    .filter((part) => part)
    .join('\n\n')
    .slice(0, MAX_CONTEXT_CHARS);

/** nova_ai_context ids name their source, so other kinds of context can join later. */
export const contextId = (articleId: string) => `kb_article:${articleId}`;

/** An article's nova_ai_context document: what was embedded, the vector, and its filters. */
export const contextDocument = (row: ArticleRow, embedding: number[]) => ({
  id: contextId(row.id),
  source_type: 'kb_article',
  source_id: row.id,
  title: row.title,
  content: contextText(row),
  visibility: row.visibility,
  category: row.category,
  tags: row.tags,
  embedding,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

/** The document of a row of either entity type. */
export const searchDocument = (type: SearchEntityType, row: TicketRow | ArticleRow) =>
  type === 'ticket' ? ticketDocument(row as TicketRow) : articleDocument(row as ArticleRow);
