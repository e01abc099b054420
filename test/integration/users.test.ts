import { describe, expect, it } from 'vitest';
import { uniqueEmail, useTestDatabase } from '../support/database.js';
import { expectFailure } from '../support/failures.js';

const t = await useTestDatabase();
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

const rejects = (call: () => Promise<unknown>) => expectFailure(t, call);

describe('createUser', () => {
  it('writes the user and its audit row in one transaction', async () => {
    const actor = { id: crypto.randomUUID(), ip: '203.0.113.7', userAgent: 'vitest' };
    const user = await t.db.createUser(
      { email: uniqueEmail(), firstName: ' John ', lastName: 'Doe' },
      actor,
    );
    expect(user.firstName).toBe('John');
    expect(user.active).toBe(true);
    const [audit] = await t.sql<{
      action: string;
      actor_id: string;
      ip: string;
      after: Record<string, unknown>;
    }>('SELECT action, actor_id, ip, after FROM audit_logs WHERE entity_id = $1', [user.id]);
    expect(audit).toMatchObject({ action: 'user.created', actor_id: actor.id, ip: actor.ip });
    expect(audit?.after).toMatchObject({ id: user.id, email: user.email, firstName: 'John' });
  });

  it('never returns, audits or logs the password hash', async () => {
    const user = await t.db.createUser({
      email: uniqueEmail(),
      firstName: 'A',
      lastName: 'B',
      passwordHash: HASH,
    });
    expect(user).not.toHaveProperty('passwordHash');
    expect(await t.db.postgres.getUser(user.id)).not.toHaveProperty('passwordHash');
    const audits = await t.sql('SELECT after::text AS after FROM audit_logs WHERE entity_id = $1', [
      user.id,
    ]);
    expect(JSON.stringify(audits)).not.toContain(HASH);
    const stored = await t.db.postgres.prisma.user.findUnique({
      where: { id: user.id },
      omit: { passwordHash: false },
    });
    expect(stored?.passwordHash).toBe(HASH);
  });

  it('rejects a duplicate email in any letter case, leaving nothing behind', async () => {
    const email = uniqueEmail('Case');
    await t.db.createUser({ email, firstName: 'A', lastName: 'B' });
    const error = await rejects(() =>
      t.db.createUser({ email: email.toUpperCase(), firstName: 'C', lastName: 'D' }),
    );
    expect(error).toMatchObject({ code: 'ALREADY_EXISTS', field: 'email', status: 409 });
    expect((await t.db.postgres.findUserByEmail(email.toLowerCase()))?.firstName).toBe('A');
  });

  it.each([
    ['an invalid email', { email: 'not-an-email', firstName: 'A', lastName: 'B' }, 'email'],
    ['an empty first name', { email: uniqueEmail(), firstName: '   ', lastName: 'B' }, 'firstName'],
    [
      'an oversized last name',
      { email: uniqueEmail(), firstName: 'A', lastName: 'x'.repeat(101) },
      'lastName',
    ],
    [
      'an oversized email',
      { email: `${'x'.repeat(250)}@example.com`, firstName: 'A', lastName: 'B' },
      'email',
    ],
    [
      'an unknown field',
      { email: uniqueEmail(), firstName: 'A', lastName: 'B', isAdmin: true },
      '',
    ],
    [
      'a plain-text password in passwordHash',
      { email: uniqueEmail(), firstName: 'A', lastName: 'B', passwordHash: 'hunter2' },
      'passwordHash',
    ],
  ])('rejects %s with a typed error naming the field', async (_label, input, field) => {
    const error = await rejects(() => t.db.createUser(input as never));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    if (field) expect(error.field).toBe(field);
    expect(error.message).toMatch(/\w+: /);
  });
});

describe('updateUser and deactivateUser', () => {
  it('updates with a before/after audit row', async () => {
    const user = await t.db.createUser({
      email: uniqueEmail(),
      firstName: 'Old',
      lastName: 'Name',
    });
    const updated = await t.db.updateUser(user.id, { firstName: 'New', displayName: 'New Name' });
    expect(updated).toMatchObject({ firstName: 'New', displayName: 'New Name' });
    const [audit] = await t.sql<{ before: { firstName: string }; after: { firstName: string } }>(
      `SELECT before, after FROM audit_logs WHERE entity_id = $1 AND action = 'user.updated'`,
      [user.id],
    );
    expect(audit?.before.firstName).toBe('Old');
    expect(audit?.after.firstName).toBe('New');
  });

  it('rejects a bad patch with a rejected promise (never a synchronous throw), writing nothing', async () => {
    const user = await t.db.createUser({ email: uniqueEmail(), firstName: 'A', lastName: 'B' });
    const pending = t.db.updateUser(user.id, { email: 'not-an-email' });
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'email' });
    expect(await rejects(() => t.db.updateUser(user.id, { firstName: '' }))).toMatchObject({
      field: 'firstName',
    });
  });

  it('rejects changing to an email another user has', async () => {
    const a = await t.db.createUser({ email: uniqueEmail('a'), firstName: 'A', lastName: 'A' });
    const b = await t.db.createUser({ email: uniqueEmail('b'), firstName: 'B', lastName: 'B' });
    const error = await rejects(() => t.db.updateUser(b.id, { email: a.email.toUpperCase() }));
    expect(error).toMatchObject({ code: 'ALREADY_EXISTS', field: 'email' });
  });

  it('deactivates and audits; unknown ids are NOT_FOUND', async () => {
    const user = await t.db.createUser({ email: uniqueEmail(), firstName: 'A', lastName: 'B' });
    expect((await t.db.deactivateUser(user.id)).active).toBe(false);
    const actions = await t.sql<{ action: string }>(
      'SELECT action FROM audit_logs WHERE entity_id = $1 ORDER BY id',
      [user.id],
    );
    expect(actions.map((a) => a.action)).toEqual(['user.created', 'user.deactivated']);
    const error = await rejects(() => t.db.deactivateUser(crypto.randomUUID()));
    expect(error).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
    expect((await rejects(() => t.db.updateUser('nope', { firstName: 'x' }))).field).toBe('id');
  });
});

describe('audit trail', () => {
  it('is append-only: updates, deletes and truncates are refused by the database', async () => {
    await t.db.createUser({ email: uniqueEmail(), firstName: 'A', lastName: 'B' });
    await expect(t.sql(`UPDATE audit_logs SET action = 'tampered'`)).rejects.toThrow(/append-only/);
    await expect(t.sql('DELETE FROM audit_logs')).rejects.toThrow(/append-only/);
    await expect(t.sql('TRUNCATE audit_logs')).rejects.toThrow(/append-only/);
  });
});
