/**
 * The service with MongoDB configured (a ScriptedSink takes the telemetry writes; the URL
 * points at a closed port): analytics parameters validated before MongoDB is asked, an
 * unreachable MongoDB answered 503, and every /api request recorded as api_usage and
 * performance_metrics by route template, without query strings or tokens.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/bootstrap/postgres/embedded.js';
import { loadConfig } from '../../src/config.js';
import { createNovaDb, type NovaDb } from '../../src/lib/db/index.js';
import { serviceHealth } from '../../src/service/dependencies.js';
import { testConfig, useTestDatabase } from '../support/database.js';
import { ScriptedSink } from '../support/telemetry.js';
import { type ErrorBody, get, serviceApp, userWithToken } from './fixtures.js';

const t = await useTestDatabase();
const sink = new ScriptedSink();
let db: NovaDb;
let app: FastifyInstance;
let agent: Awaited<ReturnType<typeof userWithToken>>;

beforeAll(async () => {
  const mongo = loadConfig({
    MONGO_URL: `mongodb://127.0.0.1:${await freePort()}/?directConnection=true`,
    MONGO_SERVER_SELECTION_TIMEOUT_MS: '200',
  }).mongo;
  db = createNovaDb({ ...testConfig(t.url), mongo }, { mongo: { sink } });
  app = serviceApp(db, t.url);
  agent = await userWithToken(t, 'agent');
});
afterAll(async () => {
  await app.close();
  await db.close();
});

describe('analytics queries at once', () => {
  it('runs at most the limit; the others are refused 429 with Retry-After, not queued', async () => {
    const limited = serviceApp(db, t.url, { logger: false, analyticsConcurrency: 2 });
    try {
      // Each query waits out server selection (200 ms) on the closed port, then 503.
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => get(limited, '/api/analytics/search', agent.token)),
      );
      const statuses = answers.map((a) => a.statusCode).sort();
      expect(statuses).toEqual([429, 429, 429, 429, 503, 503]);
      const refused = answers.find((a) => a.statusCode === 429);
      expect(refused?.headers['retry-after']).toBe('1');
      expect(refused?.json<ErrorBody>().error.code).toBe('RATE_LIMITED');
      // Once they are done, there is room again.
      expect((await get(limited, '/api/analytics/performance', agent.token)).statusCode).toBe(503);
    } finally {
      await limited.close();
    }
  });
});

describe('analytics with MongoDB configured', () => {
  it.each([
    ['/api/analytics/search?timeRange=forever', 'timeRange'],
    ['/api/analytics/performance?timeRange=forever', 'timeRange'],
    ['/api/analytics/performance?timeRange=9999d', 'timeRange'],
    ['/api/analytics/search?timeRange=', 'timeRange'],
  ])('refuses %s naming %s before asking MongoDB', async (url, field) => {
    // MongoDB is not there: had it been asked first, the answer would be 503.
    const response = await get(app, url, agent.token);
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorBody>().error).toMatchObject({ code: 'VALIDATION_FAILED', field });
  });

  it('answers 503 UNAVAILABLE when MongoDB does not answer', async () => {
    const response = await get(app, '/api/analytics/performance?timeRange=1h', agent.token);
    expect(response.statusCode).toBe(503);
    expect(response.json<ErrorBody>().error.code).toBe('UNAVAILABLE');
  });
});

describe('api_usage and performance_metrics', () => {
  it('records /api requests by route, with the caller, never the query string or token', async () => {
    // Earlier tests' records first, so only this test's remain to be looked at.
    await db.mongo.flush();
    sink.stored.clear();
    await get(app, '/api/analytics/search?timeRange=forever&scope=kb', agent.token);
    await get(app, '/api/analytics/search?timeRange=forever');
    await get(app, '/livez');
    await get(app, '/readyz');
    await get(app, '/api/does-not-exist?q=private');
    // onResponse hooks run as the response finishes: let the last one run before flushing.
    await new Promise((resolve) => setImmediate(resolve));
    expect(await db.mongo.flush()).toBe(true);

    const stored = [...sink.stored.values()];
    // The anonymous 401 is no event (anyone could fill the store with them): metrics count it.
    const usage = stored.filter((s) => s.collection === 'api_usage').map((s) => s.doc);
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({
      method: 'GET',
      path: '/api/analytics/search',
      statusCode: 400,
      durationMs: expect.any(Number),
      userId: agent.userId,
    });

    const performance = stored.filter((s) => s.collection === 'performance_metrics');
    expect(performance.map((s) => s.doc)).toEqual([
      expect.objectContaining({
        service: 'api',
        endpoint: '/api/analytics/search',
        statusCode: 400,
      }),
    ]);
    const scrape = (await get(app, '/metrics')).body;
    expect(scrape).toMatch(
      /^http_server_request_duration_count\{[^}]*http_response_status_code="401"[^}]*http_route="\/api\/analytics\/search"[^}]*\} [1-9]/m,
    );

    const text = JSON.stringify(stored);
    expect(text).not.toContain(agent.token);
    expect(text).not.toContain('forever');
    expect(text).not.toContain('private');
    expect(text).not.toContain('/livez');
  });
});

describe('dependency status changes', () => {
  it('logs each dependency as it is first probed, as system_logs events SREs chart in Kibana', async () => {
    await db.mongo.flush();
    sink.stored.clear();
    const health = serviceHealth(db, { postgresUrl: t.url, intervalMs: 60_000 }).health;
    await health.report({ details: false });
    await health.report({ details: false });
    expect(await db.mongo.flush()).toBe(true);
    const changes = [...sink.stored.values()]
      .filter((s) => s.collection === 'system_logs')
      .map((s) => s.doc);
    expect(changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'info',
          message: 'postgres is up',
          action: 'dependency_up',
          entityType: 'dependency',
          entityId: 'postgres',
        }),
        expect.objectContaining({
          level: 'error',
          action: 'dependency_down',
          entityType: 'dependency',
          entityId: 'mongodb',
        }),
      ]),
    );
    // One per change, not per report: the second report found nothing new.
    expect(changes.filter((c) => c.entityId === 'postgres')).toHaveLength(1);
  });
});
