import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/database.js';
import { expectFailure } from '../support/failures.js';

const t = await useTestDatabase();
const store = t.db.postgres;

describe('system config', () => {
  it('creates with expectedVersion 0, then updates only from the current version', async () => {
    const created = await store.setConfig('search.max_results', 50, {
      expectedVersion: 0,
      description: 'cap',
    });
    expect(created).toMatchObject({ version: 1, value: 50, description: 'cap' });
    const updated = await store.setConfig('search.max_results', 75, { expectedVersion: 1 });
    expect(updated.version).toBe(2);
    expect((await store.getConfig('search.max_results'))?.value).toBe(75);
    expect(await store.getConfig('missing.key')).toBeNull();
  });

  it('rejects a stale version, and creating a key that exists, with VERSION_CONFLICT', async () => {
    await store.setConfig('feature.flags', { passkeys: true });
    expect(
      await expectFailure(t, () => store.setConfig('feature.flags', {}, { expectedVersion: 0 })),
    ).toMatchObject({
      code: 'VERSION_CONFLICT',
      field: 'expectedVersion',
    });
    await store.setConfig('feature.flags', { passkeys: false });
    expect(
      await expectFailure(t, () => store.setConfig('feature.flags', {}, { expectedVersion: 1 })),
    ).toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    expect((await store.getConfig('feature.flags'))?.value).toEqual({ passkeys: false });
  });

  it('lets only one of two concurrent writers of the same version win', async () => {
    await store.setConfig('race.key', 1, { expectedVersion: 0 });
    const results = await Promise.allSettled([
      store.setConfig('race.key', 2, { expectedVersion: 1 }),
      store.setConfig('race.key', 3, { expectedVersion: 1 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await store.getConfig('race.key'))?.version).toBe(2);
  });

  it('redacts secrets in the audit trail but stores the value', async () => {
    const actor = { id: crypto.randomUUID() };
    await store.setConfig(
      'smtp.settings',
      { host: 'mail.example.com', password: 's3cr3t-value' },
      {},
      actor,
    );
    const [audit] = await t.sql<{
      after: { value: { password: string; host: string } };
      actor_id: string;
    }>(`SELECT after, actor_id FROM audit_logs WHERE entity_id = 'smtp.settings'`);
    expect(audit?.after.value).toEqual({ host: 'mail.example.com', password: '[REDACTED]' });
    expect(audit?.actor_id).toBe(actor.id);
    const stored = await store.getConfig('smtp.settings');
    expect(stored?.value).toMatchObject({ password: 's3cr3t-value' });
  });

  it('redacts the whole value when the key itself names a secret', async () => {
    await store.setConfig('smtp.password', 'hunter2-plain');
    await store.setConfig('smtp.password', 'hunter3-plain');
    const audits = await t.sql(
      `SELECT before::text, after::text FROM audit_logs WHERE entity_id = 'smtp.password'`,
    );
    expect(audits).toHaveLength(2);
    expect(JSON.stringify(audits)).not.toMatch(/hunter[23]-plain/);
    expect((await store.getConfig('smtp.password'))?.value).toBe('hunter3-plain');
  });

  it('rejects bad keys, null and oversized values, writing nothing', async () => {
    expect(await expectFailure(t, () => store.setConfig('Bad Key', 1))).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'key',
    });
    expect(await expectFailure(t, () => store.setConfig('ok.key', null))).toMatchObject({
      field: 'value',
    });
    expect(
      await expectFailure(t, () => store.setConfig('ok.key', 'x'.repeat(70_000))),
    ).toMatchObject({ field: 'value' });
    expect(
      await expectFailure(t, () => store.setConfig('ok.key', 1, { expectedVersion: -1 })),
    ).toMatchObject({
      field: 'expectedVersion',
    });
  });
});
