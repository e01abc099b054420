/**
 * `nova migrate-sqlite` on real PostgreSQL, from SQLite files built here the way two versions
 * of the legacy Nova API laid them out: the plan before any write, each table mapped (users by
 * email ignoring case, names split, roles through the map, config under legacy.*, the log into
 * tickets with their original times and references, the audit trail), bad rows refused with
 * their reasons while the rest go in, --strict, a second run that imports nothing, and an
 * interrupted run that continues where it stopped with no half-written batch.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { formatPlan, formatReport } from '../../src/cli/migrate-sqlite.js';
import type { PostgresStore } from '../../src/lib/db/postgres.js';
import { configKey } from '../../src/migrate/sqlite/rows.js';
import { migrateSqlite } from '../../src/migrate/sqlite/run.js';
import { useTestDatabase } from '../support/database.js';
import { novaFailure } from '../support/nova-error.js';

const dir = mkdtempSync(join(tmpdir(), 'nova-legacy-'));
// A database per layout and case, each from the migrated template.
const planDb = await useTestDatabase();
const v1Db = await useTestDatabase();
const v2Db = await useTestDatabase();
const badDb = await useTestDatabase();
const resumeDb = await useTestDatabase();

/** A legacy file from SQL statements. */
function legacyFile(name: string, statements: string[]): string {
  const path = join(dir, `${name}.sqlite`);
  if (existsSync(path)) return path; // made by an earlier test, from the same statements
  const db = new DatabaseSync(path);
  for (const statement of statements) db.exec(statement);
  db.close();
  return path;
}

/** The oldest layout: a log with a `timestamp`, users with one `name`, a config table. */
const V1 = [
  `CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT, title TEXT,
     system TEXT, urgency TEXT, timestamp TEXT)`,
  `INSERT INTO logs VALUES
     (1, 'INC-1001', 'Ada Lovelace', 'ada@example.com', 'Printer on fire', 'Printers', 'High', '2023-03-04 05:06:07'),
     (2, 'INC-1002', 'Alan Turing', 'ALAN@example.com', 'VPN drops', 'Network', 'Urgent', '2023-03-05T10:00:00Z'),
     (3, 'INC-1003', 'Ada Lovelace', 'ADA@EXAMPLE.COM', 'Second monitor', 'Hardware', 'low', '1678000000')`,
  'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT)',
  `INSERT INTO users VALUES (10, 'grace@example.com', 'Grace Brewster Hopper'), (11, 'alan@EXAMPLE.com', 'Alan Turing')`,
  'CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT)',
  `INSERT INTO config VALUES ('smtpHost', 'mail.example.com'), ('SMTP_PASSWORD', 'hunter2'),
     ('kiosk.timeout', '30')`,
  'CREATE TABLE kiosks (id TEXT, location TEXT)',
  'CREATE TABLE printers_cache (id INTEGER, model TEXT)',
];

