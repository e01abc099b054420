/**
 * The write path of `nova migrate-sqlite`: a batch of legacy rows becomes users and tickets in
 * one transaction, each with its audit row, each ticket with its search-outbox row (so the
 * indexer puts it into Elasticsearch), and each source row with its ledger entry in
 * legacy_imports. A batch commits whole or not at all, and a row already in the ledger is
 * skipped, so a second run imports nothing new and an interrupted run continues where it
 * stopped.
 *
 * Set-based SQL (INSERT … SELECT FROM unnest(…)) rather than a statement per row: an import
 * moves hundreds of thousands of rows, and a round trip per row would be most of its time.
 * Validation happens before (the migrator refuses bad rows with their reasons); what reaches
 * this module is well-formed.
 */
import type pg from 'pg';
import { type Actor, auditData } from './audit.js';
import type { PgContext } from './context.js';
import { inTransaction } from './sql.js';

/** A person, as a legacy row names one: matched to a user by email, ignoring case. */
export interface LegacyPerson {
  email: string;
  firstName: string;
  lastName: string;
  displayName: string | null;
  active: boolean;
  createdAt: Date | null;
}

export interface LegacyTicket {
  /** The ledger key: the source row's id in its table. */
  sourceId: string;
  /** `legacy:<ticket id>`: unique; how the ticket is found again. */
  externalRef: string;
  title: string;
  description: string;
  priority: 'low' | 'medium' | 'high' | 'urgent';
  category: string | null;
  createdAt: Date;
  requester: LegacyPerson;
}

export interface LegacyUser extends LegacyPerson {
  sourceId: string;
}

/** Whose rows: the legacy file (its source name) and the table in it. */
export interface LedgerScope {
  source: string;
  table: string;
}

export interface ImportResult {
  /** Rows that made something new. */
  imported: number;
  /** Rows the ledger already had, or (users) whose email was already a user. */
  skipped: number;
}

const splitColumns = <T>(rows: T[], columns: ((row: T) => unknown)[]) =>
  columns.map((column) => rows.map(column));

/**
 * Each person's user id: existing users by email (case-insensitive: the column is citext),
 * new ones inserted with an audit row each. Returns email (lower case) → id, and how many
 * were new.
 */
async function upsertPeople(
  client: pg.PoolClient,
  people: LegacyPerson[],
  actor: Actor | undefined,
): Promise<{ ids: Map<string, string>; created: Set<string> }> {
  const byEmail = new Map<string, LegacyPerson>();
  for (const person of people) {
    const key = person.email.toLowerCase();
    if (!byEmail.has(key)) byEmail.set(key, person);
  }
  const unique = [...byEmail.values()];
  const created = await client.query<{ id: string; email: string }>(
    `INSERT INTO users (id, email, first_name, last_name, display_name, active, created_at, updated_at)
     SELECT gen_random_uuid(), e, f, l, d, a, coalesce(c, now()), now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::timestamptz[])
         AS p(e, f, l, d, a, c)
     ON CONFLICT (email) DO NOTHING
     RETURNING id, email::text`,
    splitColumns(unique, [
      (p) => p.email,
      (p) => p.firstName,
      (p) => p.lastName,
      (p) => p.displayName,
      (p) => p.active,
      (p) => p.createdAt,
    ]),
  );
  const { rows } = await client.query<{ id: string; email: string }>(
    'SELECT id, lower(email::text) AS email FROM users WHERE email = ANY($1::citext[])',
    [unique.map((p) => p.email)],
  );
  const ids = new Map(rows.map((row) => [row.email, row.id]));
  await insertAudits(
    client,
    created.rows.map((row) =>
      auditData(
        {
          action: 'user.imported',
          entityType: 'user',
          entityId: row.id,
          after: { email: row.email, source: 'legacy sqlite' },
        },
        actor,
      ),
    ),
  );
  return { ids, created: new Set(created.rows.map((row) => row.email.toLowerCase())) };
}

