/**
 * The security part of `nova bootstrap elastic`, run only with the administrator's
 * credentials (ELASTIC_ADMIN_USERNAME / ELASTIC_ADMIN_PASSWORD):
 *
 * - the role `nova_app`, least privilege: cluster `monitor` (health), read and write on the
 *   search indices and their aliases, `create_doc` (append only) on the log data stream. It
 *   cannot create or delete indices, change templates or read anything else: bootstrap and
 *   `nova reindex` use the administrator.
 * - the application user (ELASTIC_USERNAME / ELASTIC_PASSWORD) with that role, when the app
 *   authenticates with a password rather than an API key;
 * - kibana_system's password (KIBANA_SYSTEM_PASSWORD) through the security API: the
 *   password Elasticsearch's image takes at first start is ignored ever after, which is how
 *   docker-elk users end up with a Kibana that cannot log in after a password change.
 *
 * Passwords cannot be read back, so they are checked by authenticating with them; a
 * password that still works is not rewritten, which keeps a second run a no-op.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import type { ElasticConfig } from '../../config.js';
import { fingerprint } from '../../lib/canonical.js';
import { unlessMissing } from '../../lib/db/elastic/client.js';
import { LOGS_DATA_STREAM, SEARCH_INDICES } from '../../lib/db/elastic/index-specs.js';

export const APP_ROLE = 'nova_app';
const MANAGED_BY = 'nova';
export const KIBANA_SYSTEM_USER = 'kibana_system';

export const APP_ROLE_SPEC: Omit<estypes.SecurityPutRoleRequest, 'name' | 'metadata'> = {
  cluster: ['monitor'],
  indices: [
    {
      names: Object.values(SEARCH_INDICES).map((alias) => `${alias}*`),
      privileges: ['read', 'write'],
    },
    { names: [LOGS_DATA_STREAM], privileges: ['create_doc'] },
  ],
};

export type SecurityStep =
  | { kind: 'putRole'; description: string; request: estypes.SecurityPutRoleRequest }
  | { kind: 'putUser'; description: string; request: estypes.SecurityPutUserRequest }
  | { kind: 'changePassword'; description: string; request: estypes.SecurityChangePasswordRequest };

export interface LiveSecurity {
  /** spec_hash in the role's metadata; null: the role does not exist. */
  roleHash: string | undefined | null;
  /** The application user, when one is configured. */
  appUser?: {
    exists: boolean;
    roles: string[];
    passwordWorks: boolean;
    /** Created by this bootstrap (metadata.managed_by): only such a user is ever changed. */
    managed: boolean;
    /** False when an operator disabled it: an update keeps it so. */
    enabled?: boolean;
  };
  /** Whether KIBANA_SYSTEM_PASSWORD authenticates kibana_system, when it is configured. */
  kibanaPasswordWorks?: boolean;
  /** kibana_system is disabled: no login can work, so none is planned. */
  kibanaDisabled?: boolean;
}

export interface SecurityPlan {
  steps: SecurityStep[];
  warnings: string[];
}

/** Tries a username and password against the cluster. */
export type Authenticate = (username: string, password: string) => Promise<boolean>;

export async function inspectSecurity(
  admin: Client,
  config: ElasticConfig,
  authenticate: Authenticate,
): Promise<LiveSecurity> {
  const roles = await unlessMissing(admin.security.getRole({ name: APP_ROLE }));
  const role = roles?.[APP_ROLE];
  const hash = (role?.metadata as { spec_hash?: unknown } | undefined)?.spec_hash;
  const live: LiveSecurity = {
    roleHash: role ? (typeof hash === 'string' ? hash : undefined) : null,
  };
  if (config.username && config.password && !config.apiKey) {
    const users = await unlessMissing(admin.security.getUser({ username: config.username }));
    const user = users?.[config.username];
    live.appUser = {
      exists: user !== undefined,
      roles: user?.roles ?? [],
      passwordWorks: user ? await authenticate(config.username, config.password) : false,
      managed: (user?.metadata as { managed_by?: unknown } | undefined)?.managed_by === MANAGED_BY,
      ...(user ? { enabled: user.enabled !== false } : {}),
    };
  }
  if (config.kibanaSystemPassword) {
    const users = await unlessMissing(admin.security.getUser({ username: KIBANA_SYSTEM_USER }));
    live.kibanaDisabled = users?.[KIBANA_SYSTEM_USER]?.enabled === false;
    live.kibanaPasswordWorks = await authenticate(KIBANA_SYSTEM_USER, config.kibanaSystemPassword);
  }
  return live;
}

