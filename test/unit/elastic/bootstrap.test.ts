/**
 * `nova bootstrap elastic` against Elastic's client mock holding a scripted cluster state:
 * the exact requests, idempotence, drift, and readiness waits. Not Elasticsearch: the live
 * suite covers a real cluster.
 */
import { describe, expect, it } from 'vitest';
import { bootstrapElastic, formatElasticReport } from '../../../src/bootstrap/elastic/index.js';
import { loadConfig } from '../../../src/config.js';
import { LOGS_MAPPINGS } from '../../../src/lib/db/elastic/index-specs.js';
import { isNovaError } from '../../../src/lib/errors.js';
import { FakeCluster } from '../../support/elastic-cluster.js';

const config = (env: Record<string, string> = {}) =>
  loadConfig({ ELASTIC_URL: 'http://127.0.0.1:9200', ELASTIC_MAX_RETRIES: '3', ...env });

describe('bootstrapElastic', () => {
  it('on an empty cluster: a dry run writes nothing and plans every object in order', async () => {
    const cluster = new FakeCluster();
    const report = await bootstrapElastic(config(), { dryRun: true, client: cluster.client() });
    expect(cluster.writes()).toEqual([]);
    expect(report.steps.map((s) => `${s.kind} ${s.description}`)).toEqual([
      'putLifecycle create ILM policy nova_logs (delete after 90d)',
      'putComponentTemplate create component template nova-tickets-mappings',
      'putComponentTemplate create component template nova-kb-mappings',
      'putComponentTemplate create component template nova-ai-context-mappings',
      'putComponentTemplate create component template nova-logs-mappings',
      'putComponentTemplate create component template nova-logs-settings',
      'putIndexTemplate create index template nova_tickets (nova_tickets-*)',
      'putIndexTemplate create index template nova_kb (nova_kb-*)',
      'putIndexTemplate create index template nova_ai_context (nova_ai_context-*)',
      'putIndexTemplate create index template nova_logs (nova_logs)',
      'createIndex create index nova_tickets-v1 behind alias nova_tickets',
      'createIndex create index nova_kb-v1 behind alias nova_kb',
      'createIndex create index nova_ai_context-v1 behind alias nova_ai_context',
      'createDataStream create data stream nova_logs',
    ]);
    expect(formatElasticReport(report)).toContain('14 change(s) planned (dry run');
  });

  it('applies the plan with the exact requests, converges, and a second run changes nothing', async () => {
    const cluster = new FakeCluster();
    const first = await bootstrapElastic(config(), { client: cluster.client() });
    expect(first.changed).toBe(true);
    const writes = cluster.writes();
    expect(writes.map((w) => `${w.method} ${w.path}`)).toEqual([
      'PUT /_ilm/policy/nova_logs',
      'PUT /_component_template/nova-tickets-mappings',
      'PUT /_component_template/nova-kb-mappings',
      'PUT /_component_template/nova-ai-context-mappings',
      'PUT /_component_template/nova-logs-mappings',
      'PUT /_component_template/nova-logs-settings',
      'PUT /_index_template/nova_tickets',
      'PUT /_index_template/nova_kb',
      'PUT /_index_template/nova_ai_context',
      'PUT /_index_template/nova_logs',
      'PUT /nova_tickets-v1',
      'PUT /nova_kb-v1',
      'PUT /nova_ai_context-v1',
      'PUT /_data_stream/nova_logs',
    ]);
    expect(writes[0]?.body).toMatchObject({
      policy: {
        phases: {
          hot: { actions: { rollover: { max_primary_shard_size: '50gb', max_age: '1d' } } },
          delete: { min_age: '90d', actions: { delete: {} } },
        },
        _meta: { managed_by: 'nova', spec_hash: expect.stringMatching(/^[0-9a-f]{16}$/) },
      },
    });
    const bodyOf = (path: string) => writes.find((w) => w.path === path)?.body;
    expect(bodyOf('/_index_template/nova_logs')).toMatchObject({
      index_patterns: ['nova_logs'],
      data_stream: {},
      priority: 600,
      composed_of: ['nova-logs-mappings', 'nova-logs-settings'],
    });
    expect(bodyOf('/nova_tickets-v1')).toEqual({
      aliases: { nova_tickets: { is_write_index: true } },
    });

    const before = cluster.writes().length;
    const second = await bootstrapElastic(config(), { client: cluster.client() });
    expect(second).toMatchObject({ changed: false, steps: [], warnings: [] });
    expect(cluster.writes()).toHaveLength(before);
    expect(formatElasticReport(second)).toContain('nothing to change');
  });

  it('a longer MongoDB retention rewrites only the ILM policy', async () => {
    const cluster = new FakeCluster();
    await bootstrapElastic(config(), { client: cluster.client() });
    const changed = config({
      MONGO_URL: 'mongodb://127.0.0.1',
      MONGO_RETENTION: 'audit_logs=120d',
    });
    const report = await bootstrapElastic(changed, { client: cluster.client() });
    expect(report.steps.map((s) => s.description)).toEqual([
      'update ILM policy nova_logs (delete after 120d)',
    ]);
  });

  it('new embedding dimensions update the templates and say how to rebuild the existing index', async () => {
    const cluster = new FakeCluster();
    await bootstrapElastic(config(), { client: cluster.client() });
    const report = await bootstrapElastic(config({ ELASTIC_EMBEDDING_DIMS: '768' }), {
      client: cluster.client(),
    });
    expect(report.steps.map((s) => s.description)).toEqual([
      'update component template nova-ai-context-mappings',
      'update index template nova_ai_context (nova_ai_context-*)',
    ]);
    expect(report.warnings).toEqual([
      'nova_ai_context-v1 (behind nova_ai_context) was built from other mappings or analysis: run `nova reindex ai_context`',
    ]);
    const embedding = (
      cluster.components.get('nova-ai-context-mappings') as never as {
        template: { mappings: { properties: { embedding: unknown } } };
      }
    ).template.mappings.properties.embedding;
    expect(embedding).toEqual({
      type: 'dense_vector',
      dims: 768,
      index: true,
      similarity: 'cosine',
    });
  });

  it('flags a search index built with another analysis (analyzers are fixed at creation), not one from before the hash was kept', async () => {
    const cluster = new FakeCluster();
    await bootstrapElastic(config(), { client: cluster.client() });
    const meta = (index: string) =>
      (cluster.indices.get(index)?.mappings?._meta ?? {}) as Record<string, unknown>;
    expect(meta('nova_kb-v1').analysis_hash).toEqual(expect.any(String));
    meta('nova_tickets-v1').analysis_hash = 'built-with-an-older-analyzer';
    delete meta('nova_kb-v1').analysis_hash;
    const report = await bootstrapElastic(config(), { client: cluster.client() });
    expect(report.warnings).toEqual([
      'nova_tickets-v1 (behind nova_tickets) was built from other mappings or analysis: run `nova reindex tickets`',
    ]);
  });

  it('refuses a concrete index where the data stream belongs, and flags a concrete search index', async () => {
    const cluster = new FakeCluster();
    cluster.indices.set('nova_logs', { aliases: {}, mappings: {} });
    const error = await bootstrapElastic(config(), { client: cluster.client() }).catch(
      (e: unknown) => e,
    );
    expect(isNovaError(error, 'BOOTSTRAP_FAILED')).toBe(true);
    expect((error as Error).message).toContain('nova_logs exists as a concrete index');

    const legacy = new FakeCluster();
    legacy.indices.set('nova_tickets', { aliases: {}, mappings: {} });
    const report = await bootstrapElastic(config(), { dryRun: true, client: legacy.client() });
    expect(report.warnings).toContain(
      'nova_tickets is a concrete index, not an alias: run `nova reindex tickets` to move it behind one',
    );
    expect(report.steps.some((s) => s.description.includes('nova_tickets-v1'))).toBe(false);
  });

  it('waits while the cluster answers 503 (no master yet), then bootstraps', async () => {
    const cluster = new FakeCluster();
    cluster.failures = { status: 503, times: 2 };
    const report = await bootstrapElastic(config(), { client: cluster.client() });
    expect(report.changed).toBe(true);
    expect(
      cluster.requests.filter((r) => r.path === '/_ilm/policy/nova_logs' && r.method === 'GET')
        .length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('gives up after its wait bound with one UNAVAILABLE error', async () => {
    const cluster = new FakeCluster();
    cluster.failures = { status: 503, times: 1_000 };
    const started = performance.now();
    const error = await bootstrapElastic(config(), { client: cluster.client(), waitMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(isNovaError(error, 'UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(
      /^Elasticsearch bootstrap failed: 503 master_not_discovered_exception/,
    );
    expect(performance.now() - started).toBeLessThan(6000);
  });

  it('creates the next version behind a missing alias when an orphaned versioned index holds the name', async () => {
    const cluster = new FakeCluster();
    await bootstrapElastic(config(), { client: cluster.client() });
    // nova_tickets-v1 lost its alias (deleted by hand, a half-done restore).
    (cluster.indices.get('nova_tickets-v1') as { aliases: Record<string, unknown> }).aliases = {};
    const report = await bootstrapElastic(config(), { client: cluster.client() });
    expect(report.steps.map((s) => s.description)).toEqual([
      'create index nova_tickets-v2 behind alias nova_tickets',
    ]);
    expect(report.warnings).toEqual([
      'nova_tickets-v1 is not behind nova_tickets: nova_tickets-v2 takes its place (run `nova reindex tickets` to fill it); delete the old one when no longer needed',
    ]);
    expect(cluster.indices.get('nova_tickets-v2')?.aliases).toEqual({
      nova_tickets: { is_write_index: true },
    });
    expect((await bootstrapElastic(config(), { client: cluster.client() })).changed).toBe(false);
  });

  it('the scripted cluster refuses an index name that exists, as Elasticsearch does', async () => {
    const cluster = new FakeCluster();
    const es = cluster.client();
    await es.indices.create({ index: 'x' });
    const error = await es.indices.create({ index: 'x' }).catch((e: unknown) => e);
    expect((error as { body: unknown }).body).toMatchObject({
      error: {
        type: 'resource_already_exists_exception',
        reason: expect.stringMatching(/^index \[x\/\S+\] already exists$/),
      },
    });
  });

  it('needs ELASTIC_URL', async () => {
    const error = await bootstrapElastic(loadConfig({})).catch((e: unknown) => e);
    expect(isNovaError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as { field: string }).field).toBe('ELASTIC_URL');
  });

  it('adds the fields the template gained since to the data stream, history included, then changes nothing', async () => {
    const cluster = new FakeCluster();
    await bootstrapElastic(config(), { client: cluster.client() });
    // The stream was made before event.id and message.keyword were mapped.
    const [first] = cluster.backingIndices.get('nova_logs') ?? [];
    const properties = first?.mappings.properties as Record<string, Record<string, unknown>>;
    const event = properties.event as { properties: Record<string, unknown> };
    delete event.properties.id;
    delete properties.message?.fields;
    const stale = await bootstrapElastic(config(), { dryRun: true, client: cluster.client() });
    expect(stale.steps.map((s) => `${s.kind} ${s.description}`)).toEqual([
      "putDataStreamMapping add message.keyword, event.id to nova_logs's backing indices",
    ]);
    await bootstrapElastic(config(), { client: cluster.client() });
    const put = cluster.writes().at(-1);
    expect(`${put?.method} ${put?.path}`).toBe('PUT /nova_logs/_mapping');
    // The missing fields alone (message whole, for its new multi-field), nothing else.
    expect(put?.body).toEqual({
      properties: {
        message: LOGS_MAPPINGS.properties?.message,
        event: { properties: { id: { type: 'keyword' } } },
      },
    });
    const again = await bootstrapElastic(config(), { client: cluster.client() });
    expect(again.changed).toBe(false);
  });

  it('treats a field whose fixed parameter changed as a conflict: a rollover, never a put-mapping the cluster refuses', async () => {
    const cluster = new FakeCluster();
    await bootstrapElastic(config(), { client: cluster.client() });
    const [first] = cluster.backingIndices.get('nova_logs') ?? [];
    const properties = first?.mappings.properties as Record<string, Record<string, unknown>>;
    // Made when stack traces were still indexed, and before event.id was mapped.
    const error = properties.error as { properties: Record<string, unknown> };
    error.properties.stack_trace = { type: 'keyword' };
    delete (properties.event as { properties: Record<string, unknown> }).properties.id;
    const report = await bootstrapElastic(config(), { client: cluster.client() });
    expect(report.steps.map((s) => `${s.kind} ${s.description}`)).toEqual([
      'rolloverDataStream roll nova_logs over onto the current mappings (error.stack_trace mapped otherwise)',
    ]);
    // Next run: the new write index is current; the old one (index: true) is left as it is,
    // so the missing field goes to the write index only, and alone.
    expect((await bootstrapElastic(config(), { client: cluster.client() })).changed).toBe(false);
  });

  it('adds a missing field to the write index alone when an older index maps another field otherwise', async () => {
    const cluster = new FakeCluster();
    await bootstrapElastic(config(), { client: cluster.client() });
    await cluster.client().indices.rollover({ alias: 'nova_logs' });
    const [older, write] = cluster.backingIndices.get('nova_logs') ?? [];
    const old = older?.mappings.properties as Record<string, Record<string, unknown>>;
    (old.error as { properties: Record<string, unknown> }).properties.stack_trace = {
      type: 'keyword',
    };
    const current = write?.mappings.properties as Record<string, Record<string, unknown>>;
    delete (current.event as { properties: Record<string, unknown> }).properties.id;
    const report = await bootstrapElastic(config(), { client: cluster.client() });
    expect(report.steps.map((s) => s.description)).toEqual([
      "add event.id to nova_logs's write index",
    ]);
    expect(cluster.writes().at(-1)).toMatchObject({
      path: '/nova_logs/_mapping',
      body: { properties: { event: { properties: { id: { type: 'keyword' } } } } },
    });
    expect((await bootstrapElastic(config(), { client: cluster.client() })).changed).toBe(false);
  });

  it('sizes replicas for the cluster on backing indices made with the default one replica, then changes nothing', async () => {
    const cluster = new FakeCluster();
    await bootstrapElastic(config(), { client: cluster.client() });
    const [first] = cluster.backingIndices.get('nova_logs') ?? [];
    // New backing indices get auto_expand_replicas from the template (green on one node).
    expect(first?.settings.auto_expand_replicas).toBe('0-1');
    // One made before the template said so keeps Elasticsearch's default: one replica.
    delete (first as { settings: Record<string, unknown> }).settings.auto_expand_replicas;
    const stale = await bootstrapElastic(config(), { dryRun: true, client: cluster.client() });
    expect(stale.steps.map((s) => `${s.kind} ${s.description}`)).toEqual([
      'putDataStreamSettings size replicas for the cluster (auto_expand_replicas 0-1) on .ds-nova_logs-000001',
    ]);
    await bootstrapElastic(config(), { client: cluster.client() });
    const put = cluster.writes().at(-1);
    expect(put).toMatchObject({
      method: 'PUT',
      path: '/nova_logs/_settings',
      body: { index: { auto_expand_replicas: '0-1' } },
    });
    expect(first?.settings.auto_expand_replicas).toBe('0-1');
    expect((await bootstrapElastic(config(), { client: cluster.client() })).changed).toBe(false);
  });

  it('rolls the data stream over when its write index maps a field with another type, once', async () => {
    const cluster = new FakeCluster();
    await bootstrapElastic(config(), { client: cluster.client() });
    const [first] = cluster.backingIndices.get('nova_logs') ?? [];
    const properties = first?.mappings.properties as Record<string, Record<string, unknown>>;
    properties.url = { properties: { path: { type: 'text' } } };
    const conflict = await bootstrapElastic(config(), { client: cluster.client() });
    expect(conflict.steps.map((s) => `${s.kind} ${s.description}`)).toEqual([
      'rolloverDataStream roll nova_logs over onto the current mappings (url.path mapped otherwise)',
    ]);
    expect(cluster.backingIndices.get('nova_logs')).toHaveLength(2);
    // The old index keeps its history as it is; nothing more to do.
    const again = await bootstrapElastic(config(), { client: cluster.client() });
    expect(again.changed).toBe(false);
  });
});
