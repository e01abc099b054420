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
 * The MongoDB telemetry store (`novaDb.mongo`) and Elasticsearch search (`searchTickets`,
 * `searchKnowledgeBase`) arrive with their own issues; this module only exposes what works.
 */
import { loadConfig, type NovaConfig, requirePostgres } from '../../config.js';
import { type PostgresHealth, PostgresStore, type PostgresStoreOptions } from './postgres.js';

export type { Actor, ExportCounts, ExportOptions, PostgresHealth } from './postgres.js';
export { PostgresStore } from './postgres.js';

export interface NovaHealth {
  status: 'ok' | 'down';
  checks: { postgres: PostgresHealth };
}

export class NovaDb {
  readonly #config: () => NovaConfig;
  readonly #options: PostgresStoreOptions;
  #postgres: PostgresStore | undefined;

  constructor(config: NovaConfig | (() => NovaConfig), options: PostgresStoreOptions = {}) {
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

  readonly createUser: PostgresStore['createUser'] = (...args) => this.postgres.createUser(...args);
  readonly updateUser: PostgresStore['updateUser'] = (...args) => this.postgres.updateUser(...args);
  readonly deactivateUser: PostgresStore['deactivateUser'] = (...args) =>
    this.postgres.deactivateUser(...args);
  readonly hasPermission: PostgresStore['hasPermission'] = (...args) =>
    this.postgres.hasPermission(...args);
  readonly exportData: PostgresStore['exportData'] = (...args) => this.postgres.exportData(...args);

  /** Every configured store's health; `down` when a required one (PostgreSQL) is down. */
  readonly health = async (): Promise<NovaHealth> => {
    const postgres = await this.postgres.health();
    return { status: postgres.status === 'up' ? 'ok' : 'down', checks: { postgres } };
  };

  readonly close = async (): Promise<void> => {
    await this.#postgres?.close();
  };
}

export const createNovaDb = (config: NovaConfig, options?: PostgresStoreOptions) =>
  new NovaDb(config, options);

/** The process-wide instance, configured from the environment on first use. */
export const novaDb = new NovaDb(() => loadConfig());
