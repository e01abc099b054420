/**
 * `nova reindex tickets|kb|ai_context`: rebuild a search index from PostgreSQL alone, behind
 * its alias, with no window in which searches see a half-built index. nova_ai_context is
 * rebuilt with fresh embeddings (after a model change, or to fill it when a provider is
 * first configured), so it needs the embedding provider.
 *
 *  1. Check that the index template is the one this code expects (else: run `nova bootstrap
 *     elastic` first), then lock (a PostgreSQL advisory lock: one reindex per alias at a
 *     time) and read the alias; versioned indices a failed run left behind are deleted.
 *  2. Create the next versioned index (nova_tickets-v3) from the template.
 *  3. Copy every row, keyset-paged by id, with the row version as external version.
 *  4. Catch up: the indexer kept writing to the old index during the copy. Every entity the
 *     audit trail shows written since the copy began (minus a margin for transactions that
 *     were open) is re-read: indexed as it is now, or deleted when it is gone. External
 *     versions make re-sending a newer-or-equal document harmless.
 *  5. Swap the alias in one `_aliases` request: the new index in, the old ones out (a legacy
 *     concrete index carrying the alias's name is removed by the same request).
 *  6. Catch up once more (writes that reached the old index just before the swap), then
 *     delete the old indices.
 * A failure before the swap deletes the new index and leaves the alias as it was.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import type pg from 'pg';
import type { ElasticConfig } from '../../config.js';
import {
  type BulkAction,
  bulkChunks,
  bulkOperations,
  itemOutcome,
} from '../../lib/db/elastic/bulk.js';
import {
  describeElasticError,
  unlessMissing,
  withElasticRetry,
} from '../../lib/db/elastic/client.js';
import {
  SEARCH_INDICES,
  type SearchIndexKey,
  searchMappings,
  versionedIndex,
} from '../../lib/db/elastic/index-specs.js';
import {
  INDEX_ENTITY,
  projectRows,
  type SearchRow,
  stillCurrent,
} from '../../lib/db/elastic/projections.js';
import { SearchSource } from '../../lib/db/elastic/search-source.js';
import type { EmbeddingProvider } from '../../lib/embeddings.js';
import { NovaError } from '../../lib/errors.js';
import { builtFrom } from './plan.js';

/** Every search index can be rebuilt: tickets, kb, ai_context. */
export type ReindexTarget = SearchIndexKey;
export const REINDEX_TARGETS: readonly ReindexTarget[] = Object.keys(
  INDEX_ENTITY,
) as ReindexTarget[];

/** Transactions open longer than this when the copy starts may be missed by the catch-up. */
const CATCH_UP_MARGIN_MS = 5 * 60_000;

export interface ReindexOptions {
  dryRun?: boolean;
  /** Rows per bulk request (default 500). */
  batchSize?: number;
  onProgress?: (copied: number, total: number) => void;
}

export interface ReindexReport {
  alias: string;
  dryRun: boolean;
  from: string[];
  to: string;
  /** Rows in PostgreSQL when the copy began. */
  rows: number;
  copied: number;
  /** Entities written during the copy, then re-read: indexed again or deleted. */
  caughtUp: { indexed: number; deleted: number };
  tookMs: number;
}

interface Deps {
  client: Client;
  pool: pg.Pool;
  config: ElasticConfig;
  /** Required for ai_context. */
  embeddings?: EmbeddingProvider;
}

/** Where rows go: the target and the index being built, and where they come from. */
interface Destination {
  client: Client;
  config: ElasticConfig;
  target: ReindexTarget;
  index: string;
  embeddings: EmbeddingProvider | undefined;
  source: SearchSource;
}