/** A later layout: split names, roles, an audit trail, the log's e-mail and ServiceNow ids. */
const V2 = [
  `CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT, title TEXT,
     system TEXT, urgency TEXT, created_at TEXT, email_status TEXT, servicenow_id TEXT, user_id INTEGER)`,
  `INSERT INTO logs VALUES
     (1, 'T-9', 'Kim Ito', 'kim@example.com', 'Badge reader', 'Facilities', 'medium', '2024-01-02 03:04:05', 'sent', 'INC0012345', 20)`,
  `CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT,
     is_active INTEGER, created_at TEXT, password_hash TEXT)`,
  `INSERT INTO users VALUES (20, 'kim@example.com', 'Kim', 'Ito', 1, '2022-05-06 07:08:09', 'x'),
     (21, 'lee@example.com', 'Lee', 'Park', 0, '2022-06-01 00:00:00', 'y')`,
  'CREATE TABLE roles (id INTEGER PRIMARY KEY, name TEXT)',
  `INSERT INTO roles VALUES (1, 'admin'), (2, 'technician'), (3, 'auditor')`,
  'CREATE TABLE user_roles (user_id INTEGER, role_id INTEGER)',
  'INSERT INTO user_roles VALUES (20, 1), (21, 2), (21, 3)',
  'CREATE TABLE role_permissions (role_id INTEGER, permission TEXT)',
  `CREATE TABLE audit_logs (id INTEGER PRIMARY KEY, user_id INTEGER, action TEXT, details TEXT,
     timestamp TEXT)`,
  `INSERT INTO audit_logs VALUES (1, 20, 'LOGIN', '{"ip":"10.0.0.1","token":"abc"}', '2024-02-03 04:05:06'),
     (2, NULL, 'config change', 'free text', '2024-02-04 00:00:00')`,
  `CREATE TABLE passkeys (id TEXT, user_id INTEGER, credential_id BLOB, public_key BLOB,
     counter INTEGER, transports TEXT, name TEXT)`,
  // A COSE key is a CBOR map (0xA1-0xB7 first); ids as bytes or base64url text, as libraries kept them.
  `INSERT INTO passkeys VALUES
     ('pk1', 20, X'C0FFEE01', X'A50102032620012158', 7, '["internal","hybrid"]', 'Laptop'),
     ('pk2', 21, 'q83vEjRWeJA', X'A401', 0, 'usb,nfc', NULL),
     ('pk3', 20, X'DEAD', '-----BEGIN PUBLIC KEY-----', 0, NULL, NULL),
     ('pk4', 99, X'BEEF', X'A1', 0, NULL, NULL)`,
];

describe('nova migrate-sqlite: the plan', () => {
  const t = planDb;

  it('inspects the file and says what each table becomes, before and without writing', async () => {
    const { db } = t;
    const before = await t.count('support_tickets');
    const report = await migrateSqlite(db.postgres, { file: legacyFile('plan', V1), dryRun: true });
    const byTable = Object.fromEntries(report.plan.map((entry) => [entry.table, entry]));
    expect(byTable.logs).toMatchObject({
      rows: 3,
      target: 'support tickets',
      imports: true,
      used: {
        id: 'id',
        ticketId: 'ticket_id',
        email: 'email',
        title: 'title',
        timestamp: 'timestamp',
      },
      ignored: [],
    });
    expect(byTable.kiosks?.target).toMatch(/^not imported: kiosks have no counterpart/);
    expect(byTable.printers_cache).toMatchObject({
      target: 'unknown: not imported',
      imports: false,
    });
    expect(report.summary).toEqual([
      { table: 'users', imported: 2, skipped: 0, refused: 0 },
      { table: 'config', imported: 3, skipped: 0, refused: 0 },
      { table: 'logs', imported: 3, skipped: 0, refused: 0 },
    ]);
    expect(await t.count('support_tickets')).toBe(before);
    expect(formatPlan(report.plan)).toMatch(/printers_cache\s+0\s+unknown: not imported/);
    expect(formatReport(report)).toMatch(/dry run: nothing was written/);
  });

  it('refuses a file that is not there, or not SQLite, naming it', async () => {
    const { db } = t;
    const missing = await novaFailure(
      migrateSqlite(db.postgres, { file: join(dir, 'nope.sqlite') }),
    );
    expect(missing).toMatchObject({ code: 'VALIDATION_FAILED', field: 'file' });
    const text = join(dir, 'text.sqlite');
    writeFileSync(text, 'not a database');
    const garbage = await novaFailure(migrateSqlite(db.postgres, { file: text }));
    expect(garbage).toMatchObject({ code: 'VALIDATION_FAILED', field: 'file' });
  });
});

