/**
 * Starts the PostgreSQL the tests use and prepares a migrated template database.
 *
 * - DATABASE_URL unset (a fresh machine): a real embedded PostgreSQL 15, in a
 *   temporary folder, deleted afterwards.
 * - DATABASE_URL set: that server is used; its role needs CREATEDB. Test databases are
 *   named nova_test_* and dropped after each file.
 *
 * Each test file clones `nova_test_template` (CREATE DATABASE ... TEMPLATE), so files are
 * isolated without re-running migrations, and the append-only audit table never needs
 * cleaning.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import {
  startEmbeddedPostgres,
  temporaryEmbeddedRoot,
} from '../../src/bootstrap/postgres/embedded.js';
import { migrate } from '../../src/bootstrap/postgres/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL to a maintenance database on the test server (CREATE/DROP DATABASE). */
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

const TEMPLATE = 'nova_test_template';

export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export default async function setup(project: TestProject) {
  let stop = async (): Promise<void> => undefined;
  let adminUrl = process.env.DATABASE_URL;
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
  await migrate(databaseUrl(adminUrl, TEMPLATE));
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', TEMPLATE);
  return stop;
}
