/**
 * The application role: the PostgreSQL login the service (and novaDb) uses, set up by the
 * bootstrap, which runs as the schema's owner (DATABASE_OWNER_URL).
 *
 * Why: a superuser, or the tables' owner, can do anything to any row, the "append-only"
 * audit trail included (`SET session_replication_role = replica` turns its triggers off;
 * an owner can ALTER TABLE … DISABLE TRIGGER). The application role owns nothing and holds
 * exactly:
 *
 * - SELECT, INSERT, UPDATE, DELETE on the schema's tables;
 * - SELECT, INSERT on audit_logs (no UPDATE, DELETE or TRUNCATE: its triggers refuse those,
 *   and without the privilege the role is refused before any trigger runs);
 * - SELECT on _prisma_migrations (readiness compares it with the code's migrations);
 * - USAGE on the sequences (nextval for ids and ticket keys);
 * - USAGE on the schema, never CREATE;
 * - LOGIN, and none of SUPERUSER, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS.
 *
 * Each bootstrap compares what the role holds with that list and grants or revokes the
 * difference, so a second run changes nothing and a privilege granted by hand is taken back.
 * The password is set from DATABASE_URL as a SCRAM verifier (scram.ts), only when logging in
 * with it fails, so a rotated password is applied by the next bootstrap and an unchanged one
 * is left alone.
 */
import pg from 'pg';
import { NovaError } from '../../lib/errors.js';
import { scramVerifier } from './scram.js';

export interface AppRole {
  /** The role's name: DATABASE_URL's user. */
  name: string;
  /** DATABASE_URL's password. */
  password: string;
  /** DATABASE_URL itself: the bootstrap logs in with it to check the password. */
  url: string;
}

export interface AppRoleReport {
  name: string;
  created: boolean;
  passwordSet: boolean;
  /** Role attributes set back to their least-privileged value, e.g. NOSUPERUSER. */
  attributes: string[];
  /** `PRIVILEGE ON object`, granted or revoked by this run (or that a dry run would). */
  granted: string[];
  revoked: string[];
}

/** The role attributes the application role must not have, as ALTER ROLE resets them. */
const FORBIDDEN_ATTRIBUTES = {
  rolsuper: 'NOSUPERUSER',
  rolcreatedb: 'NOCREATEDB',
  rolcreaterole: 'NOCREATEROLE',
  rolreplication: 'NOREPLICATION',
  rolbypassrls: 'NOBYPASSRLS',
} as const;

const TABLE = ['DELETE', 'INSERT', 'SELECT', 'UPDATE'];
/** Per relation, where it differs from TABLE (a sequence: USAGE). */
const EXCEPTIONS: Record<string, string[]> = {
  audit_logs: ['INSERT', 'SELECT'],
  _prisma_migrations: ['SELECT'],
};

/** What the application role should hold on a relation of the schema. */
export function wantedPrivileges(relation: string, kind: 'table' | 'sequence'): string[] {
  if (kind === 'sequence') return ['USAGE'];
  return EXCEPTIONS[relation] ?? TABLE;
}

/**
 * The application role DATABASE_URL names, when the bootstrap runs as another role
 * (DATABASE_OWNER_URL); undefined when both name the same user, which leaves roles alone.
 */
export function appRoleOf(appUrl: string, ownerUrl: string): AppRole | undefined {
  const app = new URL(appUrl);
  const owner = new URL(ownerUrl);
  const name = decodeURIComponent(app.username);
  if (name === decodeURIComponent(owner.username)) return undefined;
  const password = decodeURIComponent(app.password);
  if (name === '' || password === '') {
    throw new NovaError(
      'CONFIG_INVALID',
      'DATABASE_URL names no user or no password: the bootstrap sets up that login as the application role',
      { field: 'DATABASE_URL' },
    );
  }
  return { name, password, url: appUrl };
}

/** Same lock for every bootstrap: two at once would both try CREATE ROLE. */
const ROLE_LOCK = 72707370;

