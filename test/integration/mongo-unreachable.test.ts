/**
 * The MongoDB paths against a server that is not there: the real driver, a real closed port
 * on 127.0.0.1. What a user sees when MongoDB is down: health says down (PostgreSQL up makes
 * the whole "degraded"), logging keeps accepting within its bound and counts what it loses,
 * shutdown returns on time, analytics and bootstrap fail with one clear UNAVAILABLE error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapMongo } from '../../src/bootstrap/mongo/index.js';
import { freePort } from '../../src/bootstrap/postgres/embedded.js';
import { bootstrapPostgres } from '../../src/bootstrap/postgres/index.js';
import { loadConfig, type MongoConfig, type NovaConfig } from '../../src/config.js';
import { createNovaDb, type NovaDb } from '../../src/lib/db/index.js';
import { createMongoClient, MongoConnection } from '../../src/lib/db/mongo/client.js';
import { MongoStore } from '../../src/lib/db/mongo.js';
import { isNovaError } from '../../src/lib/errors.js';
import { createEmptyDatabase, testConfig } from '../support/database.js';

let config: NovaConfig;
let mongo: MongoConfig;
let db: NovaDb;

beforeAll(async () => {
  const port = await freePort();
  const url = await createEmptyDatabase();
  const env = {
    MONGO_URL: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    MONGO_USER: 'nova',
    MONGO_PASSWORD: 'hunter2',
    MONGO_SERVER_SELECTION_TIMEOUT_MS: '300',
    TELEMETRY_FLUSH_INTERVAL_MS: '20',
    TELEMETRY_BUFFER_SIZE: '50',
    TELEMETRY_BATCH_SIZE: '10',
    TELEMETRY_SHUTDOWN_TIMEOUT_MS: '400',
  };
  config = { ...loadConfig(env), postgres: testConfig(url).postgres };
  mongo = config.mongo as MongoConfig;
  db = createNovaDb(config);
  await bootstrapPostgres(url, db.postgres);
});

afterAll(async () => {
  await db?.close();
});

describe('MongoDB unreachable', () => {
  it('health reports mongodb down with the reason, and the whole as degraded', async () => {
    const health = await db.health();
    expect(health.status).toBe('degraded');
    expect(health.checks.postgres.status).toBe('up');
    expect(health.checks.mongodb).toMatchObject({ status: 'down' });
    const mongodb = health.checks.mongodb as { error: string };
    expect(mongodb.error).toMatch(/MongoServerSelectionError|ECONNREFUSED/);
    expect(JSON.stringify(health)).not.toContain('hunter2');
  });

  it('logging accepts up to the buffer, counts drops and failed flushes, and never throws', async () => {
    const store = db.mongo;
    const accepted = Array.from({ length: 80 }, (_, i) =>
      store.logUserActivity(`user-${i}`, 'ticket_viewed', { i }),
    );
    expect(accepted.filter(Boolean)).toHaveLength(50);
    await expect
      .poll(() => store.stats().failedFlushes, { timeout: 5000 })
      .toBeGreaterThanOrEqual(1);
    const stats = store.stats();
    expect(stats).toMatchObject({ depth: 50, written: 0, dropped: 30 });
    expect(stats.lastError?.message).toMatch(/ECONNREFUSED|Server selection timed out/);
  });

  it('analytics fail with UNAVAILABLE after retries; a bad range fails before any I/O', async () => {
    const error = await db.mongo.performance('1h').catch((e: unknown) => e);
    expect(isNovaError(error, 'UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/^MongoDB performance analytics failed/);
    const started = performance.now();
    const invalid = await db.mongo.searchAnalytics('1y').catch((e: unknown) => e);
    expect(isNovaError(invalid, 'VALIDATION_FAILED')).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('bootstrap waits within its bound, then fails with one UNAVAILABLE error', async () => {
    const started = performance.now();
    const error = await bootstrapMongo(mongo, { waitMs: 700 }).catch((e: unknown) => e);
    expect(isNovaError(error, 'UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(
      /^MongoDB bootstrap failed: MongoServerSelectionError/,
    );
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('a client whose first connect failed is replaced, so later attempts can succeed', async () => {
    // The driver closes the topology of a client whose initial connect failed; reusing it
    // fails forever with MongoTopologyClosedError. MongoConnection builds a fresh client.
    let created = 0;
    const connection = new MongoConnection(() => {
      created++;
      return createMongoClient(mongo);
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await connection.connect().catch((e: unknown) => e);
      expect((error as Error).name).toBe('MongoServerSelectionError');
    }
    expect(created).toBe(2);
    await connection.close();
    await expect(connection.connect()).rejects.toThrow(/closed/);
  });

  it('closing aborts a connect in progress instead of waiting out server selection', async () => {
    const slow = { ...mongo, serverSelectionTimeoutMs: 5000 };
    const connection = new MongoConnection(() => createMongoClient(slow));
    const pending = connection.connect().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await connection.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('a store closes within its shutdown bound even while its first connect is pending', async () => {
    const store = new MongoStore(
      { ...mongo, serverSelectionTimeoutMs: 5000 },
      {
        ...config.telemetry,
        shutdownTimeoutMs: 300,
      },
    );
    store.logSystem('info', 'starting');
    const flushing = store.flush(); // starts the first connect: 5 s of server selection
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    const report = await store.close();
    expect(performance.now() - started).toBeLessThan(1500);
    expect(report).toEqual({ written: 0, abandoned: 1 });
    expect(await flushing).toBe(false);
  });

  it('close() gives up on the buffered events within the shutdown bound and counts them', async () => {
    const store = db.mongo;
    const started = performance.now();
    const report = await store.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(report).toEqual({ written: 0, abandoned: 50 });
    expect(store.stats()).toMatchObject({ depth: 0, dropped: 80 });
  });
});
