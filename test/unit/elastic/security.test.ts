import { Client, errors } from '@elastic/elasticsearch';
import MockModule, { type MockPattern } from '@elastic/elasticsearch-mock';
import { describe, expect, it } from 'vitest';
import {
  APP_ROLE,
  APP_ROLE_SPEC,
  inspectSecurity,
  type LiveSecurity,
  maskSecrets,
  planSecurity,
} from '../../../src/bootstrap/elastic/security.js';
import { loadConfig } from '../../../src/config.js';
import { fingerprint } from '../../../src/lib/canonical.js';
import { putUserOutcome } from '../../support/elastic-rules.js';

const Mock = MockModule as unknown as typeof MockModule.default;

const config = (env: Record<string, string> = {}) => {
  const elastic = loadConfig({
    ELASTIC_URL: 'http://127.0.0.1:9200',
    ELASTIC_ADMIN_USERNAME: 'elastic',
    ELASTIC_ADMIN_PASSWORD: 'admin-secret',
    ...env,
  }).elastic;
  if (!elastic) throw new Error('no elastic config');
  return elastic;
};
const withApp = config({
  ELASTIC_USERNAME: 'nova',
  ELASTIC_PASSWORD: 'app-secret',
  KIBANA_SYSTEM_PASSWORD: 'kibana-secret',
});
const roleHash = fingerprint(APP_ROLE_SPEC);
const converged: LiveSecurity = {
  roleHash,
  appUser: { exists: true, roles: [APP_ROLE], passwordWorks: true, managed: true },
  kibanaPasswordWorks: true,
};

describe('planSecurity', () => {
  it('creates the role, the user with its password and sets kibana_system on a fresh cluster', () => {
    const steps = planSecurity(
      {
        roleHash: null,
        appUser: { exists: false, roles: [], passwordWorks: false, managed: false },
        kibanaPasswordWorks: false,
      },
      withApp,
    ).steps;
    expect(steps.map((s) => s.kind)).toEqual(['putRole', 'putUser', 'changePassword']);
    expect(steps[0]?.request).toMatchObject({
      name: APP_ROLE,
      cluster: ['monitor'],
      metadata: { managed_by: 'nova', spec_hash: roleHash },
    });
    expect(steps[1]?.request).toEqual({
      username: 'nova',
      password: 'app-secret',
      roles: [APP_ROLE],
      metadata: { managed_by: 'nova' },
    });
    expect(steps[2]?.request).toEqual({ username: 'kibana_system', password: 'kibana-secret' });
  });

  it('plans nothing when everything is in place (a second run is a no-op)', () => {
    expect(planSecurity(converged, withApp).steps).toEqual([]);
  });

  it('grants least privilege: no manage, no delete_index, append-only logs', () => {
    const privileges = JSON.stringify(APP_ROLE_SPEC);
    expect(privileges).not.toMatch(/"(all|manage|delete_index|create_index|manage_security)"/);
    expect(APP_ROLE_SPEC.indices).toContainEqual({
      names: ['nova_logs'],
      privileges: ['create_doc'],
    });
    expect(APP_ROLE_SPEC.indices?.[0]?.names).toEqual([
      'nova_tickets*',
      'nova_kb*',
      'nova_ai_context*',
    ]);
  });

  it('updates a changed role, and fixes roles without touching a working password', () => {
    const steps = planSecurity(
      {
        ...converged,
        roleHash: 'old',
        appUser: { exists: true, roles: ['superuser'], passwordWorks: true, managed: true },
      },
      withApp,
    ).steps;
    expect(steps.map((s) => s.kind)).toEqual(['putRole', 'putUser']);
    expect(steps[0]?.description).toMatch(/^update role/);
    expect(steps[1]?.request).toEqual({
      username: 'nova',
      roles: [APP_ROLE],
      metadata: { managed_by: 'nova' },
      enabled: true,
    });
    expect(steps[1]?.description).toContain('superuser');
  });

  it('resets a password that no longer authenticates', () => {
    const steps = planSecurity(
      {
        ...converged,
        appUser: { exists: true, roles: [APP_ROLE], passwordWorks: false, managed: true },
      },
      withApp,
    ).steps;
    expect(steps).toHaveLength(1);
    expect(steps[0]?.request).toEqual({
      username: 'nova',
      roles: [APP_ROLE],
      metadata: { managed_by: 'nova' },
      enabled: true,
      password: 'app-secret',
    });
  });

  it('keeps the user its own, and disabled if it was, as Elasticsearch stores the update (NativeUsersStore)', () => {
    const stored = { roles: ['superuser'], metadata: { managed_by: 'nova' }, enabled: false };
    for (const passwordWorks of [true, false]) {
      const [step] = planSecurity(
        {
          ...converged,
          appUser: {
            exists: true,
            roles: ['superuser'],
            passwordWorks,
            managed: true,
            enabled: false,
          },
        },
        withApp,
      ).steps;
      const after = putUserOutcome(stored, step?.request as never) as Record<string, unknown>;
      expect(after).toMatchObject({
        roles: [APP_ROLE],
        metadata: { managed_by: 'nova' },
        enabled: false,
      });
    }
    // What an update without them leaves: no owner (never repaired again), enabled again.
    expect(putUserOutcome(stored, { username: 'nova', roles: [APP_ROLE] })).toMatchObject({
      metadata: null,
      enabled: true,
    });
    expect(putUserOutcome(stored, { username: 'nova' })).toBe(
      'Validation Failed: 1: roles are missing;',
    );
  });

  it('leaves users alone when the app uses an API key and no kibana password is set', () => {
    const apiKey = config({ ELASTIC_API_KEY: 'a2V5OnNlY3JldA==' });
    expect(planSecurity({ roleHash }, apiKey).steps).toEqual([]);
  });

  it('leaves a user it did not create alone, with a warning, and a disabled kibana_system too', () => {
    const plan = planSecurity(
      {
        roleHash,
        appUser: { exists: true, roles: ['superuser'], passwordWorks: false, managed: false },
        kibanaPasswordWorks: false,
        kibanaDisabled: true,
      },
      withApp,
    );
    expect(plan.steps).toEqual([]);
    expect(plan.warnings.join('\n')).toMatch(
      /user nova exists and was not created by nova bootstrap/,
    );
    expect(plan.warnings.join('\n')).toMatch(/kibana_system is disabled/);
    // An unmanaged user that is already right needs no warning.
    const quiet = planSecurity(
      {
        ...converged,
        appUser: { exists: true, roles: [APP_ROLE], passwordWorks: true, managed: false },
      },
      withApp,
    );
    expect(quiet).toEqual({ steps: [], warnings: [] });
  });

  it('refuses the administrator as the application user', () => {
    expect(() => config({ ELASTIC_USERNAME: 'elastic', ELASTIC_PASSWORD: 'admin-secret' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'ELASTIC_USERNAME' }),
    );
  });

  it('masks passwords in reports', () => {
    const [, user] = planSecurity(
      {
        roleHash: null,
        appUser: { exists: false, roles: [], passwordWorks: false, managed: false },
      },
      withApp,
    ).steps;
    const shown = JSON.stringify(maskSecrets(user?.request ?? {}));
    expect(shown).not.toContain('app-secret');
    expect(shown).toContain('***');
  });
});

