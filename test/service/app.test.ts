/**
 * The service in-process (`app.inject`, no sockets) on real PostgreSQL: bearer tokens on
 * every protected route (401 without or with an unusable token, 403 without the permission),
 * search through the indexer into a FakeCluster, query parameters validated and errors named
 * by the parameter the caller sent, the one error body for everything that fails.
 */
import { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNovaDb, type NovaDb } from '../../src/lib/db/index.js';
import { NovaError } from '../../src/lib/errors.js';
import { buildApp } from '../../src/service/app.js';
import { serviceHealth } from '../../src/service/dependencies.js';
import { clientErrorHandler } from '../../src/service/errors.js';
import { testConfig, uniqueEmail, useTestDatabase } from '../support/database.js';
import {
  type ErrorBody,
  elasticConfig,
  get,
  searchCluster,
  serviceApp,
  userWithToken,
} from './fixtures.js';

const t = await useTestDatabase();
const { client, searches } = searchCluster();

/** Elasticsearch (a FakeCluster) configured, MongoDB not. */
let db: NovaDb;
let app: FastifyInstance;
/** Neither Elasticsearch nor MongoDB configured. */
let bareDb: NovaDb;
let bare: FastifyInstance;
let admin: Awaited<ReturnType<typeof userWithToken>>;
let agent: Awaited<ReturnType<typeof userWithToken>>;
let viewer: Awaited<ReturnType<typeof userWithToken>>;
let nobody: Awaited<ReturnType<typeof userWithToken>>;
let revoked: Awaited<ReturnType<typeof userWithToken>>;

beforeAll(async () => {
  db = createNovaDb({ ...testConfig(t.url), elastic: elasticConfig }, { elasticClient: client });
  app = serviceApp(db, t.url);
  bareDb = createNovaDb(testConfig(t.url));
  bare = buildApp(
    { db: bareDb, ...serviceHealth(bareDb, { postgresUrl: t.url }) },
    {
      logger: false,
    },
  );
  [admin, agent, viewer, nobody, revoked] = [
    await userWithToken(t, 'admin'),
    await userWithToken(t, 'agent'),
    await userWithToken(t, 'viewer'),
    await userWithToken(t),
    await userWithToken(t, 'admin'),
  ];
  await t.db.postgres.revokeApiToken({ id: revoked.tokenId });
});
afterAll(async () => {
  await app.close();
  await bare.close();
  await db.close();
  await bareDb.close();
});

/** Every protected route, the permission it needs, and what a permitted caller gets here. */
const PROTECTED = [
  { url: '/api/tickets/search?q=vpn', permission: 'tickets:search', allowed: 200 },
  { url: '/api/kb/search?q=vpn', permission: 'kb:search', allowed: 200 },
  { url: '/api/analytics/search?timeRange=24h', permission: 'analytics:read', allowed: 503 },
  { url: '/api/analytics/performance?timeRange=1h', permission: 'analytics:read', allowed: 503 },
] as const;

const expectUnauthenticated = (response: Awaited<ReturnType<typeof get>>) => {
  expect(response.statusCode).toBe(401);
  expect(response.headers['www-authenticate']).toBe('Bearer');
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.json<ErrorBody>().error).toMatchObject({
    code: 'UNAUTHENTICATED',
    field: 'authorization',
    message: expect.any(String),
  });
};

describe.each(PROTECTED)('GET $url', ({ url, permission, allowed }) => {
  it('is 401 with WWW-Authenticate: Bearer without a token', async () => {
    expectUnauthenticated(await get(app, url));
  });

  it('is 401 for an Authorization header that is not `Bearer <token>`', async () => {
    for (const authorization of [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer ',
      `Bearer ${agent.token} extra`,
      agent.token,
      `Token ${agent.token}`,
    ]) {
      const response = await get(app, url, undefined, { authorization });
      expectUnauthenticated(response);
      expect(response.body).not.toContain(agent.token);
    }
  });

  it('is 401 for a revoked, unknown or malformed token', async () => {
    for (const token of [revoked.token, `nova_${'A'.repeat(43)}`, 'nova_short']) {
      const response = await get(app, url, token);
      expectUnauthenticated(response);
      expect(response.body).not.toContain(token);
    }
  });

  it(`is 403 naming ${permission} for a caller without it`, async () => {
    const response = await get(app, url, nobody.token);
    expect(response.statusCode).toBe(403);
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(response.json<ErrorBody>().error).toMatchObject({
      code: 'FORBIDDEN',
      field: 'authorization',
      message: expect.stringContaining(permission),
    });
  });

  it(`lets a caller with ${permission} through`, async () => {
    const response = await get(app, url, agent.token);
    expect(response.statusCode).toBe(allowed);
    if (allowed === 200) {
      expect(Object.keys(response.json()).sort()).toEqual([
        'items',
        'nextCursor',
        'timedOut',
        'tookMs',
        'total',
      ]);
    } else {
      expect(response.json<ErrorBody>().error).toMatchObject({
        code: 'UNAVAILABLE',
        field: 'MONGO_URL',
      });
    }
  });
});