/**
 * The steps, and warnings for what is left alone: a user this bootstrap did not create (the
 * `elastic` superuser, an administrator's own account) keeps its roles and password, since
 * replacing them would lock someone out; a disabled kibana_system is not touched.
 */
export function planSecurity(live: LiveSecurity, config: ElasticConfig): SecurityPlan {
  const steps: SecurityStep[] = [];
  const warnings: string[] = [];
  const hash = fingerprint(APP_ROLE_SPEC);
  if (live.roleHash !== hash) {
    steps.push({
      kind: 'putRole',
      description: `${live.roleHash === null ? 'create' : 'update'} role ${APP_ROLE} (monitor; read, write on search indices; create_doc on ${LOGS_DATA_STREAM})`,
      request: {
        name: APP_ROLE,
        ...APP_ROLE_SPEC,
        metadata: { managed_by: MANAGED_BY, spec_hash: hash },
      },
    });
  }
  const user = live.appUser;
  if (user && config.username && config.password) {
    const rolesRight = user.roles.length === 1 && user.roles[0] === APP_ROLE;
    if (!user.exists) {
      steps.push({
        kind: 'putUser',
        description: `create user ${config.username} with role ${APP_ROLE}`,
        request: {
          username: config.username,
          password: config.password,
          roles: [APP_ROLE],
          metadata: { managed_by: MANAGED_BY },
        },
      });
    } else if (!user.managed) {
      if (!rolesRight || !user.passwordWorks) {
        warnings.push(
          `user ${config.username} exists and was not created by nova bootstrap: left as it is (roles [${user.roles.join(', ')}]${user.passwordWorks ? '' : ', ELASTIC_PASSWORD does not log in'}); use a dedicated ELASTIC_USERNAME`,
        );
      }
    } else if (!rolesRight || !user.passwordWorks) {
      // putUser without a password keeps the current one; with one, it replaces it.
      const what = [
        !rolesRight && `roles [${user.roles.join(', ')}] -> [${APP_ROLE}]`,
        !user.passwordWorks && 'password',
      ];
      // Every field the user keeps is sent again: Elasticsearch stores what the request
      // says and nulls what it leaves out (NativeUsersStore: a full rewrite with a password, a
      // partial update of every field without one), so an update without `metadata` would
      // erase managed_by (later runs would take the user for someone else's), and one without
      // `enabled` would enable a user an operator disabled.
      steps.push({
        kind: 'putUser',
        description: `update user ${config.username}: ${what.filter(Boolean).join(', ')}`,
        request: {
          username: config.username,
          roles: [APP_ROLE],
          metadata: { managed_by: MANAGED_BY },
          enabled: user.enabled !== false,
          ...(user.passwordWorks ? {} : { password: config.password }),
        },
      });
    }
  }
  if (live.kibanaDisabled) {
    warnings.push(`${KIBANA_SYSTEM_USER} is disabled: its password is left alone`);
  } else if (live.kibanaPasswordWorks === false && config.kibanaSystemPassword) {
    steps.push({
      kind: 'changePassword',
      description: `set the ${KIBANA_SYSTEM_USER} password (KIBANA_SYSTEM_PASSWORD)`,
      request: { username: KIBANA_SYSTEM_USER, password: config.kibanaSystemPassword },
    });
  }
  return { steps, warnings };
}

/** A request as reports show it: passwords masked. */
export function maskSecrets<T extends object>(request: T): T {
  return 'password' in request ? { ...request, password: '***' } : request;
}
