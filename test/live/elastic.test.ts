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
 * Without ELASTIC_URL every test here is reported as skipped, with the reason in its name and
 * on stderr; it never passes silently.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapElastic } from '../../src/bootstrap/elastic/index.js';
import { reindex } from '../../src/bootstrap/elastic/reindex.js';
import { loadConfig } from '../../src/config.js';
import { createElasticClient } from '../../src/lib/db/elastic/client.js';
import { Indexer } from '../../src/lib/db/elastic/indexer.js';
import { OutboxStore } from '../../src/lib/db/elastic/outbox-store.js';
import { ElasticStore } from '../../src/lib/db/elastic.js';
import { ANONYMOUS, createNovaDb } from '../../src/lib/db/index.js';
import { testConfig, uniqueEmail, useTestDatabase } from '../support/database.js';
import { startEmbeddingServer } from '../support/embedding-server.js';

const url = process.env.ELASTIC_URL;
const SKIP_REASON = 'ELASTIC_URL is not set';
if (!url) process.stderr.write(`\n[live] Elasticsearch suite SKIPPED: ${SKIP_REASON}\n\n`);
const t = url ? await useTestDatabase() : undefined;

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
