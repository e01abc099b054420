/**
 * The plain-SQL create path (src/lib/db/postgres/sql.ts) must return exactly what Prisma
 * reads back for the same row: same keys, same types, same values.
 */
import { describe, expect, it } from 'vitest';
import { uniqueEmail, useTestDatabase } from '../support/database.js';

const t = await useTestDatabase();

describe('plain-SQL creates match Prisma reads', () => {
  it('createUser', async () => {
    const created = await t.db.createUser({
      email: uniqueEmail(),
      firstName: 'S',
      lastName: 'Q',
      displayName: 'SQ',
    });
    const read = await t.db.postgres.getUser(created.id);
    expect(created).toStrictEqual(read);
  });

  it('createTicket', async () => {
    const requester = await t.db.createUser({
      email: uniqueEmail(),
      firstName: 'S',
      lastName: 'Q',
    });
    const created = await t.db.postgres.createTicket({
      title: 'Shape check',
      description: 'desc',
      priority: 'urgent',
      category: 'network',
      tags: ['a', 'b'],
      requesterId: requester.id,
    });
    const read = await t.db.postgres.getTicket(created.id);
    expect(created).toStrictEqual(read);
    const minimal = await t.db.postgres.createTicket({
      title: 'Defaults',
      requesterId: requester.id,
    });
    expect(minimal).toStrictEqual(await t.db.postgres.getTicket(minimal.id));
  });
});
