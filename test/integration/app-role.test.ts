/**
 * The application role, on real PostgreSQL: what the service's login may not do (rewrite the
 * audit trail, turn its triggers off, change the schema), and the bootstrap that sets the
 * role up (created once, its privileges reconciled, its password applied only when it no
 * longer logs in). Every test database's novaDb already logs in as this role
 * (test/support/global-setup.ts), so the rest of the suite shows it can do its work.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AppRole,
  appRoleOf,
  ensureAppRole,
  loginRisks,
  wantedPrivileges,
} from '../../src/bootstrap/postgres/app-role.js';
import { migrate, withClient } from '../../src/bootstrap/postgres/migrate.js';
import { useTestDatabase } from '../support/database.js';
import { loginUrl } from '../support/global-setup.js';
import { novaFailure } from '../support/nova-error.js';

const t = await useTestDatabase();

/** The SQLSTATE a statement fails with as `url`'s login, inside a transaction rolled back. */
async function refusal(url: string, statement: string): Promise<string | undefined> {
  return withClient(url, async (client) => {
    await client.query('BEGIN');
    try {
      await client.query(statement);
      return undefined;
    } catch (error) {
      return (error as { code?: string }).code;
    } finally {
      await client.query('ROLLBACK');
    }
  });
}

describe('the application role', () => {
  const attacks = [
    'DELETE FROM audit_logs',
    "UPDATE audit_logs SET action = 'forged'",
    'TRUNCATE audit_logs',
    'SET LOCAL session_replication_role = replica',
    'ALTER TABLE audit_logs DISABLE TRIGGER USER',
    'DROP TRIGGER audit_logs_append_only_rows ON audit_logs',
    'CREATE TABLE mine (id int)',
    'CREATE FUNCTION mine() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
    "SELECT setval('audit_logs_id_seq', 1)",
  ];

  it.each(attacks)('is refused: %s', async (statement) => {
    await t.db.createUser({
      email: `audit.${crypto.randomUUID()}@example.com`,
      firstName: 'A',
      lastName: 'B',
    });
    const before = await t.count('audit_logs');
    // 42501 insufficient_privilege (42501 too for "must be owner").
    expect(await refusal(t.url, statement)).toBe('42501');
    expect(await t.count('audit_logs')).toBe(before);
  });

  it('is refused what the owner is allowed: the statements above are not simply broken', async () => {
    // As the owner (a superuser here) the trigger switch and the delete go through, which is
    // why the service must not log in as it.
    expect(
      await refusal(
        t.ownerUrl,
        'SET LOCAL session_replication_role = replica; DELETE FROM audit_logs',
      ),
    ).toBeUndefined();
  });

  it('has no risky attribute, while the owner is reported as one', async () => {
    const pool = new pg.Pool({ connectionString: t.url, max: 1 });
    const owner = new pg.Pool({ connectionString: t.ownerUrl, max: 1 });
    try {
      expect(await loginRisks(pool)).toEqual([]);
      expect((await loginRisks(owner)).join()).toMatch(/is a superuser.*owns the schema's tables/);
    } finally {
      await pool.end();
      await owner.end();
    }
  });

  it('cannot run migrations: told to use the owner', async () => {
    const error = await novaFailure(migrate(t.url));
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'DATABASE_OWNER_URL' });
  });
});

