/**
 * Knowledge-base articles: create, update, delete, get, list. Like tickets, every write
 * commits the article, its AuditLog row and its search-outbox row together.
 * publishedAt is set the first time an article is published and kept afterwards.
 */
import { z } from 'zod';
import type { Prisma } from '../../../generated/prisma/client.js';
import type { ArticleStatus, ArticleVisibility } from '../../../generated/prisma/enums.js';
import { NovaError } from '../../errors.js';
import {
  decodeCursor,
  optionalText,
  type Page,
  type PageOptions,
  pageOptions,
  parseInput,
  tags,
  text,
  toPage,
  uuid,
  type WriteOptions,
  writeOptions,
} from '../../validation.js';
import type { Actor } from './audit.js';
import type { PgContext } from './context.js';
import { committedEarlier, isForeignKeyViolation, uniqueViolationFields } from './errors.js';
import { recordSearchableChange } from './outbox.js';
import { deleteVersioned, updateVersioned, type VersionedEntity } from './versioned.js';

export const ARTICLE_STATUSES = [
  'draft',
  'published',
  'archived',
] as const satisfies ArticleStatus[];
export const ARTICLE_VISIBILITIES = ['public', 'internal'] as const satisfies ArticleVisibility[];

const slug = z
  .string()
  .trim()
  .max(200)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be lowercase words joined by hyphens');

/** The editable fields, without defaults: an update must only touch what the patch names. */
const articleFields = {
  slug,
  title: text(200),
  summary: optionalText(1000),
  content: text(200_000),
  category: text(100),
  tags,
  status: z.enum(ARTICLE_STATUSES),
  visibility: z.enum(ARTICLE_VISIBILITIES),
};

const createArticleInput = z.strictObject({
  ...articleFields,
  tags: tags.default([]),
  status: articleFields.status.default('draft'),
  visibility: articleFields.visibility.default('internal'),
  authorId: uuid,
});
export type CreateArticleInput = z.input<typeof createArticleInput>;

const updateArticleInput = z.strictObject(articleFields).partial();
export type UpdateArticleInput = z.input<typeof updateArticleInput>;

const articleFilters = z.strictObject({
  status: z.enum(ARTICLE_STATUSES).optional(),
  visibility: z.enum(ARTICLE_VISIBILITIES).optional(),
  category: z.string().trim().min(1).max(100).optional(),
  tag: z.string().trim().min(1).max(50).toLowerCase().optional(),
  authorId: uuid.optional(),
});
export type ArticleFilters = z.input<typeof articleFilters>;

export type ArticleRecord = Prisma.KnowledgeBaseArticleGetPayload<object>;

function explain(error: unknown, slugValue: string | undefined): never {
  if (uniqueViolationFields(error) !== undefined) {
    throw new NovaError('ALREADY_EXISTS', `an article with slug ${slugValue} already exists`, {
      field: 'slug',
      cause: error,
    });
  }
  if (isForeignKeyViolation(error)) {
    throw new NovaError('VALIDATION_FAILED', 'authorId: no such user', {
      field: 'authorId',
      cause: error,
    });
  }
  throw error;
}

const publishedAtFor = (status: ArticleStatus, current: Date | null) =>
  status === 'published' ? (current ?? new Date()) : current;

/** The id is fixed across retries: a retry after a lost COMMIT reply returns the committed row. */
export async function createArticle(ctx: PgContext, input: CreateArticleInput, actor?: Actor) {
  const data = parseInput(createArticleInput, input);
  const id = crypto.randomUUID();
  return ctx.run('createArticle', () =>
    ctx.prisma
      .$transaction(async (tx) => {
        const article = await tx.knowledgeBaseArticle.create({
          data: {
            ...data,
            id,
            summary: data.summary ?? null,
            publishedAt: publishedAtFor(data.status, null),
          },
        });
        await recordSearchableChange(
          tx,
          'kb_article',
          {
            action: 'kb_article.created',
            entityType: 'kb_article',
            entityId: article.id,
            after: article,
            operation: 'index',
            version: article.version,
          },
          actor,
        );
        return article;
      })
      .catch(async (error: unknown) => {
        const own = () => ctx.prisma.knowledgeBaseArticle.findUnique({ where: { id } });
        const ours = await committedEarlier(error, own);
        if (ours) return ours;
        return explain(error, data.slug);
      }),
  );
}

const ARTICLE: VersionedEntity<ArticleRecord> = {
  type: 'kb_article',
  noun: 'article',
  delegate: (tx) => tx.knowledgeBaseArticle,
  label: (article) => article.slug,
};

export async function updateArticle(
  ctx: PgContext,
  id: string,
  patch: UpdateArticleInput,
  options: WriteOptions = {},
  actor?: Actor,
) {
  const articleId = parseInput(uuid, id, 'id');
  const data = parseInput(updateArticleInput, patch);
  const { expectedVersion } = parseInput(writeOptions, options);
  const changes = (before: ArticleRecord) => ({
    ...data,
    publishedAt: publishedAtFor(data.status ?? before.status, before.publishedAt),
  });
  return ctx.run('updateArticle', () =>
    updateVersioned(ctx, ARTICLE, articleId, expectedVersion, changes, actor).catch(
      (error: unknown) => explain(error, data.slug),
    ),
  );
}

export async function deleteArticle(ctx: PgContext, id: string, actor?: Actor): Promise<void> {
  const articleId = parseInput(uuid, id, 'id');
  await ctx.run('deleteArticle', () => deleteVersioned(ctx, ARTICLE, articleId, actor));
}

/** By id (uuid) or slug. */
export async function getArticle(ctx: PgContext, idOrSlug: string): Promise<ArticleRecord | null> {
  const value = parseInput(z.string().trim().min(1).max(200), idOrSlug, 'id');
  const where = uuid.safeParse(value).success
    ? { id: value }
    : { slug: parseInput(slug, value, 'slug') };
  return ctx.run('getArticle', () => ctx.prisma.knowledgeBaseArticle.findUnique({ where }));
}

/** Articles list most recently updated first; the cursor holds the last row's sort key. */
const articleCursor = z.object({
  id: uuid,
  updatedAt: z.iso.datetime().transform((value) => new Date(value)),
});

export async function listArticles(
  ctx: PgContext,
  filters: ArticleFilters = {},
  options: PageOptions = {},
): Promise<Page<ArticleRecord>> {
  const f = parseInput(articleFilters, filters, 'filters');
  const page = parseInput(pageOptions, options);
  const where: Prisma.KnowledgeBaseArticleWhereInput = {
    status: f.status,
    visibility: f.visibility,
    category: f.category,
    authorId: f.authorId,
    ...(f.tag ? { tags: { has: f.tag } } : {}),
  };
  const c = page.cursor ? decodeCursor(articleCursor, page.cursor) : undefined;
  const after: Prisma.KnowledgeBaseArticleWhereInput = c
    ? { OR: [{ updatedAt: { lt: c.updatedAt } }, { updatedAt: c.updatedAt, id: { lt: c.id } }] }
    : {};
  const rows = await ctx.run('listArticles', () =>
    ctx.prisma.knowledgeBaseArticle.findMany({
      where: { AND: [where, after] },
      orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
      take: page.limit + 1,
    }),
  );
  return toPage(rows, page.limit, (a) => ({ id: a.id, updatedAt: a.updatedAt.toISOString() }));
}
