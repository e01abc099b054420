import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { loadConfig, type MongoConfig } from '../../../src/config.js';
import { mongoClientOptions } from '../../../src/lib/db/mongo/client.js';
import { isTransientMongoError, wrapMongoError } from '../../../src/lib/db/mongo/errors.js';

const mongo = (env: Record<string, string>): MongoConfig => {
  const config = loadConfig({ MONGO_URL: 'mongodb://h1,h2,h3/?replicaSet=rs0', ...env }).mongo;
  if (!config) throw new Error('expected a mongo config');
  return config;
};

describe('mongoClientOptions', () => {
  it('passes application credentials as auth, authenticated against the logs database', () => {
    const options = mongoClientOptions(mongo({ MONGO_USER: 'nova', MONGO_PASSWORD: 'p@ss:/word' }));
    expect(options).toMatchObject({
      appName: 'nova',
      auth: { username: 'nova', password: 'p@ss:/word' },
      authSource: 'nova_logs',
      maxPoolSize: 20,
      serverSelectionTimeoutMS: 5000,
      retryWrites: true,
    });
    expect(options.tls).toBeUndefined();
  });

  it('uses the admin credentials against admin for bootstrap, with a small pool', () => {
    const config = mongo({
      MONGO_USER: 'nova',
      MONGO_PASSWORD: 'app',
      MONGO_ADMIN_USER: 'root',
      MONGO_ADMIN_PASSWORD: 'rootpw',
      MONGO_AUTH_SOURCE: 'admin',
    });
    expect(mongoClientOptions(config, 'admin')).toMatchObject({
      appName: 'nova-bootstrap',
      auth: { username: 'root', password: 'rootpw' },
      authSource: 'admin',
      maxPoolSize: 2,
    });
    expect(mongoClientOptions(config).authSource).toBe('admin');
  });

  it('sends no credentials when none are configured (they may be in the URL)', () => {
    const options = mongoClientOptions(mongo({}));
    expect(options.auth).toBeUndefined();
    expect(options.authSource).toBeUndefined();
  });

  it('turns TLS on with a CA file', () => {
    expect(mongoClientOptions(mongo({ MONGO_TLS_CA_FILE: '/etc/nova/ca.pem' }))).toMatchObject({
      tls: true,
      tlsCAFile: '/etc/nova/ca.pem',
    });
  });
});

describe('MongoDB error classification', () => {
  it('retries network trouble and elections, not bad requests', () => {
    expect(isTransientMongoError(new MongoNetworkError('reset'))).toBe(true);
    expect(isTransientMongoError(new MongoServerSelectionError('none', {} as never))).toBe(true);
    const notPrimary = new MongoServerError({
      code: 10107,
      codeName: 'NotWritablePrimary',
      errmsg: 'not primary',
    });
    expect(isTransientMongoError(notPrimary)).toBe(true);
    const unauthorized = new MongoServerError({
      code: 13,
      codeName: 'Unauthorized',
      errmsg: 'not authorized',
    });
    expect(isTransientMongoError(unauthorized)).toBe(false);
    expect(isTransientMongoError(new Error('other'))).toBe(false);
  });

  it('wraps with the store, the operation and the server code', () => {
    const unauthorized = new MongoServerError({
      code: 13,
      codeName: 'Unauthorized',
      errmsg: 'not authorized on nova_logs',
    });
    const wrapped = wrapMongoError(unauthorized, 'search analytics');
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.message).toBe(
      'MongoDB search analytics failed: Unauthorized (13): not authorized on nova_logs',
    );
    expect(wrapped.cause).toBe(unauthorized);
    expect(wrapMongoError(new MongoNetworkError('reset'), 'x').code).toBe('UNAVAILABLE');
  });
});
