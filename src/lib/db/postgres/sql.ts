/**
 * The plain-SQL write path, for the high-volume creates (users, tickets).
 *
 * Why: Prisma issues the same statements as hand-written SQL (BEGIN, INSERT…, COMMIT) but
 * spends ~0.1 ms of CPU per statement in its query pipeline; `npm run bench:postgres`
 * measured Prisma creates at ~0.4 of raw `pg` throughput. These functions run on the same
 * pool as Prisma and return rows in Prisma's shape (camelCase, Date, string[]), which
 * test/integration/sql-path.test.ts checks against Prisma's own reads.
 */
import type pg from 'pg';
import type { Prisma } from '../../../generated/prisma/client.js';

/** BEGIN … COMMIT on one pooled connection; ROLLBACK on any error. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A failed ROLLBACK means the connection is unusable: release destroys it instead of
    // returning it to the pool. The original error is what the caller needs to see.
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

const json = (value: unknown) =>
  value === undefined || value === null ? null : JSON.stringify(value);

export async function insertAudit(
  client: pg.PoolClient,
  row: Prisma.AuditLogCreateManyInput,
): Promise<void> {
  await client.query(
    `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, before, after, ip, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      row.actorId ?? null,
      row.action,
      row.entityType,
      row.entityId,
      json(row.before),
      json(row.after),
      row.ip ?? null,
      row.userAgent ?? null,
    ],
  );
}

export async function insertOutbox(
  client: pg.PoolClient,
  row: Prisma.SearchOutboxCreateManyInput,
): Promise<void> {
  await client.query(
    'INSERT INTO search_outbox (entity_type, entity_id, operation, entity_version) VALUES ($1, $2, $3, $4)',
    [row.entityType, row.entityId, row.operation, row.entityVersion],
  );
}

export async function insertUser(
  client: pg.PoolClient,
  row: Omit<Prisma.UserCreateManyInput, 'id' | 'createdAt' | 'updatedAt'> & {
    id: string;
    createdAt: Date;
    updatedAt: Date;
  },
): Promise<void> {
  await client.query(
    `INSERT INTO users (id, email, first_name, last_name, display_name, password_hash, active, last_login_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)`,
    [
      row.id,
      row.email,
      row.firstName,
      row.lastName,
      row.displayName ?? null,
      row.passwordHash ?? null,
      row.active ?? true,
      row.createdAt,
      row.updatedAt,
    ],
  );
}

const TICKET_COLUMNS = `id, key, title, description, status, priority, category, tags,
  requester_id AS "requesterId", assignee_id AS "assigneeId", created_at AS "createdAt",
  updated_at AS "updatedAt", resolved_at AS "resolvedAt", version, external_ref AS "externalRef"`;

export async function insertTicket(
  client: pg.PoolClient,
  row: Required<
    Pick<Prisma.SupportTicketCreateManyInput, 'title' | 'description' | 'priority' | 'requesterId'>
  > &
    Pick<Prisma.SupportTicketCreateManyInput, 'category' | 'assigneeId'> & {
      id: string;
      tags: string[];
    },
): Promise<Prisma.SupportTicketGetPayload<object>> {
  const result = await client.query<Prisma.SupportTicketGetPayload<object>>(
    `INSERT INTO support_tickets (id, title, description, priority, category, tags, requester_id, assignee_id, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
     RETURNING ${TICKET_COLUMNS}`,
    [
      row.id,
      row.title,
      row.description,
      row.priority,
      row.category ?? null,
      row.tags,
      row.requesterId,
      row.assigneeId ?? null,
    ],
  );
  const ticket = result.rows[0];
  if (!ticket) throw new Error('INSERT … RETURNING returned no row');
  return ticket;
}