describe('ensureAppRole', () => {
  const name = `nova_app_${crypto.randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const roleFor = (password: string): AppRole => ({
    name,
    password,
    url: loginUrl(t.ownerUrl, { user: name, password }),
  });
  const ensure = (role: AppRole, dryRun = false) =>
    withClient(t.ownerUrl, (client) => ensureAppRole(client, role, { dryRun }));
  afterAll(() =>
    withClient(t.ownerUrl, async (client) => {
      await client.query(`DROP OWNED BY ${name}`);
      await client.query(`DROP ROLE ${name}`);
    }),
  );

  /** Direct privileges of the role, "PRIVILEGE ON relation", sorted. */
  const held = async () =>
    (
      await t.sql<{ p: string }>(
        `SELECT a.privilege_type || ' ON ' || c.relname AS p
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
          WHERE n.nspname = 'public' AND a.grantee = to_regrole($1) ORDER BY 1`,
        [name],
      )
    ).map((r) => r.p);

  it('a dry run reports the role to create and changes nothing', async () => {
    const report = await ensure(roleFor('first-pass'), true);
    expect(report).toMatchObject({ created: true, passwordSet: true, revoked: [] });
    expect(report.granted).toContain('INSERT ON audit_logs');
    expect(report.granted).not.toContain('DELETE ON audit_logs');
    expect(await t.sql('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).toEqual([]);
  });

  it('creates the role with exactly its privileges; the password logs in', async () => {
    const report = await ensure(roleFor('first-pass'));
    expect(report.created).toBe(true);
    const privileges = await held();
    expect(privileges).toContain('SELECT ON _prisma_migrations');
    expect(privileges).not.toContain('INSERT ON _prisma_migrations');
    expect(privileges.filter((p) => p.endsWith(' ON audit_logs'))).toEqual([
      'INSERT ON audit_logs',
      'SELECT ON audit_logs',
    ]);
    expect(privileges).toContain('USAGE ON support_ticket_key_seq');
    expect(privileges).toEqual(
      expect.arrayContaining(wantedPrivileges('users', 'table').map((p) => `${p} ON users`)),
    );
    const [attributes] = await t.sql(
      'SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = $1',
      [name],
    );
    expect(attributes).toEqual({
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      rolbypassrls: false,
      rolcanlogin: true,
    });
    expect(await withClient(roleFor('first-pass').url, async () => 'in')).toBe('in');
  });

  it('a second run changes nothing', async () => {
    expect(await ensure(roleFor('first-pass'))).toEqual({
      name,
      created: false,
      passwordSet: false,
      attributes: [],
      granted: [],
      revoked: [],
    });
  });

  it('takes back what was granted by hand and resets the attributes', async () => {
    await t.sql(`GRANT DELETE, TRUNCATE ON audit_logs TO ${name}`);
    await t.sql(`ALTER ROLE ${name} SUPERUSER CREATEROLE`);
    await t.sql(`REVOKE INSERT ON users FROM ${name}`);
    const report = await ensure(roleFor('first-pass'));
    expect(report.attributes).toEqual(['NOSUPERUSER', 'NOCREATEROLE']);
    expect(report.revoked.sort()).toEqual(['DELETE ON audit_logs', 'TRUNCATE ON audit_logs']);
    expect(report.granted).toEqual(['INSERT ON users']);
    expect((await held()).filter((p) => p.endsWith(' ON audit_logs'))).toEqual([
      'INSERT ON audit_logs',
      'SELECT ON audit_logs',
    ]);
    expect(await t.sql('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [name])).toEqual([
      { rolsuper: false },
    ]);
  });

  it('applies a new password (rotation), as a verifier: the statement never carries it', async () => {
    const report = await ensure(roleFor('second-pass'));
    expect(report.passwordSet).toBe(true);
    expect(await withClient(roleFor('second-pass').url, async () => 'in')).toBe('in');
    const old = await withClient(roleFor('first-pass').url, async () => 'in').catch(
      (error: { code?: string }) => error.code,
    );
    expect(old).toBe('28P01');
    const [stored] = await t.sql<{ p: string }>(
      'SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1',
      [name],
    );
    expect(stored?.p).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect((await ensure(roleFor('second-pass'))).passwordSet).toBe(false);
  });

  it('refuses a role that owns the schema’s tables: grants cannot limit an owner', async () => {
    await t.sql(`CREATE TABLE owned_by_app (id int)`);
    await t.sql(`ALTER TABLE owned_by_app OWNER TO ${name}`);
    try {
      const error = await novaFailure(ensure(roleFor('second-pass')));
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'DATABASE_URL' });
      expect(error.message).toContain('owned_by_app');
      expect(error.message).not.toContain('second-pass');
    } finally {
      await t.sql('DROP TABLE owned_by_app');
    }
  });
});

describe('appRoleOf', () => {
  it('is the DATABASE_URL login when the owner is another one', () => {
    expect(
      appRoleOf('postgresql://nova_app:s%40cret@db/nova', 'postgresql://owner:x@db/nova'),
    ).toEqual({
      name: 'nova_app',
      password: 's@cret',
      url: 'postgresql://nova_app:s%40cret@db/nova',
    });
  });

  it('is undefined with one login for both: roles are left alone', () => {
    expect(appRoleOf('postgresql://nova:x@db/nova', 'postgresql://nova:x@db/nova')).toBeUndefined();
  });

  it('refuses an application login without a password', async () => {
    const error = await novaFailure(async () =>
      appRoleOf('postgresql://nova_app@db/nova', 'postgresql://o:x@db/nova'),
    );
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'DATABASE_URL' });
  });
});
