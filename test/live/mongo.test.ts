/**
 * The live MongoDB suite: runs against the server MONGO_URL names (MongoDB 7.0 or 8.0, replica
 * set or standalone), e.g. after `pulumi up` or in CI. Three modes, by the credentials given:
 * - MONGO_ADMIN_USER/MONGO_ADMIN_PASSWORD: works in its own database (nova_live_<random>),
 *   creates its own application user there (never one of the server's), runs as it, checks
 *   its least privilege, and drops both at the end;
 * - MONGO_USER alone (a server with --auth, no administrator at hand): that user can reach only
 *   the databases it was granted, so the suite works in MONGO_LIVE_DB, a database the user owns
 *   (dbOwner: bootstrap runs collMod), authenticated where the user is defined
 *   (MONGO_AUTH_SOURCE, else its MONGO_DB_NAME, else nova_logs), and empties it at the end;
 * - no credentials (a server without --auth): its own database, dropped at the end.
 *
 * Without MONGO_URL (or, as MONGO_USER alone, without MONGO_LIVE_DB) every test here is
 * reported as skipped, with the reason in its name and on stderr; it never passes silently.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapMongo } from '../../src/bootstrap/mongo/index.js';
import { loadConfig, type MongoConfig } from '../../src/config.js';
import { mongoClientOptions } from '../../src/lib/db/mongo/client.js';
import { MongoStore } from '../../src/lib/db/mongo.js';

const url = process.env.MONGO_URL;
const suffix = randomBytes(4).toString('hex');
const admin = Boolean(process.env.MONGO_ADMIN_USER && process.env.MONGO_ADMIN_PASSWORD);
const asUser = !admin && Boolean(process.env.MONGO_USER);
const dbName = asUser ? (process.env.MONGO_LIVE_DB ?? '') : `nova_live_${suffix}`;
const SKIP_REASON = !url
  ? 'MONGO_URL is not set'
  : asUser && !dbName
    ? 'MONGO_USER without MONGO_ADMIN_*: set MONGO_LIVE_DB to a database that user owns (the suite empties it)'
    : undefined;
if (SKIP_REASON) process.stderr.write(`\n[live] MongoDB suite SKIPPED: ${SKIP_REASON}\n\n`);

/**
 * With admin credentials the suite creates its own application user (in its own database, so
 * nothing of the server's users is touched) and runs everything else as that user; as
 * MONGO_USER it logs in where that user is defined, not in the suite's database.
 */
const appUser: Record<string, string> = admin
  ? {
      MONGO_USER: `nova_live_${suffix}`,
      MONGO_PASSWORD: randomBytes(18).toString('base64url'),
      MONGO_AUTH_SOURCE: dbName,
    }
  : asUser
    ? {
        MONGO_AUTH_SOURCE:
          process.env.MONGO_AUTH_SOURCE ?? process.env.MONGO_DB_NAME ?? 'nova_logs',
      }
    : {};
const env = (extra: Record<string, string> = {}) => ({
  ...process.env,
  MONGO_DB_NAME: dbName,
  TELEMETRY_FLUSH_INTERVAL_MS: '50',
  ...appUser,
  ...extra,
});
const mongoConfig = (extra?: Record<string, string>) => loadConfig(env(extra)).mongo as MongoConfig;

/** A client with the most privilege configured, to inspect and clean up. */
async function inspector() {
  const config = mongoConfig();
  const client = new MongoClient(
    config.url,
    mongoClientOptions(config, config.admin ? 'admin' : 'app'),
  );
  await client.connect();
  return client;
}

