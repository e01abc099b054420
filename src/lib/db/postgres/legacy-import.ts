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
import { type Actor, type AuditEntry, auditData } from './audit.js';
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
  // In one order everywhere: two imports' batches that make the same new people wait for each
  // other instead of deadlocking.
  const unique = [...byEmail.values()].sort((a, b) =>
    a.email.toLowerCase() < b.email.toLowerCase() ? -1 : 1,
  );
  if (unique.length === 0) return { ids: new Map(), created: new Set() };
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
    actor,
    created.rows.map((row) => ({
      action: 'user.imported',
      entityType: 'user',
      entityId: row.id,
      after: { email: row.email, source: 'legacy sqlite' },
    })),
  );
  return { ids, created: new Set(created.rows.map((row) => row.email.toLowerCase())) };
}

/**
 * Audit rows for what this module made, the actor checked once for the batch. Their `after`
 * holds only what the import wrote (emails, keys, references), never a secret, so it is not
 * passed through redaction row by row.
 */
async function insertAudits(
  client: pg.PoolClient,
  actor: Actor | undefined,
  entries: AuditEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const who = auditData({ action: '-', entityType: '-', entityId: '-' }, actor);
  await client.query(
    `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, after, ip, user_agent)
     SELECT $1, a, t, e, d, $2, $3 FROM unnest($4::text[], $5::text[], $6::text[], $7::jsonb[])
       AS r(a, t, e, d)`,
    [
      who.actorId ?? null,
      who.ip ?? null,
      who.userAgent ?? null,
      ...splitColumns(entries, [
        (r) => r.action,
        (r) => r.entityType,
        (r) => r.entityId,
        (r) => (r.after === undefined ? null : JSON.stringify(r.after)),
      ]),
    ],
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
 *
 * `knownUsers` (email in lower case → user id), when given, is what earlier batches of the same
 * import resolved: those requesters are not looked up again, and this batch's are added once
 * it commits. A log names the same few thousand people over and over.
 */
export async function importLegacyTickets(
  ctx: PgContext,
  scope: LedgerScope,
  tickets: LegacyTicket[],
  actor?: Actor,
  knownUsers?: Map<string, string>,
): Promise<ImportResult> {
  return ctx.run('importLegacyTickets', async () => {
    const resolved = await inTransaction(ctx.pool, async (client) => {
      const unknown = tickets
        .map((ticket) => ticket.requester)
        .filter((person) => !knownUsers?.has(person.email.toLowerCase()));
      const { ids } = await upsertPeople(client, unknown, actor);
      const requester = (email: string) =>
        knownUsers?.get(email.toLowerCase()) ?? ids.get(email.toLowerCase());
      // One statement for the ticket, its audit row, its outbox row and its ledger entry: the
      // rows go over as one JSON document (one parse on the server, no array per column), and
      // what the audit row says is built from the inserted ticket itself.
      const who = auditData({ action: '-', entityType: '-', entityId: '-' }, actor);
      const input = JSON.stringify(
        tickets.map((t) => ({
          s: t.sourceId,
          t: t.title,
          d: t.description,
          p: t.priority,
          c: t.category,
          r: requester(t.requester.email),
          x: t.externalRef,
          at: t.createdAt,
        })),
      );
      const { rows } = await client.query<{ inserted: number }>(
        `WITH input AS (
           SELECT * FROM json_to_recordset($1::json)
             AS r(s text, t text, d text, p text, c text, r uuid, x text, at timestamptz)
         ), made AS (
           INSERT INTO support_tickets
             (id, title, description, priority, category, requester_id, external_ref, created_at, updated_at)
           SELECT gen_random_uuid(), t, d, p::ticket_priority, c, r, x, at, at FROM input
           ON CONFLICT (external_ref) DO NOTHING
           RETURNING id, key, external_ref
         ), audited AS (
           INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, after, ip, user_agent)
           SELECT $2, 'ticket.imported', 'ticket', made.id::text,
                  jsonb_build_object('key', made.key, 'externalRef', made.external_ref), $3, $4
             FROM made
         ), queued AS (
           INSERT INTO search_outbox (entity_type, entity_id, operation, entity_version)
           SELECT 'ticket', made.id, 'index', 1 FROM made
         ), recorded AS (
           INSERT INTO legacy_imports (source, source_table, source_id, target_type, target_id)
           SELECT $5, $6, input.s, 'ticket', made.id::text
             FROM made JOIN input ON input.x = made.external_ref
           ON CONFLICT DO NOTHING
         )
         SELECT count(*)::int AS inserted FROM made`,
        [
          input,
          who.actorId ?? null,
          who.ip ?? null,
          who.userAgent ?? null,
          scope.source,
          scope.table,
        ],
      );
      const inserted = rows[0]?.inserted ?? 0;
      // A ticket already there under its reference (an import whose ledger was lost) is
      // recorded, not made again.
      if (inserted < tickets.length) {
        await client.query(
          `INSERT INTO legacy_imports (source, source_table, source_id, target_type, target_id)
           SELECT $1, $2, r.s, 'ticket', t.id::text
             FROM json_to_recordset($3::json) AS r(s text, x text)
             JOIN support_tickets t ON t.external_ref = r.x
           ON CONFLICT DO NOTHING`,
          [scope.source, scope.table, input],
        );
      }
      return {
        ids,
        result: { imported: inserted, skipped: tickets.length - inserted },
      };
    });
    for (const [email, id] of resolved.ids) knownUsers?.set(email, id);
    return resolved.result;
  });
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

/** How many of the scope's rows the ledger holds (0: nothing of it was imported yet). */
export async function importedCount(ctx: PgContext, scope: LedgerScope): Promise<number> {
  return ctx.run('importedCount', async () => {
    const { rows } = await ctx.pool.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM legacy_imports WHERE source = $1 AND source_table = $2',
      [scope.source, scope.table],
    );
    return Number(rows[0]?.n ?? 0);
  });
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
