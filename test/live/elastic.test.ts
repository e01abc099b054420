/**
 * The live Elasticsearch suite: runs against the cluster ELASTIC_URL names (8.11 or later),
 * e.g. after `pulumi up` or in CI with an elasticsearch:8 service container. It runs
 * `nova bootstrap elastic` for real, so it creates the nova_* templates, indices and data
 * stream, as the command would: point it at a disposable cluster. With ELASTIC_ADMIN_* it
 * bootstraps as that user.
 *
 * The data path runs on the test PostgreSQL: writes through novaDb, the outbox indexer,
 * searches as an agent, a requester and an anonymous reader, deletes and a reindex with its
 * alias swap. Documents carry a per-run token, so earlier runs' data does not interfere.
 * Semantic and hybrid search run on vectors from a local OpenAI-compatible server
 * (test/support/embedding-server.ts: hashed bags of words, real HTTP, real kNN).
 *
 * The dashboards' searches: events of every dataset logged through the telemetry writer, then
 * the search behind each Lens visualization and saved search of dashboards/
 * (test/support/dashboards/aggregations.ts), narrowed to this run's events, runs without
 * error or shard failure and finds them. (The Kibana suite imports the same files.)
 *
 * Without ELASTIC_URL every test here is reported as skipped, with the reason in its name and
 * on stderr; it never passes silently.
 */

import type { estypes } from '@elastic/elasticsearch';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapElastic } from '../../src/bootstrap/elastic/index.js';
import { mappingGaps } from '../../src/bootstrap/elastic/mapping-gaps.js';
import { reindex } from '../../src/bootstrap/elastic/reindex.js';
import {
  DEFAULT_DASHBOARDS_DIR,
  loadSavedObjects,
} from '../../src/bootstrap/kibana/saved-objects.js';
import { loadConfig } from '../../src/config.js';
import { createElasticClient } from '../../src/lib/db/elastic/client.js';
import type { EcsEvent } from '../../src/lib/db/elastic/ecs.js';
import { LOGS_DATA_STREAM, LOGS_MAPPINGS } from '../../src/lib/db/elastic/index-specs.js';
import { Indexer } from '../../src/lib/db/elastic/indexer.js';
import { OutboxStore } from '../../src/lib/db/elastic/outbox-store.js';
import { ElasticSink } from '../../src/lib/db/elastic/telemetry-sink.js';
import { ElasticStore } from '../../src/lib/db/elastic.js';
import { ANONYMOUS, createNovaDb } from '../../src/lib/db/index.js';
import { TELEMETRY_COLLECTIONS } from '../../src/lib/telemetry/collections.js';
import { apiUsageEvent } from '../../src/lib/telemetry/events.js';
import {
  dataViewsOf,
  SEARCHED_TYPES,
  searchBodiesFor,
} from '../support/dashboards/aggregations.js';
import { testConfig, uniqueEmail, useTestDatabase } from '../support/database.js';
import { startEmbeddingServer } from '../support/embedding-server.js';

const url = process.env.ELASTIC_URL;
const SKIP_REASON = 'ELASTIC_URL is not set';
if (!url) process.stderr.write(`\n[live] Elasticsearch suite SKIPPED: ${SKIP_REASON}\n\n`);
const t = url ? await useTestDatabase() : undefined;

/** The buckets of a bucket aggregation in a response: a list, or keyed (filters). */
/**
 * Bootstrap brings nova_logs' write index up to the current mapping (templates are not
 * retroactive: it adds new fields, or rolls over on a changed type), and says so.
 */
async function expectCurrentLogsMapping(es: NonNullable<ReturnType<typeof createElasticClient>>) {
  await bootstrapElastic(loadConfig(process.env));
  const { data_streams } = await es.indices.getDataStream({ name: LOGS_DATA_STREAM });
  const writeIndex = data_streams[0]?.indices.at(-1)?.index_name as string;
  const current = (await es.indices.getMapping({ index: writeIndex }))[writeIndex];
  expect(mappingGaps(LOGS_MAPPINGS.properties ?? {}, current?.mappings.properties)).toEqual({
    missing: [],
    conflicting: [],
  });
}

