/**
 * `nova bootstrap postgres` step 2: default permissions and roles. Plan, then apply only
 * the difference; a second run plans nothing. One audit row records what the seed added.
 */

import { auditData } from '../../lib/db/postgres/audit.js';
import type { Db } from '../../lib/db/postgres/client.js';
import { DEFAULT_PERMISSIONS, DEFAULT_ROLES } from './default-roles.js';

export interface SeedPlan {
  permissions: string[];
  roles: string[];
  /** "role permission" pairs to grant. */
  grants: Array<{ role: string; permission: string }>;
}

export const isEmptyPlan = (plan: SeedPlan) =>
  plan.permissions.length + plan.roles.length + plan.grants.length === 0;

export async function planSeed(prisma: Db): Promise<SeedPlan> {
  const [permissions, roles] = await Promise.all([
    prisma.permission.findMany({ select: { name: true } }),
    prisma.role.findMany({
      select: { name: true, permissions: { select: { permission: { select: { name: true } } } } },
    }),
  ]);
  const havePermission = new Set(permissions.map((p) => p.name));
  const granted = new Map(
    roles.map((r) => [r.name, new Set(r.permissions.map((p) => p.permission.name))]),
  );
  return {
    permissions: Object.keys(DEFAULT_PERMISSIONS).filter((name) => !havePermission.has(name)),
    roles: Object.keys(DEFAULT_ROLES).filter((name) => !granted.has(name)),
    grants: Object.entries(DEFAULT_ROLES).flatMap(([role, spec]) =>
      spec.permissions
        .filter((permission) => !granted.get(role)?.has(permission))
        .map((permission) => ({ role, permission })),
    ),
  };
}

export async function applySeed(prisma: Db, plan: SeedPlan): Promise<void> {
  if (isEmptyPlan(plan)) return;
  await prisma.$transaction(async (tx) => {
    await tx.permission.createMany({
      data: plan.permissions.map((name) => ({
        name,
        description: DEFAULT_PERMISSIONS[name as keyof typeof DEFAULT_PERMISSIONS],
      })),
      skipDuplicates: true,
    });
    await tx.role.createMany({
      data: plan.roles.map((name) => ({
        name,
        description: DEFAULT_ROLES[name]?.description ?? null,
      })),
      skipDuplicates: true,
    });
    const [roles, permissions] = await Promise.all([
      tx.role.findMany({ where: { name: { in: plan.grants.map((g) => g.role) } } }),
      tx.permission.findMany({ where: { name: { in: plan.grants.map((g) => g.permission) } } }),
    ]);
    const roleId = new Map(roles.map((r) => [r.name, r.id]));
    const permissionId = new Map(permissions.map((p) => [p.name, p.id]));
    await tx.rolePermission.createMany({
      data: plan.grants.flatMap(({ role, permission }) => {
        const r = roleId.get(role);
        const p = permissionId.get(permission);
        return r && p ? [{ roleId: r, permissionId: p }] : [];
      }),
      skipDuplicates: true,
    });
    await tx.auditLog.create({
      data: auditData({
        action: 'rbac.seeded',
        entityType: 'system',
        entityId: 'rbac',
        after: plan,
      }),
    });
  });
}
