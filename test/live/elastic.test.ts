/**
 * The live Elasticsearch suite: runs against the cluster ELASTIC_URL names (8.11 or later),
 * e.g. after `pulumi up` or in CI with an elasticsearch:8 service container. It runs
 * `nova bootstrap elastic` for real, so it creates the nova_* templates, indices and data
 * stream, as the command would: point it at a disposable cluster. With ELASTIC_ADMIN_* it
 * bootstraps as that user.
 *
 * Without ELASTIC_URL every test here is reported as skipped, with the reason in its name and
 * on stderr; it never passes silently.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapElastic } from '../../src/bootstrap/elastic/index.js';
import { loadConfig } from '../../src/config.js';
import { createElasticClient } from '../../src/lib/db/elastic/client.js';
import { ElasticStore } from '../../src/lib/db/elastic.js';

const url = process.env.ELASTIC_URL;
const SKIP_REASON = 'ELASTIC_URL is not set';
if (!url) process.stderr.write(`\n[live] Elasticsearch suite SKIPPED: ${SKIP_REASON}\n\n`);

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
