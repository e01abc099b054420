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

export const createMongoClient = (
  config: MongoConfig,
  principal: MongoPrincipal = 'app',
  extra: MongoClientOptions = {},
) => new MongoClient(config.url, { ...mongoClientOptions(config, principal), ...extra });

/**
 * A MongoClient that survives a failed first connection. When the driver's initial connect
 * fails (server down, no primary yet), it closes that client's topology, and every later
 * operation on the client fails with MongoTopologyClosedError even after the server is back
 * (mongodb 7.x). So the first connection is made explicitly, single-flight, and a client
 * whose first connect failed is discarded; the next call builds a fresh one. Once connected,
 * the driver's own monitoring handles member failures and elections.
 */
export class MongoConnection {
  readonly #create: () => MongoClient;
  #client: Promise<MongoClient> | undefined;
  /** The client being connected or in use, so close() can abort a pending connect. */
  #current: MongoClient | undefined;
  #closed = false;

  constructor(create: () => MongoClient) {
    this.#create = create;
  }

  connect(): Promise<MongoClient> {
    if (this.#closed) return Promise.reject(new Error('the MongoDB connection was closed'));
    this.#client ??= (async () => {
      const client = this.#create();
      this.#current = client;
      try {
        return await client.connect();
      } catch (error) {
        this.#client = undefined;
        if (this.#current === client) this.#current = undefined;
        await client.close().catch(() => {}); // it failed to open: nothing to flush
        throw error;
      }
    })();
    return this.#client;
  }

  /** Closes the client, aborting a connect still in progress rather than waiting for it. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#current;
    this.#current = undefined;
    this.#client = undefined;
    await client?.close();
  }
}
