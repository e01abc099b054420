/**
 * What the service tests share: a FakeCluster that also answers `_search` from the documents
 * the indexer put there, API tokens for users with a given role, the service on a test
 * database, and `app.inject` shorthands.
 */
import { Client } from '@elastic/elasticsearch';
import type { MockPattern } from '@elastic/elasticsearch-mock';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig, type NovaConfig } from '../../src/config.js';
import type { NovaDb } from '../../src/lib/db/index.js';
import { buildApp, type ServiceOptions } from '../../src/service/app.js';
import { serviceHealth } from '../../src/service/dependencies.js';
import type { TestDatabase } from '../support/database.js';
import { uniqueEmail } from '../support/database.js';
import { FakeCluster } from '../support/elastic-cluster.js';

type Body = Record<string, unknown>;

/** The service on `db`, its health probing the PostgreSQL at `postgresUrl`; no log by default. */
export function serviceApp(
  db: NovaDb,
  postgresUrl: string,
  options: ServiceOptions = { logger: false },
): FastifyInstance {
  return buildApp({ db, ...serviceHealth(db, { postgresUrl }) }, options);
}

export const elasticConfig = loadConfig({
  ELASTIC_URL: 'http://127.0.0.1:9200',
  ELASTIC_MAX_RETRIES: '0',
}).elastic as NonNullable<NovaConfig['elastic']>;

/**
 * A FakeCluster whose `_search` returns every live document of the index searched (no
 * relevance: the service's mapping of hits is what is under test), recording each body, and
 * a client NovaDb may close.
 */
export function searchCluster() {
  const cluster = new FakeCluster();
  const searches: { index: string; body: Body }[] = [];
  cluster.mock.add({ method: ['GET', 'POST'], path: '/:index/_search' }, (p: MockPattern) => {
    const index = decodeURIComponent(String(p.path).split('/')[1] ?? '');
    searches.push({ index, body: (p.body ?? {}) as Body });
    const docs = [...cluster.documents(index)];
    return {
      took: 3,
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        total: { value: docs.length, relation: 'eq' },
        max_score: 1,
        hits: docs.map(([id, doc]) => ({ _index: index, _id: id, _score: 1, _source: doc.source })),
      },
    };
  });
  // novaDb.close() closes the client too, and the mock's connection has no close of its own.
  const MockConnection = cluster.mock.getConnection();
  class Connection extends MockConnection {
    override async close() {}
  }
  const client = new Client({ node: 'http://127.0.0.1:9200', Connection, maxRetries: 0 });
  return { cluster, client, searches };
}

/** A new user with `role` (none: no permissions at all) and a token of theirs. */
export async function userWithToken(t: Pick<TestDatabase, 'db'>, role?: string) {
  const user = await t.db.createUser({
    email: uniqueEmail(role ?? 'norole'),
    firstName: 'S',
    lastName: 'T',
  });
  if (role) await t.db.postgres.assignRole(user.id, role);
  const { token, id } = await t.db.postgres.createApiToken(user.id, { name: 'service-test' });
  return { userId: user.id, token, tokenId: id };
}

/** GET `url`, with `Authorization: Bearer <token>` when a token is given. */
export const get = (
  app: FastifyInstance,
  url: string,
  token?: string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> =>
  app.inject({
    method: 'GET',
    url,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
  });

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}
