/**
 * The permissions and default roles every installation starts with. The seed adds what is
 * missing and never removes grants an administrator added.
 */
export const DEFAULT_PERMISSIONS = {
  'users:read': 'View user accounts',
  'users:write': 'Create, update and deactivate user accounts',
  'roles:manage': 'Create roles and assign them to users',
  'tickets:read': 'View support tickets',
  'tickets:write': 'Create and update support tickets',
  'tickets:delete': 'Delete support tickets',
  'tickets:search': 'Search support tickets',
  'kb:read': 'Read knowledge-base articles, internal ones included',
  'kb:write': 'Write and publish knowledge-base articles',
  'kb:search': 'Search the knowledge base',
  'analytics:read': 'View search and performance analytics',
  'health:details': 'See versions, hosts and replica-set detail in health checks',
  'config:read': 'Read system configuration',
  'config:write': 'Change system configuration',
  'audit:read': 'Read the audit trail',
  'data:export': 'Export data',
} as const satisfies Record<string, string>;

export type PermissionName = keyof typeof DEFAULT_PERMISSIONS;

const ALL = Object.keys(DEFAULT_PERMISSIONS) as PermissionName[];

export const DEFAULT_ROLES: Record<
  string,
  { description: string; permissions: readonly PermissionName[] }
> = {
  admin: { description: 'Full access', permissions: ALL },
  agent: {
    description: 'Support agent: works tickets and maintains the knowledge base',
    permissions: [
      'users:read',
      'tickets:read',
      'tickets:write',
      'tickets:search',
      'kb:read',
      'kb:write',
      'kb:search',
      'analytics:read',
    ],
  },
  viewer: {
    description: 'Read-only access to tickets and the knowledge base',
    permissions: ['tickets:read', 'tickets:search', 'kb:read', 'kb:search'],
  },
};
