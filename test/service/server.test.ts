/**
 * The service on a real socket, for what `inject` cannot show: listening on a chosen port,
 * the header limit, an orderly stop (in-flight requests finish, idle keep-alive connections
 * do not hold it up, the port is closed afterwards, a stuck request is reported), and the
 * indexer running beside the service until it stops.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/bootstrap/postgres/embedded.js';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import { createNovaDb, type NovaDb } from '../../src/lib/db/index.js';
import type { PostgresHealth } from '../../src/lib/db/postgres/health.js';
import { type RunningService, shutdown, startService } from '../../src/service/server.js';
import { testConfig, uniqueEmail, useTestDatabase } from '../support/database.js';
import { ScriptedSink } from '../support/telemetry.js';
import { elasticConfig, searchCluster, userWithToken } from './fixtures.js';

const t = await useTestDatabase();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The defaults `nova serve` has, on a free port, with shorter intervals. */
const config = (overrides: Partial<ServiceConfig> = {}): ServiceConfig => ({
  ...loadConfig({}).service,
  port: 0,
  healthIntervalMs: 1000,
  shutdownTimeoutMs: 5000,
  ...overrides,
});

const dbs: NovaDb[] = [];
const services: RunningService[] = [];
afterAll(async () => {
  for (const service of services) await service.stop();
  for (const db of dbs) await db.close();
});
async function start(db: NovaDb, overrides: Partial<ServiceConfig> = {}) {
  dbs.push(db);
  const service = await startService(db, {
    postgresUrl: t.url,
    config: config(overrides),
    app: { logger: false },
  });
  services.push(service);
  return service;
}

/**
 * A NovaDb whose PostgreSQL health check takes `ms` (a slow dependency, injected), and a
 * promise that resolves once a probe has begun: a request is then in flight for sure.
 */
function slowHealthDb(ms: number, ...args: Partial<Parameters<typeof createNovaDb>>) {
  const [config = testConfig(t.url), options] = args;
  const db = createNovaDb(config, options);
  const real = db.postgres.health;
  let began: () => void = () => undefined;
  const probing = new Promise<void>((resolve) => {
    began = resolve;
  });
  Object.defineProperty(db.postgres, 'health', {
    value: async (): Promise<PostgresHealth> => {
      began();
      await sleep(ms);
      return real();
    },
  });
  return Object.assign(db, { probing });
}