describe('nova migrate-sqlite: the oldest layout', () => {
  const t = v1Db;

  it('imports the log as tickets with their times, references, categories and priorities', async () => {
    const { db, sql } = t;
    // Alan is already a user: matched by email, whatever its case.
    const alan = await db.postgres.createUser({
      email: 'alan@example.com',
      firstName: 'Alan',
      lastName: 'T',
    });
    const report = await migrateSqlite(db.postgres, { file: legacyFile('v1', V1) });
    expect(report.refused).toEqual([]);
    expect(report.summary).toEqual([
      { table: 'users', imported: 1, skipped: 1, refused: 0 },
      { table: 'config', imported: 3, skipped: 0, refused: 0 },
      { table: 'logs', imported: 3, skipped: 0, refused: 0 },
    ]);
    const tickets = await sql<{
      external_ref: string;
      title: string;
      priority: string;
      category: string;
      created_at: Date;
      email: string;
      status: string;
    }>(
      `SELECT t.external_ref, t.title, t.priority, t.category, t.created_at, u.email, t.status
         FROM support_tickets t JOIN users u ON u.id = t.requester_id ORDER BY t.external_ref`,
    );
    expect(tickets).toEqual([
      expect.objectContaining({
        external_ref: 'v1:INC-1001',
        priority: 'high',
        category: 'Printers',
        created_at: new Date('2023-03-04T05:06:07Z'),
        email: 'ada@example.com',
        status: 'open',
      }),
      expect.objectContaining({
        external_ref: 'v1:INC-1002',
        priority: 'urgent',
        email: 'alan@example.com',
        created_at: new Date('2023-03-05T10:00:00Z'),
      }),
      expect.objectContaining({
        external_ref: 'v1:INC-1003',
        priority: 'low',
        email: 'ada@example.com',
        created_at: new Date(1678000000 * 1000),
      }),
    ]);
    // One Ada (two spellings of her address), the existing Alan, Grace from the users table.
    const ada = await sql<{ first_name: string; last_name: string; display_name: string }>(
      "SELECT first_name, last_name, display_name FROM users WHERE email = 'ada@example.com'",
    );
    expect(ada).toEqual([
      { first_name: 'Ada', last_name: 'Lovelace', display_name: 'Ada Lovelace' },
    ]);
    const grace = await db.postgres.findUserByEmail('grace@example.com');
    expect(grace).toMatchObject({ firstName: 'Grace Brewster', lastName: 'Hopper' });
    expect((await db.postgres.findUserByEmail('ALAN@example.com'))?.id).toBe(alan.id);
    // Found again by the legacy ticket id.
    expect(await db.postgres.getTicket('v1:INC-1002')).toMatchObject({
      title: 'VPN drops',
      requesterId: alan.id,
      externalRef: 'v1:INC-1002',
    });
    // Audited, queued for the search index, recorded in the ledger.
    expect(await sql(`SELECT 1 FROM audit_logs WHERE action = 'ticket.imported'`)).toHaveLength(3);
    expect(
      await sql(`SELECT 1 FROM search_outbox WHERE entity_type = 'ticket' AND operation = 'index'`),
    ).toHaveLength(3);
    expect(await sql(`SELECT 1 FROM legacy_imports WHERE source_table = 'logs'`)).toHaveLength(3);
  });

  it('keeps config under legacy.*, the secret-named key secret in the audit trail', async () => {
    const { db, sql } = t;
    expect((await db.postgres.getConfig('legacy.smtp_host'))?.value).toBe('mail.example.com');
    expect((await db.postgres.getConfig('legacy.kiosk.timeout'))?.value).toBe(30);
    const audit = await sql<{ after: { value: unknown } }>(
      `SELECT after FROM audit_logs WHERE entity_id = 'legacy.smtp_password'`,
    );
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain('hunter2');
    expect(configKey('smtpHost')).toBe('legacy.smtp_host');
    // Two spellings of one key: the second is refused, not silently dropped.
    const twice = legacyFile('config-twice', [
      'CREATE TABLE config (key TEXT, value TEXT)',
      `INSERT INTO config VALUES ('mailFrom', '"a@example.com"'), ('mail_from', '"b@example.com"')`,
    ]);
    const report = await migrateSqlite(db.postgres, { file: twice });
    expect(report.refused).toEqual([
      {
        table: 'config',
        id: 'mail_from',
        reason: 'key "mail_from" becomes legacy.mail_from, as "mailFrom" does',
      },
    ]);
    expect((await db.postgres.getConfig('legacy.mail_from'))?.value).toBe('a@example.com');
    expect(configKey('Mail.From-Address')).toBe('legacy.mail.from_address');
  });

  it('imports nothing new on a second run', async () => {
    const { db, count } = t;
    const counts = async () =>
      Promise.all(
        ['users', 'support_tickets', 'audit_logs', 'search_outbox', 'system_config'].map(count),
      );
    const before = await counts();
    const report = await migrateSqlite(db.postgres, { file: legacyFile('v1', V1) });
    expect(report.summary.map((s) => s.imported)).toEqual([0, 0, 0]);
    expect(report.summary.map((s) => s.skipped)).toEqual([2, 3, 3]);
    expect(await counts()).toEqual(before);
  });
});