export async function ensureAppRole(
  owner: pg.Client,
  role: AppRole,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<AppRoleReport> {
  const report: AppRoleReport = {
    name: role.name,
    created: false,
    passwordSet: false,
    attributes: [],
    granted: [],
    revoked: [],
  };
  const id = owner.escapeIdentifier(role.name);
  const run = async (statement: string) => {
    if (!dryRun) await owner.query(statement);
  };
  await owner.query('BEGIN');
  try {
    await owner.query('SELECT pg_advisory_xact_lock($1)', [ROLE_LOCK]);
    const found = await owner.query<Record<keyof typeof FORBIDDEN_ATTRIBUTES, boolean>>(
      `SELECT ${Object.keys(FORBIDDEN_ATTRIBUTES).join(', ')}, rolcanlogin
         FROM pg_roles WHERE rolname = $1`,
      [role.name],
    );
    const attributes = found.rows[0];
    if (attributes === undefined) {
      report.created = true;
      report.passwordSet = true;
      const resets = Object.values(FORBIDDEN_ATTRIBUTES).join(' ');
      await run(
        `CREATE ROLE ${id} LOGIN ${resets} PASSWORD ${owner.escapeLiteral(scramVerifier(role.password))}`,
      );
    } else {
      for (const [column, reset] of Object.entries(FORBIDDEN_ATTRIBUTES)) {
        if (attributes[column as keyof typeof FORBIDDEN_ATTRIBUTES]) report.attributes.push(reset);
      }
      if (!(attributes as { rolcanlogin?: boolean }).rolcanlogin) report.attributes.push('LOGIN');
      if (report.attributes.length > 0) {
        await run(`ALTER ROLE ${id} ${report.attributes.join(' ')}`);
      }
    }
    if (!report.created) await refuseOwnership(owner, role.name);
    await reconcilePrivileges(owner, role.name, report, run, report.created && dryRun);
    await owner.query(dryRun ? 'ROLLBACK' : 'COMMIT');
  } catch (error) {
    await owner.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  if (!report.created && !(await canLogIn(role.url))) {
    report.passwordSet = true;
    await run(`ALTER ROLE ${id} PASSWORD ${owner.escapeLiteral(scramVerifier(role.password))}`);
  }
  if (!dryRun && report.passwordSet && !(await canLogIn(role.url))) {
    throw new NovaError(
      'CONFIG_INVALID',
      `the application role ${role.name} was given DATABASE_URL's password and still cannot log in with it: check pg_hba.conf and DATABASE_URL's host`,
      { field: 'DATABASE_URL' },
    );
  }
  return report;
}

/** An owner of schema objects cannot be limited by grants: refused, with the way out. */
async function refuseOwnership(owner: pg.Client, name: string): Promise<void> {
  const owned = await owner.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relowner = to_regrole($1) ORDER BY 1 LIMIT 3`,
    [name],
  );
  if (owned.rows.length === 0) return;
  const list = owned.rows.map((r) => r.relname).join(', ');
  throw new NovaError(
    'CONFIG_INVALID',
    `the application role ${name} owns ${list}: an owner cannot be limited by grants. Run the bootstrap as the schema's owner (DATABASE_OWNER_URL) after REASSIGN OWNED BY ${name} TO <owner>, or give the service another login`,
    { field: 'DATABASE_URL' },
  );
}

interface RelationRow {
  relname: string;
  kind: 'table' | 'sequence';
  held: string[];
}

async function reconcilePrivileges(
  owner: pg.Client,
  name: string,
  report: AppRoleReport,
  run: (statement: string) => Promise<void>,
  roleIsNew: boolean,
): Promise<void> {
  const id = owner.escapeIdentifier(name);
  // Direct grants only (aclexplode of the relation's ACL): what PUBLIC holds is the same for
  // every role and is not ours to change. A role a dry run would create holds nothing yet.
  const relations = await owner.query<RelationRow>(
    `SELECT c.relname,
            CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind,
            coalesce((SELECT array_agg(a.privilege_type ORDER BY a.privilege_type)
                        FROM aclexplode(c.relacl) a
                       WHERE $2::boolean IS FALSE AND a.grantee = to_regrole($1)), '{}') AS held
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      ORDER BY c.relname`,
    [name, roleIsNew],
  );
  for (const { relname, kind, held } of relations.rows) {
    const wanted = wantedPrivileges(relname, kind);
    const object = `${kind === 'sequence' ? 'SEQUENCE' : 'TABLE'} ${owner.escapeIdentifier(relname)}`;
    const grant = wanted.filter((p) => !held.includes(p));
    const revoke = held.filter((p) => !wanted.includes(p));
    if (grant.length > 0) {
      await run(`GRANT ${grant.join(', ')} ON ${object} TO ${id}`);
      report.granted.push(...grant.map((p) => `${p} ON ${relname}`));
    }
    if (revoke.length > 0) {
      await run(`REVOKE ${revoke.join(', ')} ON ${object} FROM ${id}`);
      report.revoked.push(...revoke.map((p) => `${p} ON ${relname}`));
    }
  }
  const schema = await owner.query<{ usage: boolean; create: boolean }>(
    `SELECT $2::boolean IS FALSE AND has_schema_privilege($1, 'public', 'USAGE') AS usage,
            $2::boolean IS FALSE AND has_schema_privilege($1, 'public', 'CREATE') AS create`,
    [name, roleIsNew],
  );
  const { usage, create } = schema.rows[0] ?? { usage: false, create: false };
  if (!usage) {
    await run(`GRANT USAGE ON SCHEMA public TO ${id}`);
    report.granted.push('USAGE ON SCHEMA public');
  }
  if (create) {
    // Held directly or through PUBLIC (databases made before PostgreSQL 15 grant it to
    // PUBLIC): taken from both, so no login can add tables or functions of its own.
    await run(`REVOKE CREATE ON SCHEMA public FROM PUBLIC, ${id}`);
    report.revoked.push('CREATE ON SCHEMA public');
  }
}

/** True when the URL's user logs in with its password; false on a refused password. */
async function canLogIn(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, application_name: 'nova-bootstrap' });
  try {
    await client.connect();
    return true;
  } catch (error) {
    // 28P01 wrong password, 28000 no such role / not allowed to log in (yet): set it.
    const code = (error as { code?: string }).code;
    if (code === '28P01' || code === '28000') return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function formatAppRoleReport(report: AppRoleReport, dryRun: boolean): string {
  const verb = dryRun ? 'would' : '';
  const parts = [
    report.created ? `${verb ? 'would be ' : ''}created` : '',
    report.passwordSet && !report.created ? `password ${verb ? 'would be ' : ''}set` : '',
    report.attributes.length ? `${report.attributes.join(' ')}` : '',
    report.granted.length
      ? `${report.granted.length} privileges ${verb ? 'to grant' : 'granted'}`
      : '',
    report.revoked.length
      ? `${report.revoked.length} ${verb ? 'to revoke' : 'revoked'} (${report.revoked.join(', ')})`
      : '',
  ].filter(Boolean);
  return `postgres application role ${report.name}: ${parts.length ? parts.join(', ') : 'up to date'}`;
}

/**
 * What makes the login `pool` uses more than an application role: superuser, BYPASSRLS, or
 * owning the schema's tables (an owner can turn the audit triggers off). Empty when none.
 */
export async function loginRisks(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{
    user: string;
    super: boolean;
    bypass: boolean;
    owns: boolean;
  }>(
    `SELECT r.rolname AS user, r.rolsuper AS super, r.rolbypassrls AS bypass,
            EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'public' AND c.relowner = r.oid) AS owns
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const row = rows[0];
  if (row === undefined) return [];
  return [
    row.super ? `${row.user} is a superuser` : '',
    row.bypass && !row.super ? `${row.user} bypasses row security` : '',
    row.owns ? `${row.user} owns the schema's tables` : '',
  ].filter(Boolean);
}
