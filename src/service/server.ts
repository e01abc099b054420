/**
 * `nova serve`: the service listening, with the outbox indexer running beside it when
 * Elasticsearch is configured, and an orderly stop: no new connections (new requests on open
 * ones get 503), in-flight requests finish, the indexer settles its batch; `shutdown` then
 * closes the stores (which flushes the telemetry writer) and the SDK. A stop that takes
 * longer than `shutdownTimeoutMs` is reported, so the process can exit anyway.
 */
import type { FastifyInstance } from 'fastify';
import type { KibanaConfig, ServiceConfig } from '../config.js';
import type { NovaDb } from '../lib/db/index.js';
import { settleBy } from '../lib/deadline.js';
import { buildApp, type ServiceOptions } from './app.js';
import { serviceHealth } from './dependencies.js';

export interface RunningService {
  app: FastifyInstance;
  /** http://host:port as bound (port 0 resolved). */
  url: string;
  /** Stops serving and indexing; false when it did not finish within the timeout. */
  stop(): Promise<boolean>;
}

export interface Shutdown {
  /** Closes the stores, which flushes the telemetry writer (and stops an embedded PostgreSQL). */
  closeStores(): Promise<void>;
  /** Flushes and stops the OpenTelemetry SDK, when it runs. */
  flushTelemetry(): Promise<void>;
  timeoutMs: number;
  /** Told about a step that failed; the steps after it still run. */
  warn(message: string): void;
}

/**
 * `nova serve`'s whole stop, under one bound: serving and indexing stop (in-flight requests
 * finish), then the stores close (the telemetry writer's last flush, itself traced), then the
 * SDK flushes spans and metrics. The stores get a few seconds even after a slow stop (an
 * embedded PostgreSQL must stop cleanly); the SDK only what is left of the bound, so an
 * unreachable collector cannot hold the exit. True when serving stopped in time.
 */
export async function shutdown(
  service: RunningService | undefined,
  { closeStores, flushTelemetry, timeoutMs, warn }: Shutdown,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  // Each step is attempted whatever the one before did: a failed close must not keep the
  // telemetry writer or the SDK from flushing.
  const attempt = async <T>(step: string, work: () => Promise<T>) =>
    work().catch((error: unknown) => {
      warn(`${step} failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
  const clean = service ? await attempt('stopping the service', () => service.stop()) : true;
  await settleBy(Math.max(deadline, Date.now() + 3000), attempt('closing the stores', closeStores));
  await settleBy(deadline, attempt('flushing telemetry', flushTelemetry));
  return clean === true;
}

export async function startService(
  db: NovaDb,
  {
    postgresUrl,
    config,
    kibana,
    app: appOptions = {},
  }: {
    postgresUrl: string;
    config: ServiceConfig;
    /** Reported in /api/health when set. */
    kibana?: KibanaConfig | undefined;
    app?: ServiceOptions;
  },
): Promise<RunningService> {
  const { health, ready } = serviceHealth(db, {
    postgresUrl,
    kibana,
    intervalMs: config.healthIntervalMs,
  });
  // Before the first request: authenticated requests are then served from memory.
  if (config.authCache) await db.postgres.usePrincipalCache(config.authCache);
  const app = buildApp(
    { db, health, ready },
    {
      connections: config.connections,
      clientLimits: config.clientLimits,
      metricsToken: config.metricsToken,
      analyticsConcurrency: config.analyticsConcurrency,
      trustProxy: config.trustProxy,
      ...appOptions,
    },
  );
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  const indexing = new AbortController();
  const indexer = db.elasticConfigured
    ? db.indexer.run(indexing.signal, {
        onDrain: (result) => app.log.info({ indexer: result }, 'indexer drained outbox rows'),
      })
    : Promise.resolve();

  return {
    app,
    url: `http://${host}:${port}`,
    stop: async () => {
      indexing.abort();
      // Fastify closes the connections idle when close() starts; a keep-alive connection
      // whose request was in flight becomes idle only after answering, and would otherwise
      // stay open for the whole keep-alive timeout (fastify/fastify#7044). Sweep them.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
      try {
        const stopped = await settleBy(
          Date.now() + config.shutdownTimeoutMs,
          Promise.all([app.close(), indexer]).then(() => true),
        );
        return stopped === true;
      } finally {
        clearInterval(sweep);
      }
    },
  };
}
