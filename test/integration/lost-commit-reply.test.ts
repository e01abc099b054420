/**
 * The ambiguous failure: COMMIT succeeds on the server but its reply never arrives (the
 * connection resets). The retry must not report a false conflict nor write twice. Injected at
 * the driver boundary on a real PostgreSQL: the first COMMIT really commits, then throws.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { uniqueEmail, useTestDatabase } from '../support/database.js';

const t = await useTestDatabase();

/** Makes the next COMMIT on the store's pool commit, then fail like a reset connection. */
function loseNextCommitReply(pool: pg.Pool) {
  const original = pool.connect;
  let armed = true;
  // Only the promise form (used by the SQL write path) is intercepted; pg-pool's own
  // callback form, which Prisma's adapter goes through, passes straight on.
  pool.connect = function (this: pg.Pool, ...args: unknown[]) {
    if (args.length > 0) return (original as (...a: unknown[]) => unknown).apply(this, args);
    return (original as () => Promise<pg.PoolClient>).call(this).then((client) => {
      const query = client.query;
      client.query = async function (this: pg.PoolClient, ...queryArgs: unknown[]) {
        const result = await (query as (...a: unknown[]) => Promise<unknown>).apply(
          this,
          queryArgs,
        );
        if (armed && queryArgs[0] === 'COMMIT') {
          armed = false;
          throw Object.assign(new Error('read ECONNRESET'), {
            code: 'ECONNRESET',
            errno: -104,
            syscall: 'read',
          });
        }
        return result;
      } as never;
      return client;
    });
  } as never;
  return () => {
    pool.connect = original;
  };
}

describe('a lost COMMIT reply', () => {
  it('createUser returns the committed user, once, with one audit row', async () => {
    const restore = loseNextCommitReply(t.db.postgres.pool);
    try {
      const email = uniqueEmail('lost');
      const user = await t.db.createUser({ email, firstName: 'L', lastName: 'C' });
      expect(await t.db.postgres.findUserByEmail(email)).toMatchObject({ id: user.id });
      const [audits] = await t.sql<{ n: string }>(
        'SELECT count(*) AS n FROM audit_logs WHERE entity_id = $1',
        [user.id],
      );
      expect(Number(audits?.n)).toBe(1);
    } finally {
      restore();
    }
  });

  it('createTicket returns the committed ticket without creating a second one', async () => {
    const requester = await t.db.createUser({
      email: uniqueEmail(),
      firstName: 'R',
      lastName: 'Q',
    });
    const restore = loseNextCommitReply(t.db.postgres.pool);
    try {
      const ticket = await t.db.postgres.createTicket({
        title: 'Exactly once',
        requesterId: requester.id,
      });
      const rows = await t.sql('SELECT id FROM support_tickets WHERE requester_id = $1', [
        requester.id,
      ]);
      expect(rows).toEqual([{ id: ticket.id }]);
      const outbox = await t.sql('SELECT id FROM search_outbox WHERE entity_id = $1', [ticket.id]);
      expect(outbox).toHaveLength(1);
    } finally {
      restore();
    }
  });
});
