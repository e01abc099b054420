/**
 * The health and analytics service as a Fastify instance, built from its dependencies so
 * tests drive it in-process (`app.inject`) and `nova serve` listens with the same code.
 *
 * Limits and timeouts are chosen, not inherited: no route takes a body (16 KiB is plenty for
 * a mistaken one), the request line and headers are capped at 16 KiB (the query string is in
 * the request line), a request must arrive within 30 s, and idle keep-alive connections live
 * 72 s, longer than the 60 s idle timeout of common load balancers, so the balancer closes
 * first and never sends into a socket we are closing.
 */
import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { packageVersion } from '../cli/runtime.js';
import type { ClientLimits, ConnectionLimits } from '../config.js';
import type { NovaDb } from '../lib/db/index.js';
import { ensureMeterProvider } from '../telemetry/prometheus.js';
import { flushAccessLines, serviceDestination } from './access-batch.js';
import { writeAccessLine } from './access-line.js';
import type { Authenticate, Gate } from './auth.js';
import { ClientLimiter, DEFAULT_CLIENT_LIMITS } from './client-limits.js';
import { capConnections, DEFAULT_CONNECTION_LIMITS, serverOptions } from './connections.js';
import {
  clientErrorHandler,
  errorHandler,
  frameworkErrors,
  notFoundHandler,
  refuseWhileClosing,
} from './errors.js';
import type { HealthService } from './health.js';
import { serviceMetrics } from './metrics.js';
import { serveOpenApi } from './openapi.js';
import { pathOf } from './path.js';
import { analyticsRoutes } from './routes/analytics.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { searchRoutes } from './routes/search.js';
import { endRequestSpan, logCorrelation, traceFields, traceRequests } from './tracing.js';

/** The release, from package.json (two folders up from src/service and dist/service alike). */
const SERVICE_VERSION = packageVersion(new URL('../../package.json', import.meta.url));

export interface ServiceDeps {
  db: NovaDb;
  health: HealthService;
  ready: () => Promise<Readiness>;
  /** Resolves bearer tokens (default: novaDb's API tokens in PostgreSQL). */
  authenticate?: Authenticate;
}

export interface ServiceOptions {
  /** Fastify's (pino) logger options, or false for none (default: info, JSON, to stdout). */
  logger?: boolean | { level?: string; stream?: { write(line: string): void } };
  /** Slow and idle clients (connections.ts); default DEFAULT_CONNECTION_LIMITS. */
  connections?: ConnectionLimits;
  keepAliveTimeoutMs?: number;
  /** Per-client limits on credentialed requests (client-limits.ts); default DEFAULT_CLIENT_LIMITS. */
  clientLimits?: ClientLimits;
  /** Analytics queries at once in this process (NOVA_ANALYTICS_CONCURRENCY, default 4). */
  analyticsConcurrency?: number;
  /** NOVA_TRUST_PROXY: proxies whose X-Forwarded-For names the client (request.ip). */
  trustProxy?: string[];
  /** NOVA_METRICS_TOKEN: /metrics then needs it as a bearer token. */
  metricsToken?: string | undefined;
  bodyLimit?: number;
  maxHeaderSize?: number;
  /** service.name of the local MeterProvider, when the SDK does not run (default nova-api). */
  serviceName?: string;
}

/**
 * Paths recorded as api_usage and performance_metrics events: the API, not probes or
 * scrapes, and only for callers that authenticated. An anonymous request (public health, a
 * refused or missing token) is counted in the metrics alone (http.server.request.duration,
 * nova.auth.failures): events are stored, and anyone can send anonymous requests.
 */
const RECORDED = /^\/api\//;

/**
 * One access-log line per request, when it ends, with what it was (method, path; never the
 * query string) and its trace context; none when it starts. A log line costs about as much
 * as the rest of a cheap request, so there is one, not Fastify's two, and it is made in one
 * shape. 5xx answers are logged as warnings.
 */
class AccessLog extends LogController {
  override incomingRequest() {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply) {
    const trace = traceFields(request.span);
    if (!error && reply.statusCode < 500) {
      writeAccessLine(reply.log, {
        id: request.id,
        method: request.method,
        path: pathOf(request.url),
        statusCode: reply.statusCode,
        responseTime: reply.elapsedTime,
        trace,
      });
      return;
    }
    const line = { req: request, res: reply, responseTime: reply.elapsedTime, ...trace };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.warn(line, 'request completed');
  }
}