describe('permissions by role', () => {
  it('lets a viewer search but not read analytics', async () => {
    expect((await get(app, '/api/tickets/search', viewer.token)).statusCode).toBe(200);
    expect((await get(app, '/api/kb/search', viewer.token)).statusCode).toBe(200);
    const analytics = await get(app, '/api/analytics/search', viewer.token);
    expect(analytics.statusCode).toBe(403);
    expect(analytics.json<ErrorBody>().error.message).toContain('analytics:read');
  });

  it('stops authenticating a token once its user is deactivated', async () => {
    const leaver = await userWithToken(t, 'admin');
    expect((await get(app, '/api/kb/search', leaver.token)).statusCode).toBe(200);
    await t.db.deactivateUser(leaver.userId);
    expectUnauthenticated(await get(app, '/api/kb/search', leaver.token));
  });
});

describe('search', () => {
  let ticketId: string;
  let articleId: string;

  beforeAll(async () => {
    const requester = await t.db.createUser({
      email: uniqueEmail('requester'),
      firstName: 'R',
      lastName: 'Q',
    });
    ticketId = (
      await t.db.postgres.createTicket({
        title: 'VPN drops every hour',
        priority: 'high',
        requesterId: requester.id,
      })
    ).id;
    articleId = (
      await t.db.postgres.createArticle({
        slug: `vpn-${Date.now()}`,
        title: 'VPN setup',
        content: 'Install the client.',
        category: 'documentation',
        authorId: admin.userId,
      })
    ).id;
    await db.indexer.drain();
  });

  it('finds tickets the indexer sent to the cluster, with the filters the caller gave', async () => {
    const before = searches.length;
    const response = await get(
      app,
      '/api/tickets/search?q=vpn&status=open,pending&priority=high&assignee=none&sort=priority&size=5',
      agent.token,
    );
    expect(response.statusCode).toBe(200);
    const page = response.json<{ items: { id: string; document: { title: string } }[] }>();
    expect(page.items.find((item) => item.id === ticketId)?.document.title).toBe(
      'VPN drops every hour',
    );
    expect(searches.slice(before).map((s) => s.index)).toEqual(['nova_tickets']);
    const body = JSON.stringify(searches.at(-1)?.body);
    expect(body).toContain('{"terms":{"status":["open","pending"]}}');
    expect(body).toContain('{"terms":{"priority":["high"]}}');
    expect(body).toContain('{"must_not":[{"exists":{"field":"assignee_id"}}]}');
    expect(searches.at(-1)?.body).toMatchObject({ size: 5 });
  });

  it('searches as the caller: tickets:search without tickets:read sees their own tickets only', async () => {
    await t.db.postgres.createRole({
      name: `searcher-${Date.now()}`,
      permissions: ['tickets:search'],
    });
    const roles = await t.sql<{ name: string }>(
      `SELECT name FROM roles WHERE name LIKE 'searcher-%' ORDER BY created_at DESC LIMIT 1`,
    );
    const searcher = await userWithToken(t, roles[0]?.name);
    const before = searches.length;
    expect((await get(app, '/api/tickets/search?q=vpn', searcher.token)).statusCode).toBe(200);
    expect(JSON.stringify(searches[before]?.body)).toContain(
      `{"term":{"requester_id":"${searcher.userId}"}}`,
    );
    await get(app, '/api/tickets/search?q=vpn', agent.token);
    expect(JSON.stringify(searches[before + 1]?.body)).not.toContain('requester_id');
  });

  it('finds articles in the knowledge base index', async () => {
    const before = searches.length;
    const response = await get(app, '/api/kb/search?q=vpn&category=documentation', viewer.token);
    expect(response.statusCode).toBe(200);
    expect(response.json<{ items: { id: string }[] }>().items.map((i) => i.id)).toContain(
      articleId,
    );
    expect(searches.slice(before).map((s) => s.index)).toEqual(['nova_kb']);
  });

  it.each(['/api/tickets/search?q=vpn', '/api/kb/search?q=vpn'])(
    '%s is 503 UNAVAILABLE naming ELASTIC_URL without Elasticsearch',
    async (url) => {
      const response = await get(bare, url, agent.token);
      expect(response.statusCode).toBe(503);
      expect(response.json<ErrorBody>().error).toMatchObject({
        code: 'UNAVAILABLE',
        field: 'ELASTIC_URL',
      });
    },
  );
});

