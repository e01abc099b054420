/**
 * /livez, /readyz and /api/health in-process: readiness follows PostgreSQL and the migration
 * status of a real database; health is down (503) when PostgreSQL is, degraded (200) when an
 * optional dependency is; detail only for health:details; and however many requests arrive
 * at once, each dependency is probed once per interval.
 */
import { type AddressInfo, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../src/bootstrap/postgres/embedded.js';
import { readMigrations } from '../../src/bootstrap/postgres/migrations.js';
import { loadConfig } from '../../src/config.js';
import { createNovaDb, type NovaDb } from '../../src/lib/db/index.js';
import { buildApp } from '../../src/service/app.js';
import type { Authenticate } from '../../src/service/auth.js';
import { type ServiceHealthOptions, serviceHealth } from '../../src/service/dependencies.js';
import { type HealthReport, HealthService, type ProbeResult } from '../../src/service/health.js';
import type { Readiness } from '../../src/service/routes/health.js';
import { createEmptyDatabase, testConfig, useTestDatabase } from '../support/database.js';
import { startKibanaStatus, statusAnswer } from '../support/kibana-status.js';
import { ScriptedSink } from '../support/telemetry.js';
import { elasticConfig, get, searchCluster, userWithToken } from './fixtures.js';

const t = await useTestDatabase();
/** A second migrated database, whose migration records the tests tamper with. */
const tampered = await useTestDatabase({ seed: false });
const emptyUrl = await createEmptyDatabase();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const opened: { close(): Promise<unknown> }[] = [];
afterAll(async () => {
  for (const item of opened.reverse()) await item.close();
});
/** An app over `db` with the real dependency probes, closed (with the db) after the file. */
function serviceOn(
  db: NovaDb,
  postgresUrl: string,
  options: Omit<ServiceHealthOptions, 'postgresUrl'> = {},
) {
  const deps = serviceHealth(db, { postgresUrl, ...options });
  const app = buildApp({ db, ...deps }, { logger: false });
  opened.push(db, app);
  return { app, ...deps };
}
/** An app over hand-made health sources (the db only authenticates). */
function appWith(health: HealthService, authenticate?: Authenticate) {
  const ready = async (): Promise<Readiness> => ({ ready: true, reasons: [] });
  const app = buildApp(
    { db: t.db, health, ready, ...(authenticate ? { authenticate } : {}) },
    { logger: false },
  );
  opened.push(app);
  return app;
}
const source = (name: string, required: boolean, probe: () => Promise<ProbeResult>) => ({
  name,
  required,
  probe,
});
const up = async (): Promise<ProbeResult> => ({ status: 'up', latencyMs: 1 });
const detailsFor: Authenticate = async () => ({
  tokenId: crypto.randomUUID(),
  userId: crypto.randomUUID(),
  permissions: ['health:details'],
});

/** A Kibana /api/status on 127.0.0.1 answering `level`, counting its requests. */
async function kibanaStatus(level: string) {
  const kibana = await startKibanaStatus(statusAnswer(level));
  opened.push(kibana);
  return { config: kibana.config(), requests: () => kibana.seen.length };
}

let main: ReturnType<typeof serviceOn>;
let deadUrl: string;
let dead: ReturnType<typeof serviceOn>;
beforeAll(async () => {
  main = serviceOn(createNovaDb(testConfig(t.url)), t.url);
  deadUrl = `postgresql://nova:nova@127.0.0.1:${await freePort()}/nova`;
  dead = serviceOn(
    createNovaDb(testConfig(deadUrl, { retryAttempts: 1, connectTimeoutMs: 300 }), {
      retryBaseDelayMs: 1,
    }),
    deadUrl,
  );
});

describe('GET /livez', () => {
  it('answers 200 while the process runs, whatever the databases do', async () => {
    for (const { app } of [main, dead]) {
      const response = await get(app, '/livez');
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ok' });
    }
  });
});

describe('GET /readyz', () => {
  it('is 200 on a reachable, fully migrated database', async () => {
    const response = await get(main.app, '/readyz');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ready: true, reasons: [] });
  });

  it('is 503 on a database that was never migrated, naming the command that fixes it', async () => {
    const { app } = serviceOn(createNovaDb(testConfig(emptyUrl)), emptyUrl);
    const response = await get(app, '/readyz');
    expect(response.statusCode).toBe(503);
    const { ready, reasons } = response.json<Readiness>();
    expect(ready).toBe(false);
    expect(reasons).toHaveLength(1);
    // A count: /readyz answers anyone, and migration names describe the schema.
    expect(reasons[0]).toBe(
      `migrations pending: ${readMigrations().length} (run nova bootstrap postgres)`,
    );
  });

  it('is 503 counting pending, modified or failed migrations, naming none', async () => {
    const check = async () => {
      const { app } = serviceOn(createNovaDb(testConfig(tampered.url)), tampered.url);
      const response = await get(app, '/readyz');
      return { status: response.statusCode, body: response.json<Readiness>() };
    };
    expect(await check()).toEqual({ status: 200, body: { ready: true, reasons: [] } });
    const [latest] = await tampered.sql<{ migration_name: string }>(
      `SELECT migration_name FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1`,
    );
    const [earliest] = await tampered.sql<{ migration_name: string }>(
      `SELECT migration_name FROM _prisma_migrations ORDER BY migration_name LIMIT 1`,
    );
    const name = latest?.migration_name ?? '';
    await tampered.sql(`DELETE FROM _prisma_migrations WHERE migration_name = $1`, [name]);
    expect(await check()).toEqual({
      status: 503,
      body: {
        ready: false,
        reasons: ['migrations pending: 1 (run nova bootstrap postgres)'],
      },
    });
    await tampered.sql(
      `UPDATE _prisma_migrations SET checksum = 'edited' WHERE migration_name = $1`,
      [earliest?.migration_name],
    );
    expect((await check()).body.reasons).toEqual([
      'migrations pending: 1 (run nova bootstrap postgres)',
      'migrations modified: 1 (see nova migrate status)',
    ]);
    await tampered.sql(
      `UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = $1`,
      [earliest?.migration_name],
    );
    expect(await check()).toEqual({
      status: 503,
      body: {
        ready: false,
        reasons: [
          'migrations pending: 1 (run nova bootstrap postgres)',
          'migrations failed: 1 (see nova migrate status)',
        ],
      },
    });
  });

  it('is 503 when PostgreSQL is not reachable', async () => {
    const response = await get(dead.app, '/readyz');
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ ready: false, reasons: ['PostgreSQL is not reachable'] });
  });

  it('is 503 when the migration status cannot be read, and asks again only after the interval', async () => {
    // PostgreSQL answers the probe, but the migration status is read from a server that
    // hangs up on every connection: each read attempt shows up as connections to it.
    let connections = 0;
    const hangUp = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
    opened.push({ close: () => new Promise((resolve) => hangUp.close(resolve)) });
    const { port } = hangUp.address() as AddressInfo;
    const { app } = serviceOn(
      createNovaDb(testConfig(t.url)),
      `postgresql://n:n@127.0.0.1:${port}/n`,
    );
    const readyz = async () => {
      const response = await get(app, '/readyz');
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({
        ready: false,
        reasons: ['migration status cannot be read'],
      });
    };
    await readyz();
    const afterFirst = connections;
    expect(afterFirst).toBeGreaterThan(0);
    await readyz();
    await readyz();
    expect(connections).toBe(afterFirst);
  });
});

