/**
 * The ambiguous failure: COMMIT succeeds on the server but its reply never arrives (the
 * connection resets). The retry must not report a false conflict nor write twice. Injected at
 * the driver boundary on a real PostgreSQL: the first COMMIT really commits, then throws.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { uniqueEmail, useTestDatabase } from '../support/database.js';

const t = await useTestDatabase();

type Query = (...args: unknown[]) => Promise<unknown>;
const sqlOf = (arg: unknown) =>
  typeof arg === 'string' ? arg : ((arg as { text?: string })?.text ?? '');

/**
 * Makes the next statement matching `lost` run on the server, then fail like a reset
 * connection, on every checkout path of the pool (the promise form used by the SQL write
 * path, the callback form used by Prisma's adapter).
 */
function loseNextReply(pool: pg.Pool, lost: (sql: string) => boolean = (sql) => sql === 'COMMIT') {
  const original = pool.connect;
  let armed = true;
  const reset = () =>
    Object.assign(new Error('read ECONNRESET'), {
      code: 'ECONNRESET',
      errno: -104,
      syscall: 'read',
    });
  const fires = (arg: unknown) => {
    if (!armed || !lost(sqlOf(arg))) return false;
    armed = false;
    return true;
  };
  const wrap = (client: pg.PoolClient) => {
    const query = client.query as unknown as Query;
    client.query = function (this: pg.PoolClient, ...args: unknown[]) {
      const callback = args.at(-1);
      if (typeof callback === 'function') {
        // Callback form: deliver the injected error through the callback.
        return query.apply(this, [
          ...args.slice(0, -1),
          (err: Error | undefined, res: unknown) =>
            err ? callback(err) : fires(args[0]) ? callback(reset()) : callback(err, res),
        ]);
      }
      return query.apply(this, args).then((result) => {
        if (fires(args[0])) throw reset();
        return result;
      });
    } as never;
    return client;
  };
  pool.connect = function (
    this: pg.Pool,
    callback?: (err: Error | undefined, client?: pg.PoolClient, done?: unknown) => void,
  ) {
    if (callback) {
      return (original as unknown as (cb: typeof callback) => void).call(
        this,
        (err, client, done) => callback(err, client ? wrap(client) : client, done),
      );
    }
    return (original as () => Promise<pg.PoolClient>).call(this).then(wrap);
  } as never;
  return () => {
    pool.connect = original;
  };
}

/** Runs `work` with the next matching statement's reply lost. */
async function withLostReply<T>(
  work: () => Promise<T>,
  lost?: (sql: string) => boolean,
): Promise<T> {
  const restore = loseNextReply(t.db.postgres.pool, lost);
  try {
    return await work();
  } finally {
    restore();
  }
}

const countWhere = async (sql: string, params: unknown[]) =>
  Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params))[0]?.n);

describe('a lost COMMIT reply', () => {
  it('createUser returns the committed user, once, with one audit row', async () => {
    const email = uniqueEmail('lost');
    const user = await withLostReply(() =>
      t.db.createUser({ email, firstName: 'L', lastName: 'C' }),
    );
    expect(await t.db.postgres.findUserByEmail(email)).toMatchObject({ id: user.id });
    expect(await countWhere('audit_logs WHERE entity_id = $1', [user.id])).toBe(1);
  });

  it('createTicket returns the committed ticket without creating a second one', async () => {
    const requester = await t.db.createUser({
      email: uniqueEmail(),
      firstName: 'R',
      lastName: 'Q',
    });
    const ticket = await withLostReply(() =>
      t.db.postgres.createTicket({ title: 'Exactly once', requesterId: requester.id }),
    );
    expect(
      await t.sql('SELECT id FROM support_tickets WHERE requester_id = $1', [requester.id]),
    ).toEqual([{ id: ticket.id }]);
    expect(await countWhere('search_outbox WHERE entity_id = $1', [ticket.id])).toBe(1);
  });

  it('createArticle returns the committed article, once', async () => {
    const author = await t.db.createUser({ email: uniqueEmail(), firstName: 'A', lastName: 'U' });
    const article = await withLostReply(() =>
      t.db.postgres.createArticle({
        slug: 'lost-reply',
        title: 'T',
        content: 'C',
        category: 'c',
        authorId: author.id,
      }),
    );
    expect(await countWhere('knowledge_base_articles WHERE slug = $1', ['lost-reply'])).toBe(1);
    expect(await countWhere('search_outbox WHERE entity_id = $1', [article.id])).toBe(1);
  });

  it('registerPasskey returns the committed passkey; a real duplicate still fails', async () => {
    const user = await t.db.createUser({ email: uniqueEmail(), firstName: 'P', lastName: 'K' });
    const credentialId = new Uint8Array(randomBytes(32));
    const input = {
      credentialId,
      publicKey: new Uint8Array(randomBytes(65)),
      deviceType: 'singleDevice' as const,
    };
    const passkey = await withLostReply(() => t.db.postgres.registerPasskey(user.id, input));
    expect(passkey.userId).toBe(user.id);
    expect(await countWhere('passkeys WHERE user_id = $1', [user.id])).toBe(1);
    await expect(t.db.postgres.registerPasskey(user.id, input)).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
  });

  it('recordPasskeyUse accepts its own committed counter instead of flagging a clone', async () => {
    const user = await t.db.createUser({ email: uniqueEmail(), firstName: 'P', lastName: 'U' });
    const credentialId = new Uint8Array(randomBytes(32));
    await t.db.postgres.registerPasskey(user.id, {
      credentialId,
      publicKey: new Uint8Array(randomBytes(65)),
      deviceType: 'singleDevice',
      signCount: 4,
    });
    const use = await withLostReply(
      () => t.db.postgres.recordPasskeyUse(credentialId, 5),
      (sql) => /^UPDATE .*passkeys/i.test(sql),
    );
    expect(use.signCount).toBe(5n);
    expect(
      await countWhere(
        `audit_logs WHERE action = 'passkey.counter_not_increased' AND entity_id = $1`,
        [user.id],
      ),
    ).toBe(0);
    await expect(t.db.postgres.recordPasskeyUse(credentialId, 5)).rejects.toMatchObject({
      code: 'PASSKEY_COUNTER_NOT_INCREASED',
    });
  });
});
