/**
 * The principal cache on real PostgreSQL: a warm cache answers with no query
 * (pg_stat_statements), and every change that affects a principal takes effect at once in
 * the process that made it and, through the triggers' NOTIFY, in another process, or when
 * made by plain SQL. Expiry is honoured while cached; the cache stays bounded under a flood of
 * random tokens; and without its listening connection it is bypassed, not trusted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNovaDb } from '../../src/lib/db/index.js';
import { serviceApp } from '../service/fixtures.js';
import { testConfig, uniqueEmail, useTestDatabase } from '../support/database.js';

const t = await useTestDatabase();
/** "This process": the store with the cache. */
const cached = createNovaDb(testConfig(t.url), { retryBaseDelayMs: 5 });
/** "Another process": the same database through a store of its own, without a cache. */
const other = t.db.postgres;
const auth = (token: string) => cached.postgres.authenticateApiToken(token);

beforeAll(async () => {
  await t.sql('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await cached.postgres.usePrincipalCache({ ttlMs: 60_000, maxEntries: 5 });
});
afterAll(() => cached.close());

const newUser = async (role?: string) => {
  const user = await t.db.createUser({ email: uniqueEmail('pc'), firstName: 'P', lastName: 'C' });
  if (role) await other.assignRole(user.id, role);
  return user.id;
};

/** Statements run in this database so far, as pg_stat_statements counts them. */
async function statements(): Promise<number> {
  const [row] = await t.sql<{ calls: string }>(
    `SELECT coalesce(sum(calls), 0)::text AS calls FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return Number(row?.calls ?? 0);
}

/**
 * The statements `work` causes, less the counting query itself. Waits first for writes that
 * earlier calls left running (last_used_at is written off the request path).
 */
async function queriesDuring(work: () => Promise<unknown>): Promise<number> {
  await new Promise((done) => setTimeout(done, 150));
  const first = await statements();
  const overhead = (await statements()) - first;
  const before = await statements();
  await work();
  return (await statements()) - before - overhead;
}

/** The queries of a second authentication right after a first (which may fill the cache). */
async function warmQueries(token: string): Promise<number> {
  await auth(token);
  return queriesDuring(() => auth(token));
}

describe('a warm cache', () => {
  it('answers an authenticated request with no query, the same principal as the database', async () => {
    const userId = await newUser('viewer');
    const { token } = await other.createApiToken(userId, { name: 'warm' });
    const first = await auth(token);
    expect(first).toEqual(await other.authenticateApiToken(token));
    // last_used_at was written by the first use; within the minute nothing is written again.
    const queries = await queriesDuring(async () => {
      for (let i = 0; i < 20; i++) expect(await auth(token)).toEqual(first);
    });
    expect(queries).toBe(0);
  });
});

describe('through the service', () => {
  it('GET /api/health with a cached token: no query, and a revoke refuses the next request', async () => {
    const app = serviceApp(cached, t.url, {
      logger: false,
    });
    try {
      const userId = await newUser('admin');
      const created = await other.createApiToken(userId, { name: 'svc' });
      const ask = () =>
        app.inject({ url: '/api/health', headers: { authorization: `Bearer ${created.token}` } });
      const first = await ask(); // from the database, and probes warmed
      expect(first.statusCode).toBe(200);
      expect(
        first.json<{ checks: { postgres: { details?: unknown } } }>().checks.postgres.details,
      ).toBeDefined();
      let again = first;
      const queries = await queriesDuring(async () => {
        again = await ask();
      });
      expect(again.body).toBe(first.body);
      expect(queries).toBe(0);
      await cached.postgres.revokeApiToken({ id: created.id });
      expect((await ask()).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe('changes take effect at once', () => {
  it('a token revoked in this process is refused immediately', async () => {
    const userId = await newUser('viewer');
    const created = await other.createApiToken(userId, { name: 'mine' });
    expect(await auth(created.token)).not.toBeNull();
    await cached.postgres.revokeApiToken({ id: created.id });
    expect(await auth(created.token)).toBeNull();
  });

  it('a token revoked by another process, or by plain SQL, is refused as its notification arrives', async () => {
    const userId = await newUser('viewer');
    const a = await other.createApiToken(userId, { name: 'elsewhere' });
    const b = await other.createApiToken(userId, { name: 'by-sql' });
    expect(await auth(a.token)).not.toBeNull();
    expect(await auth(b.token)).not.toBeNull();
    await other.revokeApiToken({ id: a.id });
    await t.sql('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [b.id]);
    await expect.poll(() => auth(a.token), { timeout: 2000 }).toBeNull();
    await expect.poll(() => auth(b.token), { timeout: 2000 }).toBeNull();
  });

  it('a role given or taken, a permission granted, a user deactivated: honoured', async () => {
    const userId = await newUser('viewer');
    const { token } = await other.createApiToken(userId, { name: 'roles' });
    const viewer = (await auth(token))?.permissions ?? [];
    await other.assignRole(userId, 'admin');
    await expect
      .poll(async () => (await auth(token))?.permissions.length, { timeout: 2000 })
      .toBeGreaterThan(viewer.length);
    await cached.postgres.revokeRole(userId, 'admin');
    expect((await auth(token))?.permissions).toEqual(viewer);

    await other
      .createPermission({ name: 'cache:probe', description: 'cache test' })
      .catch(() => undefined);
    await other.grantPermission('viewer', 'cache:probe');
    await expect
      .poll(async () => (await auth(token))?.permissions, { timeout: 2000 })
      .toContain('cache:probe');

    await other.deactivateUser(userId);
    await expect.poll(() => auth(token), { timeout: 2000 }).toBeNull();
  });

  it('an expired token is refused at its expiry, though cached', async () => {
    const userId = await newUser('viewer');
    const created = await other.createApiToken(userId, { name: 'expiring', expiresInDays: 1 });
    await t.sql(`UPDATE api_tokens SET expires_at = now() + interval '3 seconds' WHERE id = $1`, [
      created.id,
    ]);
    const [row] = await t.sql<{ expires_at: Date }>(
      'SELECT expires_at FROM api_tokens WHERE id = $1',
      [created.id],
    );
    // Cached once the expiry change's own notification has passed (a read it overtakes is not
    // cached).
    await expect.poll(() => warmQueries(created.token), { timeout: 2000 }).toBe(0);
    expect(await auth(created.token)).not.toBeNull();
    const untilExpiry = (row?.expires_at.getTime() ?? 0) - Date.now();
    await new Promise((done) => setTimeout(done, untilExpiry + 50));
    expect(await auth(created.token)).toBeNull();
  });
});

describe('bounded', () => {
  it('keeps at most its limit; random tokens neither enter nor evict', async () => {
    const userId = await newUser('viewer');
    const tokens: string[] = [];
    for (let i = 0; i < 7; i++)
      tokens.push((await other.createApiToken(userId, { name: `b${i}` })).token);
    for (const token of tokens) expect(await auth(token)).not.toBeNull();
    const recent = tokens.slice(-5);
    expect(
      await queriesDuring(async () => {
        for (const token of recent) await auth(token);
      }),
    ).toBe(0);
    const random = () =>
      `nova_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`;
    for (let i = 0; i < 200; i++) expect(await auth(random())).toBeNull();
    // Still the same five, each answered from memory; the oldest two were evicted.
    expect(
      await queriesDuring(async () => {
        for (const token of recent) await auth(token);
      }),
    ).toBe(0);
    expect(await queriesDuring(() => auth(tokens[0] as string))).toBeGreaterThan(0);
  });
});

describe('refused tokens', () => {
  const random = () =>
    `nova_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`;

  it('the same unknown token again costs no query; the memory of refusals is bounded', async () => {
    const fake = random();
    expect(await auth(fake)).toBeNull();
    expect(await queriesDuring(() => auth(fake))).toBe(0);
    // maxEntries (5) refusals at most: after five others, the first is looked up again.
    for (let i = 0; i < 5; i++) expect(await auth(random())).toBeNull();
    expect(await queriesDuring(() => auth(fake))).toBeGreaterThan(0);
  });

  it('a deactivated user made active again: the refused token works at once', async () => {
    const userId = await newUser('viewer');
    const { token } = await other.createApiToken(userId, { name: 'comeback' });
    await other.deactivateUser(userId);
    await expect.poll(() => auth(token), { timeout: 2000 }).toBeNull();
    // Remembered once a lookup completes with no invalidation during it.
    await expect.poll(() => warmQueries(token), { timeout: 2000 }).toBe(0);
    await t.sql('UPDATE users SET active = true WHERE id = $1', [userId]);
    await expect.poll(() => auth(token), { timeout: 2000 }).not.toBeNull();
  });
});

describe('without its listening connection', () => {
  it('is bypassed until LISTEN is back, then serves from memory again', async () => {
    const userId = await newUser('viewer');
    const { token } = await other.createApiToken(userId, { name: 'listener' });
    expect(await auth(token)).not.toBeNull();
    const killed = await t.sql<{ n: string }>(
      `SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity
        WHERE datname = current_database() AND query = 'LISTEN nova_principals'`,
    );
    expect(Number(killed[0]?.n)).toBe(1);
    // While it is gone, a change it would have been told of is not missed: every request asks
    // the database.
    await expect.poll(() => queriesDuring(() => auth(token)), { timeout: 2000 }).toBeGreaterThan(0);
    // Back within the reconnect delay, empty, then warm again.
    await expect.poll(() => warmQueries(token), { timeout: 5000 }).toBe(0);
  });
});
