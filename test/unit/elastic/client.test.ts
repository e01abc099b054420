import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import {
  createElasticClient,
  describeElasticError,
  elasticClientOptions,
  isTransientElasticError,
  withElasticRetry,
} from '../../../src/lib/db/elastic/client.js';
import { expectNovaError } from '../../support/nova-error.js';

const elastic = (env: Record<string, string> = {}) => {
  const config = loadConfig({ ELASTIC_URL: 'https://es1:9200,https://es2:9200', ...env }).elastic;
  if (!config) throw new Error('expected an elastic config');
  return config;
};

const response = (statusCode: number, type = 'x') =>
  new errors.ResponseError({
    body: { error: { type, reason: 'because' }, status: statusCode },
    statusCode,
    headers: {},
    warnings: null,
    meta: {} as never,
  });

describe('elasticClientOptions', () => {
  it('uses every node, our own retries only, and the configured timeout', () => {
    expect(elasticClientOptions(elastic({ ELASTIC_REQUEST_TIMEOUT_MS: '2500' }))).toMatchObject({
      nodes: ['https://es1:9200', 'https://es2:9200'],
      requestTimeout: 2500,
      maxRetries: 0,
    });
  });

  it('authenticates with a user, an API key, or for bootstrap as the admin', () => {
    expect(
      elasticClientOptions(elastic({ ELASTIC_USERNAME: 'nova', ELASTIC_PASSWORD: 'pw-123' })).auth,
    ).toEqual({
      username: 'nova',
      password: 'pw-123',
    });
    expect(elasticClientOptions(elastic({ ELASTIC_API_KEY: 'a2V5' })).auth).toEqual({
      apiKey: 'a2V5',
    });
    const both = elastic({
      ELASTIC_API_KEY: 'a2V5',
      ELASTIC_ADMIN_USERNAME: 'elastic',
      ELASTIC_ADMIN_PASSWORD: 'changeme',
    });
    expect(elasticClientOptions(both, 'admin').auth).toEqual({
      username: 'elastic',
      password: 'changeme',
    });
  });

  it('reads the CA file, and says clearly when it cannot', () => {
    const error = expectNovaError(
      () => elasticClientOptions(elastic({ ELASTIC_CA_FILE: '/nonexistent/ca.pem' })),
      {
        code: 'CONFIG_INVALID',
        field: 'ELASTIC_CA_FILE',
      },
    );
    expect(error.message).toContain('ENOENT');
    expect(
      elasticClientOptions(elastic({ ELASTIC_CA_FILE: 'package.json' })).tls?.ca,
    ).toBeInstanceOf(Buffer);
  });

  it('refuses conflicting or incomplete credentials and passwords Elasticsearch refuses (under 6 characters)', () => {
    expectNovaError(
      () => elastic({ ELASTIC_API_KEY: 'k', ELASTIC_USERNAME: 'u', ELASTIC_PASSWORD: 'p' }),
      {
        code: 'CONFIG_INVALID',
        field: 'ELASTIC_API_KEY',
      },
    );
    expectNovaError(() => elastic({ ELASTIC_ADMIN_USERNAME: 'elastic' }), {
      code: 'CONFIG_INVALID',
      field: 'ELASTIC_ADMIN_PASSWORD',
    });
    expectNovaError(() => elastic({ KIBANA_SYSTEM_PASSWORD: '12345' }), {
      code: 'CONFIG_INVALID',
      field: 'KIBANA_SYSTEM_PASSWORD',
    });
    expectNovaError(() => elastic({ ELASTIC_USERNAME: 'nova', ELASTIC_PASSWORD: '12345' }), {
      code: 'CONFIG_INVALID',
      field: 'ELASTIC_PASSWORD',
    });
    expectNovaError(() => loadConfig({ ELASTIC_URL: 'http://es1:9200,ftp://es2' }), {
      code: 'CONFIG_INVALID',
      field: 'ELASTIC_URL',
    });
  });
});

describe('retries', () => {
  it('retries 429, 502, 503, 504, timeouts and connection errors, nothing else', () => {
    for (const status of [429, 502, 503, 504])
      expect(isTransientElasticError(response(status))).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 500])
      expect(isTransientElasticError(response(status))).toBe(false);
    expect(isTransientElasticError(new errors.TimeoutError('timed out'))).toBe(true);
    expect(isTransientElasticError(new errors.ConnectionError('ECONNREFUSED'))).toBe(true);
    expect(isTransientElasticError(new Error('other'))).toBe(false);
  });

  it('backs off and succeeds after 429 then 503; gives up after maxRetries', async () => {
    const delays: number[] = [];
    const sleep = async (ms: number) => {
      delays.push(ms);
    };
    const answers = [response(429, 'es_rejected_execution_exception'), response(503)];
    const result = await withElasticRetry(
      { maxRetries: 3 },
      async () => {
        const next = answers.shift();
        if (next) throw next;
        return 'ok';
      },
      sleep,
    );
    expect(result).toBe('ok');
    expect(delays).toHaveLength(2);
    let calls = 0;
    const error = await withElasticRetry(
      { maxRetries: 2 },
      async () => {
        calls++;
        throw response(503);
      },
      sleep,
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(describeElasticError(error)).toBe('503 x: because');
  });
});

describe('timeouts, through the real client and transport', () => {
  it('gives up on a node that never answers after requestTimeout, retrying each attempt', async () => {
    let received = 0;
    const server = createServer(() => {
      received++; // accepted, never answered
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const config = elastic({
      ELASTIC_URL: `http://127.0.0.1:${port}`,
      ELASTIC_REQUEST_TIMEOUT_MS: '200',
      ELASTIC_MAX_RETRIES: '1',
    });
    const client = createElasticClient(config);
    const started = performance.now();
    try {
      const error = await withElasticRetry(
        config,
        () => client.cluster.health(),
        async () => {},
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errors.TimeoutError);
      expect(received).toBe(2);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await client.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
