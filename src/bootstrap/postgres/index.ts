/**
 * `nova bootstrap postgres`: migrate, then seed default roles. Idempotent; `dryRun` reports
 * the plan and changes nothing.
 */

import { isTransientPgError, wrapPgError } from '../../lib/db/postgres/errors.js';
import type { PostgresStore } from '../../lib/db/postgres.js';
import { withRetry } from '../../lib/retry.js';
import { DEFAULT_PERMISSIONS, DEFAULT_ROLES } from './default-roles.js';
import { type MigrationStatus, migrate, migrationStatus } from './migrate.js';
import { applySeed, isEmptyPlan, planSeed, type SeedPlan } from './seed.js';

export interface PostgresBootstrapReport {
  dryRun: boolean;
  migrations: { applied: string[]; pending: string[]; alreadyApplied: number };
  seed: SeedPlan;
  changed: boolean;
}

const FULL_SEED: SeedPlan = {
  permissions: Object.keys(DEFAULT_PERMISSIONS),
  roles: Object.keys(DEFAULT_ROLES),
  grants: Object.entries(DEFAULT_ROLES).flatMap(([role, spec]) =>
    spec.permissions.map((permission) => ({ role, permission })),
  ),
};

/**
 * Errors leave as NovaErrors: a database that is not reachable yet (common while a container
 * starts) is retried with backoff, then reported as UNAVAILABLE naming the step.
 */
export async function bootstrapPostgres(
  url: string,
  store: PostgresStore,
  options: { dryRun?: boolean } = {},
): Promise<PostgresBootstrapReport> {
  try {
    return await withRetry(() => bootstrapOnce(url, store, options), {
      attempts: 5,
      baseDelayMs: 500,
      isTransient: isTransientPgError,
    });
  } catch (error) {
    throw wrapPgError(error, options.dryRun ? 'bootstrap (dry run)' : 'bootstrap');
  }
}

async function bootstrapOnce(
  url: string,
  store: PostgresStore,
  { dryRun = false }: { dryRun?: boolean },
): Promise<PostgresBootstrapReport> {
  if (dryRun) {
    const status: MigrationStatus = await migrationStatus(url);
    // Before the first migration there are no tables to compare against: everything is new.
    const seed = status.applied.length === 0 ? FULL_SEED : await planSeed(store.prisma);
    return {
      dryRun,
      migrations: { applied: [], pending: status.pending, alreadyApplied: status.applied.length },
      seed,
      changed: status.pending.length > 0 || !isEmptyPlan(seed),
    };
  }
  const result = await migrate(url);
  const seed = await planSeed(store.prisma);
  await applySeed(store.prisma, seed);
  return {
    dryRun,
    migrations: { applied: result.applied, pending: [], alreadyApplied: result.alreadyApplied },
    seed,
    changed: result.applied.length > 0 || !isEmptyPlan(seed),
  };
}

export function formatBootstrapReport(report: PostgresBootstrapReport): string {
  const verb = report.dryRun ? 'would apply' : 'applied';
  const migrations = report.dryRun ? report.migrations.pending : report.migrations.applied;
  const lines = [
    `postgres migrations: ${migrations.length} ${verb}${migrations.length ? ` (${migrations.join(', ')})` : ''}, ${report.migrations.alreadyApplied} already applied`,
    `postgres seed: ${report.seed.permissions.length} permissions, ${report.seed.roles.length} roles, ${report.seed.grants.length} grants ${report.dryRun ? 'to add' : 'added'}`,
  ];
  if (!report.changed) lines.push('postgres: up to date, nothing to do');
  return lines.join('\n');
}
