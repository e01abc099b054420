import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLES } from '../../src/bootstrap/postgres/default-roles.js';
import { bootstrapPostgres } from '../../src/bootstrap/postgres/index.js';
import { uniqueEmail, useTestDatabase } from '../support/database.js';
import { expectFailure } from '../support/failures.js';

const t = await useTestDatabase();
const store = t.db.postgres;
const newUser = async () =>
  (await t.db.createUser({ email: uniqueEmail(), firstName: 'R', lastName: 'B' })).id;

describe('default roles (seed)', () => {
  it('creates admin, agent and viewer, and a second bootstrap changes nothing', async () => {
    const roles = await store.prisma.role.findMany({ orderBy: { name: 'asc' } });
    expect(roles.map((r) => r.name)).toEqual(['admin', 'agent', 'viewer']);
    const before = await t.count('audit_logs');
    const again = await bootstrapPostgres(t.ownerUrl, store);
    expect(again.changed).toBe(false);
    expect(again.seed).toEqual({ permissions: [], roles: [], grants: [], recorded: [] });
    expect(await t.count('audit_logs')).toBe(before);
  });

  it('does not grant again a default an operator removed, and keeps grants an admin added', async () => {
    await store.createPermission({ name: 'reports:read', description: 'custom' });
    await store.grantPermission('viewer', 'reports:read');
    expect(await store.revokePermission('viewer', 'kb:read')).toBe(true);
    const report = await bootstrapPostgres(t.ownerUrl, store);
    expect(report.changed).toBe(false);
    expect(report.seed.grants).toEqual([]);
    const viewer = await newUser();
    await store.assignRole(viewer, 'viewer');
    expect(await store.listUserPermissions(viewer)).toEqual(
      [...(DEFAULT_ROLES.viewer?.permissions ?? []), 'reports:read']
        .filter((p) => p !== 'kb:read')
        .sort(),
    );
    // Removed by SQL rather than the CLI: the same.
    await t.sql(
      `DELETE FROM role_permissions WHERE role_id = (SELECT id FROM roles WHERE name = 'viewer')
         AND permission_id = (SELECT id FROM permissions WHERE name = 'kb:search')`,
    );
    expect((await bootstrapPostgres(t.ownerUrl, store)).seed.grants).toEqual([]);
  });

  it('grants a default a later release adds (never seeded), once', async () => {
    // As if agent's tickets:write were new: not granted, never recorded.
    await t.sql(
      `DELETE FROM role_permissions WHERE role_id = (SELECT id FROM roles WHERE name = 'agent')
         AND permission_id = (SELECT id FROM permissions WHERE name = 'tickets:write')`,
    );
    await t.sql(
      `DELETE FROM rbac_seeded_grants WHERE role_name = 'agent' AND permission_name = 'tickets:write'`,
    );
    const report = await bootstrapPostgres(t.ownerUrl, store);
    expect(report.seed.grants).toEqual([{ role: 'agent', permission: 'tickets:write' }]);
    expect((await bootstrapPostgres(t.ownerUrl, store)).changed).toBe(false);
  });

  it('records, without granting, the defaults of a role from before the record', async () => {
    // A database an older release seeded: grants, but no record of them; one grant removed.
    await t.sql(`DELETE FROM rbac_seeded_grants WHERE role_name = 'agent'`);
    await t.sql(
      `DELETE FROM role_permissions WHERE role_id = (SELECT id FROM roles WHERE name = 'agent')
         AND permission_id = (SELECT id FROM permissions WHERE name = 'kb:write')`,
    );
    const report = await bootstrapPostgres(t.ownerUrl, store);
    expect(report.seed.grants).toEqual([]);
    expect(report.seed.recorded.map((g) => g.permission).sort()).toEqual(
      [...(DEFAULT_ROLES.agent?.permissions ?? [])].sort(),
    );
    const agent = await newUser();
    await store.assignRole(agent, 'agent');
    expect(await store.listUserPermissions(agent)).not.toContain('kb:write');
    expect((await bootstrapPostgres(t.ownerUrl, store)).changed).toBe(false);
  });

  it('makes a deleted default role again, with all its defaults', async () => {
    await t.sql(`DELETE FROM roles WHERE name = 'viewer'`);
    const report = await bootstrapPostgres(t.ownerUrl, store);
    expect(report.seed.roles).toEqual(['viewer']);
    const viewer = await newUser();
    await store.assignRole(viewer, 'viewer');
    expect(await store.listUserPermissions(viewer)).toEqual(
      [...(DEFAULT_ROLES.viewer?.permissions ?? [])].sort(),
    );
  });
});

