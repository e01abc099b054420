/**
 * Injected faults on a real PostgreSQL: the server is stopped mid-test. Uses its own embedded
 * server (not the shared one) so stopping it disturbs no other test file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedPostgresHandle,
  startEmbeddedPostgres,
  temporaryEmbeddedRoot,
} from '../../src/bootstrap/postgres/embedded.js';
import { migrate } from '../../src/bootstrap/postgres/migrate.js';
import { createNovaDb, type NovaDb } from '../../src/lib/db/index.js';
import { testConfig, uniqueEmail } from '../support/database.js';

const { root, remove } = temporaryEmbeddedRoot('nova-resilience-');
let server: EmbeddedPostgresHandle;
let db: NovaDb;
const retries: string[] = [];

beforeAll(async () => {
  server = await startEmbeddedPostgres({ root });
  await migrate(server.url);
  db = createNovaDb(testConfig(server.url, { retryAttempts: 12, connectTimeoutMs: 1000 }), {
    retryBaseDelayMs: 100,
    onRetry: (operation) => retries.push(operation),
  });
});
afterAll(async () => {
  await db?.close();
  await server?.stop().catch(() => undefined);
  remove();
});

const restart = () => startEmbeddedPostgres({ root, port: server.port });

describe('a PostgreSQL that goes away', () => {
  it('reports down in health (fast, no retries), then up again', async () => {
    expect((await db.postgres.health()).status).toBe('up');
    await server.stop();
    const down = await db.postgres.health();
    expect(down.status).toBe('down');
    expect(down.error).toBeTruthy();
    expect(down.latencyMs).toBeLessThan(3000);
    expect((await db.health()).status).toBe('down');
    server = await restart();
    // The pool may still hold a dead connection: health reports, it does not retry.
    await db.postgres.health();
    expect((await db.postgres.health()).status).toBe('up');
  });

  it('retries a write through a restart with backoff, and the write lands once', async () => {
    await server.stop();
    retries.length = 0;
    const email = uniqueEmail('retry');
    const write = db.createUser({ email, firstName: 'Re', lastName: 'Try' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    server = await restart();
    const user = await write;
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((op) => op === 'createUser')).toBe(true);
    expect(await db.postgres.findUserByEmail(email)).toMatchObject({ id: user.id });
    const audits = await db.postgres.prisma.auditLog.count({ where: { entityId: user.id } });
    expect(audits).toBe(1);
  });

  it('gives up after the configured attempts with UNAVAILABLE naming the store and operation', async () => {
    const quick = createNovaDb(
      testConfig(server.url, { retryAttempts: 2, connectTimeoutMs: 500 }),
      { retryBaseDelayMs: 10 },
    );
    await server.stop();
    try {
      const error = await quick
        .createUser({ email: uniqueEmail(), firstName: 'A', lastName: 'B' })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
      expect((error as Error).message).toMatch(/^postgres createUser: database unavailable/);
    } finally {
      await quick.close();
      server = await restart();
    }
  });

  it('does not retry errors that are not transient', async () => {
    retries.length = 0;
    const email = uniqueEmail();
    await db.createUser({ email, firstName: 'A', lastName: 'B' });
    await expect(db.createUser({ email, firstName: 'A', lastName: 'B' })).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    expect(retries).toEqual([]);
  });
});
