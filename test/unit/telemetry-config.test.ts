import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  DEFAULT_RETENTION_DAYS,
  TELEMETRY_COLLECTIONS,
} from '../../src/lib/telemetry/collections.js';
import { expectNovaError } from '../support/nova-error.js';

const DAY = 86_400_000;
const base = { MONGO_URL: 'mongodb://localhost:27017/?replicaSet=rs0' };
const mongo = (env: Record<string, string>) => loadConfig({ ...base, ...env }).mongo;

describe('MongoDB configuration', () => {
  it('defaults retention to the design and write concern to majority for audit only', () => {
    const config = mongo({});
    for (const c of TELEMETRY_COLLECTIONS) {
      expect(config?.retentionMs[c]).toBe(DEFAULT_RETENTION_DAYS[c] * DAY);
      expect(config?.writeConcern[c]).toBe(c === 'audit_logs' ? 'majority' : 1);
    }
    expect(config).toMatchObject({
      dbName: 'nova_logs',
      authSource: 'nova_logs',
      admin: undefined,
    });
  });

  it('overrides retention and write concern per collection', () => {
    const config = mongo({
      MONGO_RETENTION: 'performance_metrics=14d, api_usage=12h,system_logs=90m',
      MONGO_WRITE_CONCERN: 'audit_logs=2,api_usage=majority',
    });
    expect(config?.retentionMs).toMatchObject({
      performance_metrics: 14 * DAY,
      api_usage: 12 * 3_600_000,
      system_logs: 90 * 60_000,
      audit_logs: 90 * DAY,
    });
    expect(config?.writeConcern).toMatchObject({
      audit_logs: 2,
      api_usage: 'majority',
      system_logs: 1,
    });
  });

  it.each([
    ['MONGO_RETENTION', 'audit_log=90d', /unknown collection "audit_log"/],
    ['MONGO_RETENTION', 'audit_logs=90', /audit_logs: expected a duration/],
    ['MONGO_RETENTION', 'audit_logs=30s', /at least 1m/],
    ['MONGO_RETENTION', 'audit_logs', /not collection=value/],
    ['MONGO_RETENTION', 'audit_logs=1d=2', /not collection=value/],
    ['MONGO_WRITE_CONCERN', 'audit_logs=0', /majority or a member count/],
    ['MONGO_WRITE_CONCERN', 'audit_logs=all', /majority or a member count/],
  ])('%s=%s is refused naming the variable', (name, value, message) => {
    const error = expectNovaError(() => mongo({ [name]: value }), {
      code: 'CONFIG_INVALID',
      field: name,
    });
    expect(error.message).toMatch(message);
  });

  it('needs user and password together, for the application and for the admin', () => {
    expectNovaError(() => mongo({ MONGO_USER: 'nova' }), {
      code: 'CONFIG_INVALID',
      field: 'MONGO_PASSWORD',
    });
    expectNovaError(() => mongo({ MONGO_PASSWORD: 'x' }), {
      code: 'CONFIG_INVALID',
      field: 'MONGO_USER',
    });
    expectNovaError(() => mongo({ MONGO_ADMIN_USER: 'root' }), {
      code: 'CONFIG_INVALID',
      field: 'MONGO_ADMIN_PASSWORD',
    });
    expect(mongo({ MONGO_ADMIN_USER: 'root', MONGO_ADMIN_PASSWORD: 'pw' })?.admin).toEqual({
      user: 'root',
      password: 'pw',
    });
  });

  it('never echoes a secret value in its error', () => {
    const error = expectNovaError(() => mongo({ MONGO_POOL_SIZE: 'hunter2' }), {
      code: 'CONFIG_INVALID',
      field: 'MONGO_POOL_SIZE',
    });
    expect(error.message).not.toContain('hunter2');
  });
});

describe('telemetry writer configuration', () => {
  it('has bounded defaults', () => {
    expect(loadConfig({}).telemetry).toEqual({
      serviceName: 'nova-api',
      bufferSize: 10_000,
      batchSize: 500,
      flushIntervalMs: 1000,
      writeTimeoutMs: 10_000,
      shutdownTimeoutMs: 5000,
    });
  });

  it('refuses a batch larger than the buffer', () => {
    expectNovaError(
      () => loadConfig({ TELEMETRY_BUFFER_SIZE: '100', TELEMETRY_BATCH_SIZE: '500' }),
      {
        code: 'CONFIG_INVALID',
        field: 'TELEMETRY_BATCH_SIZE',
      },
    );
  });
});
