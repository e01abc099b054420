/**
 * A fake-token flood against the service on real PostgreSQL: a client sending well-formed
 * random tokens costs a lookup only until its failures reach the limit, then gets 429 with
 * Retry-After and costs none; another client with a valid token is served throughout; the
 * failures are counted in /metrics and logged once, never with a token.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createNovaDb } from '../../src/lib/db/index.js';
import { buildApp } from '../../src/service/app.js';
import { serviceHealth } from '../../src/service/dependencies.js';
import { testConfig, useTestDatabase } from '../support/database.js';
import { serviceApp, userWithToken } from './fixtures.js';

const t = await useTestDatabase();
const db = createNovaDb(testConfig(t.url));
afterAll(() => db.close());

const random = () =>
  `nova_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`;

describe('a fake-token flood', () => {
  it('costs a lookup per token only up to the failure limit, and spares other clients', async () => {
    let lookups = 0;
    const lines: string[] = [];
    const app = buildApp(
      {
        db,
        ...serviceHealth(db, { postgresUrl: t.url }),
        authenticate: (token) => {
          lookups += 1;
          return db.postgres.authenticateApiToken(token);
        },
      },
      {
        logger: { level: 'info', stream: { write: (line) => lines.push(line) } },
        clientLimits: { requestsPerSecond: 0, failuresPerMinute: 5 },
      },
    );
    const agent = await userWithToken(t, 'agent');
    const search = (token: string, remoteAddress: string) =>
      app.inject({
        method: 'GET',
        url: '/api/kb/search?q=vpn',
        remoteAddress,
        headers: { authorization: `Bearer ${token}` },
      });
    try {
      const fakes = Array.from({ length: 50 }, random);
      const statuses: number[] = [];
      for (const fake of fakes) statuses.push((await search(fake, '10.9.9.9')).statusCode);
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
      expect(lookups).toBe(5);
      const limited = await search(random(), '10.9.9.9');
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
      expect(limited.json()).toMatchObject({
        error: { code: 'RATE_LIMITED', field: 'authorization' },
      });
      // Its valid token too: the limit is the client's, until the minute ends.
      expect((await search(agent.token, '10.9.9.9')).statusCode).toBe(429);
      // Another client is served.
      expect((await search(agent.token, '10.1.1.1')).statusCode).not.toBe(429);

      const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const count = (outcome: string) =>
        Number(
          new RegExp(
            `^nova_auth_failures_total\\{[^}]*nova_auth_outcome="${outcome}"[^}]*\\} (\\d+)`,
            'm',
          ).exec(scrape)?.[1],
        );
      expect(count('invalid')).toBeGreaterThanOrEqual(5);
      expect(count('limited')).toBeGreaterThanOrEqual(46);
      const warnings = lines.filter((line) =>
        line.includes('failed authentications over the limit'),
      );
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('10.9.9.9');
      for (const fake of fakes) expect(lines.join('\n')).not.toContain(fake.slice(5));
    } finally {
      await app.close();
    }
  });

  it('limits credentialed requests per client; anonymous ones are not counted', async () => {
    const app = serviceApp(db, t.url, {
      logger: false,
      clientLimits: { requestsPerSecond: 2, failuresPerMinute: 0 },
    });
    const agent = await userWithToken(t, 'agent');
    const health = (token?: string) =>
      app.inject({
        method: 'GET',
        url: '/api/health',
        remoteAddress: '10.2.2.2',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    try {
      const statuses = [];
      for (let i = 0; i < 10; i++) statuses.push((await health(agent.token)).statusCode);
      // A burst of twice the rate (4), then 2 a second: of 10 within 3 s, some are refused.
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      for (let i = 0; i < 20; i++) expect((await health()).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('behind a trusted proxy, limits each forwarded client, not the proxy', async () => {
    const app = serviceApp(db, t.url, {
      logger: false,
      clientLimits: { requestsPerSecond: 0, failuresPerMinute: 3 },
      trustProxy: ['127.0.0.1'],
    });
    const agent = await userWithToken(t, 'agent');
    const via = (client: string, token: string, remoteAddress = '127.0.0.1') =>
      app.inject({
        method: 'GET',
        url: '/api/health',
        remoteAddress,
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client },
      });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await via('203.0.113.7', random())).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // Another client through the same proxy is served.
      expect((await via('203.0.113.8', agent.token)).statusCode).toBe(200);
      // A client that is not the proxy cannot name someone else: its own address counts.
      for (let i = 0; i < 3; i++) await via('203.0.113.9', random(), '10.5.5.5');
      expect((await via('203.0.113.10', agent.token, '10.5.5.5')).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});
