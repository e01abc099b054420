/**
 * `nova bootstrap postgres` step 2: default permissions and roles. Plan, then apply only
 * the difference; a second run plans nothing. One audit row records what the seed added.
 *
 * Each default grant is made once: rbac_seeded_grants records it, and a grant recorded there
 * is not made again, so one an operator took away (`nova role revoke`, or SQL) stays away.
 * A default that a later release adds is not recorded yet, and is made. A role that existed
 * before the record (an older release seeded it) has all its defaults recorded, not granted;
 * a default role that was deleted is made again with all its defaults.
 */

import { auditData } from '../../lib/db/postgres/audit.js';
import type { Db } from '../../lib/db/postgres/client.js';
import { DEFAULT_PERMISSIONS, DEFAULT_ROLES } from './default-roles.js';

type Grant = { role: string; permission: string };

export interface SeedPlan {
  permissions: string[];
  roles: string[];
  /** Default grants to make: never made before. */
  grants: Grant[];
  /** Default grants to record as made without making them (already there, or predating the record). */
  recorded: Grant[];
}

export const isEmptyPlan = (plan: SeedPlan) =>
  plan.permissions.length + plan.roles.length + plan.grants.length + plan.recorded.length === 0;

/** Every default role's default grants. */
export const DEFAULT_GRANTS: Grant[] = Object.entries(DEFAULT_ROLES).flatMap(([role, spec]) =>
  spec.permissions.map((permission) => ({ role, permission })),
);

export async function planSeed(prisma: Db): Promise<SeedPlan> {
  const [permissions, roles, seeded] = await Promise.all([
    prisma.permission.findMany({ select: { name: true } }),
    prisma.role.findMany({
      select: { name: true, permissions: { select: { permission: { select: { name: true } } } } },
    }),
    prisma.rbacSeededGrant.findMany({ select: { roleName: true, permissionName: true } }),
  ]);
  const havePermission = new Set(permissions.map((p) => p.name));
  const granted = new Map(
    roles.map((r) => [r.name, new Set(r.permissions.map((p) => p.permission.name))]),
  );
  const made = new Set(seeded.map((g) => `${g.roleName} ${g.permissionName}`));
  const recordedRoles = new Set(seeded.map((g) => g.roleName));
  const plan: SeedPlan = {
    permissions: Object.keys(DEFAULT_PERMISSIONS).filter((name) => !havePermission.has(name)),
    roles: Object.keys(DEFAULT_ROLES).filter((name) => !granted.has(name)),
    grants: [],
    recorded: [],
  };
  for (const grant of DEFAULT_GRANTS) {
    const held = granted.get(grant.role);
    // A role made afresh (deleted since) gets its defaults again; an existing one keeps
    // whatever its operator changed.
    if (held !== undefined && made.has(`${grant.role} ${grant.permission}`)) continue;
    const predatesRecord = held !== undefined && !recordedRoles.has(grant.role);
    if (held?.has(grant.permission) || predatesRecord) plan.recorded.push(grant);
    else plan.grants.push(grant);
  }
  return plan;
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
    await tx.rbacSeededGrant.createMany({
      data: [...plan.grants, ...plan.recorded].map(({ role, permission }) => ({
        roleName: role,
        permissionName: permission,
      })),
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
