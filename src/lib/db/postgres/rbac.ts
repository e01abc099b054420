/**
 * Role-based access control: roles, permissions ("resource:action"), assignments and the
 * one question the service asks, hasPermission(userId, 'analytics:read').
 * A deactivated user has no permissions, whatever roles they hold.
 */
import { z } from 'zod';
import { NovaError } from '../../errors.js';
import { optionalText, parseInput, uuid } from '../../validation.js';
import { type Actor, auditData } from './audit.js';
import type { PgContext } from './context.js';
import { uniqueViolationFields } from './errors.js';

const roleName = z
  .string()
  .trim()
  .regex(/^[a-z][a-z0-9_-]{1,63}$/, 'must be 2-64 lowercase letters, digits, - or _');
export const permissionName = z
  .string()
  .trim()
  .regex(/^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$/, 'must look like resource:action');
// No wildcards: hasPermission matches names exactly, so `tickets:*` would grant nothing.

const createRoleInput = z.strictObject({
  name: roleName,
  description: optionalText(500),
  permissions: z.array(permissionName).max(200).default([]),
});
export type CreateRoleInput = z.input<typeof createRoleInput>;

const createPermissionInput = z.strictObject({
  name: permissionName,
  description: optionalText(500),
});
export type CreatePermissionInput = z.input<typeof createPermissionInput>;

type Client = Pick<PgContext['prisma'], 'role' | 'permission' | 'user'>;

async function requireRole(db: Client, name: string) {
  const role = await db.role.findUnique({ where: { name } });
  if (!role) throw new NovaError('NOT_FOUND', `role ${name} does not exist`, { field: 'role' });
  return role;
}

async function requirePermissions(db: Client, names: string[]) {
  const found = await db.permission.findMany({ where: { name: { in: names } } });
  const missing = names.find((name) => !found.some((p) => p.name === name));
  if (missing) {
    throw new NovaError('NOT_FOUND', `permission ${missing} does not exist`, {
      field: 'permissions',
    });
  }
  return found;
}

export async function createPermission(
  ctx: PgContext,
  input: CreatePermissionInput,
  actor?: Actor,
) {
  const data = parseInput(createPermissionInput, input);
  return ctx.run('createPermission', () =>
    ctx.prisma
      .$transaction(async (tx) => {
        const permission = await tx.permission.create({ data });
        await tx.auditLog.create({
          data: auditData(
            {
              action: 'permission.created',
              entityType: 'permission',
              entityId: permission.id,
              after: permission,
            },
            actor,
          ),
        });
        return permission;
      })
      .catch((error: unknown) => {
        if (uniqueViolationFields(error) === undefined) throw error;
        throw new NovaError('ALREADY_EXISTS', `permission ${data.name} already exists`, {
          field: 'name',
          cause: error,
        });
      }),
  );
}

export async function createRole(ctx: PgContext, input: CreateRoleInput, actor?: Actor) {
  const data = parseInput(createRoleInput, input);
  return ctx.run('createRole', () =>
    ctx.prisma
      .$transaction(async (tx) => {
        const permissions = await requirePermissions(tx, data.permissions);
        const role = await tx.role.create({
          data: {
            name: data.name,
            description: data.description ?? null,
            permissions: { create: permissions.map((p) => ({ permissionId: p.id })) },
          },
        });
        await tx.auditLog.create({
          data: auditData(
            {
              action: 'role.created',
              entityType: 'role',
              entityId: role.id,
              after: { ...role, permissions: data.permissions },
            },
            actor,
          ),
        });
        return role;
      })
      .catch((error: unknown) => {
        if (uniqueViolationFields(error) === undefined) throw error;
        throw new NovaError('ALREADY_EXISTS', `role ${data.name} already exists`, {
          field: 'name',
          cause: error,
        });
      }),
  );
}

/** Adds a permission to a role; granting one it already has changes nothing. */
export const grantPermission = (ctx: PgContext, role: string, permission: string, actor?: Actor) =>
  changeRolePermission(ctx, 'grant', role, permission, actor);

/**
 * Takes a permission from a role; taking one it does not have changes nothing. Returns true
 * if removed. The bootstrap's seed does not grant it again (rbac_seeded_grants).
 */
export const revokePermission = (ctx: PgContext, role: string, permission: string, actor?: Actor) =>
  changeRolePermission(ctx, 'revoke', role, permission, actor);

