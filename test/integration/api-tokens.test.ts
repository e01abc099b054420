/**
 * API tokens on real PostgreSQL: the secret is returned once and only its SHA-256 is stored
 * (nor does the audit trail see it), authentication resolves a user's permissions and refuses
 * revoked, expired, unknown and malformed tokens and deactivated users, names are unique
 * among a user's active tokens, and last_used_at is written at most once a minute.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROLES } from '../../src/bootstrap/postgres/default-roles.js';
import { freePort } from '../../src/bootstrap/postgres/embedded.js';
import { createNovaDb } from '../../src/lib/db/index.js';
import { DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS } from '../../src/lib/db/postgres/api-tokens.js';
import { testConfig, uniqueEmail, useTestDatabase } from '../support/database.js';
import { expectFailure } from '../support/failures.js';
import { novaFailure } from '../support/nova-error.js';

const t = await useTestDatabase();
const store = t.db.postgres;
const TOKEN = /^nova_[A-Za-z0-9_-]{43}$/;

const newUser = async (role?: string) => {
  const user = await t.db.createUser({ email: uniqueEmail('tok'), firstName: 'T', lastName: 'K' });
  if (role) await store.assignRole(user.id, role);
  return user.id;
};
const sha256 = (value: string) => createHash('sha256').update(value).digest();
const tokenRow = async (id: string) =>
  (
    await t.sql<{ token_hash: Buffer; last_used_at: Date | null; revoked_at: Date | null }>(
      'SELECT * FROM api_tokens WHERE id = $1',
      [id],
    )
  )[0];

let viewerId: string;
beforeAll(async () => {
  viewerId = await newUser('viewer');
});

describe('creating a token', () => {
  it('returns the secret once and stores only its SHA-256', async () => {
    const created = await store.createApiToken(viewerId, { name: 'ci' });
    expect(created.token).toMatch(TOKEN);
    expect(created).toMatchObject({
      userId: viewerId,
      name: 'ci',
      expiresAt: expect.any(Date),
      lastUsedAt: null,
      revokedAt: null,
      scopes: [],
    });
    expect(created).not.toHaveProperty('tokenHash');

    const row = await tokenRow(created.id);
    expect(Buffer.isBuffer(row?.token_hash)).toBe(true);
    expect(row?.token_hash.equals(sha256(created.token))).toBe(true);
    // No column holds the secret, nor any 20-character stretch of it, in any encoding.
    const [asText] = await t.sql<{ text: string }>(
      `SELECT row_to_json(a)::text AS text FROM api_tokens a WHERE id = $1`,
      [created.id],
    );
    const secret = created.token.slice('nova_'.length);
    expect(asText?.text).not.toContain(secret.slice(0, 20));
    expect(asText?.text).not.toContain(Buffer.from(created.token).toString('hex').slice(0, 40));

    // Two tokens never share a secret.
    const other = await store.createApiToken(viewerId, { name: 'ci-2' });
    expect(other.token).not.toBe(created.token);
  });

  it('audits creation and revocation without the secret or its hash', async () => {
    const userId = await newUser();
    const created = await store.createApiToken(
      userId,
      { name: 'audited' },
      { userAgent: 'api-tokens.test' },
    );
    await store.revokeApiToken({ id: created.id });
    const audits = await t.sql<{ action: string; after: Record<string, unknown> }>(
      `SELECT action, before, after, user_agent FROM audit_logs
        WHERE entity_type = 'user' AND entity_id = $1 AND action LIKE 'api_token.%' ORDER BY id`,
      [userId],
    );
    expect(audits.map((a) => a.action)).toEqual(['api_token.created', 'api_token.revoked']);
    expect(audits[0]?.after).toMatchObject({ id: created.id, name: 'audited' });
    const text = JSON.stringify(audits);
    expect(text).not.toContain(created.token);
    expect(text).not.toContain(created.token.slice('nova_'.length, 25));
    expect(text).not.toContain(sha256(created.token).toString('hex'));
    expect(text).not.toContain(sha256(created.token).toString('base64'));
    expect(text).not.toMatch(/tokenHash|token_hash/);
  });

  it('sets an expiry from expiresInDays', async () => {
    const before = Date.now();
    const created = await store.createApiToken(viewerId, { name: 'month', expiresInDays: 30 });
    const expires = created.expiresAt?.getTime() ?? 0;
    expect(expires).toBeGreaterThanOrEqual(before + 30 * 86_400_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
  });

  it('expires in 90 days unless asked otherwise, 365 at most; or in hours', async () => {
    const before = Date.now();
    const plain = await store.createApiToken(viewerId, { name: 'default-life' });
    const expires = plain.expiresAt?.getTime() ?? 0;
    expect(expires).toBeGreaterThanOrEqual(before + DEFAULT_TOKEN_DAYS * 86_400_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + DEFAULT_TOKEN_DAYS * 86_400_000);
    expect(DEFAULT_TOKEN_DAYS).toBe(90);
    for (const input of [
      { name: 'too-long', expiresInDays: MAX_TOKEN_DAYS + 1 },
      { name: 'forever', expiresInDays: 0 },
      { name: 'both', expiresInDays: 1, expiresInHours: 1 },
    ]) {
      expect(await expectFailure(t, () => store.createApiToken(viewerId, input))).toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    }
    const short = await store.createApiToken(viewerId, { name: 'short', expiresInHours: 8 });
    expect((short.expiresAt?.getTime() ?? 0) - short.createdAt.getTime()).toBeLessThanOrEqual(
      8 * 3_600_000 + 1000,
    );
  });

  it('scopes a token to some of its user’s permissions; it authenticates with those only', async () => {
    const agentId = await newUser('agent');
    const scoped = await store.createApiToken(agentId, {
      name: 'search-only',
      scopes: ['kb:search', 'tickets:search', 'kb:search'],
    });
    expect(scoped.scopes).toEqual(['kb:search', 'tickets:search']);
    expect((await store.authenticateApiToken(scoped.token))?.permissions).toEqual([
      'kb:search',
      'tickets:search',
    ]);
    // The user loses one: the token narrows with it.
    await store.revokeRole(agentId, 'agent');
    await store.assignRole(agentId, 'viewer');
    await store.grantPermission('viewer', 'kb:search');
    const viewerScoped = await store.authenticateApiToken(scoped.token);
    expect(viewerScoped?.permissions).toEqual(['kb:search', 'tickets:search']);
    // A scope the user does not hold is refused, naming it; nothing is written.
    const refused = await expectFailure(t, () =>
      store.createApiToken(agentId, { name: 'grab', scopes: ['kb:search', 'data:export'] }),
    );
    expect(refused).toMatchObject({ code: 'VALIDATION_FAILED', field: 'scopes' });
    expect(refused.message).toContain('data:export');
    expect(refused.message).not.toContain('kb:search,');
  });

  it('refuses a second active token with the same name, and allows it again after revoking', async () => {
    const userId = await newUser();
    const first = await store.createApiToken(userId, { name: 'deploy' });
    const error = await expectFailure(t, () => store.createApiToken(userId, { name: 'deploy' }));
    expect(error).toMatchObject({ code: 'ALREADY_EXISTS', field: 'name', status: 409 });
    // Another user may use the name.
    await store.createApiToken(viewerId, { name: 'deploy' });
    await store.revokeApiToken({ id: first.id });
    const second = await store.createApiToken(userId, { name: 'deploy' });
    expect(second.id).not.toBe(first.id);
    expect((await store.listApiTokens(userId)).map((x) => [x.id, x.revokedAt === null])).toEqual([
      [first.id, false],
      [second.id, true],
    ]);
  });

  it('gives a name to one active token only, when created concurrently', async () => {
    const userId = await newUser();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => store.createApiToken(userId, { name: 'race' })),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.map((r) => (r.reason as { code?: string }).code)).toEqual(
      Array(4).fill('ALREADY_EXISTS'),
    );
    const [{ active }] = (await t.sql<{ active: string }>(
      `SELECT count(*) AS active FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL`,
      [userId],
    )) as [{ active: string }];
    expect(Number(active)).toBe(1);
  });

  it('refuses an unknown user with NOT_FOUND naming userId, writing nothing', async () => {
    const error = await expectFailure(t, () =>
      store.createApiToken(crypto.randomUUID(), { name: 'ghost' }),
    );
    expect(error).toMatchObject({ code: 'NOT_FOUND', field: 'userId' });
  });

  it.each([
    ['an empty name', { name: '   ' }, 'name'],
    ['a name over 100 characters', { name: 'x'.repeat(101) }, 'name'],
    ['zero days', { name: 'zero', expiresInDays: 0 }, 'expiresInDays'],
    ['a fraction of a day', { name: 'half', expiresInDays: 0.5 }, 'expiresInDays'],
    ['an unknown option', { name: 'extra', scopes: ['all'] }, ''],
  ])('refuses %s with VALIDATION_FAILED naming the field', async (_, input, field) => {
    const error = await expectFailure(t, () => store.createApiToken(viewerId, input as never));
    expect(error.code).toBe('VALIDATION_FAILED');
    if (field) expect(error.field).toBe(field);
  });

  it('refuses a malformed user id', async () => {
    const error = await expectFailure(t, () => store.createApiToken('bob', { name: 'x' }));
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'userId' });
  });
});

describe('listing tokens', () => {
  it('lists a user’s tokens, oldest first, without secrets or hashes', async () => {
    const userId = await newUser();
    const a = await store.createApiToken(userId, { name: 'a' });
    const b = await store.createApiToken(userId, { name: 'b' });
    const list = await store.listApiTokens(userId);
    expect(list.map((x) => x.name)).toEqual(['a', 'b']);
    for (const item of list) {
      expect(Object.keys(item).sort()).toEqual(
        [
          'createdAt',
          'expiresAt',
          'id',
          'lastUsedAt',
          'name',
          'revokedAt',
          'scopes',
          'userId',
        ].sort(),
      );
    }
    expect(JSON.stringify(list)).not.toContain(a.token);
    expect(JSON.stringify(list)).not.toContain(b.token);
    expect(await store.listApiTokens(viewerId)).not.toContainEqual(
      expect.objectContaining({ id: a.id }),
    );
  });
});

describe('revoking a token', () => {
  it('revokes by id; a second revoke is NOT_FOUND', async () => {
    const userId = await newUser();
    const created = await store.createApiToken(userId, { name: 'by-id' });
    const revoked = await store.revokeApiToken({ id: created.id });
    expect(revoked).toMatchObject({ id: created.id, revokedAt: expect.any(Date) });
    expect((await tokenRow(created.id))?.revoked_at).toBeInstanceOf(Date);
    const again = await expectFailure(t, () => store.revokeApiToken({ id: created.id }));
    expect(again).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
  });

  it('revokes by user and name, only that user’s active token', async () => {
    const userId = await newUser();
    const other = await newUser();
    const mine = await store.createApiToken(userId, { name: 'laptop' });
    const theirs = await store.createApiToken(other, { name: 'laptop' });
    const revoked = await store.revokeApiToken({ userId, name: 'laptop' });
    expect(revoked.id).toBe(mine.id);
    expect(await store.authenticateApiToken(mine.token)).toBeNull();
    expect(await store.authenticateApiToken(theirs.token)).toMatchObject({ userId: other });
    const again = await expectFailure(t, () => store.revokeApiToken({ userId, name: 'laptop' }));
    expect(again).toMatchObject({ code: 'NOT_FOUND', field: 'name' });
  });

  it('refuses an unknown id and bad input', async () => {
    expect(
      await expectFailure(t, () => store.revokeApiToken({ id: crypto.randomUUID() })),
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect(await expectFailure(t, () => store.revokeApiToken({ id: 'not-a-uuid' }))).toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});

describe('authenticating a token', () => {
  it('resolves the user and the permissions of their roles, sorted', async () => {
    const created = await store.createApiToken(viewerId, { name: 'auth' });
    const principal = await store.authenticateApiToken(created.token);
    expect(principal).toEqual({
      tokenId: created.id,
      userId: viewerId,
      permissions: [...(DEFAULT_ROLES.viewer?.permissions ?? [])].sort(),
    });
    const plain = await newUser();
    const bare = await store.createApiToken(plain, { name: 'bare' });
    expect(await store.authenticateApiToken(bare.token)).toEqual({
      tokenId: bare.id,
      userId: plain,
      permissions: [],
    });
  });

  it('refuses a revoked token', async () => {
    const created = await store.createApiToken(viewerId, { name: 'soon-revoked' });
    expect(await store.authenticateApiToken(created.token)).not.toBeNull();
    await store.revokeApiToken({ id: created.id });
    expect(await store.authenticateApiToken(created.token)).toBeNull();
  });

  it('refuses an expired token', async () => {
    const created = await store.createApiToken(viewerId, { name: 'expiring', expiresInDays: 1 });
    expect(await store.authenticateApiToken(created.token)).not.toBeNull();
    await t.sql(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      created.id,
    ]);
    expect(await store.authenticateApiToken(created.token)).toBeNull();
  });

  it('refuses the token of a deactivated user', async () => {
    const userId = await newUser('admin');
    const created = await store.createApiToken(userId, { name: 'leaver' });
    expect(await store.authenticateApiToken(created.token)).not.toBeNull();
    await t.db.deactivateUser(userId);
    expect(await store.authenticateApiToken(created.token)).toBeNull();
  });

  it('refuses unknown and malformed tokens', async () => {
    const created = await store.createApiToken(viewerId, { name: 'shape' });
    const unknown = `nova_${'A'.repeat(43)}`;
    for (const token of [
      unknown,
      '',
      'nova_',
      created.token.slice(0, -1),
      `${created.token}A`,
      `${created.token} `,
      created.token.replace('nova_', 'NOVA_'),
      created.token.slice('nova_'.length),
      sha256(created.token).toString('hex'),
    ]) {
      expect(await store.authenticateApiToken(token), token).toBeNull();
    }
  });

  it('never asks the database about a malformed token', async () => {
    // A store whose database is not there: a well-formed token fails to reach it, a
    // malformed one is refused before any query.
    const url = `postgresql://nova:nova@127.0.0.1:${await freePort()}/nova`;
    const dead = createNovaDb(testConfig(url, { retryAttempts: 1, connectTimeoutMs: 300 }), {
      retryBaseDelayMs: 1,
    });
    try {
      for (const token of ['nova_short', 'Bearer x', `nova_${'!'.repeat(43)}`]) {
        expect(await dead.postgres.authenticateApiToken(token)).toBeNull();
      }
      const error = await novaFailure(dead.postgres.authenticateApiToken(`nova_${'A'.repeat(43)}`));
      expect(error.code).toBe('UNAVAILABLE');
    } finally {
      await dead.close();
    }
  });

  it('sets last_used_at on first use and rewrites it at most once a minute', async () => {
    const created = await store.createApiToken(viewerId, { name: 'usage' });
    expect((await tokenRow(created.id))?.last_used_at).toBeNull();
    const before = Date.now();
    await store.authenticateApiToken(created.token);
    // Written off the request path: not awaited by authentication.
    await expect.poll(async () => (await tokenRow(created.id))?.last_used_at).toBeInstanceOf(Date);
    const first = (await tokenRow(created.id))?.last_used_at;
    expect(first?.getTime()).toBeGreaterThanOrEqual(before - 5);

    await store.authenticateApiToken(created.token);
    await store.authenticateApiToken(created.token);
    expect((await tokenRow(created.id))?.last_used_at?.getTime()).toBe(first?.getTime());

    // Older than a minute: the next use writes it again.
    await t.sql(
      `UPDATE api_tokens SET last_used_at = now() - interval '61 seconds' WHERE id = $1`,
      [created.id],
    );
    const stale = (await tokenRow(created.id))?.last_used_at?.getTime() ?? 0;
    await store.authenticateApiToken(created.token);
    await expect
      .poll(async () => (await tokenRow(created.id))?.last_used_at?.getTime() ?? 0)
      .toBeGreaterThan(stale + 60_000);
    const refreshed = (await tokenRow(created.id))?.last_used_at?.getTime() ?? 0;
    expect((await store.listApiTokens(viewerId)).find((x) => x.id === created.id)).toMatchObject({
      lastUsedAt: new Date(refreshed),
    });
  });

  it('does not touch last_used_at for a refused token', async () => {
    const created = await store.createApiToken(viewerId, { name: 'unused' });
    await store.revokeApiToken({ id: created.id });
    await store.authenticateApiToken(created.token);
    expect((await tokenRow(created.id))?.last_used_at).toBeNull();
  });
});