/** V2's passkeys that cannot be imported: a PEM key, a user the import does not have. */
const PASSKEYS_REFUSED = [
  { table: 'passkeys', id: 'pk3', reason: 'publicKey is neither bytes nor hex or base64' },
  { table: 'passkeys', id: 'pk4', reason: 'user 99 was not imported' },
];

describe('nova migrate-sqlite: a later layout', () => {
  const t = v2Db;

  it('imports users with their names and state, role grants through the map, and the audit trail at its times', async () => {
    const { db, sql } = t;
    const report = await migrateSqlite(db.postgres, { file: legacyFile('v2', V2) });
    // "auditor" is in no map: its role and its grant are refused, the rest go in.
    expect(report.refused).toEqual([
      { table: 'roles', id: '3', reason: expect.stringMatching(/"auditor" has no counterpart/) },
      { table: 'user_roles', id: '21:3', reason: 'role 3 is not mapped' },
      ...PASSKEYS_REFUSED,
    ]);
    const byTable = Object.fromEntries(report.plan.map((entry) => [entry.table, entry]));
    expect(byTable.users?.ignored).toEqual(['password_hash']);
    expect(byTable.passkeys?.target).toMatch(/^passkeys/);
    expect(byTable.role_permissions?.target).toMatch(/^not imported: roles map onto/);
    const kim = await db.postgres.findUserByEmail('kim@example.com');
    const lee = await db.postgres.findUserByEmail('lee@example.com');
    expect(kim).toMatchObject({ firstName: 'Kim', lastName: 'Ito', active: true });
    expect(lee).toMatchObject({ active: false, createdAt: new Date('2022-06-01T00:00:00Z') });
    expect(await db.postgres.listUserRoles(kim?.id as string)).toEqual(['admin']);
    expect(await db.postgres.listUserRoles(lee?.id as string)).toEqual(['agent']);
    const [laptop] = await db.postgres.listPasskeys(kim?.id as string);
    expect(laptop).toMatchObject({
      credentialId: new Uint8Array([0xc0, 0xff, 0xee, 0x01]),
      signCount: 7n,
      transports: ['internal', 'hybrid'],
      deviceType: 'singleDevice',
      nickname: 'Laptop',
    });
    const [usb] = await db.postgres.listPasskeys(lee?.id as string);
    expect(Buffer.from(usb?.credentialId ?? []).toString('base64url')).toBe('q83vEjRWeJA');
    expect(usb?.transports).toEqual(['usb', 'nfc']);
    const ticket = await sql<{ description: string; requester_id: string }>(
      `SELECT description, requester_id FROM support_tickets WHERE external_ref = 'v2:T-9'`,
    );
    expect(ticket[0]?.requester_id).toBe(kim?.id);
    expect(ticket[0]?.description).toMatch(/ServiceNow: INC0012345\.\nEmail status: sent\./);
    const audit = await sql<{
      actor_id: string | null;
      action: string;
      after: unknown;
      created_at: Date;
    }>(
      `SELECT actor_id, action, after, created_at FROM audit_logs WHERE entity_type = 'legacy_audit' ORDER BY entity_id`,
    );
    expect(audit).toEqual([
      {
        actor_id: kim?.id,
        action: 'legacy.login',
        after: { details: { ip: '10.0.0.1', token: '[REDACTED]' } },
        created_at: new Date('2024-02-03T04:05:06Z'),
      },
      {
        actor_id: null,
        action: 'legacy.config_change',
        after: { details: 'free text' },
        created_at: new Date('2024-02-04T00:00:00Z'),
      },
    ]);
  });

  it('takes --map entries over the defaults', async () => {
    const { db } = t;
    const map = join(dir, 'map.json');
    writeFileSync(map, JSON.stringify({ roles: { Auditor: 'viewer' } }));
    const report = await migrateSqlite(db.postgres, { file: legacyFile('v2', V2), mapFile: map });
    expect(report.refused).toEqual(PASSKEYS_REFUSED);
    const lee = await db.postgres.findUserByEmail('lee@example.com');
    expect((await db.postgres.listUserRoles(lee?.id as string)).sort()).toEqual([
      'agent',
      'viewer',
    ]);
    writeFileSync(map, JSON.stringify({ priority: { P1: 'highest' } }));
    const bad = await novaFailure(
      migrateSqlite(db.postgres, { file: legacyFile('v2', V2), mapFile: map }),
    );
    expect(bad).toMatchObject({ code: 'VALIDATION_FAILED', field: 'map.priority.P1' });
  });
});