async function insertAudits(
  client: pg.PoolClient,
  rows: ReturnType<typeof auditData>[],
): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, after, user_agent)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])`,
    splitColumns(rows, [
      (r) => r.actorId ?? null,
      (r) => r.action,
      (r) => r.entityType,
      (r) => r.entityId,
      (r) => (r.after === undefined ? null : JSON.stringify(r.after)),
      (r) => r.userAgent ?? null,
    ]),
  );
}

/**
 * Ledger entries; returns the source ids newly recorded (an entry already there, as after a
 * retried transaction whose first COMMIT went through, is left as it is).
 */
async function recordImports(
  client: pg.PoolClient,
  { source, table }: LedgerScope,
  entries: { sourceId: string; targetType: string; targetId: string }[],
): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const { rows } = await client.query<{ source_id: string }>(
    `INSERT INTO legacy_imports (source, source_table, source_id, target_type, target_id)
     SELECT $1, $2, s, t, i FROM unnest($3::text[], $4::text[], $5::text[]) AS e(s, t, i)
     ON CONFLICT DO NOTHING
     RETURNING source_id`,
    [
      source,
      table,
      ...splitColumns(entries, [(e) => e.sourceId, (e) => e.targetType, (e) => e.targetId]),
    ],
  );
  return new Set(rows.map((row) => row.source_id));
}

/** Legacy users: made when their email is new, matched otherwise; every row recorded. */
export async function importLegacyUsers(
  ctx: PgContext,
  scope: LedgerScope,
  users: LegacyUser[],
  actor?: Actor,
): Promise<ImportResult> {
  return ctx.run('importLegacyUsers', () =>
    inTransaction(ctx.pool, async (client) => {
      const { ids, created } = await upsertPeople(client, users, actor);
      await recordImports(
        client,
        scope,
        users.map((user) => ({
          sourceId: user.sourceId,
          targetType: 'user',
          targetId: ids.get(user.email.toLowerCase()) as string,
        })),
      );
      return { imported: created.size, skipped: users.length - created.size };
    }),
  );
}

/**
 * Legacy ticket submissions: each requester matched or made, each ticket inserted with its
 * original time, audited and queued for the search index, and recorded.
 */
export async function importLegacyTickets(
  ctx: PgContext,
  scope: LedgerScope,
  tickets: LegacyTicket[],
  actor?: Actor,
): Promise<ImportResult> {
  return ctx.run('importLegacyTickets', () =>
    inTransaction(ctx.pool, async (client) => {
      const { ids } = await upsertPeople(
        client,
        tickets.map((ticket) => ticket.requester),
        actor,
      );
      const inserted = await client.query<{ id: string; external_ref: string; key: string }>(
        `INSERT INTO support_tickets
           (id, title, description, priority, category, requester_id, external_ref, created_at, updated_at)
         SELECT gen_random_uuid(), t, d, p::ticket_priority, c, r, x, at, at
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::timestamptz[])
             AS n(t, d, p, c, r, x, at)
         ON CONFLICT (external_ref) DO NOTHING
         RETURNING id, external_ref, key`,
        splitColumns(tickets, [
          (t) => t.title,
          (t) => t.description,
          (t) => t.priority,
          (t) => t.category,
          (t) => ids.get(t.requester.email.toLowerCase()),
          (t) => t.externalRef,
          (t) => t.createdAt,
        ]),
      );
      // A ticket already there under its reference (an import whose ledger was lost, or the
      // same legacy ticket id twice) is recorded, not made again.
      const { rows: existing } = await client.query<{ id: string; external_ref: string }>(
        'SELECT id, external_ref FROM support_tickets WHERE external_ref = ANY($1::text[])',
        [tickets.map((ticket) => ticket.externalRef)],
      );
      const idByRef = new Map(existing.map((row) => [row.external_ref, row.id]));
      await insertAudits(
        client,
        inserted.rows.map((row) =>
          auditData(
            {
              action: 'ticket.imported',
              entityType: 'ticket',
              entityId: row.id,
              after: { key: row.key, externalRef: row.external_ref },
            },
            actor,
          ),
        ),
      );
      await client.query(
        `INSERT INTO search_outbox (entity_type, entity_id, operation, entity_version)
         SELECT 'ticket', id, 'index', 1 FROM unnest($1::uuid[]) AS o(id)`,
        [inserted.rows.map((row) => row.id)],
      );
      await recordImports(
        client,
        scope,
        tickets.map((ticket) => ({
          sourceId: ticket.sourceId,
          targetType: 'ticket',
          targetId: idByRef.get(ticket.externalRef) as string,
        })),
      );
      return { imported: inserted.rows.length, skipped: tickets.length - inserted.rows.length };
    }),
  );
}

/** A legacy audit row, kept with its original time. */
export interface LegacyAuditRow {
  sourceId: string;
  /** The user it names, when the users import knew them. */
  actorId: string | null;
  action: string;
  details: unknown;
  at: Date | null;
}

/**
 * Legacy audit rows into the audit trail, each as `legacy.<action>` on entity `legacy_audit`
 * (its legacy id), at its original time, its details redacted as every audit row's are.
 */
export async function importLegacyAudit(
  ctx: PgContext,
  scope: LedgerScope,
  rows: LegacyAuditRow[],
): Promise<ImportResult> {
  return ctx.run('importLegacyAudit', () =>
    inTransaction(ctx.pool, async (client) => {
      // The ledger first: only rows it did not have are written (a retry writes none twice).
      const fresh = await recordImports(
        client,
        scope,
        rows.map((row) => ({
          sourceId: row.sourceId,
          targetType: 'audit',
          targetId: row.sourceId,
        })),
      );
      const data = rows
        .filter((row) => fresh.has(row.sourceId))
        .map((row) => ({
          row,
          audit: auditData({
            action: `legacy.${row.action}`.slice(0, 100),
            entityType: 'legacy_audit',
            entityId: row.sourceId,
            after: row.details ?? undefined,
          }),
        }));
      await client.query(
        `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, after, created_at)
         SELECT a, c, t, e, d, coalesce(w, now())
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])
             AS r(a, c, t, e, d, w)`,
        splitColumns(data, [
          ({ row }) => row.actorId,
          ({ audit }) => audit.action,
          ({ audit }) => audit.entityType,
          ({ audit }) => audit.entityId,
          ({ audit }) => (audit.after === undefined ? null : JSON.stringify(audit.after)),
          ({ row }) => row.at,
        ]),
      );
      return { imported: data.length, skipped: rows.length - data.length };
    }),
  );
}

/** What the ledger says `table`'s rows became: source id → target id. */
export async function importedTargets(
  ctx: PgContext,
  scope: LedgerScope,
  ids: string[],
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  return ctx.run('importedTargets', async () => {
    const { rows } = await ctx.pool.query<{ source_id: string; target_id: string }>(
      `SELECT source_id, target_id FROM legacy_imports
        WHERE source = $1 AND source_table = $2 AND source_id = ANY($3::text[])`,
      [scope.source, scope.table, ids],
    );
    return new Map(rows.map((row) => [row.source_id, row.target_id]));
  });
}

/** Records rows whose import went through another write path (role grants, config). */
export async function recordLegacyImports(
  ctx: PgContext,
  scope: LedgerScope,
  entries: { sourceId: string; targetType: string; targetId: string }[],
): Promise<void> {
  await ctx.run('recordLegacyImports', () =>
    inTransaction(ctx.pool, async (client) => {
      await recordImports(client, scope, entries);
    }),
  );
}
