/**
 * One Elasticsearch client per store. Options are built here and nowhere else.
 *
 * Client 8.11 is pinned on purpose: Elastic's clients work with servers of the same or a
 * newer minor, so 8.11 (the design's version) covers servers 8.11 to 8.19; the 9.x client
 * sends compatible-with=9 headers that 8.x servers reject.
 *
 * Retries are ours, not the transport's: it retries 502/503/504 at once and never 429, so it
 * is set to maxRetries 0 and `withElasticRetry` retries 429, 502, 503, 504, timeouts and
 * connection errors with exponential backoff and full jitter.
 */
import { readFileSync } from 'node:fs';
import { Client, type ClientOptions, errors } from '@elastic/elasticsearch';
import type { ElasticConfig } from '../../../config.js';
import { NovaError } from '../../errors.js';
import { withRetry } from '../../retry.js';

export type ElasticPrincipal = 'app' | 'admin';

export function elasticClientOptions(
  config: ElasticConfig,
  principal: ElasticPrincipal = 'app',
): ClientOptions {
  const options: ClientOptions = {
    nodes: config.url.split(','),
    name: principal === 'app' ? 'nova' : 'nova-bootstrap',
    requestTimeout: config.requestTimeoutMs,
    maxRetries: 0,
  };
  if (principal === 'admin' && config.admin) {
    options.auth = { username: config.admin.username, password: config.admin.password };
  } else if (config.apiKey) {
    options.auth = { apiKey: config.apiKey };
  } else if (config.username && config.password) {
    options.auth = { username: config.username, password: config.password };
  }
  if (config.caFile) {
    let ca: Buffer;
    try {
      ca = readFileSync(config.caFile);
    } catch (error) {
      throw new NovaError(
        'CONFIG_INVALID',
        `ELASTIC_CA_FILE cannot be read: ${(error as Error).message}`,
        {
          field: 'ELASTIC_CA_FILE',
        },
      );
    }
    options.tls = { ca };
  }
  return options;
}

export const createElasticClient = (config: ElasticConfig, principal: ElasticPrincipal = 'app') =>
  new Client(elasticClientOptions(config, principal));

const RETRY_STATUS = new Set([429, 502, 503, 504]);

export function isTransientElasticError(error: unknown): boolean {
  if (error instanceof errors.ResponseError) return RETRY_STATUS.has(error.statusCode ?? 0);
  return (
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoLivingConnectionsError
  );
}

/** "429 es_rejected_execution_exception: rejected execution ..." for messages and health. */
export function describeElasticError(error: unknown): string {
  if (error instanceof errors.ResponseError) {
    const body = error.body as { error?: { type?: string; reason?: string } | string } | undefined;
    const detail =
      typeof body?.error === 'string'
        ? body.error
        : [body?.error?.type, body?.error?.reason].filter(Boolean).join(': ');
    return `${error.statusCode ?? '?'} ${detail || error.message}`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Runs a request, retrying transient failures (at most `maxRetries` more times). */
export function withElasticRetry<T>(
  config: Pick<ElasticConfig, 'maxRetries'>,
  request: () => Promise<T>,
  sleep?: (ms: number) => Promise<void>,
  isTransient: (error: unknown) => boolean = isTransientElasticError,
): Promise<T> {
  return withRetry(request, {
    attempts: config.maxRetries + 1,
    baseDelayMs: 200,
    maxDelayMs: 5000,
    isTransient,
    ...(sleep ? { sleep } : {}),
  });
}

/**
 * For searches a caller waits on: as transient, except a timeout. A search that took the
 * whole request timeout would take it again on a cluster already that slow, and each retry
 * is one more such query: the caller gets UNAVAILABLE at once instead.
 */
export const isRetryableSearchError = (error: unknown): boolean =>
  !(error instanceof errors.TimeoutError) && isTransientElasticError(error);

/** The response, or undefined when Elasticsearch answers 404 (the thing does not exist). */
export async function unlessMissing<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof errors.ResponseError && error.statusCode === 404) return undefined;
    throw error;
  }
}