describe('nova migrate-sqlite: bad rows', () => {
  const t = badDb;
  const BAD = [
    `CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT, title TEXT,
       system TEXT, urgency TEXT, timestamp TEXT)`,
    `INSERT INTO logs VALUES
       (1, 'A-1', 'Ok One', 'one@example.com', 'Fine', 'X', 'low', '2023-01-01 00:00:00'),
       (2, 'A-2', 'No Mail', NULL, 'Missing email', 'X', 'low', '2023-01-01 00:00:00'),
       (3, 'A-3', 'Bad Date', 'three@example.com', 'Bad date', 'X', 'low', 'last tuesday'),
       (4, 'A-1', 'Dup', 'four@example.com', 'Duplicate id', 'X', 'low', '2023-01-01 00:00:00'),
       (5, 'A-5', 'Long', 'five@example.com', '${'t'.repeat(201)}', 'X', 'low', '2023-01-01 00:00:00'),
       (6, 'A-6', 'Odd', 'six@example.com', 'Unknown urgency', 'X', 'P9', '2023-01-01 00:00:00'),
       (7, 'A-7', 'Ok Seven', 'seven@example.com', 'Also fine', 'X', NULL, '2023-01-01 00:00:00')`,
  ];

  it('--strict writes nothing when any row is refused', async () => {
    const { db, count } = t;
    const report = await migrateSqlite(db.postgres, { file: legacyFile('bad', BAD), strict: true });
    expect(report.stoppedByStrict).toBe(true);
    expect(report.refused).toHaveLength(5);
    expect(await count('support_tickets')).toBe(0);
    expect(formatReport(report)).toMatch(/--strict: rows were refused, so nothing was written/);
  });

  it('refuses each bad row with its table, id and reason, and imports the rest', async () => {
    const { db, count } = t;
    const report = await migrateSqlite(db.postgres, { file: legacyFile('bad', BAD) });
    expect(report.refused).toEqual([
      { table: 'logs', id: '2', reason: 'no email' },
      { table: 'logs', id: '3', reason: 'timestamp "last tuesday" is not a date' },
      { table: 'logs', id: '4', reason: 'duplicate ticket id A-1 (row 1 has it too)' },
      { table: 'logs', id: '5', reason: 'title is 201 characters (at most 200)' },
      { table: 'logs', id: '6', reason: expect.stringMatching(/^urgency "P9" has no priority/) },
    ]);
    expect(report.summary).toEqual([{ table: 'logs', imported: 2, skipped: 0, refused: 5 }]);
    expect(await count('support_tickets')).toBe(2);
    expect(formatReport(report)).toMatch(/logs, 4: duplicate ticket id A-1/);
  });
});

