import { describe, expect, it } from 'vitest';
import { loadConfig, requirePostgres } from '../../src/config.js';

const fail = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    return error as { code: string; field: string; message: string };
  }
  throw new Error('expected loadConfig to fail');
};

describe('loadConfig', () => {
  it('refuses a MONGO_URL the MongoDB driver refuses, naming the variable, at load time', () => {
    for (const url of [
      'mongodb://h/?tls=true&ssl=false',
      'mongodb://u:secret@h/?authMechanism=BOGUS',
      'mongodb://h/?readPreference=nearestx',
    ]) {
      const error = fail({ MONGO_URL: url });
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'MONGO_URL' });
      expect(error.message).toMatch(/^MONGO_URL is refused by the MongoDB driver: /);
      expect(error.message).not.toContain('secret');
    }
    expect(
      loadConfig({ MONGO_URL: 'mongodb://h1:27017,h2:27017/?replicaSet=rs0' }).mongo,
    ).toBeDefined();
  });

  it('refuses the MongoDB administrator as the application user (bootstrap would replace its roles)', () => {
    const env = {
      MONGO_URL: 'mongodb://127.0.0.1:27017/',
      MONGO_USER: 'root',
      MONGO_PASSWORD: 'x',
      MONGO_ADMIN_USER: 'root',
      MONGO_ADMIN_PASSWORD: 'y',
    };
    expect(fail({ ...env, MONGO_AUTH_SOURCE: 'admin' })).toMatchObject({
      code: 'CONFIG_INVALID',
      field: 'MONGO_USER',
    });
    // The same name in the logs database is another user: allowed.
    expect(loadConfig(env).mongo?.authSource).toBe('nova_logs');
  });

  it('uses DATABASE_URL with defaults for the pool and retries', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/nova' });
    expect(config.postgres).toEqual({
      url: 'postgresql://u:p@db:5432/nova',
      poolSize: 10,
      connectTimeoutMs: 5000,
      retryAttempts: 4,
    });
    expect(config.mongo).toBeUndefined();
    expect(config.elastic).toBeUndefined();
  });

  it('builds the URL from POSTGRES_* and escapes special characters in credentials', () => {
    const config = loadConfig({
      POSTGRES_HOST: 'localhost',
      POSTGRES_DB: 'nova_universe',
      POSTGRES_USER: 'nova_user',
      POSTGRES_PASSWORD: 'p@ss:w/rd#1',
      POSTGRES_POOL_SIZE: '25',
    });
    const url = new URL(config.postgres?.url ?? '');
    expect(url.port).toBe('5432');
    expect(decodeURIComponent(url.password)).toBe('p@ss:w/rd#1');
    expect(url.pathname).toBe('/nova_universe');
    expect(config.postgres?.poolSize).toBe(25);
  });

  it.each([
    [
      { POSTGRES_HOST: 'h', POSTGRES_DB: 'd', POSTGRES_USER: 'u' },
      'POSTGRES_PASSWORD',
      /is required/,
    ],
    [{ DATABASE_URL: 'mysql://u:p@h/d' }, 'DATABASE_URL', /must start with postgresql:/],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /not a valid URL/],
    [
      { DATABASE_URL: 'postgresql://h/d', POSTGRES_POOL_SIZE: 'ten' },
      'POSTGRES_POOL_SIZE',
      /malformed/,
    ],
    [
      { DATABASE_URL: 'postgresql://h/d', POSTGRES_POOL_SIZE: '0' },
      'POSTGRES_POOL_SIZE',
      /malformed/,
    ],
    [
      {
        POSTGRES_HOST: 'h',
        POSTGRES_PORT: '70000',
        POSTGRES_DB: 'd',
        POSTGRES_USER: 'u',
        POSTGRES_PASSWORD: 'p',
      },
      'POSTGRES_PORT',
      /malformed/,
    ],
    [{ MONGO_URL: 'http://localhost:27017' }, 'MONGO_URL', /mongodb:/],
    [{ MONGO_URL: 'mongodb://h1:27017,:27017/' }, 'MONGO_URL', /not a valid URL|must name a host/],
    [{ DATABASE_URL: 'postgresql://h1:5432,h2:5432/d' }, 'DATABASE_URL', /names one host/],
    [{ DATABASE_URL: 'postgresql://' }, 'DATABASE_URL', /must name a host/],
    [
      { POSTGRES_HOST: 'bad host', POSTGRES_DB: 'd', POSTGRES_USER: 'u', POSTGRES_PASSWORD: 'p' },
      'POSTGRES_HOST',
      /not a host name/,
    ],
    [{ ELASTIC_URL: 'localhost:9200' }, 'ELASTIC_URL', /http: or https:|not a valid URL/],
    [{ NOVA_HTTP_PORT: '70000' }, 'NOVA_HTTP_PORT', /NOVA_HTTP_PORT is malformed/],
    [{ PORT: 'http' }, 'PORT', /PORT is malformed/],
    [{ PORT: '65536' }, 'PORT', /PORT is malformed/],
    // NOVA_HTTP_PORT wins: a bad one is reported even beside a good PORT.
    [{ NOVA_HTTP_PORT: 'x', PORT: '8080' }, 'NOVA_HTTP_PORT', /NOVA_HTTP_PORT is malformed/],
    [{ NOVA_TRUST_PROXY: '10.0.0.1,proxy.local' }, 'NOVA_TRUST_PROXY', /proxy\.local is not/],
    [{ NOVA_TRUST_PROXY: '10.0.0.0/33' }, 'NOVA_TRUST_PROXY', /10\.0\.0\.0\/33 is not/],
    [{ NOVA_AUTH_FAILURES_PER_MINUTE: '-1' }, 'NOVA_AUTH_FAILURES_PER_MINUTE', /malformed/],
    [{ NOVA_METRICS_TOKEN: 'short' }, 'NOVA_METRICS_TOKEN', /malformed/],
  ])('names the bad variable: %j', (env, field, message) => {
    const error = fail(env);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field });
    expect(error.message).toMatch(message);
  });

  it('accepts an IPv6 POSTGRES_HOST', () => {
    const config = loadConfig({
      POSTGRES_HOST: '::1',
      POSTGRES_DB: 'd',
      POSTGRES_USER: 'u',
      POSTGRES_PASSWORD: 'p',
    });
    expect(new URL(config.postgres?.url ?? '').hostname).toBe('[::1]');
  });

  it('never echoes a value in its errors (they may be secrets)', () => {
    const error = fail({ DATABASE_URL: 'mysql://user:TopSecret@h/d' });
    expect(error.message).not.toContain('TopSecret');
  });

  it('parses MongoDB and Elasticsearch settings with the design defaults', () => {
    const config = loadConfig({
      MONGO_URL: 'mongodb://localhost:27017',
      ELASTIC_URL: 'https://localhost:9200',
      ELASTIC_USERNAME: 'elastic',
      ELASTIC_PASSWORD: 'changeme',
    });
    expect(config.mongo).toMatchObject({ url: 'mongodb://localhost:27017', dbName: 'nova_logs' });
    expect(config.elastic).toMatchObject({
      url: 'https://localhost:9200',
      username: 'elastic',
      password: 'changeme',
    });
  });

  it('takes a MongoDB seed list: several hosts with their ports, credentials once', () => {
    const url = 'mongodb://app:p%40ss@h1:27017,h2:27017,h3:27017/nova_logs?replicaSet=rs0';
    expect(loadConfig({ MONGO_URL: url }).mongo?.url).toBe(url);
  });

  it('reads the trusted proxies: addresses and CIDRs, IPv4 and IPv6; none by default', () => {
    expect(loadConfig({}).service.trustProxy).toEqual([]);
    expect(
      loadConfig({ NOVA_TRUST_PROXY: ' 10.0.0.0/8, 127.0.0.1 ,fd00::/8' }).service.trustProxy,
    ).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
  });

  it('listens on NOVA_HTTP_PORT, else PORT (as hosting platforms set it), else 3000', () => {
    const port = (env: Record<string, string>) => loadConfig(env).service.port;
    expect(port({})).toBe(3000);
    expect(port({ PORT: '8080' })).toBe(8080);
    expect(port({ NOVA_HTTP_PORT: '4000' })).toBe(4000);
    expect(port({ NOVA_HTTP_PORT: '4000', PORT: '8080' })).toBe(4000);
    // Empty counts as unset, as for every variable.
    expect(port({ NOVA_HTTP_PORT: '', PORT: '8080' })).toBe(8080);
    expect(port({ PORT: '' })).toBe(3000);
    // A bad PORT is ignored when NOVA_HTTP_PORT decides.
    expect(port({ NOVA_HTTP_PORT: '4000', PORT: 'http' })).toBe(4000);
  });

  it('keeps authenticated principals 30 s, at most 10000, unless told otherwise; 0 turns it off', () => {
    const cache = (env: Record<string, string>) => loadConfig(env).service.authCache;
    expect(cache({})).toEqual({ ttlMs: 30_000, maxEntries: 10_000 });
    expect(cache({ NOVA_AUTH_CACHE_TTL_MS: '5000', NOVA_AUTH_CACHE_MAX_ENTRIES: '50' })).toEqual({
      ttlMs: 5000,
      maxEntries: 50,
    });
    expect(cache({ NOVA_AUTH_CACHE_TTL_MS: '0' })).toBeUndefined();
    for (const [name, value] of [
      ['NOVA_AUTH_CACHE_TTL_MS', '-1'],
      ['NOVA_AUTH_CACHE_TTL_MS', '1h'],
      ['NOVA_AUTH_CACHE_MAX_ENTRIES', '0'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), name).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', field: name }),
      );
    }
  });

  it('requirePostgres explains what to set when nothing is configured', () => {
    expect(() => requirePostgres(loadConfig({}))).toThrow(/DATABASE_URL is required/);
  });
});