function bucketsOf(aggregate: unknown): { doc_count: number }[] {
  const buckets = (aggregate as { buckets?: unknown } | undefined)?.buckets ?? [];
  return (Array.isArray(buckets) ? buckets : Object.values(buckets)) as { doc_count: number }[];
}

/** The names of the metric aggregations (percentiles, avg, cardinality…) of a request. */
function metricNames(aggs: Record<string, estypes.AggregationsAggregationContainer> = {}) {
  const names = new Set<string>();
  for (const [name, agg] of Object.entries(aggs)) {
    if (agg.aggs) for (const inner of metricNames(agg.aggs)) names.add(inner);
    const metric = ['percentiles', 'avg', 'sum', 'min', 'max', 'cardinality'];
    if (Object.keys(agg).some((k) => metric.includes(k))) names.add(name);
  }
  return names;
}

/** Every value metric `name` takes anywhere in a response's aggregations. */
function metricValues(node: unknown, name: string, into: unknown[] = []): unknown[] {
  if (typeof node !== 'object' || node === null) return into;
  for (const [key, value] of Object.entries(node)) {
    if (key === name && typeof value === 'object' && value !== null && !('buckets' in value)) {
      const metric = value as { value?: unknown; values?: Record<string, unknown> };
      into.push(metric.value, ...Object.values(metric.values ?? {}));
    } else {
      metricValues(value, name, into);
    }
  }
  return into;
}

