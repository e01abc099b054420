/**
 * The viewer end to end: novaDb.viewer(userId) reads the permissions of the user's roles
 * from real PostgreSQL, and that viewer decides what novaDb's searches ask Elasticsearch for
 * (Elastic's client mock stands in for the cluster). Also: each search is recorded as a
 * search_analytics event, for the nova_logs data stream and, when configured, for MongoDB
 * (scripted sinks take the writes here).
 */
import { Client } from '@elastic/elasticsearch';
import MockModule, { type MockPattern } from '@elastic/elasticsearch-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROLES } from '../../src/bootstrap/postgres/default-roles.js';
import { loadConfig, type NovaConfig } from '../../src/config.js';
import { ANONYMOUS, createNovaDb, type NovaDb } from '../../src/lib/db/index.js';
import { testConfig, uniqueEmail, useTestDatabase } from '../support/database.js';
import { ScriptedSink } from '../support/telemetry.js';

// A CommonJS module whose typings declare a default export: at run time the import is the
// class itself.
const Mock = MockModule as unknown as typeof MockModule.default;

type Body = Record<string, unknown>;

const t = await useTestDatabase();
const newUser = async () =>
  (await t.db.createUser({ email: uniqueEmail('viewer'), firstName: 'S', lastName: 'V' })).id;
const permissionsOf = (role: string) => [...(DEFAULT_ROLES[role]?.permissions ?? [])].sort();

const elastic = loadConfig({ ELASTIC_URL: 'http://localhost:9200', ELASTIC_MAX_RETRIES: '0' })
  .elastic as NonNullable<NovaConfig['elastic']>;

/** A mock cluster that records every _search body and answers with one ticket hit. */
function mockCluster() {
  const mock = new Mock();
  const requests: { path: string; body: Body }[] = [];
  mock.add({ method: ['GET', 'POST'], path: '/:index/_search' }, (params: MockPattern) => {
    requests.push({ path: String(params.path), body: (params.body ?? {}) as Body });
    return {
      took: 4,
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        total: { value: 1, relation: 'eq' },
        max_score: 1,
        hits: [{ _index: 'nova_tickets-v1', _id: 't1', _score: 1, _source: { id: 't1' } }],
      },
      suggest: { titles: [{ text: 'vp', offset: 0, length: 2, options: [] }] },
    };
  });
  // novaDb.close() closes the client too, and the mock's connection has no close of its own.
  const MockConnection = mock.getConnection();
  class Connection extends MockConnection {
    override async close() {}
  }
  const client = new Client({ node: 'http://localhost:9200', Connection, maxRetries: 0 });
  return { client, requests };
}

const filtersOf = (body: Body | undefined) =>
  ((body?.query as { bool?: { filter?: unknown[] } } | undefined)?.bool?.filter ?? []) as Body[];

describe('novaDb.viewer', () => {
  it('carries the permissions of the user’s roles', async () => {
    const agent = await newUser();
    await t.db.postgres.assignRole(agent, 'agent');
    expect(await t.db.viewer(agent)).toEqual({
      userId: agent,
      permissions: permissionsOf('agent'),
    });
    expect(await t.db.viewer(agent)).toMatchObject({
      permissions: expect.arrayContaining(['tickets:read', 'kb:read']),
    });
  });

  it('unites the permissions of several roles, each once', async () => {
    const both = await newUser();
    await t.db.postgres.assignRole(both, 'agent');
    await t.db.postgres.assignRole(both, 'viewer');
    const expected = [...new Set([...permissionsOf('agent'), ...permissionsOf('viewer')])].sort();
    expect((await t.db.viewer(both)).permissions).toEqual(expected);
  });

  it('has no permissions for a user without roles, an unknown user or a deactivated one', async () => {
    const plain = await newUser();
    expect(await t.db.viewer(plain)).toEqual({ userId: plain, permissions: [] });
    const unknown = crypto.randomUUID();
    expect(await t.db.viewer(unknown)).toEqual({ userId: unknown, permissions: [] });
    const former = await newUser();
    await t.db.postgres.assignRole(former, 'admin');
    expect((await t.db.viewer(former)).permissions).toContain('tickets:read');
    await t.db.deactivateUser(former);
    expect(await t.db.viewer(former)).toEqual({ userId: former, permissions: [] });
  });

  it('refuses a malformed user id', async () => {
    await expect(t.db.viewer('bob')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'userId',
    });
  });
});

