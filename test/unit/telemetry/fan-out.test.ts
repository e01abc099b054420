/**
 * One event, every telemetry store, each at its own pace: the log offers each event to
 * MongoDB's and Elasticsearch's writers, and one store stalled or down never delays or drops
 * the other's events. First on the log with scripted sinks, then on novaDb as the service
 * builds it: the real Elasticsearch sink over Elastic's client mock (not Elasticsearch) and
 * a scripted MongoDB sink (no MongoDB can run here; the live suites cover real servers).
 */
import { Client } from '@elastic/elasticsearch';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createNovaDb, type NovaDb } from '../../../src/lib/db/index.js';
import { BatchWriter } from '../../../src/lib/telemetry/batch-writer.js';
import { TelemetryLog } from '../../../src/lib/telemetry/telemetry-log.js';
import { FakeCluster } from '../../support/elastic-cluster.js';
import { ScriptedSink } from '../../support/telemetry.js';

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

function stores({ bufferSize = 50, flushIntervalMs = 20 } = {}) {
  const options = {
    bufferSize,
    batchSize: 10,
    flushIntervalMs,
    writeTimeoutMs: 10_000, // a stalled store hangs rather than times out, unless a test says so
    baseRetryDelayMs: 5,
    maxRetryDelayMs: 20,
  };
  const mongoSink = new ScriptedSink();
  const elasticSink = new ScriptedSink();
  const mongodb = new BatchWriter(mongoSink, options);
  const elasticsearch = new BatchWriter(elasticSink, options);
  const log = new TelemetryLog({ mongodb, elasticsearch }, { service: 'nova-api' });
  open.push({ close: () => log.close(50) });
  return { log, mongoSink, elasticSink, mongodb, elasticsearch };
}

const logSome = (log: TelemetryLog, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => log.logUserActivity(`u${from + i}`, 'ticket_viewed'));