export async function reindex(
  target: ReindexTarget,
  { client, pool, config, embeddings }: Deps,
  { dryRun = false, batchSize = 500, onProgress }: ReindexOptions = {},
): Promise<ReindexReport> {
  const started = performance.now();
  const type = INDEX_ENTITY[target];
  const alias = SEARCH_INDICES[target];
  const source = new SearchSource(pool);
  if (target === 'ai_context' && !embeddings) {
    throw new NovaError(
      'CONFIG_INVALID',
      'reindex ai_context embeds every published article: set EMBEDDING_URL and EMBEDDING_MODEL',
      { field: 'EMBEDDING_URL' },
    );
  }
  const es = <T>(what: string, request: () => Promise<T>) =>
    withElasticRetry(config, request).catch((error: unknown) => {
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `reindex ${target}: ${what} failed: ${describeElasticError(error)}`,
        {
          cause: error,
        },
      );
    });

  await checkTemplate(client, target, config.embeddingDims, es);
  const planned = await es('reading the alias', () => resolveAlias(client, alias));
  const rows = await source.count(type);
  const report: ReindexReport = {
    alias,
    dryRun,
    from: planned.indices,
    to: versionedIndex(alias, planned.maxVersion + 1),
    rows,
    copied: 0,
    caughtUp: { indexed: 0, deleted: 0 },
    tookMs: 0,
  };
  if (dryRun) return { ...report, tookMs: Math.round(performance.now() - started) };

  await withAdvisoryLock(pool, alias, async () => {
    // Read again under the lock: another reindex may have finished in between.
    const current = await es('reading the alias', () => resolveAlias(client, alias));
    const next = versionedIndex(alias, current.maxVersion + 1);
    Object.assign(report, { from: current.indices, to: next });
    if (current.orphans.length > 0) {
      // Left by a reindex that failed before its clean-up; no other reindex runs (the lock).
      await es('deleting indices left by a failed reindex', () =>
        client.indices.delete({ index: current.orphans.join(',') }),
      );
    }
    const since = new Date((await source.now()).getTime() - CATCH_UP_MARGIN_MS);
    const into: Destination = { client, config, target, index: next, embeddings, source };
    await es(`creating ${next}`, () => client.indices.create({ index: next }));
    try {
      report.copied = await copyAll(into, batchSize, (n) => onProgress?.(n, rows));
      // Catch up before the swap too, so the alias never points at a copy older than now.
      await catchUp(into, since);
      await es(`refreshing ${next}`, () => client.indices.refresh({ index: next }));
      await swap(client, alias, next, current);
    } catch (error) {
      await unlessMissing(client.indices.delete({ index: next })).catch(() => undefined);
      throw error;
    }
    // And after it, for what the indexer wrote to the old index in between.
    report.caughtUp = await catchUp(into, since).catch((error: unknown) => {
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `${alias} now points at ${next}, but catching up on the last writes failed; ${current.indices.join(', ') || 'the old index'} is kept, run the reindex again: ${(error as Error).message}`,
        { cause: error },
      );
    });
    if (current.indices.length > 0 && !current.legacy) {
      await es('deleting the old indices', () =>
        client.indices.delete({ index: current.indices.join(',') }),
      );
    }
  });
  return { ...report, tookMs: Math.round(performance.now() - started) };
}

/**
 * One session-level advisory lock on a dedicated connection. A failed unlock destroys the
 * connection (which releases the lock) rather than returning it to the pool still locked.
 */
async function withAdvisoryLock(pool: pg.Pool, alias: string, work: () => Promise<void>) {
  const key = `nova:reindex:${alias}`;
  const lock = await pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await lock.query<{ ok: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS ok',
      [key],
    );
    if (!rows[0]?.ok) {
      throw new NovaError('ALREADY_EXISTS', `a reindex of ${alias} is already running`, {
        field: 'target',
      });
    }
    try {
      await work();
    } finally {
      await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch((error: Error) => {
        broken = error;
      });
    }
  } finally {
    lock.release(broken);
  }
}

/**
 * The atomic alias swap, sent once: a retry after a timeout could find the swap already
 * applied and fail on the old index's `remove`. After an error, the alias is read back to
 * tell "applied" from "not applied" before anything is deleted.
 */
async function swap(client: Client, alias: string, next: string, current: AliasState) {
  try {
    await client.indices.updateAliases({ actions: swapActions(alias, next, current) });
  } catch (error) {
    const now = await resolveAlias(client, alias).catch(() => undefined);
    if (now?.indices.length === 1 && now.indices[0] === next) return;
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `swapping ${alias} to ${next} failed: ${describeElasticError(error)}`,
      { cause: error },
    );
  }
}

interface AliasState {
  indices: string[];
  /** The alias's name is a concrete index (created before aliases were used). */
  legacy: boolean;
  maxVersion: number;
  /** Versioned indices not behind the alias: left by a reindex that failed. */
  orphans: string[];
}

/** What the alias points at, and the highest vN in use (a failed run may have left one). */
async function resolveAlias(client: Client, alias: string): Promise<AliasState> {
  const [behind, versions] = await Promise.all([
    unlessMissing(client.indices.get({ index: alias })),
    unlessMissing(client.indices.get({ index: `${alias}-v*`, expand_wildcards: 'all' })),
  ]);
  const indices = Object.keys(behind ?? {});
  const versioned = Object.keys(versions ?? {}).filter((name) => /-v\d+$/.test(name));
  const numbers = versioned.map((name) => Number(/-v(\d+)$/.exec(name)?.[1]));
  return {
    indices,
    legacy: indices.includes(alias),
    maxVersion: Math.max(0, ...numbers),
    orphans: versioned.filter((name) => !indices.includes(name)),
  };
}

