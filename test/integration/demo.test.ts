import { describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/bootstrap/postgres/demo.js';
import { useTestDatabase } from '../support/database.js';

const t = await useTestDatabase();
const store = t.db.postgres;

describe('demo data', () => {
  it('completes a run that failed halfway, then does nothing', async () => {
    // A previous run got as far as the first user.
    await store.createUser({ email: 'admin@nova.example', firstName: 'Ada', lastName: 'Admin' });
    expect(await seedDemoData(store)).toBe(true);
    expect(await t.count('users')).toBe(3);
    expect(await t.count('support_tickets')).toBe(4);
    expect(await t.count('knowledge_base_articles')).toBe(2);
    const admin = await store.findUserByEmail('admin@nova.example');
    expect(await store.listUserRoles(admin?.id ?? '')).toEqual(['admin']);

    const before = await t.count('audit_logs');
    expect(await seedDemoData(store)).toBe(false);
    expect(await t.count('audit_logs')).toBe(before);
  });
});
