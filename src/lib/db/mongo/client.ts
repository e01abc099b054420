/**
 * One MongoClient per store (the driver pools connections per server inside it). Options are
 * built here and nowhere else: credentials go in `auth` rather than the URL (no escaping
 * traps, nothing secret in a logged URL), TLS turns on with a CA file, and timeouts are
 * explicit so a dead replica set fails fast instead of hanging a request.
 */
import { MongoClient, type MongoClientOptions } from 'mongodb';
import type { MongoConfig } from '../../../config.js';

export type MongoPrincipal = 'app' | 'admin';

export function mongoClientOptions(
  config: MongoConfig,
  principal: MongoPrincipal = 'app',
): MongoClientOptions {
  const options: MongoClientOptions = {
    appName: principal === 'app' ? 'nova' : 'nova-bootstrap',
    maxPoolSize: principal === 'app' ? config.poolSize : 2,
    serverSelectionTimeoutMS: config.serverSelectionTimeoutMs,
    connectTimeoutMS: Math.min(config.serverSelectionTimeoutMs, 10_000),
    retryWrites: true,
    retryReads: true,
  };
  const credentials =
    principal === 'admin'
      ? config.admin && { ...config.admin, authSource: 'admin' }
      : config.user && config.password
        ? { user: config.user, password: config.password, authSource: config.authSource }
        : undefined;
  if (credentials) {
    options.auth = { username: credentials.user, password: credentials.password };
    options.authSource = credentials.authSource;
  }
  if (config.tlsCaFile) {
    options.tls = true;
    options.tlsCAFile = config.tlsCaFile;
  }
  return options;
}

export const createMongoClient = (config: MongoConfig, principal: MongoPrincipal = 'app') =>
  new MongoClient(config.url, mongoClientOptions(config, principal));