describe('hasPermission', () => {
  it('answers through roles, for admin, agent and viewer', async () => {
    const [admin, agent, viewer, nobody] = [
      await newUser(),
      await newUser(),
      await newUser(),
      await newUser(),
    ];
    await t.db.postgres.assignRole(admin, 'admin');
    await t.db.postgres.assignRole(agent, 'agent');
    await t.db.postgres.assignRole(viewer, 'viewer');
    expect(await t.db.hasPermission(admin, 'health:details')).toBe(true);
    expect(await t.db.hasPermission(agent, 'analytics:read')).toBe(true);
    expect(await t.db.hasPermission(agent, 'config:write')).toBe(false);
    expect(await t.db.hasPermission(viewer, 'tickets:search')).toBe(true);
    expect(await t.db.hasPermission(viewer, 'tickets:write')).toBe(false);
    expect(await t.db.hasPermission(nobody, 'tickets:read')).toBe(false);
  });

  it('denies everything to a deactivated user', async () => {
    const user = await newUser();
    await store.assignRole(user, 'admin');
    await t.db.deactivateUser(user);
    expect(await t.db.hasPermission(user, 'tickets:read')).toBe(false);
    expect(await store.listUserPermissions(user)).toEqual([]);
  });

  it('rejects a malformed permission name', async () => {
    await expect(t.db.hasPermission(await newUser(), 'everything')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'permission',
    });
  });
});

describe('assign and revoke', () => {
  it('is idempotent and audited once per real change', async () => {
    const user = await newUser();
    expect(await store.assignRole(user, 'agent')).toBe(true);
    expect(await store.assignRole(user, 'agent')).toBe(false);
    expect(await store.listUserRoles(user)).toEqual(['agent']);
    expect(await store.revokeRole(user, 'agent')).toBe(true);
    expect(await store.revokeRole(user, 'agent')).toBe(false);
    const actions = await t.sql<{ action: string }>(
      'SELECT action FROM audit_logs WHERE entity_id = $1 ORDER BY id',
      [user],
    );
    expect(actions.map((a) => a.action)).toEqual([
      'user.created',
      'user.role_assigned',
      'user.role_revoked',
    ]);
  });

  it('takes a permission from a role: honoured at once, audited once, with its operator', async () => {
    await store.createRole({
      name: 'revoker',
      description: 'audit test',
      permissions: ['kb:read'],
    });
    const user = await newUser();
    await store.assignRole(user, 'revoker');
    expect(await store.hasPermission(user, 'kb:read')).toBe(true);
    const actor = { userAgent: 'nova-cli; os-user=alice' };
    expect(await store.revokePermission('revoker', 'kb:read', actor)).toBe(true);
    expect(await store.revokePermission('revoker', 'kb:read', actor)).toBe(false);
    expect(await store.hasPermission(user, 'kb:read')).toBe(false);
    const rows = await t.sql<{ action: string; before: unknown; user_agent: string }>(
      `SELECT action, before, user_agent FROM audit_logs
        WHERE entity_id = (SELECT id::text FROM roles WHERE name = 'revoker') ORDER BY id`,
    );
    expect(rows.slice(1)).toEqual([
      {
        action: 'role.permission_revoked',
        before: { permission: 'kb:read' },
        user_agent: 'nova-cli; os-user=alice',
      },
    ]);
    expect(
      await expectFailure(t, () => store.revokePermission('revoker', 'no:such')),
    ).toMatchObject({ code: 'NOT_FOUND', field: 'permissions' });
  });

  it('rejects an unknown role or user and writes nothing', async () => {
    const user = await newUser();
    expect(await expectFailure(t, () => store.assignRole(user, 'superuser'))).toMatchObject({
      code: 'NOT_FOUND',
      field: 'role',
    });
    expect(
      await expectFailure(t, () => store.assignRole(crypto.randomUUID(), 'agent')),
    ).toMatchObject({
      code: 'NOT_FOUND',
      field: 'userId',
    });
    expect(await expectFailure(t, () => store.assignRole(user, 'Not A Role!'))).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'role',
    });
  });

  it('creates roles with permissions; an unknown permission or a duplicate name writes nothing', async () => {
    const role = await store.createRole({
      name: 'auditor',
      description: 'Reads the trail',
      permissions: ['audit:read'],
    });
    const user = await newUser();
    await store.assignRole(user, 'auditor');
    expect(await t.db.hasPermission(user, 'audit:read')).toBe(true);
    expect(role.name).toBe('auditor');
    expect(await expectFailure(t, () => store.createRole({ name: 'auditor' }))).toMatchObject({
      code: 'ALREADY_EXISTS',
      field: 'name',
    });
    expect(
      await expectFailure(t, () =>
        store.createRole({ name: 'ghost', permissions: ['ghost:walk'] }),
      ),
    ).toMatchObject({
      code: 'NOT_FOUND',
      field: 'permissions',
    });
  });
});
