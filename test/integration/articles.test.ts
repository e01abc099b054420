import { beforeAll, describe, expect, it } from 'vitest';
import { uniqueEmail, useTestDatabase } from '../support/database.js';
import { expectFailure } from '../support/failures.js';

const t = await useTestDatabase();
const store = t.db.postgres;
let authorId: string;
beforeAll(async () => {
  authorId = (
    await t.db.createUser({ email: uniqueEmail('author'), firstName: 'A', lastName: 'U' })
  ).id;
});

const article = (slug: string, extra: object = {}) => ({
  slug,
  title: `About ${slug}`,
  content: 'Body text.',
  category: 'documentation',
  authorId,
  ...extra,
});

describe('knowledge-base articles', () => {
  it('creates a draft with audit and outbox rows; publishing sets publishedAt once', async () => {
    const draft = await store.createArticle(article('setup-guide', { tags: ['Setup'] }));
    expect(draft).toMatchObject({
      status: 'draft',
      visibility: 'internal',
      version: 1,
      publishedAt: null,
      tags: ['setup'],
    });
    const published = await store.updateArticle(draft.id, { status: 'published' });
    expect(published.publishedAt).toBeInstanceOf(Date);
    const edited = await store.updateArticle(
      draft.id,
      { title: 'Setup guide v2' },
      { expectedVersion: 2 },
    );
    expect(edited.publishedAt).toEqual(published.publishedAt);
    const outbox = await t.sql<{ entity_type: string; entity_version: number }>(
      'SELECT entity_type, entity_version FROM search_outbox WHERE entity_id = $1 ORDER BY id',
      [draft.id],
    );
    expect(outbox).toEqual(
      [1, 2, 3].map((v) => ({ entity_type: 'kb_article', entity_version: v })),
    );
    expect((await store.getArticle('setup-guide'))?.id).toBe(draft.id);
  });

  it('rejects bad input, duplicate slugs, unknown authors and stale versions, writing nothing', async () => {
    const existing = await store.createArticle(article('unique-slug'));
    const cases: Array<[() => Promise<unknown>, string, string]> = [
      [() => store.createArticle(article('unique-slug')), 'ALREADY_EXISTS', 'slug'],
      [() => store.createArticle(article('Not A Slug')), 'VALIDATION_FAILED', 'slug'],
      [
        () => store.createArticle(article('empty-content', { content: ' ' })),
        'VALIDATION_FAILED',
        'content',
      ],
      [
        () => store.createArticle(article('bad-status', { status: 'live' })),
        'VALIDATION_FAILED',
        'status',
      ],
      [
        () => store.createArticle(article('bad-visibility', { visibility: 'secret' })),
        'VALIDATION_FAILED',
        'visibility',
      ],
      [
        () => store.createArticle(article('no-author', { authorId: crypto.randomUUID() })),
        'VALIDATION_FAILED',
        'authorId',
      ],
      [
        () => store.updateArticle(existing.id, { title: 'x' }, { expectedVersion: 9 }),
        'VERSION_CONFLICT',
        'expectedVersion',
      ],
      [() => store.updateArticle(crypto.randomUUID(), { title: 'x' }), 'NOT_FOUND', 'id'],
    ];
    for (const [call, code, field] of cases) {
      expect(await expectFailure(t, call)).toMatchObject({ code, field });
    }
  });

  it('lists with filters and pagination, and deletes through the outbox', async () => {
    await store.createArticle(
      article('public-one', { status: 'published', visibility: 'public', category: 'faq' }),
    );
    await store.createArticle(article('internal-one', { status: 'published', category: 'faq' }));
    const faq = await store.listArticles({ category: 'faq', visibility: 'public' });
    expect(faq.items.map((a) => a.slug)).toEqual(['public-one']);
    const firstPage = await store.listArticles({ category: 'faq' }, { limit: 1 });
    expect(firstPage.nextCursor).not.toBeNull();
    const second = await store.listArticles(
      { category: 'faq' },
      { limit: 1, cursor: firstPage.nextCursor ?? undefined },
    );
    expect(second.items).toHaveLength(1);
    expect(second.items[0]?.slug).not.toBe(firstPage.items[0]?.slug);
    expect(second.nextCursor).toBeNull();
    const doomed = await store.getArticle('internal-one');
    await store.deleteArticle(doomed?.id ?? '');
    const [last] = await t.sql<{ operation: string }>(
      'SELECT operation FROM search_outbox WHERE entity_id = $1 ORDER BY id DESC LIMIT 1',
      [doomed?.id],
    );
    expect(last?.operation).toBe('delete');
  });
});
