/**
 * novaDb: the unified data manager of the design document.
 *
 *   import { novaDb } from './src/lib/db/index.js';
 *   const user = await novaDb.createUser({ email, firstName, lastName });
 *   const users = await novaDb.postgres.prisma.user.findMany({ where: { active: true }, include: { roles: true } });
 *
 * `novaDb` reads its configuration from the environment on first use (this module is the
 * edge where that happens); `createNovaDb(config)` builds an instance from an explicit config
 * (the CLI, the service and the tests use it). One PostgreSQL pool per instance.
 *
 * `novaDb.telemetry` is the telemetry log (`log*`, `stats`, `flush`): each event goes to every
 * configured telemetry store, MongoDB (MONGO_URL) and the nova_logs data stream in
 * Elasticsearch (ELASTIC_URL), each through a batch writer of its own, so one store being
 * down never delays or drops the other's events. `novaDb.mongo` is the MongoDB telemetry
 * store (its writer, analytics, health); its `log*` methods are `novaDb.telemetry`'s, so
 * they reach Elasticsearch too. Touching `novaDb.mongo` without MONGO_URL, or
 * `novaDb.telemetry` without either URL, is a CONFIG_INVALID error naming the variable.
 * `novaDb.elastic` is the Elasticsearch client and cluster health (ELASTIC_URL);
 * `searchTickets`, `searchKnowledgeBase` and `suggest` search it as a viewer
 * (`await novaDb.viewer(userId)`, or `ANONYMOUS`) and record each search as a
 * search_analytics event.
 */

import type { Client } from '@elastic/elasticsearch';
import { loadConfig, type NovaConfig, requirePostgres } from '../../config.js';
import { type EmbeddingProvider, OpenAiCompatibleEmbeddings } from '../embeddings.js';
import { NovaError } from '../errors.js';
import { BatchWriter, type TelemetrySink } from '../telemetry/batch-writer.js';
import { TelemetryLog } from '../telemetry/telemetry-log.js';
import { Indexer } from './elastic/indexer.js';
import { OutboxStore } from './elastic/outbox-store.js';
import { type SearchRecord, SearchService } from './elastic/search.js';
import { ElasticSink } from './elastic/telemetry-sink.js';
import type { Viewer } from './elastic/viewer.js';
import { type ElasticHealth, ElasticStore } from './elastic.js';
import { type MongoHealth, MongoStore, type MongoStoreOptions } from './mongo.js';
import { type PostgresHealth, PostgresStore, type PostgresStoreOptions } from './postgres.js';

export type {
  ArticleHit,
  FusedHit,
  FusedPage,
  SearchHit,
  SearchPage,
  Suggestion,
  TicketHit,
} from './elastic/search.js';
export type {
  ArticleSearchFilters,
  ArticleSearchOptions,
  TicketSearchFilters,
  TicketSearchOptions,
} from './elastic/search-query.js';
export { ANONYMOUS, type Viewer } from './elastic/viewer.js';
export type { ElasticHealth } from './elastic.js';
export { ElasticStore } from './elastic.js';
export type { MongoHealth, PerformanceReport, SearchAnalytics } from './mongo.js';
export { MongoStore } from './mongo.js';
export type { Actor, ExportCounts, ExportOptions, PostgresHealth } from './postgres.js';
export { PostgresStore } from './postgres.js';

export interface NovaDbOptions extends PostgresStoreOptions {
  /** The MongoDB store's options (its `telemetry` is novaDb's own log). */
  mongo?: Omit<MongoStoreOptions, 'telemetry'>;
  /** An Elasticsearch client to use instead of one built from the config (tests). */
  elasticClient?: Client;
  /** Replaces the Elasticsearch telemetry sink (tests, benchmarks). */
  elasticSink?: TelemetrySink;
  /** An embedding provider to use instead of one built from EMBEDDING_* (tests). */
  embeddings?: EmbeddingProvider;
}

/**
 * ok: every configured store is up; degraded: an optional store (MongoDB, Elasticsearch) is
 * down or degraded; down: PostgreSQL, the one required store, is down.
 */
export interface NovaHealth {
  status: 'ok' | 'degraded' | 'down';
  checks: {
    postgres: PostgresHealth;
    mongodb: MongoHealth | { status: 'not_configured' };
    elasticsearch: ElasticHealth | { status: 'not_configured' };
  };
}