describe('query parameters', () => {
  it.each([
    ['/api/tickets/search?q=x&bogus=1', 'bogus'],
    ['/api/kb/search?q=x&status=open', 'status'],
    ['/api/analytics/search?timeRange=1h&window=2', 'window'],
    ['/api/analytics/performance?verbose=true', 'verbose'],
  ])('refuses an unknown parameter: %s', async (url, name) => {
    const response = await get(app, url, admin.token);
    expect(response.statusCode).toBe(400);
    const { error } = response.json<ErrorBody>();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain(`"${name}"`);
  });

  it('names an unknown parameter as the field of the error', async () => {
    const response = await get(app, '/api/tickets/search?q=x&bogus=1', admin.token);
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorBody>().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'bogus',
    });
  });

  it.each([
    ['/api/tickets/search?status=bogus', 'status'],
    ['/api/tickets/search?status=open,bogus', 'status'],
    ['/api/tickets/search?priority=extreme', 'priority'],
    ['/api/tickets/search?assignee=not-a-uuid', 'assignee'],
    ['/api/tickets/search?requester=bob', 'requester'],
    ['/api/tickets/search?size=abc', 'size'],
    ['/api/tickets/search?size=1.5', 'size'],
    ['/api/tickets/search?size=0', 'size'],
    // Digits only: what Number() would accept is not what a caller meant.
    ['/api/tickets/search?size=', 'size'],
    ['/api/tickets/search?size=0x10', 'size'],
    ['/api/tickets/search?size=1e1', 'size'],
    ['/api/tickets/search?size=%205', 'size'],
    ['/api/tickets/search?from=-1', 'from'],
    ['/api/tickets/search?sort=sideways', 'sort'],
    ['/api/tickets/search?createdFrom=yesterday', 'createdFrom'],
    ['/api/tickets/search?cursor=garbage', 'cursor'],
    ['/api/tickets/search?q=<513 characters>', 'q'],
    ['/api/kb/search?visibility=secret', 'visibility'],
    ['/api/kb/search?size=abc', 'size'],
    ['/api/analytics/search?scope=everything', 'scope'],
    ['/api/analytics/search?top=many', 'top'],
  ])('refuses %s naming %s', async (url, field) => {
    const before = searches.length;
    const response = await get(app, url.replace('<513 characters>', 'x'.repeat(513)), admin.token);
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorBody>().error).toMatchObject({ code: 'VALIDATION_FAILED', field });
    expect(searches.length).toBe(before);
  });

  it('takes lists as a,b or as repeated parameters', async () => {
    const before = searches.length;
    await get(app, '/api/tickets/search?status=open&status=resolved&tags=vpn,remote', agent.token);
    const body = JSON.stringify(searches[before]?.body);
    expect(body).toContain('{"terms":{"status":["open","resolved"]}}');
    expect(body).toContain('{"term":{"tags":"vpn"}}');
    expect(body).toContain('{"term":{"tags":"remote"}}');
  });

  it('checks parameters only after authentication', async () => {
    expectUnauthenticated(await get(app, '/api/tickets/search?size=abc'));
    expect((await get(app, '/api/tickets/search?size=abc', nobody.token)).statusCode).toBe(403);
  });
});

