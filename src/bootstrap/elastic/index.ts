/**
 * `nova bootstrap elastic`: read the cluster, plan, apply, verify (the same shape as the
 * MongoDB bootstrap). Waits (bounded) for the cluster to answer; after applying, inspects and
 * plans again and fails unless nothing is left. Mapping changes of existing search indices
 * are reported, not applied: they need `nova reindex`.
 */
import { Client, errors } from '@elastic/elasticsearch';
import type { ElasticConfig, NovaConfig } from '../../config.js';
import {
  createElasticClient,
  describeElasticError,
  elasticClientOptions,
  isTransientElasticError,
  withElasticRetry,
} from '../../lib/db/elastic/client.js';
import {
  elasticSpecs,
  LOGS_DATA_STREAM,
  SEARCH_INDICES,
  type SearchIndexKey,
  searchMappings,
} from '../../lib/db/elastic/index-specs.js';
import { NovaError } from '../../lib/errors.js';
import { defaultRetentionMs } from '../../lib/telemetry/collections.js';
import { reconcile } from '../reconcile.js';
import { formatPlanReport } from '../report.js';
import { inspectElastic } from './inspect.js';
import { type ElasticPlan, type ElasticStep, planElastic } from './plan.js';
import { type Authenticate, inspectSecurity, maskSecrets, planSecurity } from './security.js';

export interface ElasticBootstrapReport {
  dryRun: boolean;
  steps: { kind: ElasticStep['kind']; description: string; request: ElasticStep['request'] }[];
  warnings: string[];
  changed: boolean;
}

export interface ElasticBootstrapOptions {
  dryRun?: boolean;
  /** How long to wait for the cluster to answer (default 60 s). */
  waitMs?: number;
  /** A client to use instead of one built from config (tests with the client mock). */
  client?: Client;
  /** How passwords are checked (default: a login with them); tests script it. */
  authenticate?: Authenticate;
}

async function plan(
  client: Client,
  config: NovaConfig,
  authenticate: Authenticate,
): Promise<ElasticPlan> {
  const elastic = config.elastic as NonNullable<NovaConfig['elastic']>;
  const specs = elasticSpecs({
    embeddingDims: elastic.embeddingDims,
    retentionMs: config.mongo?.retentionMs ?? defaultRetentionMs(),
  });
  const live = await inspectElastic(client, {
    lifecycle: specs.lifecycle.name,
    dataStream: LOGS_DATA_STREAM,
  });
  const mappings = Object.fromEntries(
    (Object.keys(SEARCH_INDICES) as SearchIndexKey[]).map((key) => [
      key,
      searchMappings(key, elastic.embeddingDims),
    ]),
  ) as Parameters<typeof planElastic>[2];
  const planned = planElastic(specs, live, mappings, LOGS_DATA_STREAM);
  if (elastic.admin) {
    const security = await inspectSecurity(client, elastic, authenticate);
    const { steps, warnings } = planSecurity(security, elastic);
    planned.steps.push(...steps);
    planned.warnings.push(...warnings);
  } else if (elastic.password || elastic.kibanaSystemPassword) {
    planned.warnings.push(
      'the application role and user and the kibana_system password are managed only with ELASTIC_ADMIN_USERNAME / ELASTIC_ADMIN_PASSWORD',
    );
  }
  return planned;
}

/** A password works when a login with it succeeds; 401 means it does not. */
function loginWith(config: ElasticConfig): Authenticate {
  return async (username, password) => {
    const client = new Client({ ...elasticClientOptions(config), auth: { username, password } });
    try {
      await client.security.authenticate();
      return true;
    } catch (error) {
      if (error instanceof errors.ResponseError && error.statusCode === 401) return false;
      throw error;
    } finally {
      await client.close();
    }
  };
}

function send(client: Client, step: ElasticStep): Promise<unknown> {
  switch (step.kind) {
    case 'putLifecycle':
      return client.ilm.putLifecycle(step.request);
    case 'putComponentTemplate':
      return client.cluster.putComponentTemplate(step.request);
    case 'putIndexTemplate':
      return client.indices.putIndexTemplate(step.request);
    case 'createIndex':
      return client.indices.create(step.request);
    case 'createDataStream':
      return client.indices.createDataStream(step.request);
    case 'putDataStreamMapping':
      return client.indices.putMapping(step.request);
    case 'putDataStreamSettings':
      return client.indices.putSettings(step.request);
    case 'rolloverDataStream':
      return client.indices.rollover(step.request);
    case 'putRole':
      return client.security.putRole(step.request);
    case 'putUser':
      return client.security.putUser(step.request);
    case 'changePassword':
      return client.security.changePassword(step.request);
  }
}

async function apply(client: Client, config: NovaConfig, steps: ElasticStep[]): Promise<void> {
  const elastic = config.elastic as NonNullable<NovaConfig['elastic']>;
  for (const step of steps) {
    try {
      await withElasticRetry(elastic, () => send(client, step));
    } catch (error) {
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `Elasticsearch bootstrap step "${step.description}" failed: ${describeElasticError(error)}`,
        { cause: error },
      );
    }
  }
}

export async function bootstrapElastic(
  config: NovaConfig,
  { dryRun = false, waitMs = 60_000, client: given, authenticate }: ElasticBootstrapOptions = {},
): Promise<ElasticBootstrapReport> {
  if (!config.elastic) {
    throw new NovaError('CONFIG_INVALID', 'ELASTIC_URL is required to bootstrap Elasticsearch', {
      field: 'ELASTIC_URL',
    });
  }
  const client =
    given ?? createElasticClient(config.elastic, config.elastic.admin ? 'admin' : 'app');
  try {
    const { planned, changed } = await reconcile<ElasticStep>(
      {
        store: 'Elasticsearch',
        plan: () =>
          plan(client, config, authenticate ?? loginWith(config.elastic as ElasticConfig)),
        apply: (steps) => apply(client, config, steps),
        isTransient: isTransientElasticError,
        describe: describeElasticError,
      },
      { dryRun, waitMs },
    );
    return {
      dryRun,
      steps: planned.steps.map(({ kind, description, request }) => ({
        kind,
        description,
        request: maskSecrets(request),
      })),
      warnings: planned.warnings,
      changed,
    };
  } finally {
    if (!given) await client.close();
  }
}

export const formatElasticReport = (report: ElasticBootstrapReport): string =>
  formatPlanReport('Elasticsearch', report);
