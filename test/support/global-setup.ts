/**
 * Starts the PostgreSQL the tests use and prepares a migrated template database.
 *
 * - DATABASE_URL unset (a fresh machine): a real embedded PostgreSQL 15, in a
 *   temporary folder, deleted afterwards.
 * - DATABASE_OWNER_URL or DATABASE_URL set: that server is used, as the former's login when
 *   both are; it needs CREATEDB and CREATEROLE. Test databases are named nova_test_* and
 *   dropped after each file; the tests' application role is nova_test_app.
 *
 * Each test file clones `nova_test_template` (CREATE DATABASE ... TEMPLATE), so files are
 * isolated without re-running migrations, and the append-only audit table never needs
 * cleaning.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensureAppRole } from '../../src/bootstrap/postgres/app-role.js';
import {
  startEmbeddedPostgres,
  temporaryEmbeddedRoot,
} from '../../src/bootstrap/postgres/embedded.js';
import { migrate, withClient } from '../../src/bootstrap/postgres/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL to a maintenance database on the test server (CREATE/DROP DATABASE). */
    pgAdminUrl: string;
    pgTemplate: string;
    /** The application role's login (user:password), granted its privileges in the template. */
    pgAppLogin: { user: string; password: string };
  }
}

const TEMPLATE = 'nova_test_template';

export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** The same server and database as `base`, logged in as `login`. */
export function loginUrl(base: string, login: { user: string; password: string }): string {
  const url = new URL(base);
  url.username = encodeURIComponent(login.user);
  url.password = encodeURIComponent(login.password);
  return url.toString();
}

export default async function setup(project: TestProject) {
  let stop = async (): Promise<void> => undefined;
  // The owner's login where there are two (the workflow's): it creates databases and roles.
  let adminUrl = process.env.DATABASE_OWNER_URL || process.env.DATABASE_URL;
  if (!adminUrl) {
    const { root, remove } = temporaryEmbeddedRoot('nova-test-pg-');
    const server = await startEmbeddedPostgres({ root, ephemeral: true });
    adminUrl = server.url;
    stop = async () => {
      await server.stop();
      remove();
    };
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const templateUrl = databaseUrl(adminUrl, TEMPLATE);
  await migrate(templateUrl);
  // The tests' novaDb logs in as the application role, as the service does, so a privilege
  // the code needs and the role lacks fails here. Its grants are copied with the template.
  // Its own name: on a shared server (the workflow's) the service's nova_app keeps its password.
  const login = { user: 'nova_test_app', password: randomBytes(12).toString('base64url') };
  await withClient(templateUrl, (client) =>
    ensureAppRole(client, {
      name: login.user,
      password: login.password,
      url: loginUrl(templateUrl, login),
    }),
  );
  project.provide('pgAppLogin', login);
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', TEMPLATE);
  return stop;
}