describe('errors', () => {
  it('answers an unknown route 404 with the error body, without echoing the query', async () => {
    const response = await get(app, '/api/nope?q=secret-search');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'no route GET /api/nope' },
    });
    expect((await app.inject({ method: 'DELETE', url: '/livez' })).statusCode).toBe(404);
  });

  it('answers an unexpected failure 500 INTERNAL without its details', async () => {
    const failing = buildApp(
      {
        db,
        ...serviceHealth(db, { postgresUrl: t.url }),
        authenticate: async () => {
          throw new Error('pool exhausted at 10.0.0.7:5432');
        },
      },
      { logger: false },
    );
    try {
      const response = await get(failing, '/api/kb/search', agent.token);
      expect(response.statusCode).toBe(500);
      expect(response.json()).toEqual({
        error: { code: 'INTERNAL', message: 'internal error', requestId: expect.any(String) },
      });
      expect(response.body).not.toContain('10.0.0.7');
    } finally {
      await failing.close();
    }
  });

  it('answers a dependency failure 503 with a generic message and a request id the log has', async () => {
    const lines: string[] = [];
    const failing = buildApp(
      {
        db,
        ...serviceHealth(db, { postgresUrl: t.url }),
        authenticate: async () => {
          throw new NovaError('UNAVAILABLE', "Can't reach database server at 127.0.0.1:35525", {
            field: '/var/lib/nova/postgres',
          });
        },
      },
      { logger: { level: 'info', stream: { write: (line) => lines.push(line) } } },
    );
    try {
      const response = await get(failing, '/api/kb/search', agent.token);
      expect(response.statusCode).toBe(503);
      const body = response.json<{ error: { requestId: string } }>();
      expect(body).toEqual({
        error: {
          code: 'UNAVAILABLE',
          message: 'a service this request needs is unavailable; try again later',
          requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        },
      });
      expect(response.body).not.toMatch(/127\.0\.0\.1|35525|\/var\/lib/);
      // The details are in the log, on the line with that id.
      const logged = lines.map((line) => JSON.parse(line) as { reqId?: string; msg?: string });
      expect(logged).toContainEqual(
        expect.objectContaining({
          reqId: body.error.requestId,
          msg: "Can't reach database server at 127.0.0.1:35525",
        }),
      );
    } finally {
      await failing.close();
    }
  });

  it('marks answers to credentials Cache-Control: no-store, and anonymous ones not', async () => {
    const authenticated = await get(app, '/api/kb/search', agent.token);
    expect(authenticated.headers['cache-control']).toBe('no-store');
    const refused = await get(app, '/api/kb/search', 'nova_not-a-real-token');
    expect(refused.headers['cache-control']).toBe('no-store');
    expect((await get(app, '/api/health', agent.token)).headers['cache-control']).toBe('no-store');
    const malformed = await get(app, '/api/health', undefined, { authorization: 'Basic x' });
    expect(malformed.statusCode).toBe(401);
    expect(malformed.headers['cache-control']).toBe('no-store');
    expect((await get(app, '/api/health')).headers['cache-control']).toBeUndefined();
  });

  it('answers a body over the limit 413 PAYLOAD_TOO_LARGE', async () => {
    const small = serviceApp(db, t.url, {
      logger: false,
      bodyLimit: 10,
    });
    small.post('/echo', async (request) => request.body);
    try {
      const response = await small.inject({
        method: 'POST',
        url: '/echo',
        payload: { text: 'longer than ten bytes' },
      });
      expect(response.statusCode).toBe(413);
      expect(response.json<ErrorBody>().error.code).toBe('PAYLOAD_TOO_LARGE');
      const malformed = await small.inject({
        method: 'POST',
        url: '/echo',
        headers: { 'content-type': 'application/json' },
        payload: '{',
      });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json<ErrorBody>().error.code).toBe('VALIDATION_FAILED');
      const unknownType = await small.inject({
        method: 'POST',
        url: '/echo',
        headers: { 'content-type': 'application/x-unknown' },
        payload: 'x',
      });
      expect(unknownType.statusCode).toBe(415);
      expect(unknownType.json<ErrorBody>().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    } finally {
      await small.close();
    }
  });

  it('answers a request not received within the request timeout 408 REQUEST_TIMEOUT', () => {
    // Node's parser refuses it (after its checking interval, 30 s by default) before any
    // request exists: the answer is written to the socket, which is then destroyed.
    const written: string[] = [];
    const socket = new Duplex({
      read() {},
      write(chunk, _encoding, callback) {
        written.push(String(chunk));
        callback();
      },
    });
    socket.on('error', () => undefined);
    const timeout = Object.assign(new Error('Request timeout'), {
      code: 'ERR_HTTP_REQUEST_TIMEOUT',
    });
    clientErrorHandler.call(app, timeout, socket);
    const [head, body] = written.join('').split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(JSON.parse(body ?? '')).toEqual({
      error: {
        code: 'REQUEST_TIMEOUT',
        message: 'the request was not received within the request timeout',
      },
    });
    expect(socket.destroyed).toBe(true);
  });

  it('answers a URL it cannot decode 400 VALIDATION_FAILED naming the url', async () => {
    const response = await get(app, '/api/kb/%zz/search');
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorBody>()).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: 'the URL is not valid: malformed percent-encoding',
        field: 'url',
      },
    });
  });
});
