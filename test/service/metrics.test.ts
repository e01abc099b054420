/**
 * GET /metrics in-process (no SDK: the service's own MeterProvider): Prometheus text with the
 * request duration by route pattern, dependency status from the health probes, and nothing
 * of the callers' search text or tokens.
 */
import { metrics } from '@opentelemetry/api';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createNovaDb } from '../../src/lib/db/index.js';
import { buildApp } from '../../src/service/app.js';
import { serviceHealth } from '../../src/service/dependencies.js';
import { testConfig, useTestDatabase } from '../support/database.js';
import { ScriptedSink } from '../support/telemetry.js';
import { elasticConfig, get, searchCluster, serviceApp, userWithToken } from './fixtures.js';

const t = await useTestDatabase();
const db = createNovaDb(testConfig(t.url));
const app = serviceApp(db, t.url);
afterAll(async () => {
  await app.close();
  await db.close();
});

/** The value of the first sample line of `metric` whose labels include every one given. */
function sample(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('serves request durations by route pattern and the dependencies as gauges', async () => {
    const before = await get(app, '/metrics');
    const counted = (text: string) =>
      sample(text, 'http_server_request_duration_count', {
        http_route: '/api/health',
        http_response_status_code: '200',
      }) ?? 0;
    const start = counted(before.body);
    await get(app, '/api/health');
    await get(app, '/api/health');
    const response = await get(app, '/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain; version=0.0.4');
    expect(counted(response.body) - start).toBe(2);
    expect(response.body).toMatch(/^# UNIT http_server_request_duration s$/m);
    expect(response.body).toContain('http_server_request_duration_bucket{');
    expect(sample(response.body, 'nova_dependency_status', { nova_dependency: 'postgres' })).toBe(
      1,
    );
    // Not configured: not reported at all.
    expect(response.body).not.toContain('nova_dependency="mongodb"');
    // Unauthenticated: no resource description (host, process owner, command line).
    expect(response.body).not.toContain('target_info');
  });

  it('labels requests by route, never by URL: no search text, ids or tokens', async () => {
    const { token } = await userWithToken(t, 'agent');
    await get(app, '/api/tickets/search?q=confidential-words&assignee=none', token);
    await get(app, '/api/nothing-here/4f1c');
    const text = (await get(app, '/metrics')).body;
    expect(
      sample(text, 'http_server_request_duration_count', {
        http_route: '/api/tickets/search',
        http_response_status_code: '503',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('confidential-words');
    expect(text).not.toContain('4f1c');
    expect(text).not.toContain(token);
    // An unmatched request is counted without a route.
    expect(text).toMatch(
      /http_server_request_duration_count\{(?![^}]*http_route)[^}]*http_response_status_code="404"/,
    );
  });

  it("reports each telemetry store's buffer and drops", async () => {
    const mongoSink = new ScriptedSink();
    mongoSink.mode = 'stall';
    const { mongo, telemetry } = loadConfig({
      MONGO_URL: 'mongodb://127.0.0.1:1/?directConnection=true',
      MONGO_SERVER_SELECTION_TIMEOUT_MS: '200',
      TELEMETRY_BUFFER_SIZE: '3',
      TELEMETRY_BATCH_SIZE: '3',
      TELEMETRY_FLUSH_INTERVAL_MS: '20',
      TELEMETRY_SHUTDOWN_TIMEOUT_MS: '100',
    });
    const stores = createNovaDb(
      { ...testConfig(t.url), elastic: elasticConfig, mongo, telemetry },
      { elasticClient: searchCluster().client, mongo: { sink: mongoSink } },
    );
    // No dependency status events: the scrape's probes would add them to the drops counted here.
    const quiet = { postgresUrl: t.url, onStatusChange: () => undefined };
    const withStores = buildApp({ db: stores, ...serviceHealth(stores, quiet) }, { logger: false });
    try {
      // Five at once into buffers of three: each store drops two.
      for (let i = 0; i < 5; i++) stores.telemetry.logSystem('info', `event ${i}`);
      await vi.waitFor(() =>
        expect(stores.telemetry.stats().stores.elasticsearch?.written).toBe(3),
      );
      const text = (await get(withStores, '/metrics')).body;
      const store = (name: string) => ({ nova_telemetry_store: name });
      expect(sample(text, 'nova_telemetry_queue_depth', store('mongodb'))).toBe(3);
      expect(sample(text, 'nova_telemetry_dropped_total', store('mongodb'))).toBe(2);
      expect(sample(text, 'nova_telemetry_queue_depth', store('elasticsearch'))).toBe(0);
      expect(sample(text, 'nova_telemetry_dropped_total', store('elasticsearch'))).toBe(2);
    } finally {
      await withStores.close();
      await stores.close();
    }
  });

  it('carries no server.address or server.port: the databases behind the service stay unnamed', async () => {
    // What the pg and undici instrumentations record, on the provider the service reads.
    metrics
      .getMeter('test')
      .createHistogram('db.client.operation.duration', { unit: 's' })
      .record(0.002, {
        'db.system.name': 'postgresql',
        'server.address': '10.0.0.7',
        'server.port': 35525,
      });
    const text = (await get(app, '/metrics')).body;
    expect(text).toMatch(/^db_client_operation_duration_count\{[^}]*db_system_name="postgresql"/m);
    expect(text).not.toMatch(/server_address|server_port|10\.0\.0\.7|35525/);
  });

  it('with NOVA_METRICS_TOKEN, needs that token as a bearer token', async () => {
    const token = 'scrape-token-0123456789';
    const guarded = serviceApp(db, t.url, { logger: false, metricsToken: token });
    try {
      const anonymous = await get(guarded, '/metrics');
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.headers['www-authenticate']).toBe('Bearer');
      expect(anonymous.body).not.toContain('http_server');
      expect((await get(guarded, '/metrics', 'scrape-token-012345678X')).statusCode).toBe(401);
      const scraped = await get(guarded, '/metrics', token);
      expect(scraped.statusCode).toBe(200);
      expect(scraped.body).toContain('http_server_request_duration');
      // The probes stay open.
      expect((await get(guarded, '/livez')).statusCode).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