describe('TelemetryLog over two stores', () => {
  it('builds each event once and gives the same document to every store', async () => {
    const { log, mongoSink, elasticSink } = stores();
    expect(log.stores).toEqual(['mongodb', 'elasticsearch']);
    expect(log.logApiUsage('GET', '/api/health', 200, 3, { userId: 'u1' })).toBe(true);
    expect(await log.flush()).toBe(true);
    const [inMongo] = [...mongoSink.stored.values()];
    const [inElastic] = [...elasticSink.stored.values()];
    expect(inMongo?.doc).toBe(inElastic?.doc);
    expect(inMongo?.collection).toBe('api_usage');
  });

  it('MongoDB stalled: Elasticsearch still writes every event within the flush interval, MongoDB counts its own drops', async () => {
    const { log, mongoSink, elasticSink, mongodb, elasticsearch } = stores({ bufferSize: 50 });
    mongoSink.mode = 'stall';
    // Fewer than a batch: only the interval (20 ms) writes them.
    logSome(log, 0, 3);
    await vi.waitFor(() => expect(elasticsearch.stats().written).toBe(3), { timeout: 2000 });
    // Then more than MongoDB's buffer holds, in rounds, as requests would log them.
    const accepted: boolean[] = [];
    for (let round = 0; round < 8; round++) {
      accepted.push(...logSome(log, 3 + round * 10, 10));
      await vi.waitFor(() => expect(elasticsearch.stats().written).toBe(13 + round * 10), {
        timeout: 2000,
      });
    }
    expect(elasticSink.stored.size).toBe(83);
    expect(elasticsearch.stats()).toMatchObject({ written: 83, dropped: 0, depth: 0 });
    expect(mongodb.stats()).toMatchObject({ written: 0, depth: 50, dropped: 33 });
    // False: not every store took it. The stats say which one dropped it.
    expect(accepted.filter((a) => !a)).toHaveLength(33);
    expect(log.stats().stores).toMatchObject({
      mongodb: { dropped: 33, collections: { user_activity: { dropped: 33 } } },
      elasticsearch: { dropped: 0 },
    });
  });

  it('Elasticsearch down: MongoDB still writes every event, Elasticsearch counts its failures and drops', async () => {
    const { log, mongoSink, elasticSink, mongodb, elasticsearch } = stores({ bufferSize: 20 });
    elasticSink.mode = 'fail';
    for (let round = 0; round < 4; round++) {
      logSome(log, round * 10, 10);
      await vi.waitFor(() => expect(mongodb.stats().written).toBe(10 + round * 10), {
        timeout: 2000,
      });
    }
    expect(mongoSink.stored.size).toBe(40);
    expect(mongodb.stats()).toMatchObject({ dropped: 0, consecutiveFailures: 0 });
    await vi.waitFor(() => expect(elasticsearch.stats().failedFlushes).toBeGreaterThan(1));
    expect(elasticsearch.stats()).toMatchObject({ written: 0, depth: 20, dropped: 20 });
    expect(elasticsearch.stats().lastError?.message).toContain('ECONNREFUSED');
  });

  it('drops before building only when no store can take the event', () => {
    const { log, mongoSink, elasticSink } = stores({ bufferSize: 5 });
    mongoSink.mode = 'stall';
    elasticSink.mode = 'stall';
    logSome(log, 0, 5);
    let built = 0;
    const details = {
      get n() {
        built++;
        return 1;
      },
    };
    expect(log.logSystem('info', 'x', details)).toBe(false);
    expect(built).toBe(0);
    const { stores: counters } = log.stats();
    expect(counters.mongodb?.collections.system_logs.dropped).toBe(1);
    expect(counters.elasticsearch?.collections.system_logs.dropped).toBe(1);
  });

  it('closes every store within the same bound: a stalled one costs the bound, not the other its events', async () => {
    const { log, mongoSink, elasticSink } = stores({ flushIntervalMs: 3_600_000 });
    mongoSink.mode = 'stall';
    logSome(log, 0, 5);
    const started = performance.now();
    const reports = await log.close(200);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(reports).toEqual({
      mongodb: { written: 0, abandoned: 5 },
      elasticsearch: { written: 5, abandoned: 0 },
    });
    expect(elasticSink.stored.size).toBe(5);
    expect(log.stats().stores.mongodb).toMatchObject({ dropped: 5, depth: 0 });
  });
});

/** Elastic's client mock behind a client novaDb may close. */
function elasticClient(cluster: FakeCluster) {
  const MockConnection = cluster.mock.getConnection();
  class Connection extends MockConnection {
    override async close() {}
  }
  return new Client({ node: 'http://127.0.0.1:9200', Connection, maxRetries: 0 });
}