/** One grant added or removed, audited when it changed something; true if it did. */
function changeRolePermission(
  ctx: PgContext,
  change: 'grant' | 'revoke',
  role: string,
  permission: string,
  actor?: Actor,
) {
  const roleValue = parseInput(roleName, role, 'role');
  const permissionValue = parseInput(permissionName, permission, 'permission');
  return ctx
    .run(`${change}Permission`, () =>
      ctx.prisma.$transaction(async (tx) => {
        const r = await requireRole(tx, roleValue);
        const [p] = await requirePermissions(tx, [permissionValue]);
        if (!p) throw new Error('unreachable: requirePermissions returned nothing');
        const grant = { roleId: r.id, permissionId: p.id };
        const { count } =
          change === 'grant'
            ? await tx.rolePermission.createMany({ data: [grant], skipDuplicates: true })
            : await tx.rolePermission.deleteMany({ where: grant });
        if (count > 0) {
          const named = { permission: p.name };
          await tx.auditLog.create({
            data: auditData(
              {
                action: change === 'grant' ? 'role.permission_granted' : 'role.permission_revoked',
                entityType: 'role',
                entityId: r.id,
                ...(change === 'grant' ? { after: named } : { before: named }),
              },
              actor,
            ),
          });
        }
        return count > 0;
      }),
    )
    .then(forgetPrincipals(ctx, 'all'));
}

/**
 * After a change of roles or permissions commits: drops the cached principals it affects in
 * this process at once (others drop them on the triggers' notification).
 */
const forgetPrincipals =
  (ctx: PgContext, payload: string) =>
  (changed: boolean): boolean => {
    if (changed) ctx.principals?.invalidate(payload);
    return changed;
  };

/** Gives a user a role; assigning one they already hold changes nothing. Returns true if added. */
export async function assignRole(ctx: PgContext, userId: string, role: string, actor?: Actor) {
  const id = parseInput(uuid, userId, 'userId');
  const name = parseInput(roleName, role, 'role');
  return ctx
    .run('assignRole', () =>
      ctx.prisma.$transaction(async (tx) => {
        const r = await requireRole(tx, name);
        const user = await tx.user.findUnique({ where: { id }, select: { id: true } });
        if (!user) throw new NovaError('NOT_FOUND', `user ${id} not found`, { field: 'userId' });
        const created = await tx.userRole.createMany({
          data: [{ userId: id, roleId: r.id }],
          skipDuplicates: true,
        });
        if (created.count > 0) {
          await tx.auditLog.create({
            data: auditData(
              {
                action: 'user.role_assigned',
                entityType: 'user',
                entityId: id,
                after: { role: name },
              },
              actor,
            ),
          });
        }
        return created.count > 0;
      }),
    )
    .then(forgetPrincipals(ctx, `user:${id}`));
}

/** Takes a role away; revoking one the user does not hold changes nothing. Returns true if removed. */
export async function revokeRole(ctx: PgContext, userId: string, role: string, actor?: Actor) {
  const id = parseInput(uuid, userId, 'userId');
  const name = parseInput(roleName, role, 'role');
  return ctx
    .run('revokeRole', () =>
      ctx.prisma.$transaction(async (tx) => {
        const r = await requireRole(tx, name);
        const removed = await tx.userRole.deleteMany({ where: { userId: id, roleId: r.id } });
        if (removed.count > 0) {
          await tx.auditLog.create({
            data: auditData(
              {
                action: 'user.role_revoked',
                entityType: 'user',
                entityId: id,
                before: { role: name },
              },
              actor,
            ),
          });
        }
        return removed.count > 0;
      }),
    )
    .then(forgetPrincipals(ctx, `user:${id}`));
}

/** The permission names an active user holds through all their roles (empty when inactive). */
export async function listUserPermissions(ctx: PgContext, userId: string): Promise<string[]> {
  const id = parseInput(uuid, userId, 'userId');
  const rows = await ctx.run('listUserPermissions', () =>
    ctx.prisma.permission.findMany({
      where: {
        roles: { some: { role: { users: { some: { userId: id, user: { active: true } } } } } },
      },
      select: { name: true },
      orderBy: { name: 'asc' },
    }),
  );
  return rows.map((row) => row.name);
}

export async function hasPermission(ctx: PgContext, userId: string, permission: string) {
  const id = parseInput(uuid, userId, 'userId');
  const name = parseInput(permissionName, permission, 'permission');
  const count = await ctx.run('hasPermission', () =>
    ctx.prisma.permission.count({
      where: {
        name,
        roles: { some: { role: { users: { some: { userId: id, user: { active: true } } } } } },
      },
    }),
  );
  return count > 0;
}

/** Every role's name, in order. */
export async function listRoleNames(ctx: PgContext): Promise<string[]> {
  return ctx.run('listRoleNames', async () =>
    (await ctx.prisma.role.findMany({ select: { name: true }, orderBy: { name: 'asc' } })).map(
      (role) => role.name,
    ),
  );
}

export async function listUserRoles(ctx: PgContext, userId: string): Promise<string[]> {
  const id = parseInput(uuid, userId, 'userId');
  const rows = await ctx.run('listUserRoles', () =>
    ctx.prisma.userRole.findMany({
      where: { userId: id },
      select: { role: { select: { name: true } } },
      orderBy: { role: { name: 'asc' } },
    }),
  );
  return rows.map((row) => row.role.name);
}
