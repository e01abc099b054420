/**
 * What the legacy Nova API kept in its SQLite file (`log.sqlite`), as far as it is known: the
 * tables, and for each field the column names it went by in the app's versions (the first
 * present wins). A table is matched by name; a field by any of its columns. Columns no field
 * names are reported as ignored; tables not listed here are reported as unknown, never
 * guessed at.
 */

export type LegacyTable =
  | 'users'
  | 'roles'
  | 'user_roles'
  | 'config'
  | 'logs'
  | 'audit_logs'
  | 'passkeys'
  | 'role_permissions'
  | 'permissions'
  | 'kiosks'
  | 'feedback';

export interface TableSpec {
  /** The table's names across versions. */
  names: string[];
  /** What it becomes; `undefined` for a known table with no counterpart here. */
  target: string | undefined;
  /** Field → candidate column names, in order of preference. */
  fields: Record<string, string[]>;
  /** Fields without which the table cannot be read at all. */
  required: string[];
  /** Why a known table is not imported, when it is not. */
  notImported?: string;
}

export const LEGACY_TABLES: Record<LegacyTable, TableSpec> = {
  users: {
    names: ['users'],
    target: 'users',
    fields: {
      id: ['id', 'user_id'],
      email: ['email', 'mail'],
      name: ['name', 'full_name', 'fullname'],
      firstName: ['first_name', 'firstname', 'given_name'],
      lastName: ['last_name', 'lastname', 'family_name', 'surname'],
      displayName: ['display_name', 'displayname'],
      active: ['active', 'is_active', 'enabled'],
      disabled: ['disabled', 'is_disabled'],
      createdAt: ['created_at', 'createdat', 'created'],
    },
    required: ['id', 'email'],
  },
  roles: {
    names: ['roles'],
    target: 'roles (by name, through the role map)',
    fields: { id: ['id', 'role_id'], name: ['name', 'role', 'role_name'] },
    required: ['id', 'name'],
  },
  user_roles: {
    names: ['user_roles'],
    target: 'role assignments',
    fields: { userId: ['user_id'], roleId: ['role_id'], roleName: ['role', 'role_name'] },
    required: ['userId'],
  },
  config: {
    names: ['config', 'configuration', 'settings'],
    target: 'system config (legacy.*)',
    fields: { key: ['key', 'name'], value: ['value'] },
    required: ['key', 'value'],
  },
  logs: {
    names: ['logs'],
    target: 'support tickets',
    fields: {
      id: ['id'],
      ticketId: ['ticket_id', 'ticketid'],
      name: ['name'],
      email: ['email'],
      title: ['title', 'subject'],
      system: ['system', 'category'],
      urgency: ['urgency', 'priority'],
      timestamp: ['timestamp', 'created_at', 'createdat'],
      emailStatus: ['email_status'],
      servicenowId: ['servicenow_id'],
      userId: ['user_id'],
    },
    required: ['id', 'email', 'title'],
  },
  audit_logs: {
    names: ['audit_logs', 'audit_log'],
    target: 'audit trail (original times)',
    fields: {
      id: ['id'],
      userId: ['user_id', 'actor_id'],
      action: ['action', 'event'],
      details: ['details', 'data', 'metadata'],
      timestamp: ['timestamp', 'created_at'],
    },
    required: ['id', 'action'],
  },
  passkeys: {
    names: ['passkeys', 'webauthn_credentials'],
    target: 'passkeys (when the relying party ID stays the same)',
    fields: {
      id: ['id'],
      userId: ['user_id'],
      credentialId: ['credential_id', 'credentialid', 'cred_id'],
      publicKey: ['public_key', 'credential_public_key', 'publickey'],
      counter: ['counter', 'sign_count', 'signcount'],
      transports: ['transports'],
      nickname: ['name', 'nickname', 'device_name'],
      backedUp: ['backed_up', 'backup_state'],
      createdAt: ['created_at'],
    },
    required: ['userId', 'credentialId', 'publicKey'],
  },
  role_permissions: {
    names: ['role_permissions'],
    target: undefined,
    fields: {},
    required: [],
    notImported: "roles map onto the new platform's roles, with their permissions",
  },
  permissions: {
    names: ['permissions'],
    target: undefined,
    fields: {},
    required: [],
    notImported: "roles map onto the new platform's roles, with their permissions",
  },
  kiosks: {
    names: ['kiosks'],
    target: undefined,
    fields: {},
    required: [],
    notImported: 'kiosks have no counterpart in the new platform',
  },
  feedback: {
    names: ['feedback'],
    target: undefined,
    fields: {},
    required: [],
    notImported: 'feedback has no counterpart in the new platform',
  },
};

/** The order tables are imported in: what others refer to comes first. */
export const IMPORT_ORDER = [
  'users',
  'roles',
  'user_roles',
  'passkeys',
  'config',
  'logs',
  'audit_logs',
] as const satisfies LegacyTable[];

/** The tables this version imports. */
export type ImportableTable = (typeof IMPORT_ORDER)[number];
