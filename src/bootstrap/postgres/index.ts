/**
 * `nova bootstrap postgres`: migrate, set up the application role (when the service logs in
 * as another role than the bootstrap: app-role.ts), then seed default roles. Idempotent;
 * `dryRun` reports the plan and changes nothing.
 */

import { isTransientPgError, wrapPgError } from '../../lib/db/postgres/errors.js';
import type { PostgresStore } from '../../lib/db/postgres.js';
import { withRetry } from '../../lib/retry.js';
import {
  type AppRole,
  type AppRoleReport,
  ensureAppRole,
  formatAppRoleReport,
} from './app-role.js';
import { DEFAULT_PERMISSIONS, DEFAULT_ROLES } from './default-roles.js';
import { type MigrationStatus, migrate, migrationStatus, withClient } from './migrate.js';
import { applySeed, DEFAULT_GRANTS, isEmptyPlan, planSeed, type SeedPlan } from './seed.js';

export interface PostgresBootstrapReport {
  dryRun: boolean;
  migrations: { applied: string[]; pending: string[]; alreadyApplied: number };
  seed: SeedPlan;
  /** The application role's set-up; absent when the service logs in as the bootstrap's role. */
  appRole?: AppRoleReport;
  changed: boolean;
}

export interface PostgresBootstrapOptions {
  dryRun?: boolean;
  /** The service's login (DATABASE_URL), when it is not the role the bootstrap runs as. */
  appRole?: AppRole;
}

const FULL_SEED: SeedPlan = {
  permissions: Object.keys(DEFAULT_PERMISSIONS),
  roles: Object.keys(DEFAULT_ROLES),
  grants: DEFAULT_GRANTS,
  recorded: [],
};

/**
 * `url` and `store` are the owner's (the role that runs migrations). Errors leave as
 * NovaErrors: a database that is not reachable yet (common while a container starts) is
 * retried with backoff, then reported as UNAVAILABLE naming the step.
 */
export async function bootstrapPostgres(
  url: string,
  store: PostgresStore,
  options: PostgresBootstrapOptions = {},
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
  { dryRun = false, appRole }: PostgresBootstrapOptions,
): Promise<PostgresBootstrapReport> {
  if (dryRun) {
    const status: MigrationStatus = await migrationStatus(url);
    // Before the first migration there are no tables to compare against: everything is new.
    const seed = status.applied.length === 0 ? FULL_SEED : await planSeed(store.prisma);
    const role = appRole && (await withClient(url, (c) => ensureAppRole(c, appRole, { dryRun })));
    return {
      dryRun,
      migrations: { applied: [], pending: status.pending, alreadyApplied: status.applied.length },
      seed,
      ...(role && { appRole: role }),
      changed: status.pending.length > 0 || !isEmptyPlan(seed) || roleChanged(role),
    };
  }
  const result = await migrate(url);
  // Before the seed: the tables exist, and the privileges follow them.
  const role = appRole && (await withClient(url, (c) => ensureAppRole(c, appRole)));
  const seed = await planSeed(store.prisma);
  await applySeed(store.prisma, seed);
  return {
    dryRun,
    migrations: { applied: result.applied, pending: [], alreadyApplied: result.alreadyApplied },
    seed,
    ...(role && { appRole: role }),
    changed: result.applied.length > 0 || !isEmptyPlan(seed) || roleChanged(role),
  };
}

const roleChanged = (role: AppRoleReport | undefined) =>
  role !== undefined &&
  (role.created ||
    role.passwordSet ||
    role.attributes.length + role.granted.length + role.revoked.length > 0);

export function formatBootstrapReport(report: PostgresBootstrapReport): string {
  const verb = report.dryRun ? 'would apply' : 'applied';
  const migrations = report.dryRun ? report.migrations.pending : report.migrations.applied;
  const lines = [
    `postgres migrations: ${migrations.length} ${verb}${migrations.length ? ` (${migrations.join(', ')})` : ''}, ${report.migrations.alreadyApplied} already applied`,
    `postgres seed: ${report.seed.permissions.length} permissions, ${report.seed.roles.length} roles, ${report.seed.grants.length} grants ${report.dryRun ? 'to add' : 'added'}${report.seed.recorded.length ? ` (${report.seed.recorded.length} present before recorded as seeded)` : ''}`,
  ];
  if (report.appRole) lines.push(formatAppRoleReport(report.appRole, report.dryRun));
  if (!report.changed) lines.push('postgres: up to date, nothing to do');
  return lines.join('\n');
}
