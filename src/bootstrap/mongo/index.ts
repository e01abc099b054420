/**
 * `nova bootstrap mongo`: read the live database, plan, apply, verify.
 *
 * Idempotent: a second run plans nothing and says so. After applying, the state is read
 * again and planned again; anything still left is an error, so "applied" means "converged".
 * Waits (bounded) for the replica set to accept connections, and re-plans once when a
 * concurrent bootstrap created something first.
 */
import type { MongoClient } from 'mongodb';
import type { MongoConfig } from '../../config.js';
import { createMongoClient, MongoConnection } from '../../lib/db/mongo/client.js';
import { collectionSpecs } from '../../lib/db/mongo/collection-specs.js';
import { describeMongoError, isTransientMongoError } from '../../lib/db/mongo/errors.js';
import { analyticsUnsupported, featureCompatibilityVersion } from '../../lib/db/mongo/health.js';
import { NovaError } from '../../lib/errors.js';
import { reconcile } from '../reconcile.js';
import { formatPlanReport } from '../report.js';
import { inspectAppUser, inspectCollections } from './inspect.js';
import {
  appRoles,
  type MongoPlan,
  type MongoStep,
  planAppUser,
  planCollections,
  type ServerFacts,
} from './plan.js';

export interface MongoBootstrapReport {
  database: string;
  dryRun: boolean;
  /** The plan (dry run) or what was applied, commands with passwords masked. */
  steps: { description: string; database: string; command: Record<string, unknown> }[];
  warnings: string[];
  changed: boolean;
}

export interface MongoBootstrapOptions {
  dryRun?: boolean;
  /** How long to wait for the server to become reachable (default 60 s). */
  waitMs?: number;
}

/** Codes a concurrent bootstrap can cause: NamespaceExists, IndexOptionsConflict, IndexKeySpecsConflict, user exists. */
const RACE_CODES = new Set([48, 85, 86, 51003]);

const masked = (step: MongoStep) => ({
  ...step,
  command: 'pwd' in step.command ? { ...step.command, pwd: '***' } : step.command,
});

async function plan(client: MongoClient, config: MongoConfig): Promise<MongoPlan> {
  const server = await supportedServer(client);
  const specs = collectionSpecs(config.retentionMs);
  const db = client.db(config.dbName);
  const live = await inspectCollections(
    db,
    specs.map((s) => s.name),
  );
  const result = planCollections(specs, live, config.dbName, server);
  if (server.featureCompatibilityVersion === undefined) {
    result.warnings.push(
      'featureCompatibilityVersion not checked (needs MONGO_ADMIN_USER): analytics need 7.0 or later',
    );
  }
  if (config.admin && config.user && config.password) {
    const user = await inspectAppUser(client, config);
    result.steps.push(
      ...planAppUser(
        { name: config.user, password: config.password, database: config.authSource },
        appRoles(config.dbName),
        user,
      ),
    );
  } else if (config.user) {
    result.warnings.push(
      'application user not managed: set MONGO_ADMIN_USER and MONGO_ADMIN_PASSWORD to create or update it',
    );
  }
  return result;
}

const UNAUTHORIZED = 13;

/**
 * The most a step may go without an answer: an index build waiting on members that never
 * answer ends as a (transient) timeout, planned again within --wait, rather than hanging the
 * bootstrap; the build itself goes on in the server and the next run finds it.
 */
const STEP_TIMEOUT_MS = 10 * 60_000;

async function apply(client: MongoClient, steps: MongoStep[], config: MongoConfig): Promise<void> {
  for (const step of steps) {
    try {
      await client.db(step.database).command(step.command);
    } catch (error) {
      // The application user has readWrite only: collMod and user management need more.
      const hint =
        (error as { code?: unknown }).code === UNAUTHORIZED && !config.admin
          ? ` (set MONGO_ADMIN_USER and MONGO_ADMIN_PASSWORD to a user with dbAdmin on ${config.dbName} and userAdmin, or root)`
          : '';
      // Transient (an election, a lost connection): UNAVAILABLE, which the reconciler plans
      // and applies again after; anything else is final.
      throw new NovaError(
        isTransientMongoError(error) ? 'UNAVAILABLE' : 'BOOTSTRAP_FAILED',
        `MongoDB bootstrap step "${step.description}" failed: ${describeMongoError(error)}${hint}`,
        { cause: error },
      );
    }
  }
}

/**
 * The server's version, feature compatibility version and topology. A 7.0 binary can still
 * run at featureCompatibilityVersion 6.0 (after an upgrade, until an operator raises it), and
 * then refuses $percentile: both are checked (as health does). Reading the FCV needs a
 * privilege the application user lacks: then it is reported unchecked (undefined).
 */
export async function supportedServer(
  client: MongoClient,
): Promise<ServerFacts & { featureCompatibilityVersion?: string }> {
  const admin = client.db('admin');
  const [{ version }, hello] = await Promise.all([
    admin.command({ buildInfo: 1 }),
    admin.command({ hello: 1 }),
  ]);
  const fcv = await featureCompatibilityVersion(admin);
  const problem = analyticsUnsupported(String(version), fcv);
  if (problem) {
    throw new NovaError('BOOTSTRAP_FAILED', `the telemetry store cannot run here: ${problem}`);
  }
  return {
    replicaSet: typeof hello.setName === 'string',
    ...(fcv === undefined ? {} : { featureCompatibilityVersion: fcv }),
  };
}

const isRace = (error: unknown) => {
  const cause = error instanceof NovaError ? error.cause : error;
  return (
    typeof (cause as { code?: unknown })?.code === 'number' &&
    RACE_CODES.has((cause as { code: number }).code)
  );
};

export async function bootstrapMongo(
  config: MongoConfig,
  { dryRun = false, waitMs = 60_000 }: MongoBootstrapOptions = {},
): Promise<MongoBootstrapReport> {
  const connection = new MongoConnection(() =>
    createMongoClient(config, config.admin ? 'admin' : 'app', {
      socketTimeoutMS: STEP_TIMEOUT_MS,
    }),
  );
  try {
    const { planned, changed } = await reconcile<MongoStep>(
      {
        store: 'MongoDB',
        plan: async () => plan(await connection.connect(), config),
        apply: async (steps) => apply(await connection.connect(), steps, config),
        isTransient: isTransientMongoError,
        describe: describeMongoError,
        isRace,
      },
      { dryRun, waitMs },
    );
    return {
      database: config.dbName,
      dryRun,
      steps: planned.steps.map(masked),
      warnings: planned.warnings,
      changed,
    };
  } finally {
    await connection.close();
  }
}

export const formatMongoReport = (report: MongoBootstrapReport): string =>
  formatPlanReport(`MongoDB ${report.database}`, report);