describe('searching as a viewer, without MongoDB', () => {
  const cluster = mockCluster();
  const elasticSink = new ScriptedSink();
  let db: NovaDb;
  let plain: string;
  let agent: string;
  let deactivatedAgent: string;

  beforeAll(async () => {
    db = createNovaDb(
      { ...testConfig(t.url), elastic },
      { elasticClient: cluster.client, elasticSink },
    );
    [plain, agent, deactivatedAgent] = [await newUser(), await newUser(), await newUser()];
    await db.postgres.assignRole(agent, 'agent');
    await db.postgres.assignRole(deactivatedAgent, 'agent');
    await db.deactivateUser(deactivatedAgent);
  });
  afterAll(() => db.close());

  it('limits a user without roles to their own tickets, and lets an agent see all', async () => {
    const before = cluster.requests.length;
    const mine = await db.searchTickets('printer', {}, { viewer: await db.viewer(plain) });
    const all = await db.searchTickets('printer', {}, { viewer: await db.viewer(agent) });
    const [own, every] = cluster.requests.slice(before);
    expect(own?.path).toBe('/nova_tickets/_search');
    expect(filtersOf(own?.body)).toEqual([{ term: { requester_id: plain } }]);
    expect(filtersOf(every?.body)).toEqual([]);
    expect(JSON.stringify(every?.body)).not.toContain('requester_id');
    // The answers come back through the same mapping either way.
    for (const page of [mine, all]) {
      expect(page.items.map((i) => i.id)).toEqual(['t1']);
      expect(page.total).toEqual({ value: 1, relation: 'eq' });
    }
  });

  it('limits a deactivated agent to their own tickets', async () => {
    const before = cluster.requests.length;
    await db.searchTickets('', { status: 'open' }, { viewer: await db.viewer(deactivatedAgent) });
    expect(filtersOf(cluster.requests[before]?.body)).toEqual([
      { term: { requester_id: deactivatedAgent } },
      { terms: { status: ['open'] } },
    ]);
  });

  it('shows internal articles to kb:read only, and suggests by audience', async () => {
    const before = cluster.requests.length;
    await db.searchKnowledgeBase('vpn', {}, { viewer: await db.viewer(plain) });
    await db.searchKnowledgeBase('vpn', {}, { viewer: await db.viewer(agent) });
    await db.suggest({ prefix: 'vp', scope: 'tickets', viewer: await db.viewer(agent) });
    await db.suggest({ prefix: 'vp', scope: 'tickets', viewer: await db.viewer(plain) });
    const [userKb, agentKb, agentSuggest, userSuggest] = cluster.requests.slice(before);
    expect(userKb?.path).toBe('/nova_kb/_search');
    expect(filtersOf(userKb?.body)).toEqual([
      { term: { status: 'published' } },
      { term: { visibility: 'public' } },
    ]);
    expect(filtersOf(agentKb?.body)).toEqual([{ term: { status: 'published' } }]);
    type Suggest = { titles?: { completion?: { contexts?: { audience?: string[] } } } };
    const audience = (body: Body | undefined) =>
      (body?.suggest as Suggest | undefined)?.titles?.completion?.contexts?.audience;
    expect(audience(agentSuggest?.body)).toEqual(['staff']);
    expect(audience(userSuggest?.body)).toEqual([`requester:${plain}`]);
  });

  it('refuses tickets to an anonymous caller without asking the cluster', async () => {
    const before = cluster.requests.length;
    // Wrapped: the validation may throw before a promise exists (see search.test.ts).
    await expect(
      (async () => db.searchTickets('vpn', {}, { viewer: ANONYMOUS }))(),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(cluster.requests.length).toBe(before);
  });

  it('searches without MongoDB, recording the search for Elasticsearch only', async () => {
    expect(db.mongoConfigured).toBe(false);
    await db.telemetry.flush(); // the searches of the tests above
    elasticSink.stored.clear();
    const page = await db.searchKnowledgeBase('vpn', {}, { viewer: ANONYMOUS });
    expect(page.items).toHaveLength(1);
    expect(() => db.mongo).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(db.telemetry.stores).toEqual(['elasticsearch']);
    expect(await db.telemetry.flush()).toBe(true);
    expect([...elasticSink.stored.values()]).toEqual([
      {
        collection: 'search_analytics',
        doc: expect.objectContaining({ scope: 'kb', query: 'vpn', resultCount: 1 }),
      },
    ]);
  });
});

describe('searching with MongoDB configured', () => {
  const cluster = mockCluster();
  const sink = new ScriptedSink();
  const elasticSink = new ScriptedSink();
  let db: NovaDb;
  let plain: string;

  beforeAll(async () => {
    // The sinks replace MongoDB and nova_logs: nothing connects to the MongoDB URL.
    const mongo = loadConfig({ MONGO_URL: 'mongodb://localhost:27017' }).mongo;
    db = createNovaDb(
      { ...testConfig(t.url), elastic, mongo },
      { elasticClient: cluster.client, mongo: { sink }, elasticSink },
    );
    plain = await newUser();
  });
  afterAll(() => db.close());

  it('records each search in search_analytics', async () => {
    await db.searchTickets(
      '  Printer   JAM ',
      { status: ['open', 'pending'] },
      { viewer: await db.viewer(plain) },
    );
    await db.searchKnowledgeBase('', { category: 'howto' }, { viewer: ANONYMOUS });
    await db.suggest({ prefix: 'vp', scope: 'kb', viewer: ANONYMOUS });
    expect(await db.mongo.flush()).toBe(true);
    const stored = [...sink.stored.values()];
    expect(stored.map((s) => s.collection)).toEqual(['search_analytics', 'search_analytics']);
    const [tickets, kb] = stored.map((s) => s.doc);
    expect(tickets).toMatchObject({
      scope: 'tickets',
      query: 'printer jam',
      resultCount: 1,
      durationMs: 4,
      userId: plain,
      details: { filters: { status: ['open', 'pending'] }, sort: 'relevance' },
    });
    expect(kb).toMatchObject({
      scope: 'kb',
      query: '',
      resultCount: 1,
      details: { filters: { category: 'howto' }, sort: 'newest' },
    });
    expect(kb).not.toHaveProperty('userId');
    expect(db.mongo.stats().invalid).toBe(0);
    // The same events, for the nova_logs data stream.
    expect(await db.telemetry.flush()).toBe(true);
    expect([...elasticSink.stored.values()].map((s) => s.doc)).toEqual([tickets, kb]);
  });
});