describe('inspectSecurity', () => {
  function cluster(role: object | undefined, user: object | undefined) {
    const mock = new Mock();
    const notFound = () =>
      new errors.ResponseError({
        body: { error: { type: 'resource_not_found_exception' }, status: 404 },
        statusCode: 404,
        headers: {},
        warnings: null,
        meta: {} as never,
      });
    mock.add({ method: 'GET', path: `/_security/role/${APP_ROLE}` }, () =>
      role ? { [APP_ROLE]: role } : {},
    );
    mock.add({ method: 'GET', path: '/_security/user/:name' }, (p: MockPattern) =>
      user ? { [String(p.path).split('/').pop() as string]: user } : notFound(),
    );
    return new Client({ node: 'http://127.0.0.1:9200', Connection: mock.getConnection() });
  }

  it('reads the role hash, the user and checks both passwords by logging in', async () => {
    const tried: string[] = [];
    const live = await inspectSecurity(
      cluster(
        { metadata: { spec_hash: 'h1' } },
        { username: 'nova', roles: [APP_ROLE], metadata: { managed_by: 'nova' } },
      ),
      withApp,
      async (username, password) => {
        tried.push(`${username}:${password}`);
        return username === 'nova';
      },
    );
    expect(live).toEqual({
      roleHash: 'h1',
      appUser: {
        exists: true,
        roles: [APP_ROLE],
        passwordWorks: true,
        managed: true,
        enabled: true,
      },
      kibanaPasswordWorks: false,
      kibanaDisabled: false,
    });
    expect(tried).toEqual(['nova:app-secret', 'kibana_system:kibana-secret']);
  });

  it('reports a missing role and user without trying a login for the missing user', async () => {
    const tried: string[] = [];
    const live = await inspectSecurity(cluster(undefined, undefined), withApp, async (u) => {
      tried.push(u);
      return true;
    });
    expect(live.roleHash).toBeNull();
    expect(live.appUser).toEqual({
      exists: false,
      roles: [],
      passwordWorks: false,
      managed: false,
    });
    expect(tried).toEqual(['kibana_system']);
  });
});
