/**
 * What every domain module receives: the client and `run`, which applies the retry policy
 * and the error mapping. Domain code writes `ctx.run('createUser', () => ...)` and never
 * catches driver errors itself.
 */
import type pg from 'pg';
import type { Db } from './client.js';
import type { PrincipalCache } from './principal-cache.js';

export interface PgContext {
  readonly prisma: Db;
  /** The pool under `prisma`, for the plain-SQL write path (./sql.ts). */
  readonly pool: pg.Pool;
  run<T>(operation: string, work: () => Promise<T>): Promise<T>;
  /** The API-token principals cache, when the service turned it on (usePrincipalCache). */
  readonly principals: PrincipalCache | undefined;
}