describe('nova migrate-sqlite: an interrupted run', () => {
  const t = resumeDb;

  it('keeps whole batches only, and the next run continues where it stopped', async () => {
    const { db, count, sql } = t;
    const rows = Array.from(
      { length: 10 },
      (_, i) =>
        `(${i + 1}, 'R-${i + 1}', 'Person ${i}', 'p${i}@example.com', 'Ticket ${i}', 'S', 'low', '2023-01-01 00:00:00')`,
    );
    const file = legacyFile('interrupted', [
      `CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT, title TEXT,
         system TEXT, urgency TEXT, timestamp TEXT)`,
      `INSERT INTO logs VALUES ${rows.join(',')}`,
    ]);
    // The third batch fails halfway through its transaction: after its tickets, before its
    // ledger entries (the store's write path, made to fail on that batch only).
    let batches = 0;
    const failing = Object.create(db.postgres) as PostgresStore;
    Object.defineProperty(failing, 'importLegacyTickets', {
      value: async (...args: Parameters<PostgresStore['importLegacyTickets']>) => {
        batches++;
        if (batches === 3) {
          await db.postgres.importLegacyTickets(args[0], args[1].slice(0, 1), args[2]);
          throw new Error('connection lost');
        }
        return db.postgres.importLegacyTickets(...args);
      },
    });
    await expect(migrateSqlite(failing, { file, batchSize: 3 })).rejects.toThrow('connection lost');
    // Batches 1 and 2 whole; of batch 3 only the ticket the failing call committed on its own;
    // batch 4 (1 row) may have been written beside it. Every ticket has its ledger entry.
    const imported = await sql<{ source_id: string }>(
      `SELECT source_id FROM legacy_imports WHERE source = 'interrupted' ORDER BY source_id::int`,
    );
    const ids = imported.map((row) => row.source_id);
    expect(ids.slice(0, 7)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(ids.slice(7)).toEqual(ids.length === 8 ? ['10'] : []);
    expect(await count('support_tickets')).toBe(ids.length);

    const report = await migrateSqlite(db.postgres, { file, batchSize: 3 });
    expect(report.summary).toEqual([
      { table: 'logs', imported: 10 - ids.length, skipped: ids.length, refused: 0 },
    ]);
    expect(await count('support_tickets')).toBe(10);
    const refs = await sql<{ n: string }>(
      'SELECT count(DISTINCT external_ref)::text AS n FROM support_tickets',
    );
    expect(refs[0]?.n).toBe('10');
  });

  it('keeps a second legacy file apart in the ledger: its own source name', async () => {
    const { db, sql } = t;
    // interrupted.sqlite's rows 1..10 are in the ledger; another file's row 1 is not theirs.
    const other = legacyFile('other-site', [
      `CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT, title TEXT,
         system TEXT, urgency TEXT, timestamp TEXT)`,
      `INSERT INTO logs VALUES (1, 'O-1', 'Oz', 'oz@example.com', 'Other site', 'S', 'low', '2023-01-01 00:00:00')`,
    ]);
    const report = await migrateSqlite(db.postgres, { file: other });
    expect(report.summary).toEqual([{ table: 'logs', imported: 1, skipped: 0, refused: 0 }]);
    expect(await sql(`SELECT 1 FROM legacy_imports WHERE source = 'other-site'`)).toHaveLength(1);
    const named = await novaFailure(
      migrateSqlite(db.postgres, { file: other, source: 'no spaces please' }),
    );
    expect(named).toMatchObject({ code: 'VALIDATION_FAILED', field: 'source' });
  });

  it('leaves nothing of a batch whose transaction fails', async () => {
    const { db, count, sql } = t;
    const before = await count('support_tickets');
    // A requester email longer than the users column allows makes PostgreSQL refuse the
    // batch's insert after its first statements ran.
    const file = legacyFile('rollback', [
      `CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT, title TEXT,
         system TEXT, urgency TEXT, timestamp TEXT)`,
      `INSERT INTO logs VALUES (1, 'Z-1', 'Zed', 'zed@example.com', 'One', 'S', 'low', '2023-01-01 00:00:00'),
         (2, 'Z-2', 'Zoe', 'zoe@example.com', 'Two', 'S', 'low', '2023-01-01 00:00:00')`,
    ]);
    const failing = Object.create(db.postgres) as PostgresStore;
    Object.defineProperty(failing, 'importLegacyTickets', {
      value: (
        scope: Parameters<PostgresStore['importLegacyTickets']>[0],
        tickets: Parameters<PostgresStore['importLegacyTickets']>[1],
      ) =>
        db.postgres.importLegacyTickets(scope, [
          ...tickets,
          {
            ...(tickets[0] as (typeof tickets)[number]),
            externalRef: 'legacy:Z-3',
            category: 'c'.repeat(101),
          },
        ]),
    });
    await expect(migrateSqlite(failing, { file })).rejects.toThrow();
    expect(await count('support_tickets')).toBe(before);
    expect(
      await sql(`SELECT 1 FROM users WHERE email IN ('zed@example.com', 'zoe@example.com')`),
    ).toEqual([]);
    expect(await sql(`SELECT 1 FROM legacy_imports WHERE source = 'rollback'`)).toEqual([]);
  });
});

const edgeDb = await useTestDatabase();

describe('nova migrate-sqlite: what a real legacy file can hold', () => {
  const t = edgeDb;
  const LOGS = `CREATE TABLE logs (id TEXT PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT,
    title TEXT, system TEXT, urgency TEXT, timestamp TEXT)`;

  it('keeps two files\u2019 equal ticket ids apart (each reference names its source)', async () => {
    const { db, sql } = t;
    for (const site of ['site-a', 'site-b']) {
      const file = legacyFile(site, [
        LOGS,
        `INSERT INTO logs VALUES ('1', 'INC-1', 'Sam Lee', 'sam@example.com', 'From ${site}', 'S', 'low', '2023-01-01 00:00:00')`,
      ]);
      const report = await migrateSqlite(db.postgres, { file });
      expect(report.summary).toEqual([{ table: 'logs', imported: 1, skipped: 0, refused: 0 }]);
    }
    const refs = await sql<{ external_ref: string; title: string }>(
      `SELECT external_ref, title FROM support_tickets WHERE external_ref LIKE 'site-%' ORDER BY 1`,
    );
    expect(refs).toEqual([
      { external_ref: 'site-a:INC-1', title: 'From site-a' },
      { external_ref: 'site-b:INC-1', title: 'From site-b' },
    ]);
  });

  it('imports every table of a kind (config and settings), keeping secret-named keys secret', async () => {
    const { db, sql } = t;
    const file = legacyFile('two-configs', [
      'CREATE TABLE config (key TEXT, value TEXT)',
      `INSERT INTO config VALUES ('pass', 'pw1'), ('dsn', 'postgres://u:s3cr3t@h/db'),
         ('smtpPass', 'hunter2'), ('huge', '1e999')`,
      'CREATE TABLE settings (key TEXT, value TEXT)',
      `INSERT INTO settings VALUES ('theme', '"dark"')`,
    ]);
    const report = await migrateSqlite(db.postgres, { file });
    expect(report.summary).toEqual([
      { table: 'config', imported: 4, skipped: 0, refused: 0 },
      { table: 'settings', imported: 1, skipped: 0, refused: 0 },
    ]);
    expect((await db.postgres.getConfig('legacy.theme'))?.value).toBe('dark');
    // 1e999 is no JSON number (Infinity): kept as the text it was.
    expect((await db.postgres.getConfig('legacy.huge'))?.value).toBe('1e999');
    const audit = JSON.stringify(
      await sql(
        `SELECT after FROM audit_logs WHERE entity_id IN ('legacy.pass', 'legacy.dsn', 'legacy.smtp_pass')`,
      ),
    );
    for (const secret of ['pw1', 's3cr3t', 'hunter2']) expect(audit).not.toContain(secret);
  });

  it('refuses, never fails on, values the write paths would reject', async () => {
    const { db, count } = t;
    const map = join(dir, 'bad-role-map.json');
    writeFileSync(map, JSON.stringify({ roles: { auditor: 'auditors' } }));
    const file = legacyFile('bad-values', [
      'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT)',
      `INSERT INTO users VALUES (1, 'ann@example.com', 'Ann A'), (2, 'ANN@example.com', 'Ann Again'),
         (3, 'bo@example.com', 'Bo B')`,
      'CREATE TABLE roles (id INTEGER PRIMARY KEY, name TEXT)',
      `INSERT INTO roles VALUES (1, 'auditor'), (2, 'admin')`,
      'CREATE TABLE user_roles (user_id INTEGER, role_id INTEGER)',
      'INSERT INTO user_roles VALUES (1, 1), (1, 2)',
      'CREATE TABLE passkeys (id TEXT, user_id INTEGER, credential_id TEXT, public_key BLOB, counter TEXT)',
      `INSERT INTO passkeys VALUES ('k1', 1, 'c0ffee01', X'A401', '4294967296'),
         ('k2', 1, 'c0ffee02', X'A401', '5'), ('k3', 3, 'c0ffee02', X'A401', '0')`,
      LOGS,
      `INSERT INTO logs VALUES ('${'x'.repeat(201)}', 'L-1', 'Ann A', 'ann@example.com', 'Long id', 'S', 'low', '2023-01-01 00:00:00'),
         ('2', 'L-2', 'Ann A', 'ann@example.com', 'No offset', 'S', 'low', '2023-01-01T12:00:00'),
         ('3', 'L-3', 'Ann A', 'ann@example.com', 'US date', 'S', 'low', '01/02/2023')`,
    ]);
    const tickets = await count('support_tickets');
    const report = await migrateSqlite(db.postgres, { file, mapFile: map });
    expect(report.refused).toEqual([
      { table: 'users', id: '2', reason: 'duplicate email (row 1 has it too)' },
      {
        table: 'roles',
        id: '1',
        reason: 'role "auditor" maps to auditors, which is no role here',
      },
      { table: 'user_roles', id: '1:1', reason: 'role 1 is not mapped' },
      {
        table: 'passkeys',
        id: 'k1',
        reason: 'counter "4294967296" is not a 32-bit signature count',
      },
      { table: 'passkeys', id: 'k3', reason: 'duplicate credential (row k2 has it too)' },
      { table: 'logs', id: 'x'.repeat(201), reason: 'id is 201 characters (at most 200)' },
      { table: 'logs', id: '3', reason: 'timestamp "01/02/2023" is not a date' },
    ]);
    const ann = await db.postgres.findUserByEmail('ann@example.com');
    expect(await db.postgres.listUserRoles(ann?.id as string)).toEqual(['admin']);
    // Hex text is read as hex.
    const [key] = await db.postgres.listPasskeys(ann?.id as string);
    expect(Buffer.from(key?.credentialId ?? []).toString('hex')).toBe('c0ffee02');
    // A time without an offset is UTC, as SQLite's clock is, whatever the machine's zone.
    const ticket = await db.postgres.getTicket('bad-values:L-2');
    expect(ticket?.createdAt).toEqual(new Date('2023-01-01T12:00:00Z'));
    expect(await count('support_tickets')).toBe(tickets + 1);

    // A credential already registered to someone else (not by this file) is refused too.
    const other = legacyFile('taken-credential', [
      'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT)',
      `INSERT INTO users VALUES (7, 'cy@example.com', 'Cy C')`,
      'CREATE TABLE passkeys (id TEXT, user_id INTEGER, credential_id TEXT, public_key BLOB)',
      `INSERT INTO passkeys VALUES ('k7', 7, 'c0ffee02', X'A401')`,
    ]);
    const taken = await migrateSqlite(db.postgres, { file: other });
    expect(taken.refused).toEqual([
      { table: 'passkeys', id: 'k7', reason: 'this credential is registered to another user' },
    ]);
  });
});
