import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { uniqueEmail, useTestDatabase } from '../support/database.js';
import { expectFailure } from '../support/failures.js';

const t = await useTestDatabase();
const store = t.db.postgres;
let userId: string;
beforeAll(async () => {
  userId = (await t.db.createUser({ email: uniqueEmail('pk'), firstName: 'P', lastName: 'K' })).id;
});

const credential = (signCount = 0) => ({
  credentialId: new Uint8Array(randomBytes(32)),
  publicKey: new Uint8Array(randomBytes(77)),
  signCount,
  transports: ['internal', 'hybrid'] as const,
  deviceType: 'multiDevice' as const,
  backedUp: true,
  nickname: 'Laptop',
});

describe('passkeys', () => {
  it('registers and lists without the public key; the audit row holds no key material', async () => {
    const input = credential();
    const passkey = await store.registerPasskey(userId, {
      ...input,
      transports: [...input.transports],
    });
    const list = await store.listPasskeys(userId);
    expect(list.map((p) => p.id)).toContain(passkey.id);
    expect(list[0]).not.toHaveProperty('publicKey');
    const audit = await t.sql<{ after: unknown }>(
      `SELECT after FROM audit_logs WHERE action = 'passkey.registered' AND entity_id = $1`,
      [userId],
    );
    const text = JSON.stringify(audit);
    expect(text).not.toContain(Buffer.from(input.publicKey).toString('base64'));
    expect(text).not.toContain('publicKey');
    const full = await store.findPasskeyForVerification(input.credentialId);
    expect(Buffer.from(full?.publicKey ?? []).equals(Buffer.from(input.publicKey))).toBe(true);
  });

  it('accepts an increasing counter and records the use', async () => {
    const input = credential(5);
    await store.registerPasskey(userId, { ...input, transports: [] });
    const use = await store.recordPasskeyUse(input.credentialId, 6);
    expect(use.signCount).toBe(6n);
    const stored = await store.findPasskeyForVerification(input.credentialId);
    expect(stored?.signCount).toBe(6n);
    expect(stored?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('rejects a counter that did not increase and audits a possible clone', async () => {
    const input = credential(10);
    await store.registerPasskey(userId, { ...input, transports: [] });
    for (const presented of [10, 3, 0]) {
      const error = await store
        .recordPasskeyUse(input.credentialId, presented)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PASSKEY_COUNTER_NOT_INCREASED', field: 'signCount' });
    }
    expect((await store.findPasskeyForVerification(input.credentialId))?.signCount).toBe(10n);
    const audits = await t.sql<{ after: { presentedSignCount: string; suspectedClone: boolean } }>(
      `SELECT after FROM audit_logs WHERE action = 'passkey.counter_not_increased' AND entity_id = $1 ORDER BY id`,
      [userId],
    );
    expect(audits.map((a) => a.after.presentedSignCount)).toEqual(['10', '3', '0']);
    expect(audits.every((a) => a.after.suspectedClone)).toBe(true);
  });

  it('accepts zero after zero (authenticators without a counter) and any AAGUID bytes', async () => {
    const input = credential(0);
    // Apple's passkeys report the all-zero AAGUID; others need not be RFC 9562 UUIDs.
    await store.registerPasskey(userId, {
      ...input,
      transports: [],
      aaguid: '00000000-0000-0000-0000-000000000000',
    });
    const other = credential(0);
    await store.registerPasskey(userId, {
      ...other,
      transports: [],
      aaguid: 'cb69481e-8ff7-4039-13ec-0a2729a154a8',
    });
    await expect(store.recordPasskeyUse(input.credentialId, 0)).resolves.toMatchObject({
      signCount: 0n,
    });
  });

  it('lets only one of two concurrent assertions with the same counter through', async () => {
    const input = credential(1);
    await store.registerPasskey(userId, { ...input, transports: [] });
    const results = await Promise.allSettled([
      store.recordPasskeyUse(input.credentialId, 2),
      store.recordPasskeyUse(input.credentialId, 2),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('rejects duplicates, unknown users and bad input, writing nothing', async () => {
    const input = credential();
    await store.registerPasskey(userId, { ...input, transports: [] });
    expect(
      await expectFailure(t, () => store.registerPasskey(userId, { ...input, transports: [] })),
    ).toMatchObject({
      code: 'ALREADY_EXISTS',
      field: 'credentialId',
    });
    expect(
      await expectFailure(t, () =>
        store.registerPasskey(crypto.randomUUID(), { ...credential(), transports: [] }),
      ),
    ).toMatchObject({ code: 'NOT_FOUND', field: 'userId' });
    expect(
      await expectFailure(t, () =>
        store.registerPasskey(userId, {
          ...credential(),
          transports: [],
          deviceType: 'phone' as never,
        }),
      ),
    ).toMatchObject({ code: 'VALIDATION_FAILED', field: 'deviceType' });
    expect(
      await expectFailure(t, () =>
        store.registerPasskey(userId, {
          ...credential(),
          transports: [],
          publicKey: 'abc' as never,
        }),
      ),
    ).toMatchObject({ code: 'VALIDATION_FAILED', field: 'publicKey' });
    expect(
      await expectFailure(t, () => store.recordPasskeyUse(new Uint8Array([1, 2, 3]), 1)),
    ).toMatchObject({
      code: 'NOT_FOUND',
      field: 'credentialId',
    });
  });

  it('removes a passkey with an audit row', async () => {
    const input = credential();
    const passkey = await store.registerPasskey(userId, { ...input, transports: [] });
    expect(await store.removePasskey(passkey.id)).toBe(true);
    expect(await store.findPasskeyForVerification(input.credentialId)).toBeNull();
    expect((await expectFailure(t, () => store.removePasskey(passkey.id))).code).toBe('NOT_FOUND');
  });
});