describe.skipIf(SKIP_REASON !== undefined)(
  `MongoDB live suite (${SKIP_REASON === undefined ? `MONGO_URL set, ${admin ? 'own user' : asUser ? 'as MONGO_USER' : 'no credentials'}` : `skipped: ${SKIP_REASON}`})`,
  () => {
    afterAll(async () => {
      if (SKIP_REASON !== undefined) return;
      const client = await inspector();
      try {
        const db = client.db(dbName);
        if (admin) await db.command({ dropUser: appUser.MONGO_USER }).catch(() => {});
        // readWrite (no admin) may drop collections but not the database.
        await db.dropDatabase().catch(async () => {
          for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
            await db.dropCollection(name);
          }
        });
      } finally {
        await client.close();
      }
    });

    it('bootstrap: a dry run changes nothing, the first run converges, the second plans nothing', async () => {
      const config = mongoConfig();
      const dry = await bootstrapMongo(config, { dryRun: true });
      expect(dry.steps.length).toBeGreaterThan(0);
      const client = await inspector();
      try {
        expect(await client.db(dbName).listCollections().toArray()).toEqual([]);
        const first = await bootstrapMongo(config);
        expect(first.changed).toBe(true);
        const second = await bootstrapMongo(config);
        expect(second).toMatchObject({ changed: false, steps: [] });
        const indexes = await client.db(dbName).collection('audit_logs').listIndexes().toArray();
        expect(indexes.find((i) => i.name === 'timestamp_ttl')).toMatchObject({
          key: { timestamp: 1 },
          expireAfterSeconds: 90 * 86_400,
        });
        const [info] = await client
          .db(dbName)
          .listCollections({ name: 'audit_logs' }, { nameOnly: false })
          .toArray();
        expect(info?.options).toMatchObject({
          validationLevel: 'moderate',
          validationAction: 'error',
        });
      } finally {
        await client.close();
      }
    });

    it('a changed TTL is applied in place with collMod and read back from the index', async () => {
      const changed = mongoConfig({ MONGO_RETENTION: 'performance_metrics=14d' });
      const report = await bootstrapMongo(changed);
      expect(report.steps.map((s) => s.command)).toEqual([
        {
          collMod: 'performance_metrics',
          index: { keyPattern: { timestamp: 1 }, expireAfterSeconds: 14 * 86_400 },
        },
      ]);
      const client = await inspector();
      try {
        const ttl = async () =>
          (await client.db(dbName).collection('performance_metrics').listIndexes().toArray()).find(
            (i) => i.name === 'timestamp_ttl',
          )?.expireAfterSeconds;
        expect(await ttl()).toBe(14 * 86_400);
        expect((await bootstrapMongo(changed)).steps).toEqual([]);
        await bootstrapMongo(mongoConfig());
        expect(await ttl()).toBe(7 * 86_400);
      } finally {
        await client.close();
      }
    });

    it('the writer stores sanitized events that the validators accept, and the validators refuse bad ones', async () => {
      const config = mongoConfig();
      const store = new MongoStore(config, loadConfig(env()).telemetry);
      try {
        store.logUserActivity('user-1', 'ticket_created', {
          ticketId: 'T-000001',
          $where: 'sleep(1000)',
          'a.b': 1,
          password: 'hunter2',
        });
        store.logAudit(
          'user-1',
          'user.deactivated',
          { type: 'user', id: 'user-2' },
          { reason: 'left' },
        );
        store.logSystem('warn', 'disk 80% full');
        store.logError(new TypeError('boom'), { requestId: 'req-1' });
        store.logApiUsage('get', '/api/tickets/search', 200, 12.5, { userId: 'user-1' });
        expect(await store.flush()).toBe(true);
        expect(store.stats()).toMatchObject({ written: 5, rejected: 0, dropped: 0, invalid: 0 });
        const db = await store.db();
        const activity = await db.collection('user_activity').findOne({ userId: 'user-1' });
        expect(activity?.timestamp).toBeInstanceOf(Date);
        expect(activity?.details).toEqual({
          ticketId: 'T-000001',
          '\uFF04where': 'sleep(1000)',
          'a\uFF0Eb': 1,
          password: '[REDACTED]',
        });
        expect(await db.collection('error_logs').findOne({ requestId: 'req-1' })).toMatchObject({
          errorType: 'TypeError',
          message: 'boom',
        });
        const refused = await db
          .collection('api_usage')
          .insertOne({ timestamp: 'yesterday', service: 'x', details: {} })
          .catch((e: { code?: number }) => e);
        expect((refused as { code?: number }).code).toBe(121);
      } finally {
        await store.close();
      }
    });

    it('analytics aggregate seeded searches and performance with $percentile', async () => {
      const store = new MongoStore(mongoConfig(), loadConfig(env()).telemetry);
      try {
        for (let i = 0; i < 20; i++) store.logSearch('tickets', 'VPN setup', 3, 100 + i);
        for (let i = 0; i < 5; i++) store.logSearch('kb', 'printer jam', 0, 900);
        for (let i = 0; i < 8; i++)
          store.logPerformance('api', '/tickets/search', 50, { statusCode: 200 });
        for (let i = 0; i < 2; i++)
          store.logPerformance('api', '/tickets/search', 700, { statusCode: 503 });
        expect(await store.flush()).toBe(true);
        const search = await store.searchAnalytics('1h');
        expect(search).toMatchObject({ totalSearches: 25, zeroResultSearches: 5 });
        expect(search.topQueries[0]).toEqual({ query: 'vpn setup', count: 20, avgResults: 3 });
        expect(search.zeroResultQueries).toEqual([{ query: 'printer jam', count: 5 }]);
        expect(search.latencyMs.p50).toBeGreaterThanOrEqual(100);
        expect(search.latencyMs.p99).toBeLessThanOrEqual(900);
        expect(search.volume.reduce((n, b) => n + b.searches, 0)).toBe(25);
        const kbOnly = await store.searchAnalytics('15m', { scope: 'kb' });
        expect(kbOnly.totalSearches).toBe(5);
        const perf = await store.performance('1h', { service: 'api' });
        expect(perf.endpoints).toEqual([
          expect.objectContaining({
            endpoint: '/tickets/search',
            count: 10,
            errors: 2,
            errorRate: 0.2,
          }),
        ]);
      } finally {
        await store.close();
      }
    });

    it('health reports the server and, for a replica set, every member', async () => {
      const store = new MongoStore(mongoConfig(), loadConfig(env()).telemetry);
      try {
        const health = await store.health();
        expect(health.status).toBe('up');
        expect(health.serverVersion).toMatch(/^\d+\.\d+/);
        if (health.replicaSet) {
          expect(health.replicaSet.primary).not.toBeNull();
          expect(health.replicaSet.members.some((m) => m.state === 'PRIMARY')).toBe(true);
        }
      } finally {
        await store.close();
      }
    });

    it.skipIf(!admin)(
      'the application user gets readWrite on the logs database only (needs MONGO_ADMIN_USER/PASSWORD)',
      async () => {
        const config = mongoConfig();
        await bootstrapMongo(config);
        const client = await inspector();
        const app = new MongoClient(config.url, mongoClientOptions(config, 'app'));
        try {
          const { users } = await client
            .db(config.authSource)
            .command({ usersInfo: { user: config.user, db: config.authSource } });
          expect(users[0].roles).toEqual([{ role: 'readWrite', db: dbName }]);
          expect((await bootstrapMongo(config)).steps).toEqual([]);
          // Least privilege: it writes telemetry, but cannot change TTLs or read other databases.
          await app.db(dbName).collection('system_logs').countDocuments();
          const collMod = await app
            .db(dbName)
            .command({ collMod: 'system_logs', validationLevel: 'moderate' })
            .catch((e: { code?: number }) => e);
          expect((collMod as { code?: number }).code).toBe(13);
          const elsewhere = await app
            .db('admin')
            .collection('system.users')
            .findOne()
            .catch((e: { code?: number }) => e);
          expect((elsewhere as { code?: number }).code).toBe(13);
        } finally {
          await app.close();
          await client.close();
        }
      },
    );
  },
);
