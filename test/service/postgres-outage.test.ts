/**
 * A real PostgreSQL stopped and started again under a running service: the health report
 * says 503 with postgres down (and the process keeps serving: no unhandled pool error), and
 * once PostgreSQL is back every route works again, its pooled connections replaced, without
 * restarting the service.
 *
 * This file runs its own embedded PostgreSQL: stopping the shared test server would take the
 * other files down with it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedPostgresHandle,
  startEmbeddedPostgres,
  temporaryEmbeddedRoot,
} from '../../src/bootstrap/postgres/embedded.js';
import { bootstrapPostgres } from '../../src/bootstrap/postgres/index.js';
import { migrate } from '../../src/bootstrap/postgres/migrate.js';
import { loadConfig } from '../../src/config.js';
import { createNovaDb } from '../../src/lib/db/index.js';
import { type RunningService, startService } from '../../src/service/server.js';
import { testConfig } from '../support/database.js';
import { userWithToken } from './fixtures.js';

const INTERVAL_MS = 200;
const { root, remove } = temporaryEmbeddedRoot('nova-outage-pg-');
let server: EmbeddedPostgresHandle | undefined = await startEmbeddedPostgres({ root });
const port = server.port;
const url = server.urlFor('postgres');
await migrate(url);
const db = createNovaDb(testConfig(url, { retryAttempts: 1 }), { retryBaseDelayMs: 5 });
await bootstrapPostgres(url, db.postgres);
const service: RunningService = await startService(db, {
  postgresUrl: url,
  config: {
    ...loadConfig({}).service,
    port: 0,
    healthIntervalMs: INTERVAL_MS,
    shutdownTimeoutMs: 5000,
  },
  app: { logger: false },
});

afterAll(async () => {
  await service.stop();
  await db.close();
  await server?.stop();
  remove();
});

interface Health {
  status: string;
  checks: Record<string, { status: string; details?: Record<string, unknown> }>;
}

async function health(token?: string): Promise<{ code: number; body: Health }> {
  const response = await fetch(`${service.url}/api/health`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { code: response.status, body: (await response.json()) as Health };
}

/** Polls /api/health until it answers `code` (a probe result lives one interval). */
async function healthUntil(code: number, token?: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answer = await health(token);
    if (answer.code === code || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS / 2));
  }
}

describe('PostgreSQL stopped and restarted under the running service', () => {
  it('reports ok, then 503 with postgres down, then ok again with working pooled connections', async () => {
    const { token } = await userWithToken({ db }, 'admin');
    // The pool holds connections from these requests when PostgreSQL goes away.
    expect(await health(token)).toMatchObject({ code: 200, body: { status: 'ok' } });
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);

    await server?.stop();
    server = undefined;
    const down = await healthUntil(503);
    expect(down.code).toBe(503);
    expect(down.body.status).toBe('down');
    expect(down.body.checks.postgres?.status).toBe('down');
    expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${service.url}/livez`)).status).toBe(200);
    // An authenticated request cannot resolve its token: 503 UNAVAILABLE, not a crash or a 500.
    const refused = await fetch(`${service.url}/api/health`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE');

    server = await startEmbeddedPostgres({ root, port });
    const back = await healthUntil(200, token);
    expect(back.code).toBe(200);
    expect(back.body.checks.postgres?.status).toBe('up');
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    // Prisma's pool (the token lookup) works again too, not only the probe's own connection.
    const detailed = await health(token);
    expect(detailed.code).toBe(200);
    expect(detailed.body.checks.postgres?.details).toHaveProperty('serverVersion');
  });
});