export function swapActions(
  alias: string,
  next: string,
  current: Pick<AliasState, 'indices' | 'legacy'>,
): estypes.IndicesUpdateAliasesAction[] {
  return [
    ...(current.legacy
      ? [{ remove_index: { index: alias } }]
      : current.indices.map((index) => ({ remove: { index, alias } }))),
    { add: { index: next, alias, is_write_index: true } },
  ];
}

/** The index template must already carry this code's mappings, or the new index gets old ones. */
async function checkTemplate(
  client: Client,
  target: ReindexTarget,
  dims: number,
  es: <T>(what: string, request: () => Promise<T>) => Promise<T>,
): Promise<void> {
  const name = SEARCH_INDICES[target];
  const found = await es('reading the index template', () =>
    unlessMissing(client.indices.getIndexTemplate({ name })),
  );
  const mappings = found?.index_templates[0]?.index_template.template?.mappings;
  const built = mappings?._meta as { mapping_hash?: unknown; analysis_hash?: unknown } | undefined;
  const wanted = builtFrom(searchMappings(target, dims));
  if (
    built?.mapping_hash !== wanted.mapping_hash ||
    built?.analysis_hash !== wanted.analysis_hash
  ) {
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `index template ${name} is ${found ? 'out of date' : 'missing'}: run \`nova bootstrap elastic\` first`,
      { field: 'target' },
    );
  }
}

async function copyAll(
  into: Destination,
  batchSize: number,
  progress: (copied: number) => void,
): Promise<number> {
  const type = INDEX_ENTITY[into.target];
  let after: string | null = null;
  let copied = 0;
  for (;;) {
    const page: SearchRow[] = await into.source.page(type, after, batchSize);
    if (page.length === 0) return copied;
    await write(into, page, [], { empty: true });
    copied += page.length;
    after = page.at(-1)?.id ?? null;
    progress(copied);
  }
}

async function catchUp(
  into: Destination,
  since: Date,
): Promise<{ indexed: number; deleted: number }> {
  const type = INDEX_ENTITY[into.target];
  const ids = await into.source.touchedSince(type, since);
  const rows = await into.source.rows(type, ids);
  const gone = ids.filter((id) => !rows.has(id));
  await write(
    into,
    [...rows.values()],
    gone.map((id) => ({ id })),
  );
  return { indexed: rows.size, deleted: gone.length };
}

/**
 * Rows as the target holds them, in bulk requests that stay under 10 MB. Into a new, `empty`
 * index nothing needs deleting. After embedding (slow), rows that changed meanwhile are left
 * out (stillCurrent): the catch-ups, then the indexer, write them as they are now.
 */
async function write(
  into: Destination,
  present: SearchRow[],
  gone: { id: string }[],
  { empty = false } = {},
): Promise<void> {
  let actions = await projectRows(into.target, into.index, present, gone, into.embeddings).catch(
    (error: unknown) => {
      // A configuration error names its variable; anything else fails this reindex.
      if (error instanceof NovaError && error.code === 'CONFIG_INVALID') throw error;
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `embedding articles failed: ${(error as Error).message}`,
        { cause: error },
      );
    },
  );
  if (empty) actions = actions.filter((action) => action.op.index);
  if (into.target === 'ai_context') {
    const type = INDEX_ENTITY[into.target];
    ({ current: actions } = await stillCurrent(actions, (ids) => into.source.versions(type, ids)));
  }
  for (const chunk of bulkChunks(actions)) await bulkRequest(into, chunk);
}

/**
 * One bulk request; items the cluster answers 429/5xx are sent again (a few times, with the
 * client's backoff), a refused item fails the reindex, a 409 (already newer) and a delete's
 * 404 are success.
 */
async function bulkRequest({ client, config, index }: Destination, chunk: BulkAction[]) {
  let pending = chunk;
  for (let round = 0; pending.length > 0; round++) {
    const operations = bulkOperations(pending);
    const response = await withElasticRetry(config, () => client.bulk({ operations })).catch(
      (error: unknown) => {
        throw new NovaError(
          'BOOTSTRAP_FAILED',
          `bulk into ${index} failed: ${describeElasticError(error)}`,
          { cause: error },
        );
      },
    );
    const retry: BulkAction[] = [];
    for (const [i, item] of response.items.entries()) {
      const outcome = itemOutcome(item);
      if (outcome.kind === 'done' || outcome.kind === 'stale') continue;
      if (outcome.kind === 'transient' && round < config.maxRetries) {
        retry.push(pending[i] as BulkAction);
        continue;
      }
      const id = (Object.values(item)[0] as estypes.BulkResponseItem)._id;
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `document ${id} was refused by ${index}: ${outcome.reason}`,
      );
    }
    pending = retry;
    if (retry.length > 0) await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** round));
  }
}