/** A GET with node:http, so headers and agents are ours to choose. */
function request(
  url: string,
  { headers = {}, agent }: { headers?: Record<string, string>; agent?: http.Agent } = {},
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.get(url, { headers, ...(agent ? { agent } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** Writes `text` to a new connection and resolves with all it receives until closed. */
function raw(url: string, text: string) {
  const { hostname: host, port } = new URL(url);
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), host, () => socket.write(text));
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('startService', () => {
  it('listens on the port the system chose and answers /livez', async () => {
    const service = await start(createNovaDb(testConfig(t.url)));
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(service.url).not.toMatch(/:0$/);
    const response = await fetch(`${service.url}/livez`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  });

  it('answers a request whose headers exceed 16 KiB with 431', async () => {
    const service = await start(createNovaDb(testConfig(t.url)));
    const fits = await request(`${service.url}/livez`, {
      headers: { 'x-padding': 'a'.repeat(15 * 1024) },
    });
    expect(fits.status).toBe(200);
    const tooLarge = await request(`${service.url}/livez`, {
      headers: { 'x-padding': 'a'.repeat(17 * 1024) },
    });
    expect(tooLarge.status).toBe(431);
    expect(JSON.parse(tooLarge.body)).toEqual({
      error: {
        code: 'HEADERS_TOO_LARGE',
        message: 'the request line and headers exceed the size limit',
        field: 'headers',
      },
    });
  });

  it('answers what the HTTP parser refuses in the error shape, and closes the connection', async () => {
    const service = await start(createNovaDb(testConfig(t.url)));
    const answer = await raw(service.url, 'GET /livez HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toContain('Connection: close');
    expect(JSON.parse(answer.split('\r\n\r\n')[1] ?? '')).toEqual({
      error: { code: 'VALIDATION_FAILED', message: 'malformed HTTP request' },
    });
  });

  it('answers a request arriving on an open connection during the stop 503 UNAVAILABLE', async () => {
    // The first request's probe (1.5 s, within the 2 s probe bound) outlasts the steps below
    // by far: the connection stays busy.
    const db = slowHealthDb(1500);
    const service = await start(db);
    const { hostname: host, port } = new URL(service.url);
    const socket = net.connect(Number(port), host);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
    await db.probing;
    const stopped = service.stop();
    while (service.app.server.listening) await sleep(10); // the stop has begun
    socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    expect(await stopped).toBe(true);
    const [first, second] = received.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second?.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(second?.split('\r\n\r\n')[1] ?? '')).toEqual({
      error: { code: 'UNAVAILABLE', message: 'the service is stopping; retry elsewhere' },
    });
  });

  it('stops in order: the in-flight request finishes, then the port is closed', async () => {
    const db = slowHealthDb(400);
    const service = await start(db);
    const agent = new http.Agent({ keepAlive: false });
    const inFlight = request(`${service.url}/api/health`, { agent });
    await db.probing;
    const started = Date.now();
    const stopped = service.stop();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ checks: { postgres: { status: 'up' } } });
    expect(await stopped).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(fetch(`${service.url}/livez`)).rejects.toMatchObject({
      cause: { code: 'ECONNREFUSED' },
    });
  });

  it('is not held up by a keep-alive connection whose request was in flight when it began', async () => {
    // Load balancers and Node's own global agent keep connections alive. The connection
    // becomes idle only after the stop began; it must not be left open for the 72 s
    // keep-alive timeout, making every stop under traffic miss shutdownTimeoutMs.
    const db = slowHealthDb(400);
    const service = await start(db);
    const agent = new http.Agent({ keepAlive: true });
    try {
      const inFlight = request(`${service.url}/api/health`, { agent });
      await db.probing;
      const started = Date.now();
      const stopped = service.stop();
      expect((await inFlight).status).toBe(200);
      expect(await stopped).toBe(true);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      agent.destroy();
    }
  });

  it('is not held up by an idle keep-alive connection', async () => {
    const service = await start(createNovaDb(testConfig(t.url)));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await request(`${service.url}/livez`, { agent })).status).toBe(200);
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
      const started = Date.now();
      expect(await service.stop()).toBe(true);
      // The keep-alive timeout is 72 s: the idle connection was closed, not waited for.
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      agent.destroy();
    }
  });

  it('reports a stop that outlasts shutdownTimeoutMs', async () => {
    const db = slowHealthDb(2000);
    const service = await start(db, { shutdownTimeoutMs: 300 });
    const agent = new http.Agent({ keepAlive: false });
    const inFlight = request(`${service.url}/api/health`, { agent }).catch(() => undefined);
    await db.probing;
    const started = Date.now();
    expect(await service.stop()).toBe(false);
    expect(Date.now() - started).toBeLessThan(1500);
    await inFlight;
  });

  it('shuts down in order: the in-flight request is answered and recorded, the telemetry writer flushed, then the SDK', async () => {
    const sink = new ScriptedSink();
    const { mongo, telemetry } = loadConfig({
      MONGO_URL: `mongodb://127.0.0.1:${await freePort()}/?directConnection=true`,
      // Nothing leaves the buffer by time: only the stop's flush can deliver the event.
      TELEMETRY_FLUSH_INTERVAL_MS: '3600000',
    });
    const db = slowHealthDb(400, { ...testConfig(t.url), mongo, telemetry }, { mongo: { sink } });
    // An authenticated caller's: only those requests are recorded as events.
    const { token } = await userWithToken(t, 'admin');
    const service = await start(db);
    const inFlight = request(`${service.url}/api/health`, {
      agent: new http.Agent({ keepAlive: false }),
      headers: { authorization: `Bearer ${token}` },
    });
    await db.probing;
    const recordedAtFlush: string[] = [];
    const stopped = shutdown(service, {
      closeStores: () => db.close(),
      flushTelemetry: async () => {
        recordedAtFlush.push(...[...sink.stored.values()].map(({ collection }) => collection));
      },
      timeoutMs: 5000,
      warn: (message) => expect.fail(message),
    });
    expect((await inFlight).status).toBe(200);
    expect(await stopped).toBe(true);
    // The writer's last flush came before the SDK's, and carried the in-flight request (beside
    // the dependency status events of the health report's first probes).
    expect(recordedAtFlush.filter((c) => c !== 'system_logs').sort()).toEqual([
      'api_usage',
      'performance_metrics',
    ]);
    const usage = [...sink.stored.values()].find(({ collection }) => collection === 'api_usage');
    expect(usage?.doc).toMatchObject({ path: '/api/health', statusCode: 200 });
  });

  it('shutdown attempts every step when one fails, and says which', async () => {
    const db = createNovaDb(testConfig(t.url));
    const service = await start(db);
    const warnings: string[] = [];
    const flushed: boolean[] = [];
    const clean = await shutdown(service, {
      closeStores: async () => {
        await db.close();
        throw new Error('pool close failed');
      },
      flushTelemetry: async () => {
        flushed.push(true);
        throw new Error('collector answered 400');
      },
      timeoutMs: 5000,
      warn: (message) => warnings.push(message),
    });
    expect(clean).toBe(true); // serving stopped in time; the rest was reported
    expect(flushed).toEqual([true]);
    expect(warnings).toEqual([
      'closing the stores failed: pool close failed',
      'flushing telemetry failed: collector answered 400',
    ]);
    const failing = { stop: async () => Promise.reject(new Error('onClose hook threw')) };
    const closed: boolean[] = [];
    expect(
      await shutdown(failing as unknown as RunningService, {
        closeStores: async () => {
          closed.push(true);
        },
        flushTelemetry: async () => undefined,
        timeoutMs: 1000,
        warn: (message) => warnings.push(message),
      }),
    ).toBe(false);
    expect(closed).toEqual([true]);
    expect(warnings.at(-1)).toBe('stopping the service failed: onClose hook threw');
  });

  it('runs the outbox indexer while serving, and stops it with the service', async () => {
    const { cluster, client } = searchCluster();
    const db = createNovaDb(
      { ...testConfig(t.url), elastic: elasticConfig },
      { elasticClient: client },
    );
    const requester = await t.db.createUser({
      email: uniqueEmail('server'),
      firstName: 'S',
      lastName: 'V',
    });
    const service = await start(db);
    const ticket = await t.db.postgres.createTicket({
      title: 'Indexed while serving',
      requesterId: requester.id,
    });
    const deadline = Date.now() + 10_000;
    while (!cluster.documents('nova_tickets').has(ticket.id) && Date.now() < deadline) {
      await sleep(50);
    }
    expect(cluster.documents('nova_tickets').get(ticket.id)?.source).toMatchObject({
      title: 'Indexed while serving',
    });
    expect(await service.stop()).toBe(true);
    const later = await t.db.postgres.createTicket({
      title: 'After the stop',
      requesterId: requester.id,
    });
    await sleep(1500);
    expect(cluster.documents('nova_tickets').has(later.id)).toBe(false);
  });
});