export class NovaDb {
  readonly #config: () => NovaConfig;
  readonly #options: NovaDbOptions;
  #postgres: PostgresStore | undefined;
  #mongo: MongoStore | undefined;
  #telemetry: TelemetryLog | undefined;
  #elastic: ElasticStore | undefined;
  #search: SearchService | undefined;
  #embeddings: EmbeddingProvider | null | undefined;
  #indexer: Indexer | undefined;

  constructor(config: NovaConfig | (() => NovaConfig), options: NovaDbOptions = {}) {
    let cached: NovaConfig | undefined = typeof config === 'function' ? undefined : config;
    this.#config = () => {
      cached ??= (config as () => NovaConfig)();
      return cached;
    };
    this.#options = options;
  }

  /** The PostgreSQL store; throws CONFIG_INVALID naming DATABASE_URL when none is configured. */
  get postgres(): PostgresStore {
    this.#postgres ??= new PostgresStore(requirePostgres(this.#config()), this.#options);
    return this.#postgres;
  }

  /** True when MONGO_URL is configured. */
  get mongoConfigured(): boolean {
    return this.#config().mongo !== undefined;
  }

  /** True when ELASTIC_URL is configured. */
  get elasticConfigured(): boolean {
    return this.#config().elastic !== undefined;
  }

  /** True when MONGO_URL or ELASTIC_URL is configured: `telemetry` has somewhere to write. */
  get telemetryConfigured(): boolean {
    return this.mongoConfigured || this.elasticConfigured;
  }

  /** The MongoDB telemetry store; throws CONFIG_INVALID naming MONGO_URL when none is configured. */
  get mongo(): MongoStore {
    if (!this.#mongo) {
      const config = this.#config();
      if (!config.mongo) {
        throw new NovaError('CONFIG_INVALID', 'MONGO_URL is required for the telemetry store', {
          field: 'MONGO_URL',
        });
      }
      this.#mongo = new MongoStore(config.mongo, config.telemetry, {
        ...this.#options.mongo,
        telemetry: (writers) => this.#telemetryLog(writers),
      });
    }
    return this.#mongo;
  }

  /**
   * The telemetry log: `novaDb.telemetry.logApiUsage('GET', '/api/tickets', 200, 12.5)` goes
   * to MongoDB and to Elasticsearch's nova_logs, whichever are configured; `stats()` reports
   * each store's writer. Throws CONFIG_INVALID (naming MONGO_URL) when neither is.
   */
  get telemetry(): TelemetryLog {
    // With MongoDB, its store builds the log around its own writer (see #telemetryLog).
    this.#telemetry ??= this.mongoConfigured ? this.mongo.telemetry : this.#telemetryLog({});
    return this.#telemetry;
  }

  /** The one log of this instance: the writers given plus, with ELASTIC_URL, Elasticsearch's. */
  #telemetryLog(writers: Record<string, BatchWriter>): TelemetryLog {
    const config = this.#config();
    const all = { ...writers };
    if (config.elastic) {
      const sink =
        this.#options.elasticSink ??
        // The client is asked for at the first write: a broken ELASTIC_* setting fails (and
        // is counted in) Elasticsearch's writes, never the MongoDB store or the caller.
        new ElasticSink(() => this.elastic.client, config.telemetry.writeTimeoutMs);
      all.elasticsearch = new BatchWriter(sink, config.telemetry);
    }
    if (Object.keys(all).length === 0) {
      throw new NovaError('CONFIG_INVALID', 'MONGO_URL or ELASTIC_URL is required for telemetry', {
        field: 'MONGO_URL',
      });
    }
    this.#telemetry = new TelemetryLog(all, { service: config.telemetry.serviceName });
    return this.#telemetry;
  }

  readonly createUser: PostgresStore['createUser'] = (...args) => this.postgres.createUser(...args);
  readonly updateUser: PostgresStore['updateUser'] = (...args) => this.postgres.updateUser(...args);
  readonly deactivateUser: PostgresStore['deactivateUser'] = (...args) =>
    this.postgres.deactivateUser(...args);
  readonly hasPermission: PostgresStore['hasPermission'] = (...args) =>
    this.postgres.hasPermission(...args);
  readonly exportData: PostgresStore['exportData'] = (...args) => this.postgres.exportData(...args);

  /** The Elasticsearch store; throws CONFIG_INVALID naming ELASTIC_URL when none is configured. */
  get elastic(): ElasticStore {
    if (!this.#elastic) {
      const config = this.#config().elastic;
      if (!config) {
        throw new NovaError('CONFIG_INVALID', 'ELASTIC_URL is required for search', {
          field: 'ELASTIC_URL',
        });
      }
      this.#elastic = new ElasticStore(config, this.#options.elasticClient);
    }
    return this.#elastic;
  }

  /** The embedding provider for semantic search and nova_ai_context, when EMBEDDING_URL is set. */
  get embeddings(): EmbeddingProvider | undefined {
    if (this.#embeddings === undefined) {
      const config = this.#config().embeddings;
      this.#embeddings =
        this.#options.embeddings ?? (config ? new OpenAiCompatibleEmbeddings(config) : null);
    }
    return this.#embeddings ?? undefined;
  }

  /**
   * The search outbox indexer (one per instance, so its counters add up): `drain()` for
   * `nova indexer --once`, `run(signal)` inside the service. Needs DATABASE_URL and ELASTIC_URL.
   */
  get indexer(): Indexer {
    this.#indexer ??= new Indexer(new OutboxStore(this.postgres.pool), this.elastic.client, {
      embeddings: this.embeddings,
    });
    return this.#indexer;
  }

  /**
   * Who a signed-in user is for search: their id and the permissions their roles grant (none
   * when deactivated). Pass it as `options.viewer`; `ANONYMOUS` searches public articles.
   */
  readonly viewer = async (userId: string): Promise<Viewer> => ({
    userId,
    permissions: await this.postgres.listUserPermissions(userId),
  });

  /**
   * Full-text ticket search: `searchTickets('printer jam', { status: 'open' }, { viewer })`.
   * Agents (tickets:read) see every ticket, everyone else the tickets they requested.
   */
  readonly searchTickets: SearchService['tickets'] = async (...args) =>
    this.#searcher().tickets(...args);

  /** Published articles; internal ones only for kb:read. */
  readonly searchKnowledgeBase: SearchService['knowledgeBase'] = async (...args) =>
    this.#searcher().knowledgeBase(...args);

  /**
   * Knowledge-base articles nearest in meaning (kNN on nova_ai_context); needs EMBEDDING_URL.
   * `semanticSearch('cannot connect from home', { viewer })`
   */
  readonly semanticSearch: SearchService['semanticKnowledgeBase'] = async (...args) =>
    this.#searcher().semanticKnowledgeBase(...args);

  /** Lexical and semantic knowledge-base search fused by reciprocal rank; needs EMBEDDING_URL. */
  readonly hybridSearch: SearchService['hybridKnowledgeBase'] = async (...args) =>
    this.#searcher().hybridKnowledgeBase(...args);

  /** Title completions for a search box, limited to what the viewer may see. */
  readonly suggest: SearchService['suggest'] = async (...args) => this.#searcher().suggest(...args);

  #searcher(): SearchService {
    if (!this.#search) {
      const elastic = this.elastic;
      // Every search is recorded for search analytics (in Elasticsearch at least, since
      // searching needs it; in MongoDB too when configured).
      const record = this.telemetryConfigured
        ? (s: SearchRecord) => {
            this.telemetry.logSearch(s.scope, s.query, s.resultCount, s.tookMs, {
              userId: s.userId ?? undefined,
              filters: s.filters,
              sort: s.sort,
              mode: s.mode,
            });
          }
        : undefined;
      this.#search = new SearchService(elastic.client, elastic.config, record, this.embeddings);
    }
    return this.#search;
  }

  /** Every store's health, probed in parallel. */
  readonly health = async (): Promise<NovaHealth> => {
    const notConfigured = { status: 'not_configured' } as const;
    const [postgres, mongodb, elasticsearch] = await Promise.all([
      this.postgres.health(),
      this.mongoConfigured ? this.mongo.health() : notConfigured,
      this.#config().elastic ? this.elastic.health() : notConfigured,
    ]);
    const optionalDown = [mongodb, elasticsearch].some(
      (check) => check.status === 'down' || check.status === 'degraded',
    );
    const status = postgres.status !== 'up' ? 'down' : optionalDown ? 'degraded' : 'ok';
    return { status, checks: { postgres, mongodb, elasticsearch } };
  };

  /**
   * Flushes every telemetry store's writer (in parallel, within TELEMETRY_SHUTDOWN_TIMEOUT_MS),
   * while their clients are open, then closes every client.
   */
  readonly close = async (): Promise<void> => {
    if (this.#telemetry) await this.#telemetry.close(this.#config().telemetry.shutdownTimeoutMs);
    await Promise.all([this.#mongo?.close(), this.#elastic?.close(), this.#postgres?.close()]);
  };
}

export const createNovaDb = (config: NovaConfig, options?: NovaDbOptions) =>
  new NovaDb(config, options);

/** The process-wide instance, configured from the environment on first use. */
export const novaDb = new NovaDb(() => loadConfig());
