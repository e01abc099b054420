/**
 * PostgresStore: the system of record. Holds the one pooled Prisma client of the process
 * (`prisma`, created on first use) and exposes the domain operations of ./postgres/*.ts with
 * the retry policy and error mapping applied.
 *
 * Operations are arrow-function properties, so `const { createUser } = store` keeps working
 * (destructured class methods that lose `this` were a bug of earlier attempts).
 */

import type pg from 'pg';
import type { PostgresConfig } from '../../config.js';
import { withRetry } from '../retry.js';
import * as apiTokens from './postgres/api-tokens.js';
import * as articles from './postgres/articles.js';
import { createPool, createPrismaClient, type Db } from './postgres/client.js';
import type { PgContext } from './postgres/context.js';
import { isTransientPgError, wrapPgError } from './postgres/errors.js';
import { exportData } from './postgres/export.js';
import { postgresHealth } from './postgres/health.js';
import * as legacyImport from './postgres/legacy-import.js';
import * as passkeys from './postgres/passkeys.js';
import { listenerClient, PrincipalCache } from './postgres/principal-cache.js';
import * as rbac from './postgres/rbac.js';
import * as systemConfig from './postgres/system-config.js';
import * as tickets from './postgres/tickets.js';
import * as users from './postgres/users.js';

export type { Actor } from './postgres/audit.js';
export type { ExportCounts, ExportOptions } from './postgres/export.js';
export type { PostgresHealth } from './postgres/health.js';

type Tail<F> = F extends (ctx: PgContext, ...rest: infer R) => infer T ? (...args: R) => T : never;

export interface PostgresStoreOptions {
  /** Called before each retry of a transient failure (the service counts these). */
  onRetry?: (operation: string, error: unknown, attempt: number) => void;
  /** Base delay of the retry backoff in ms (default 100; tests use less). */
  retryBaseDelayMs?: number;
}

export class PostgresStore {
  readonly #config: PostgresConfig;
  readonly #options: PostgresStoreOptions;
  #pool: pg.Pool | undefined;
  #prisma: Db | undefined;
  #principals: PrincipalCache | undefined;
  readonly #ctx: PgContext;

  constructor(config: PostgresConfig, options: PostgresStoreOptions = {}) {
    this.#config = config;
    this.#options = options;
    const store = this;
    this.#ctx = {
      get prisma() {
        return store.prisma;
      },
      get pool() {
        return store.pool;
      },
      run: (operation, work) => this.#run(operation, work),
      get principals() {
        return store.#principals;
      },
    };
  }

  /**
   * Serves authenticated principals from memory (principal-cache.ts): turned on by the
   * service, never by one-shot commands. Resolves once the cache listens for invalidations
   * (or, failing that, is retrying in the background and bypassed meanwhile).
   */
  readonly usePrincipalCache = async (options: { ttlMs: number; maxEntries: number }) => {
    this.#principals ??= new PrincipalCache({
      ...options,
      connect: listenerClient(this.#config.url, this.#config.connectTimeoutMs),
    });
    await this.#principals.start();
  };

  /** The connection pool (POSTGRES_POOL_SIZE connections at most), shared with `prisma`. */
  get pool(): pg.Pool {
    this.#pool ??= createPool(this.#config);
    return this.#pool;
  }

  /** The type-safe Prisma client, on `pool`. */
  get prisma(): Db {
    this.#prisma ??= createPrismaClient(this.pool);
    return this.#prisma;
  }

  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(work, {
        attempts: this.#config.retryAttempts,
        baseDelayMs: this.#options.retryBaseDelayMs ?? 100,
        isTransient: isTransientPgError,
        onRetry: (error, attempt) => this.#options.onRetry?.(operation, error, attempt),
      });
    } catch (error) {
      throw wrapPgError(error, operation);
    }
  }

  #bind<F extends (ctx: PgContext, ...args: never[]) => unknown>(fn: F): Tail<F> {
    return ((...args: never[]) => fn(this.#ctx, ...args)) as Tail<F>;
  }

  readonly createUser = this.#bind(users.createUser);
  readonly updateUser = this.#bind(users.updateUser);
  readonly deactivateUser = this.#bind(users.deactivateUser);
  readonly getUser = this.#bind(users.getUser);
  readonly findUserByEmail = this.#bind(users.findUserByEmail);

  readonly createRole = this.#bind(rbac.createRole);
  readonly createPermission = this.#bind(rbac.createPermission);
  readonly grantPermission = this.#bind(rbac.grantPermission);
  readonly revokePermission = this.#bind(rbac.revokePermission);
  readonly assignRole = this.#bind(rbac.assignRole);
  readonly revokeRole = this.#bind(rbac.revokeRole);
  readonly hasPermission = this.#bind(rbac.hasPermission);
  readonly listUserPermissions = this.#bind(rbac.listUserPermissions);
  readonly listUserRoles = this.#bind(rbac.listUserRoles);
  readonly listRoleNames = this.#bind(rbac.listRoleNames);

  readonly registerPasskey = this.#bind(passkeys.registerPasskey);
  readonly listPasskeys = this.#bind(passkeys.listPasskeys);
  readonly findPasskeyForVerification = this.#bind(passkeys.findPasskeyForVerification);
  readonly recordPasskeyUse = this.#bind(passkeys.recordPasskeyUse);
  readonly removePasskey = this.#bind(passkeys.removePasskey);

  readonly createApiToken = this.#bind(apiTokens.createApiToken);
  readonly listApiTokens = this.#bind(apiTokens.listApiTokens);
  readonly revokeApiToken = this.#bind(apiTokens.revokeApiToken);
  readonly authenticateApiToken = this.#bind(apiTokens.authenticateApiToken);
  readonly cachedApiToken = this.#bind(apiTokens.cachedApiToken);

  readonly createTicket = this.#bind(tickets.createTicket);
  readonly updateTicket = this.#bind(tickets.updateTicket);
  readonly deleteTicket = this.#bind(tickets.deleteTicket);
  readonly getTicket = this.#bind(tickets.getTicket);
  readonly listTickets = this.#bind(tickets.listTickets);

  readonly createArticle = this.#bind(articles.createArticle);
  readonly updateArticle = this.#bind(articles.updateArticle);
  readonly deleteArticle = this.#bind(articles.deleteArticle);
  readonly getArticle = this.#bind(articles.getArticle);
  readonly listArticles = this.#bind(articles.listArticles);

  readonly getConfig = this.#bind(systemConfig.getConfig);
  readonly setConfig = this.#bind(systemConfig.setConfig);

  readonly exportData = this.#bind(exportData);

  /** nova migrate-sqlite's write path (postgres/legacy-import.ts). */
  readonly importLegacyUsers = this.#bind(legacyImport.importLegacyUsers);
  readonly importLegacyTickets = this.#bind(legacyImport.importLegacyTickets);
  readonly importLegacyAudit = this.#bind(legacyImport.importLegacyAudit);
  readonly importedTargets = this.#bind(legacyImport.importedTargets);
  readonly importedCount = this.#bind(legacyImport.importedCount);
  readonly recordLegacyImports = this.#bind(legacyImport.recordLegacyImports);
  /** `{ status, latencyMs, serverVersion }`; never throws, never retries. */
  readonly health = this.#bind(postgresHealth);

  /** Closes the client and the pool. The next use opens new ones. */
  readonly close = async (): Promise<void> => {
    const [prisma, pool, principals] = [this.#prisma, this.#pool, this.#principals];
    this.#prisma = undefined;
    this.#pool = undefined;
    this.#principals = undefined;
    await principals?.close();
    await prisma?.$disconnect();
    await pool?.end();
  };
}