export function buildApp(deps: ServiceDeps, options: ServiceOptions = {}): FastifyInstance {
  const {
    logger = { level: 'info' },
    connections = DEFAULT_CONNECTION_LIMITS,
    clientLimits = DEFAULT_CLIENT_LIMITS,
    keepAliveTimeoutMs = 72_000,
    bodyLimit = 16 * 1024,
    maxHeaderSize = 16 * 1024,
    serviceName = 'nova-api',
  } = options;
  const app = Fastify({
    logger:
      logger === false
        ? false
        : {
            ...(logger === true ? {} : logger),
            stream: (logger !== true && logger.stream) || serviceDestination(),
            ...logCorrelation,
            // The path only: query strings carry search text, and no header is logged.
            serializers: {
              req: (req: { method: string; url: string; id: string }) => ({
                id: req.id,
                method: req.method,
                path: pathOf(req.url),
              }),
            },
          },
    logController: new AccessLog(),
    // Unique across replicas and restarts (Fastify's default counts from 1 per process): a
    // 5xx body gives it to the caller, the log line has it beside the details.
    genReqId: () => randomUUID(),
    // request.ip, the per-client limits' key: the connection's address unless it is a
    // proxy the operator named, whose X-Forwarded-For then says who the client is.
    ...(options.trustProxy?.length ? { trustProxy: options.trustProxy } : {}),
    requestTimeout: connections.requestTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    bodyLimit,
    http: { maxHeaderSize, ...serverOptions(connections) },
    routerOptions: { maxParamLength: 100 },
    frameworkErrors,
    clientErrorHandler,
    // refuseWhileClosing answers them instead, in the service's error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  // Declared up front, so every request object has the same shape whether or not a route
  // authenticates it (a property added later changes its hidden class per request).
  app.decorateRequest('principal', undefined);
  const { db } = deps;

  // Without the SDK (tests, OTEL_SDK_DISABLED), /metrics still has a MeterProvider to read.
  ensureMeterProvider(serviceName);
  const meters = serviceMetrics(db, deps.health);
  app.addHook('onClose', async () => {
    meters.close();
    flushAccessLines();
  });
  capConnections(app.server, connections.maxConnections, {
    dropped: meters.connectionDropped,
    warn: (message) => app.log.warn(message),
  });
  const gate: Gate = {
    authenticate: deps.authenticate ?? ((token) => db.postgres.authenticateApiToken(token)),
    ...(deps.authenticate ? {} : { cached: (token: string) => db.postgres.cachedApiToken(token) }),
    limiter: new ClientLimiter(clientLimits),
    failed: meters.authFailed,
  };

  traceRequests(app);
  refuseWhileClosing(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: bounded label values, no ids or search text.
    const route = request.routeOptions.url;
    meters.recordRequest(reply.elapsedTime / 1000, request.method, reply.statusCode, route);
    if (request.principal && route && RECORDED.test(route) && db.telemetryConfigured) {
      record(request, reply, route, request.principal.userId);
    }
    endRequestSpan(request.span, reply.statusCode);
    done();
  });
  /** api_usage and performance_metrics, through the telemetry writers (buffered, per store). */
  const record = (request: FastifyRequest, reply: FastifyReply, route: string, userId: string) => {
    const durationMs = Math.round(reply.elapsedTime * 10) / 10;
    const traceId = traceFields(request.span).trace_id;
    const correlation = { requestId: request.id, userId, ...(traceId ? { traceId } : {}) };
    const { telemetry } = db;
    telemetry.logApiUsage(request.method, route, reply.statusCode, durationMs, correlation);
    telemetry.logPerformance('api', route, durationMs, {
      ...correlation,
      statusCode: reply.statusCode,
    });
  };

  // Before the routes: it collects each one's description as it is registered.
  const openApi = serveOpenApi(app, SERVICE_VERSION);
  healthRoutes(app, deps.health, deps.ready, gate);
  searchRoutes(app, db, gate);
  analyticsRoutes(app, db, gate, options.analyticsConcurrency);
  metricsRoute(app, options.metricsToken);
  openApi.seal();
  return app;
}