function novaDb(env: Record<string, string>, mongoSink?: ScriptedSink, cluster?: FakeCluster) {
  const config = loadConfig({
    TELEMETRY_FLUSH_INTERVAL_MS: '20',
    TELEMETRY_SHUTDOWN_TIMEOUT_MS: '300',
    ...env,
  });
  const db: NovaDb = createNovaDb(config, {
    ...(mongoSink ? { mongo: { sink: mongoSink } } : {}),
    ...(cluster ? { elasticClient: elasticClient(cluster) } : {}),
  });
  open.push(db);
  return db;
}
const MONGO_URL = 'mongodb://127.0.0.1:1/?directConnection=true';
const ELASTIC_URL = 'http://127.0.0.1:9200';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('novaDb telemetry: MongoDB and the nova_logs data stream', () => {
  it('novaDb.mongo.log* reach Elasticsearch while MongoDB is stalled, and close stays bounded', async () => {
    const cluster = new FakeCluster();
    const mongoSink = new ScriptedSink();
    mongoSink.mode = 'stall';
    const db = novaDb({ MONGO_URL, ELASTIC_URL }, mongoSink, cluster);
    expect(db.telemetry).toBe(db.mongo.telemetry);
    expect(db.telemetry.stores).toEqual(['mongodb', 'elasticsearch']);

    db.mongo.logApiUsage('GET', '/api/tickets/:id', 200, 12.5, { userId: 'u1', traceId: TRACE });
    db.telemetry.logSystem('warn', 'disk 80% full');
    await vi.waitFor(() => expect(cluster.documents('nova_logs').size).toBe(2), { timeout: 1000 });
    const byDataset = Object.fromEntries(
      [...cluster.documents('nova_logs').values()].map((d) => [
        (d.source?.event as { dataset?: string } | undefined)?.dataset,
        d.source,
      ]),
    );
    expect(byDataset.api_usage).toMatchObject({
      event: { dataset: 'api_usage', duration: 12_500_000, outcome: 'success' },
      http: { request: { method: 'GET' }, response: { status_code: 200 } },
      url: { path: '/api/tickets/:id' },
      user: { id: 'u1' },
      trace: { id: TRACE },
    });
    expect(byDataset.system_logs).toMatchObject({
      log: { level: 'warn' },
      message: 'disk 80% full',
    });
    // Each store's own counters: MongoDB's writer holds the events, Elasticsearch's wrote them.
    expect(db.mongo.stats()).toMatchObject({ written: 0, depth: 2, invalid: 0 });
    expect(db.telemetry.stats().stores.elasticsearch).toMatchObject({ written: 2, depth: 0 });

    const started = performance.now();
    await db.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(db.telemetry.stats().stores.mongodb).toMatchObject({ dropped: 2, depth: 0 });
  });

  it('Elasticsearch down: MongoDB gets every event, and only Elasticsearch fails', async () => {
    const cluster = new FakeCluster();
    cluster.failures = { status: 503, times: Number.MAX_SAFE_INTEGER };
    const mongoSink = new ScriptedSink();
    const db = novaDb({ MONGO_URL, ELASTIC_URL }, mongoSink, cluster);
    for (let i = 0; i < 5; i++) db.mongo.logUserActivity(`u${i}`, 'ticket_viewed');
    await vi.waitFor(() => expect(mongoSink.stored.size).toBe(5), { timeout: 1000 });
    await vi.waitFor(() =>
      expect(db.telemetry.stats().stores.elasticsearch?.failedFlushes).toBeGreaterThan(0),
    );
    const { elasticsearch, mongodb } = db.telemetry.stats().stores;
    expect(mongodb).toMatchObject({ written: 5, consecutiveFailures: 0 });
    expect(elasticsearch).toMatchObject({ written: 0, depth: 5 });
    expect(elasticsearch?.lastError?.message).toBe(
      'user_activity: Elasticsearch _bulk into nova_logs: 503 master_not_discovered_exception: no master',
    );
    expect(db.mongo.stats().consecutiveFailures).toBe(0);
  });

  it('with Elasticsearch only: novaDb.telemetry writes there; novaDb.mongo says what to set', async () => {
    const cluster = new FakeCluster();
    const db = novaDb({ ELASTIC_URL }, undefined, cluster);
    expect(db.telemetryConfigured).toBe(true);
    expect(db.telemetry.stores).toEqual(['elasticsearch']);
    expect(() => db.mongo).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'MONGO_URL' }),
    );
    db.telemetry.logSearch('kb', 'VPN setup', 0, 48);
    expect(await db.telemetry.flush()).toBe(true);
    expect([...cluster.documents('nova_logs').values()][0]?.source).toMatchObject({
      event: { dataset: 'search_analytics', duration: 48_000_000 },
      search: { scope: 'kb', query: 'vpn setup', result_count: 0 },
    });
  });

  it('with MongoDB only: one store; with neither: no telemetry, and a clear error', () => {
    const db = novaDb({ MONGO_URL }, new ScriptedSink());
    expect(db.telemetry.stores).toEqual(['mongodb']);
    const none = novaDb({});
    expect(none.telemetryConfigured).toBe(false);
    expect(() => none.telemetry).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'MONGO_URL' }),
    );
  });
});