describe.skipIf(!url)(
  `Elasticsearch live suite (${url ? 'ELASTIC_URL set' : `skipped: ${SKIP_REASON}`})`,
  () => {
    const config = () => loadConfig(process.env);
    const admin = () => {
      const elastic = config().elastic;
      if (!elastic) throw new Error('ELASTIC_URL');
      return createElasticClient(elastic, elastic.admin ? 'admin' : 'app');
    };
    const client = url ? admin() : undefined;
    afterAll(async () => {
      await client?.close();
    });

    it('bootstrap: a dry run, a run that converges, and a second run that plans nothing', async () => {
      const dry = await bootstrapElastic(config(), { dryRun: true });
      const first = await bootstrapElastic(config());
      expect(first.steps.length).toBe(dry.steps.length);
      const second = await bootstrapElastic(config());
      expect(second).toMatchObject({ changed: false, steps: [] });
    });

    it('creates what the specs describe: templates, a versioned index behind its alias, the data stream', async () => {
      const es = client as NonNullable<typeof client>;
      const { index_templates } = await es.indices.getIndexTemplate({ name: 'nova_tickets' });
      expect(index_templates[0]?.index_template).toMatchObject({
        index_patterns: ['nova_tickets-*'],
        priority: 600,
        _meta: { managed_by: 'nova' },
      });
      const alias = await es.indices.getAlias({ name: 'nova_tickets' });
      const [concrete, state] = Object.entries(alias)[0] ?? [];
      expect(concrete).toMatch(/^nova_tickets-v\d+$/);
      expect(state?.aliases?.nova_tickets).toMatchObject({ is_write_index: true });
      const mapping = await es.indices.getMapping({ index: 'nova_tickets' });
      expect(Object.values(mapping)[0]?.mappings.properties?.suggest).toMatchObject({
        type: 'completion',
      });
      const { data_streams } = await es.indices.getDataStream({ name: 'nova_logs' });
      expect(data_streams[0]).toMatchObject({ name: 'nova_logs', ilm_policy: 'nova_logs' });
      const created = await es.index({
        index: 'nova_logs',
        op_type: 'create',
        document: {
          '@timestamp': new Date().toISOString(),
          event: { dataset: 'system_logs' },
          message: 'live',
        },
      });
      expect(created.result).toBe('created');
      // Replicas sized for the cluster on every index we made: a one-node cluster can be green.
      const settings = await es.indices.getSettings({
        index: 'nova_logs,nova_tickets,nova_kb,nova_ai_context',
        name: 'index.auto_expand_replicas',
        flat_settings: true,
      });
      for (const [index, state] of Object.entries(settings)) {
        expect(state.settings, index).toEqual({ 'index.auto_expand_replicas': '0-1' });
      }
    });

    it('telemetry: events logged through novaDb land in nova_logs as ECS, searchable by event.dataset', async () => {
      const elastic = config().elastic;
      if (!elastic) throw new Error('ELASTIC_URL');
      const es = client as NonNullable<typeof client>;
      await expectCurrentLogsMapping(es);

      const db = createNovaDb({ ...testConfig(t?.url ?? ''), elastic });
      const run = crypto.randomUUID();
      const user = `live-${run}`;
      const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
      try {
        const log = db.telemetry;
        expect(log.stores).toEqual(['elasticsearch']);
        log.logAudit(user, 'user.deactivated', { type: 'user', id: 'u-9' }, { run });
        log.logSystem('warn', `live run ${run}`, { run });
        log.logUserActivity(user, 'ticket_created', { run });
        log.logPerformance('api', '/api/live', 150, { run, statusCode: 503, method: 'GET' });
        log.logError(Object.assign(new TypeError('live failure'), { code: 'E_LIVE' }), { run });
        log.logApiUsage('GET', '/api/tickets/:id', 200, 12.5, {
          run,
          userId: user,
          traceId: trace,
          requestId: 'req-live',
        });
        log.logSearch('kb', 'VPN  Setup', 0, 48, { run });
        expect(await log.flush()).toBe(true);
        expect(log.stats().stores.elasticsearch).toMatchObject({
          written: 7,
          rejected: 0,
          failedFlushes: 0,
        });
        await es.indices.refresh({ index: LOGS_DATA_STREAM });

        const ofRun = { term: { 'details.run': run } };
        const all = await es.search({
          index: LOGS_DATA_STREAM,
          size: 0,
          query: { bool: { filter: [ofRun] } },
          aggs: {
            datasets: { terms: { field: 'event.dataset', size: 10 } },
            latency: { percentiles: { field: 'event.duration', percents: [50, 95, 99] } },
            statuses: { terms: { field: 'http.response.status_code' } },
            outcomes: { terms: { field: 'event.outcome' } },
            errors: { terms: { field: 'error.message.keyword' } },
          },
        });
        const aggregations = (all.aggregations ?? {}) as Record<string, unknown>;
        const buckets = (name: string) =>
          (aggregations[name] as { buckets: { key: unknown; doc_count: number }[] }).buckets.map(
            (b) => [b.key, b.doc_count],
          );
        expect(buckets('datasets').sort()).toEqual(
          [...TELEMETRY_COLLECTIONS].sort().map((dataset) => [dataset, 1]),
        );
        expect(buckets('statuses').sort()).toEqual([
          [200, 1],
          [503, 1],
        ]);
        expect(buckets('outcomes').sort()).toEqual([
          ['failure', 1],
          ['success', 1],
        ]);
        expect(buckets('errors')).toEqual([['live failure', 1]]);
        // Latency percentiles over the three timed events (150 ms, 12.5 ms, 48 ms), in ns.
        const latency = aggregations.latency as { values: Record<string, number | null> };
        expect(latency.values['99.0']).toBeGreaterThan(100_000_000);

        const apiUsage = await es.search<EcsEvent>({
          index: LOGS_DATA_STREAM,
          query: { bool: { filter: [ofRun, { term: { 'event.dataset': 'api_usage' } }] } },
        });
        const [hit] = apiUsage.hits.hits;
        expect(apiUsage.hits.hits).toHaveLength(1);
        expect(hit?._id).toBe(hit?._source?.event.id);
        expect(hit?._source).toMatchObject({
          event: { dataset: 'api_usage', duration: 12_500_000, outcome: 'success' },
          http: { request: { id: 'req-live', method: 'GET' }, response: { status_code: 200 } },
          url: { path: '/api/tickets/:id' },
          user: { id: user },
          trace: { id: trace },
        });
        const byField = async (query: estypes.QueryDslQueryContainer) =>
          (
            await es.search({
              index: LOGS_DATA_STREAM,
              size: 0,
              query: { bool: { filter: [ofRun, query] } },
            })
          ).hits.total;
        expect(await byField({ term: { 'user.id': user } })).toMatchObject({ value: 3 });
        expect(await byField({ term: { 'search.query': 'vpn setup' } })).toMatchObject({
          value: 1,
        });
        expect(await byField({ match: { 'error.message': 'failure' } })).toMatchObject({
          value: 1,
        });
        expect(await byField({ match: { message: 'live' } })).toMatchObject({ value: 1 });

        // A batch sent twice (a lost reply): the second answer is 409, counted as written.
        const sink = new ElasticSink(() => db.elastic.client, 10_000);
        const event = apiUsageEvent({ service: 'nova-live' }, 'GET', '/api/x', 200, 1, { run });
        expect(await sink.write('api_usage', [event.document])).toEqual({
          written: 1,
          rejected: [],
        });
        expect(await sink.write('api_usage', [event.document])).toEqual({
          written: 1,
          rejected: [],
        });
        await es.indices.refresh({ index: LOGS_DATA_STREAM });
        expect(
          await byField({ term: { 'event.id': event.document._id.toHexString() } }),
        ).toMatchObject({ value: 1 });
      } finally {
        await db.close();
      }
    });

    it('dashboards: the search behind every visualization and saved search runs on events of every dataset', {
      timeout: 120_000,
    }, async () => {
      const elastic = config().elastic;
      if (!elastic || !t) throw new Error('ELASTIC_URL');
      const es = client as NonNullable<typeof client>;
      // Self-contained: the stream exists with the current mapping.
      await expectCurrentLogsMapping(es);

      const db = createNovaDb({ ...testConfig(t.url), elastic });
      const run = crypto.randomUUID();
      const actor = `dash-${run}`;
      try {
        const log = db.telemetry;
        // Every dataset, with every field a panel groups or measures by.
        const traceId = '0af7651916cd43dd8448eb211c80319c';
        log.logAudit(actor, 'user.deactivated', { type: 'user', id: 'u-1' }, { run, traceId });
        log.logAudit(actor, 'ticket.assigned', { type: 'ticket', id: 't-1' }, { run });
        for (const status of ['down', 'up']) {
          log.logSystem(status === 'down' ? 'error' : 'info', `postgres ${status}`, {
            run,
            action: `dependency_${status}`,
            entityType: 'dependency',
            entityId: 'postgres',
          });
        }
        log.logUserActivity(actor, 'ticket_created', { run });
        log.logPerformance('api', '/api/tickets', 40, { run, statusCode: 200, method: 'GET' });
        log.logPerformance('api', '/api/tickets/:id', 12, { run, statusCode: 200, method: 'GET' });
        log.logPerformance('search', '/api/search', 900, { run, statusCode: 503, method: 'POST' });
        log.logError(Object.assign(new TypeError('dashboard failure'), { code: 'E_DASH' }), {
          run,
          userId: actor,
          traceId,
        });
        log.logError(new RangeError('out of range'), { run });
        log.logApiUsage('GET', '/api/tickets', 200, 35, { run, userId: actor });
        log.logApiUsage('GET', '/api/tickets/:id', 404, 8, { run, userId: actor });
        log.logApiUsage('POST', '/api/tickets', 503, 1200, { run, userId: actor });
        log.logSearch('kb', 'vpn setup', 3, 48, { run, userId: actor });
        log.logSearch('tickets', 'printer jam', 0, 61, { run, userId: actor });
        expect(await log.flush()).toBe(true);
        expect(log.stats().stores.elasticsearch).toMatchObject({
          written: 15,
          rejected: 0,
          failedFlushes: 0,
        });
        await es.indices.refresh({ index: LOGS_DATA_STREAM });

        const objects = loadSavedObjects(DEFAULT_DASHBOARDS_DIR).flatMap((f) =>
          f.objects.map((l) => l.object),
        );
        const views = dataViewsOf(objects);
        const ofRun = { term: { 'details.run': run } };
        const searches = objects
          .filter((o) => (SEARCHED_TYPES as readonly string[]).includes(o.type))
          .flatMap((o) => searchBodiesFor(o, views, { filters: [ofRun] }));
        expect(searches.length).toBeGreaterThanOrEqual(10);
        const empty: string[] = [];
        for (const { objectId, layerId, request } of searches) {
          const at = `${objectId}${layerId ? ` layer ${layerId}` : ''}`;
          const reply = await es.search(request).catch((error: Error) => {
            // An Elasticsearch refusal (a field it cannot aggregate…), named by its panel.
            throw new Error(`${at}: ${error.message}`, { cause: error });
          });
          expect(reply._shards.failed, `${at}: ${JSON.stringify(reply._shards.failures)}`).toBe(0);
          expect(reply.timed_out, at).toBe(false);
          // Every panel reads a dataset seeded above: it finds this run's events…
          const total = reply.hits.total as estypes.SearchTotalHits;
          if (total.value === 0) empty.push(at);
          // …its outer buckets hold some of them…
          const [outer] = Object.keys(request.aggs ?? {});
          if (outer && bucketsOf(reply.aggregations?.[outer]).every((b) => b.doc_count === 0)) {
            empty.push(`${at} (no bucket of ${outer} holds a document)`);
          }
          // …its metrics have a value, and a saved search returns its columns.
          for (const name of metricNames(request.aggs)) {
            if (!metricValues(reply.aggregations, name).some((v) => typeof v === 'number')) {
              empty.push(`${at} (metric ${name} has no value)`);
            }
          }
          const columns = (request.fields ?? []) as string[];
          const [hit] = reply.hits.hits;
          if (columns.length > 0 && !columns.some((c) => hit?.fields?.[c] !== undefined)) {
            empty.push(`${at} (no column in its first hit)`);
          }
        }
        expect(empty, 'panels that found none of the seeded events').toEqual([]);
      } finally {
        await db.close();
      }
    });

    it('the data path: outbox -> index -> search with visibility, filters, highlights, suggest, delete, reindex', async () => {
      const elastic = config().elastic;
      if (!elastic) throw new Error('ELASTIC_URL');
      const es = client as NonNullable<typeof client>;
      if (!t) throw new Error('no test database');
      const db = createNovaDb({ ...testConfig(t.url), elastic });
      try {
        const token = `zq${crypto.randomUUID().slice(0, 8)}`;
        const user = async (name: string, role?: string) => {
          const created = await db.createUser({
            email: uniqueEmail(name),
            firstName: name,
            lastName: 'Live',
          });
          if (role) await db.postgres.assignRole(created.id, role);
          return db.viewer(created.id);
        };
        const agent = await user('agent', 'agent');
        const alice = await user('alice');
        const bob = await user('bob');
        const vpn = await db.postgres.createTicket({
          title: `VPN disconnects every hour ${token}`,
          description: 'The <b>client</b> drops the tunnel.',
          priority: 'urgent',
          requesterId: alice.userId as string,
        });
        await db.postgres.createTicket({
          title: `Printer jam on floor three ${token}`,
          priority: 'low',
          requesterId: bob.userId as string,
        });
        const article = (
          title: string,
          visibility: 'public' | 'internal',
          status: 'published' | 'draft',
        ) =>
          db.postgres.createArticle({
            slug: `${title.toLowerCase().replaceAll(' ', '-')}-${token}`,
            title: `${title} ${token}`,
            content: 'Open the VPN client and sign in.',
            category: 'documentation',
            visibility,
            status,
            authorId: agent.userId as string,
          });
        await article('Configure the VPN client', 'public', 'published');
        await article('VPN server runbook', 'internal', 'published');
        await article('VPN draft notes', 'public', 'draft');

        const indexer = new Indexer(new OutboxStore(db.postgres.pool), db.elastic.client);
        const drained = await indexer.drain();
        expect(drained.retried + drained.parked).toBe(0);
        await es.indices.refresh({ index: 'nova_tickets,nova_kb' });

        const typo = await db.searchTickets(`vpn disconect ${token}`, {}, { viewer: agent });
        // Earlier runs may have left look-alikes: this run's ticket, matching every word, ranks first.
        expect(typo.items[0]?.id).toBe(vpn.id);
        expect(typo.items[0]?.highlight.title?.join(' ')).toContain('<mark>');
        // Words split over title and description still match; the document's own HTML comes
        // back escaped, only <mark> is markup.
        const tunnel = await db.searchTickets(`tunnel ${token}`, {}, { viewer: agent });
        const fragment = tunnel.items[0]?.highlight.description?.join(' ') ?? '';
        expect(fragment).toContain('&lt;b&gt;client&lt;/b&gt;');
        expect(fragment).toContain('<mark>tunnel</mark>');
        const low = await db.searchTickets(
          token,
          { priority: 'low' },
          { viewer: agent, sort: 'priority' },
        );
        expect(low.items.map((h) => h.document.title)).toEqual([
          `Printer jam on floor three ${token}`,
        ]);
        const bobs = await db.searchTickets(token, {}, { viewer: bob });
        expect(bobs.items.map((h) => h.document.requester_id)).toEqual([bob.userId]);

        const titles = async (viewer: typeof agent) =>
          (await db.searchKnowledgeBase(`vpn ${token}`, {}, { viewer })).items
            .map((h) => h.document.title.replace(` ${token}`, ''))
            .sort();
        expect(await titles(ANONYMOUS)).toEqual(['Configure the VPN client']);
        expect(await titles(agent)).toEqual(['Configure the VPN client', 'VPN server runbook']);

        const suggested = await db.suggest({
          prefix: `VPN disconnects every hour ${token}`,
          scope: 'tickets',
          viewer: agent,
          size: 20,
        });
        expect(suggested.map((s) => s.id)).toContain(vpn.id);
        const bobSuggest = await db.suggest({
          prefix: `VPN disconnects every hour ${token}`,
          scope: 'tickets',
          viewer: bob,
          size: 20,
        });
        expect(bobSuggest.map((s) => s.id)).not.toContain(vpn.id);

        await db.postgres.deleteTicket(vpn.id);
        await indexer.drain();
        await es.indices.refresh({ index: 'nova_tickets' });
        expect((await db.searchTickets(token, {}, { viewer: agent })).items).toHaveLength(1);

        const before = Object.keys(await es.indices.getAlias({ name: 'nova_tickets' }));
        const report = await reindex('tickets', {
          client: es,
          pool: db.postgres.pool,
          config: elastic,
        });
        const after = Object.keys(await es.indices.getAlias({ name: 'nova_tickets' }));
        expect(after).toEqual([report.to]);
        expect(report.from).toEqual(before);
        expect(await es.indices.exists({ index: before.join(',') })).toBe(false);
        const again = await db.searchTickets(token, {}, { viewer: agent });
        expect(again.items.map((h) => h.document.priority)).toEqual(['low']);
      } finally {
        await db.close();
      }
    });

    it('semantic and hybrid search: the indexer embeds published articles, kNN honours visibility, reindex ai_context rebuilds', async () => {
      const elastic = config().elastic;
      if (!elastic || !t) throw new Error('ELASTIC_URL');
      const es = client as NonNullable<typeof client>;
      const provider = await startEmbeddingServer(elastic.embeddingDims);
      const db = createNovaDb({
        ...testConfig(t.url),
        elastic,
        embeddings: {
          url: provider.url,
          model: 'hashed-words',
          apiKey: undefined,
          dims: elastic.embeddingDims,
          timeoutMs: 5000,
        },
      });
      try {
        const token = `zs${crypto.randomUUID().slice(0, 8)}`;
        const author = await db.createUser({
          email: uniqueEmail('author'),
          firstName: 'A',
          lastName: 'Live',
        });
        await db.postgres.assignRole(author.id, 'agent');
        const agent = await db.viewer(author.id);
        const article = (title: string, content: string, visibility: 'public' | 'internal') =>
          db.postgres.createArticle({
            slug: `${title.toLowerCase().replaceAll(' ', '-')}-${token}`,
            title: `${title} ${token}`,
            content,
            category: 'documentation',
            visibility,
            status: 'published',
            authorId: author.id,
          });
        const mail = await article(
          'Mailbox quota',
          'When the mailbox is full, archive old mail to free quota.',
          'public',
        );
        const runbook = await article(
          'Mail relay runbook',
          'Restart the relay when the mailbox queue is full.',
          'internal',
        );
        await article('Printer toner', 'Replace the toner cartridge in the printer.', 'public');

        const drained = await db.indexer.drain();
        expect(drained).toMatchObject({ retried: 0, parked: 0 });
        expect(drained.embedded).toBe(3);
        await es.indices.refresh({ index: 'nova_ai_context,nova_kb' });

        const query = `mailbox full ${token}`;
        const anonymous = await db.semanticSearch(query, { viewer: ANONYMOUS, size: 5 });
        expect(anonymous.items[0]?.id).toBe(mail.id);
        expect(anonymous.items.map((h) => h.id)).not.toContain(runbook.id);
        const staff = await db.semanticSearch(query, { viewer: agent, size: 5 });
        expect(
          staff.items
            .slice(0, 2)
            .map((h) => h.id)
            .sort(),
        ).toEqual([mail.id, runbook.id].sort());
        const hybrid = await db.hybridSearch(query, {}, { viewer: agent, size: 5 });
        expect(hybrid.items[0]?.ranks).toMatchObject({ lexical: 1, semantic: 1 });

        // Unpublished: gone from nova_ai_context at the next drain.
        await db.postgres.updateArticle(mail.id, { status: 'archived' });
        await db.indexer.drain();
        await es.indices.refresh({ index: 'nova_ai_context' });
        const afterArchive = await db.semanticSearch(query, { viewer: ANONYMOUS, size: 5 });
        expect(afterArchive.items.map((h) => h.id)).not.toContain(mail.id);

        const before = Object.keys(await es.indices.getAlias({ name: 'nova_ai_context' }));
        const report = await reindex('ai_context', {
          client: es,
          pool: db.postgres.pool,
          config: elastic,
          embeddings: db.embeddings,
        });
        expect(Object.keys(await es.indices.getAlias({ name: 'nova_ai_context' }))).toEqual([
          report.to,
        ]);
        expect(report.from).toEqual(before);
        const rebuilt = await db.semanticSearch(query, { viewer: agent, size: 5 });
        expect(rebuilt.items[0]?.id).toBe(runbook.id);
      } finally {
        await db.close();
        await provider.close();
      }
    });

    it('health reports the cluster colour, nodes and shards', async () => {
      const elastic = config().elastic;
      if (!elastic) throw new Error('ELASTIC_URL');
      const store = new ElasticStore(elastic);
      try {
        const health = await store.health();
        expect(['up', 'degraded']).toContain(health.status);
        expect(health.cluster?.nodes).toBeGreaterThanOrEqual(1);
        expect(health.cluster?.version).toMatch(/^8\./);
      } finally {
        await store.close();
      }
    });
  },
);
