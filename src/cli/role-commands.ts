/**
 * `nova role list`, `nova role grant ROLE PERMISSION`, `nova role revoke ROLE PERMISSION`:
 * the RBAC model's grants, changed through novaDb (audited, with the operator: cli/actor.ts;
 * every service process drops the principals affected at once). A revoked default grant is
 * not made again by `nova bootstrap postgres`.
 */
import { NovaError } from '../lib/errors.js';
import { cliActor } from './actor.js';
import { openSession } from './database.js';
import { printJson } from './output.js';

export async function runRole({
  action,
  role,
  permission,
  json,
}: {
  action: 'list' | 'grant' | 'revoke';
  role: string | undefined;
  permission: string | undefined;
  json: boolean;
}) {
  const session = await openSession();
  try {
    const store = session.db.postgres;
    if (action === 'list') {
      const roles = await store.prisma.role.findMany({
        orderBy: { name: 'asc' },
        select: {
          name: true,
          permissions: { select: { permission: { select: { name: true } } } },
        },
      });
      const listed = roles.map((r) => ({
        role: r.name,
        permissions: r.permissions.map((p) => p.permission.name).sort(),
      }));
      if (json) printJson(listed);
      else {
        for (const r of listed) process.stdout.write(`${r.role}: ${r.permissions.join(', ')}\n`);
      }
      return 0;
    }
    if (!role || !permission) {
      throw new NovaError('VALIDATION_FAILED', `role ${action} needs a ROLE and a PERMISSION`, {
        field: role ? 'permission' : 'role',
      });
    }
    const changed =
      action === 'grant'
        ? await store.grantPermission(role, permission, cliActor())
        : await store.revokePermission(role, permission, cliActor());
    if (json) printJson({ role, permission, action, changed });
    else {
      const done = action === 'grant' ? 'granted to' : 'revoked from';
      process.stdout.write(
        changed
          ? `${permission} ${done} ${role}\n`
          : `${role} ${action === 'grant' ? 'already has' : 'does not have'} ${permission}: nothing to do\n`,
      );
    }
    return 0;
  } finally {
    await session.close();
  }
}