describe('GET /api/health', () => {
  it('shows anyone status and latency, and no details', async () => {
    const response = await get(main.app, '/api/health');
    expect(response.statusCode).toBe(200);
    const report = response.json<HealthReport>();
    expect(report.status).toBe('ok');
    expect(report.checks.postgres).toEqual({
      status: 'up',
      required: true,
      latencyMs: expect.any(Number),
    });
    for (const name of ['mongodb', 'telemetry', 'elasticsearch', 'indexer', 'kibana']) {
      expect(report.checks[name]).toEqual({ status: 'not_configured', required: false });
    }
    expect(response.body).not.toContain('details');
    expect(response.body).not.toContain('serverVersion');
  });

  it('shows details to a token with health:details only', async () => {
    const admin = await userWithToken(t, 'admin');
    const agent = await userWithToken(t, 'agent');
    const detailed = await get(main.app, '/api/health', admin.token);
    expect(detailed.statusCode).toBe(200);
    expect(detailed.json<HealthReport>().checks.postgres?.details).toEqual({
      serverVersion: expect.stringMatching(/^\d+(\.\d+)?/),
    });
    const plain = await get(main.app, '/api/health', agent.token);
    expect(plain.statusCode).toBe(200);
    expect(plain.body).not.toContain('details');
    // Asked again, the tokens come from the principal cache (answered without a promise):
    // the same views, and still no shared caching of a credentialed answer.
    const again = await get(main.app, '/api/health', admin.token);
    expect(again.body).toBe(detailed.body);
    expect(again.headers['cache-control']).toBe('no-store');
    expect((await get(main.app, '/api/health', agent.token)).body).toBe(plain.body);
  });

  it('refuses credentials that are sent but unusable', async () => {
    const former = await userWithToken(t, 'admin');
    await t.db.postgres.revokeApiToken({ id: former.tokenId });
    for (const response of [
      await get(main.app, '/api/health', former.token),
      await get(main.app, '/api/health', undefined, { authorization: 'Basic eDp5' }),
    ]) {
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('is down with 503 when PostgreSQL is not reachable, hiding the error from the public', async () => {
    const response = await get(dead.app, '/api/health');
    expect(response.statusCode).toBe(503);
    const report = response.json<HealthReport>();
    expect(report.status).toBe('down');
    expect(report.checks.postgres).toMatchObject({ status: 'down', required: true });
    expect(report.checks.postgres).not.toHaveProperty('details');
    expect(response.body).not.toContain('127.0.0.1');
  });

  it('is down with 503 when the required source fails, and shows why with health:details', async () => {
    const health = new HealthService([
      source('postgres', true, async () => {
        throw new Error('connect ECONNREFUSED 10.1.2.3:5432');
      }),
      source('elasticsearch', false, up),
    ]);
    const anonymous = await get(appWith(health), '/api/health');
    expect(anonymous.statusCode).toBe(503);
    expect(anonymous.json<HealthReport>()).toEqual({
      status: 'down',
      checks: {
        postgres: { status: 'down', required: true, latencyMs: expect.any(Number) },
        elasticsearch: { status: 'up', required: false, latencyMs: 1 },
      },
    });
    expect(anonymous.body).not.toContain('10.1.2.3');
    const detailed = await get(
      appWith(health, detailsFor),
      '/api/health',
      `nova_${'A'.repeat(43)}`,
    );
    expect(detailed.statusCode).toBe(503);
    expect(detailed.json<HealthReport>().checks.postgres?.details).toEqual({
      error: 'connect ECONNREFUSED 10.1.2.3:5432',
    });
  });

  it('answers JSON made once per report, and a new one as soon as a probe result changes', async () => {
    let clock = 0;
    let state: ProbeResult['status'] = 'up';
    const health = new HealthService(
      [source('postgres', true, up), source('mongodb', false, async () => ({ status: state }))],
      { intervalMs: 1000, now: () => clock },
    );
    const app = appWith(health);
    const first = await get(app, '/api/health');
    const again = await get(app, '/api/health');
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(again.body).toBe(first.body);
    expect(first.json<HealthReport>().checks.mongodb?.status).toBe('up');
    state = 'down';
    expect((await get(app, '/api/health')).json<HealthReport>().checks.mongodb?.status).toBe('up');
    clock += 1001;
    const changed = await get(app, '/api/health');
    expect(changed.statusCode).toBe(200);
    expect(changed.json<HealthReport>()).toMatchObject({
      status: 'degraded',
      checks: { mongodb: { status: 'down' } },
    });
  });

  it('has a current report only while every probe result is fresh, the same object each time', async () => {
    let clock = 0;
    const health = new HealthService([source('postgres', true, up)], {
      intervalMs: 1000,
      now: () => clock,
    });
    expect(health.current({ details: false })).toBeUndefined(); // nothing probed yet
    const report = await health.report({ details: false });
    expect(health.current({ details: false })).toBe(report);
    expect(health.current({ details: true })).not.toBe(report); // another view, its own object
    clock += 1001;
    expect(health.current({ details: false })).toBeUndefined(); // stale: a probe must run
    // The route then takes its general path, and the answer is the same as before.
    const app = appWith(health);
    expect((await get(app, '/api/health')).json<HealthReport>()).toEqual(report);
  });

  it('is degraded, still 200, when an optional dependency is down or degraded', async () => {
    for (const trouble of ['down', 'degraded'] as const) {
      const health = new HealthService([
        source('postgres', true, up),
        source('mongodb', false, async () => ({ status: trouble, latencyMs: 2 })),
        { name: 'elasticsearch', required: false },
      ]);
      const response = await get(appWith(health), '/api/health');
      expect(response.statusCode).toBe(200);
      expect(response.json<HealthReport>()).toMatchObject({
        status: 'degraded',
        checks: {
          postgres: { status: 'up' },
          mongodb: { status: trouble, required: false },
          elasticsearch: { status: 'not_configured' },
        },
      });
    }
  });

  it('is degraded, not down, when the required dependency is degraded', async () => {
    const health = new HealthService([
      source('postgres', true, async () => ({ status: 'degraded', latencyMs: 900 })),
    ]);
    const response = await get(appWith(health), '/api/health');
    expect(response.statusCode).toBe(200);
    expect(response.json<HealthReport>().status).toBe('degraded');
  });

  it('reports a configured Kibana: its level to anyone, its version with health:details', async () => {
    const kibana = await kibanaStatus('degraded');
    const deps = serviceHealth(t.db, { postgresUrl: t.url, kibana: kibana.config });
    const app = buildApp({ db: t.db, ...deps }, { logger: false });
    opened.push(app);
    const anonymous = await get(app, '/api/health');
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json<HealthReport>()).toMatchObject({
      status: 'degraded',
      checks: { kibana: { status: 'degraded', required: false, latencyMs: expect.any(Number) } },
    });
    expect(anonymous.body).not.toContain('8.15.3');
    const admin = await userWithToken(t, 'admin');
    const detailed = await get(app, '/api/health', admin.token);
    expect(detailed.json<HealthReport>().checks.kibana?.details).toEqual({
      level: 'degraded',
      ready: true,
      version: '8.15.3',
    });
  });

  it('is degraded when the configured Elasticsearch does not answer its health APIs', async () => {
    const { client } = searchCluster();
    const db = createNovaDb(
      { ...testConfig(t.url), elastic: elasticConfig },
      { elasticClient: client },
    );
    const { app } = serviceOn(db, t.url);
    await db.indexer.drain();
    const response = await get(app, '/api/health');
    expect(response.statusCode).toBe(200);
    expect(response.json<HealthReport>()).toMatchObject({
      status: 'degraded',
      checks: {
        postgres: { status: 'up' },
        elasticsearch: { status: 'down', required: false },
        indexer: { status: 'up', required: false },
      },
    });
  });
});

describe('the telemetry writers', () => {
  it('reports each store: degraded while MongoDB fails, with nova_logs still written', async () => {
    const { client, cluster } = searchCluster();
    const mongoSink = new ScriptedSink();
    mongoSink.mode = 'fail';
    const { mongo, telemetry } = loadConfig({
      MONGO_URL: `mongodb://127.0.0.1:${await freePort()}/?directConnection=true`,
      MONGO_SERVER_SELECTION_TIMEOUT_MS: '200',
      TELEMETRY_FLUSH_INTERVAL_MS: '20',
    });
    const db = createNovaDb(
      { ...testConfig(t.url), elastic: elasticConfig, mongo, telemetry },
      { elasticClient: client, mongo: { sink: mongoSink } },
    );
    const { app } = serviceOn(db, t.url);
    db.telemetry.logSystem('info', 'started');
    await vi.waitFor(() => {
      const { stores } = db.telemetry.stats();
      expect(stores.elasticsearch?.written).toBe(1);
      expect(stores.mongodb?.failedFlushes).toBeGreaterThan(0);
    });
    expect(cluster.documents('nova_logs').size).toBe(1);
    const admin = await userWithToken(t, 'admin');
    const report = (await get(app, '/api/health', admin.token)).json<HealthReport>();
    expect(report.checks.telemetry).toMatchObject({
      status: 'degraded',
      required: false,
      details: {
        invalid: 0,
        stores: {
          mongodb: {
            written: 0,
            depth: 1,
            lastError: { message: expect.stringContaining('ECONNREFUSED') },
            collections: { system_logs: { queued: 1 } },
          },
          elasticsearch: { written: 1, depth: 0, consecutiveFailures: 0 },
        },
      },
    });
  });
});

describe('probing once per interval', () => {
  it('runs each probe once for 500 concurrent requests, and once more after the interval', async () => {
    const calls = { postgres: 0, mongodb: 0 };
    const slow = (name: keyof typeof calls) => async (): Promise<ProbeResult> => {
      calls[name]++;
      await sleep(50);
      return { status: 'up', latencyMs: 50 };
    };
    // A clock the test moves: however slowly 500 requests run here, they fall in one interval.
    const clock = { now: 0 };
    const health = new HealthService(
      [source('postgres', true, slow('postgres')), source('mongodb', false, slow('mongodb'))],
      { intervalMs: 1000, now: () => clock.now },
    );
    const app = appWith(health);
    const wave = () => Promise.all(Array.from({ length: 500 }, () => get(app, '/api/health')));

    const first = await wave();
    expect(first.every((r) => r.statusCode === 200)).toBe(true);
    expect(new Set(first.map((r) => r.body)).size).toBe(1);
    expect(calls).toEqual({ postgres: 1, mongodb: 1 });
    expect(health.probeRuns()).toEqual({ postgres: 1, mongodb: 1 });

    // Within the interval: the cached result, no probe.
    await wave();
    expect(health.probeRuns()).toEqual({ postgres: 1, mongodb: 1 });

    clock.now += 1000;
    await wave();
    expect(calls).toEqual({ postgres: 2, mongodb: 2 });
    expect(health.probeRuns()).toEqual({ postgres: 2, mongodb: 2 });
  });

  it('probes every real dependency once per interval for 500 concurrent requests', async () => {
    const { client } = searchCluster();
    // MongoDB configured but absent (its probe fails after 200 ms): still probed once.
    const { mongo } = loadConfig({
      MONGO_URL: `mongodb://127.0.0.1:${await freePort()}/?directConnection=true`,
      MONGO_SERVER_SELECTION_TIMEOUT_MS: '200',
    });
    const db = createNovaDb(
      { ...testConfig(t.url), elastic: elasticConfig, mongo },
      { elasticClient: client, mongo: { sink: new ScriptedSink() } },
    );
    const kibana = await kibanaStatus('available');
    const clock = { now: 0 };
    const { app, health } = serviceOn(db, t.url, { kibana: kibana.config, now: () => clock.now });
    const wave = () => Promise.all(Array.from({ length: 500 }, () => get(app, '/api/health')));
    await wave();
    expect(health.probeRuns()).toEqual({
      postgres: 1,
      mongodb: 1,
      telemetry: 1,
      elasticsearch: 1,
      indexer: 1,
      kibana: 1,
    });
    expect(kibana.requests()).toBe(1);
    clock.now += 5000;
    await wave();
    expect(health.probeRuns()).toEqual({
      postgres: 2,
      mongodb: 2,
      telemetry: 2,
      elasticsearch: 2,
      indexer: 2,
      kibana: 2,
    });
    expect(kibana.requests()).toBe(2);
  });
});
