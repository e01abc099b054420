/**
 * `nova reindex tickets|kb`: rebuild a search index from PostgreSQL alone, behind its alias,
 * with no window in which searches see a half-built index.
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
  describeElasticError,
  unlessMissing,
  withElasticRetry,
} from '../../lib/db/elastic/client.js';
import {
  ENTITY_ALIAS,
  type SearchEntityType,
  searchDocument,
} from '../../lib/db/elastic/documents.js';
import {
  SEARCH_INDICES,
  searchMappings,
  versionedIndex,
} from '../../lib/db/elastic/index-specs.js';
import { SearchSource } from '../../lib/db/elastic/search-source.js';
import { NovaError } from '../../lib/errors.js';
import { mappingHash } from './plan.js';

export const REINDEX_TARGETS = { tickets: 'ticket', kb: 'kb_article' } as const;
export type ReindexTarget = keyof typeof REINDEX_TARGETS;

/** Transactions open longer than this when the copy starts may be missed by the catch-up. */
const CATCH_UP_MARGIN_MS = 5 * 60_000;
const TRANSIENT_ITEM = new Set([429, 502, 503, 504]);

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
}

export async function reindex(
  target: ReindexTarget,
  { client, pool, config }: Deps,
  { dryRun = false, batchSize = 500, onProgress }: ReindexOptions = {},
): Promise<ReindexReport> {
  const started = performance.now();
  const type = REINDEX_TARGETS[target];
  const alias = ENTITY_ALIAS[type];
  const source = new SearchSource(pool);
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
    await es(`creating ${next}`, () => client.indices.create({ index: next }));
    try {
      report.copied = await copyAll(client, config, source, type, next, batchSize, (n) =>
        onProgress?.(n, rows),
      );
      // Catch up before the swap too, so the alias never points at a copy older than now.
      await catchUp(client, config, source, type, next, since);
      await es(`refreshing ${next}`, () => client.indices.refresh({ index: next }));
      await swap(client, alias, next, current);
    } catch (error) {
      await unlessMissing(client.indices.delete({ index: next })).catch(() => undefined);
      throw error;
    }
    // And after it, for what the indexer wrote to the old index in between.
    report.caughtUp = await catchUp(client, config, source, type, next, since).catch(
      (error: unknown) => {
        throw new NovaError(
          'BOOTSTRAP_FAILED',
          `${alias} now points at ${next}, but catching up on the last writes failed; ${current.indices.join(', ') || 'the old index'} is kept, run the reindex again: ${(error as Error).message}`,
          { cause: error },
        );
      },
    );
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
  const hash = (mappings?._meta as { mapping_hash?: unknown } | undefined)?.mapping_hash;
  if (hash !== mappingHash(searchMappings(target, dims))) {
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `index template ${name} is ${found ? 'out of date' : 'missing'}: run \`nova bootstrap elastic\` first`,
      { field: 'target' },
    );
  }
}

async function copyAll(
  client: Client,
  config: ElasticConfig,
  source: SearchSource,
  type: SearchEntityType,
  index: string,
  batchSize: number,
  progress: (copied: number) => void,
): Promise<number> {
  let after: string | null = null;
  let copied = 0;
  for (;;) {
    const page: Write['row'][] = await source.page(type, after, batchSize);
    if (page.length === 0) return copied;
    await bulk(
      client,
      config,
      index,
      page.map((row) => ({ type, row })),
    );
    copied += page.length;
    after = page.at(-1)?.id ?? null;
    progress(copied);
  }
}

async function catchUp(
  client: Client,
  config: ElasticConfig,
  source: SearchSource,
  type: SearchEntityType,
  index: string,
  since: Date,
): Promise<{ indexed: number; deleted: number }> {
  const ids = await source.touchedSince(type, since);
  const rows = await source.rows(type, ids);
  const gone = ids.filter((id) => !rows.has(id));
  await bulk(
    client,
    config,
    index,
    [...rows.values()].map((row) => ({ type, row })),
    gone,
  );
  return { indexed: rows.size, deleted: gone.length };
}

type Write = { type: SearchEntityType; row: Parameters<typeof searchDocument>[1] };

/** Bulk requests stay well under http.max_content_length (100 MB by default). */
const MAX_BULK_BYTES = 10 * 1024 * 1024;

/** Writes and deletes in requests of at most MAX_BULK_BYTES (articles can be 200 kB each). */
async function bulk(
  client: Client,
  config: ElasticConfig,
  index: string,
  writes: Write[],
  deletes: string[] = [],
): Promise<void> {
  let chunk: Write[] = [];
  let bytes = 0;
  for (const write of writes) {
    const size = JSON.stringify(write.row).length;
    if (chunk.length > 0 && bytes + size > MAX_BULK_BYTES) {
      await bulkRequest(client, config, index, chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(write);
    bytes += size;
  }
  // Deletes are small: they ride along with the last writes, a thousand at a time.
  for (let i = 0; chunk.length > 0 || i < deletes.length; i += 1000) {
    await bulkRequest(client, config, index, chunk, deletes.slice(i, i + 1000));
    chunk = [];
  }
}

/**
 * One bulk request; items the cluster answers 429/5xx are sent again (a few times, with the
 * client's backoff), a refused item fails the reindex, a 409 (already newer) and a delete's
 * 404 are success.
 */
async function bulkRequest(
  client: Client,
  config: ElasticConfig,
  index: string,
  writes: Write[],
  deletes: string[] = [],
): Promise<void> {
  let pending: estypes.BulkOperationContainer[] = [
    ...writes.map(({ row }) => ({
      index: {
        _index: index,
        _id: row.id,
        version: row.version,
        version_type: 'external_gte' as const,
      },
    })),
    ...deletes.map((id) => ({ delete: { _index: index, _id: id } })),
  ];
  const bodies = new Map(writes.map(({ type, row }) => [row.id, searchDocument(type, row)]));
  for (let round = 0; pending.length > 0; round++) {
    const operations = pending.flatMap((op) =>
      op.index ? [op, bodies.get(op.index._id as string) as object] : [op],
    );
    const response = await withElasticRetry(config, () => client.bulk({ operations })).catch(
      (error: unknown) => {
        throw new NovaError(
          'BOOTSTRAP_FAILED',
          `bulk into ${index} failed: ${describeElasticError(error)}`,
          { cause: error },
        );
      },
    );
    const retry: estypes.BulkOperationContainer[] = [];
    for (const [i, item] of response.items.entries()) {
      const outcome = (item.index ?? item.delete) as estypes.BulkResponseItem;
      const ok =
        outcome.status < 300 || outcome.status === 409 || (item.delete && outcome.status === 404);
      if (ok) continue;
      if (TRANSIENT_ITEM.has(outcome.status) && round < config.maxRetries) {
        retry.push(pending[i] as estypes.BulkOperationContainer);
        continue;
      }
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `document ${outcome._id} was refused by ${index}: ${outcome.status} ${outcome.error?.type ?? ''} ${outcome.error?.reason ?? ''}`.trim(),
      );
    }
    pending = retry;
    if (retry.length > 0) await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** round));
  }
}
