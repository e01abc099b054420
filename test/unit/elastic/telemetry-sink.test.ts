/**
 * The Elasticsearch telemetry sink, request by request, against Elastic's client mock
 * (test/support/elastic-cluster.ts: it checks our requests and our accounting, it is not
 * Elasticsearch; the live suite writes to a real nova_logs): the bulk body, each item
 * outcome as the writer counts it, whole-request failures, and a request timeout on a real
 * socket that never answers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors, type estypes } from '@elastic/elasticsearch';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createElasticClient } from '../../../src/lib/db/elastic/client.js';
import type { EcsEvent } from '../../../src/lib/db/elastic/ecs.js';
import { LOGS_DATA_STREAM } from '../../../src/lib/db/elastic/index-specs.js';
import {
  BulkRetryError,
  classifyBulkResponse,
  ElasticSink,
} from '../../../src/lib/db/elastic/telemetry-sink.js';
import { NovaError } from '../../../src/lib/errors.js';
import { BatchWriter } from '../../../src/lib/telemetry/batch-writer.js';
import {
  apiUsageEvent,
  systemEvent,
  type TelemetryDocument,
} from '../../../src/lib/telemetry/events.js';
import { FakeCluster } from '../../support/elastic-cluster.js';
import { activity } from '../../support/telemetry.js';

const docs = (count: number, from = 0): TelemetryDocument[] =>
  Array.from({ length: count }, (_, i) => activity(from + i).document);
const idOf = (doc: TelemetryDocument) => doc._id.toHexString();
const bulks = (cluster: FakeCluster) => cluster.requests.filter((r) => r.path === '/_bulk');

const open: BatchWriter[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((w) => w.close(50)));
});
function writerOver(sink: ElasticSink) {
  const writer = new BatchWriter(sink, {
    bufferSize: 100,
    batchSize: 10,
    flushIntervalMs: 3_600_000,
    writeTimeoutMs: 2000,
    baseRetryDelayMs: 5,
    maxRetryDelayMs: 20,
  });
  open.push(writer);
  return writer;
}

describe('ElasticSink: the request', () => {
  it('sends one _bulk of create actions into nova_logs, each event its ECS document and id', async () => {
    const cluster = new FakeCluster();
    const sink = new ElasticSink(() => cluster.client(), 1000);
    const batch = docs(3);
    expect(await sink.write('user_activity', batch)).toEqual({ written: 3, rejected: [] });

    const [request, ...more] = bulks(cluster);
    expect(more).toEqual([]);
    expect(request?.method).toBe('POST');
    // The body as the client's types describe it: action, document, action, document.
    const operations = request?.body as NonNullable<estypes.BulkRequest<EcsEvent>['operations']>;
    expect(operations).toHaveLength(6);
    batch.forEach((doc, i) => {
      expect(operations[2 * i]).toEqual({ create: { _index: 'nova_logs', _id: idOf(doc) } });
      expect(operations[2 * i + 1]).toMatchObject({
        '@timestamp': doc.timestamp.toISOString(),
        event: { id: idOf(doc), dataset: 'user_activity', action: 'ticket_viewed' },
        service: { name: 'test' },
        user: { id: `user-${i}` },
        details: { n: i },
      });
    });
    expect(LOGS_DATA_STREAM).toBe('nova_logs');
    expect([...cluster.documents('nova_logs').keys()]).toEqual(batch.map(idOf));
  });

  it('stores nothing twice: a batch sent again answers 409 for each copy, counted as written', async () => {
    const cluster = new FakeCluster();
    const sink = new ElasticSink(() => cluster.client(), 1000);
    const batch = docs(4);
    await sink.write('user_activity', batch.slice(0, 2)); // the reply to this one was "lost"
    expect(await sink.write('user_activity', batch)).toEqual({ written: 4, rejected: [] });
    expect(cluster.documents('nova_logs').size).toBe(4);
  });

  it('rejects a document the cluster refuses (400), with the reason and its batch position', async () => {
    const cluster = new FakeCluster();
    const batch = docs(3);
    cluster.itemFailure = (action, id) =>
      action === 'create' && id === idOf(batch[1] as TelemetryDocument)
        ? { status: 400, type: 'document_parsing_exception' }
        : undefined;
    const sink = new ElasticSink(() => cluster.client(), 1000);
    expect(await sink.write('user_activity', batch)).toEqual({
      written: 2,
      rejected: [{ index: 1, reason: '400 document_parsing_exception: scripted' }],
    });
  });

  it('rejects a document it cannot project (a timestamp that is not a date) without sending it', async () => {
    const cluster = new FakeCluster();
    const sink = new ElasticSink(() => cluster.client(), 1000);
    const [good, bad] = [
      systemEvent({ service: 's' }, 'info', 'a'),
      systemEvent({ service: 's' }, 'info', 'b'),
    ];
    bad.document.timestamp = new Date(Number.NaN);
    const result = await sink.write('system_logs', [bad.document, good.document]);
    expect(result.written).toBe(1);
    expect(result.rejected).toEqual([
      { index: 0, reason: expect.stringMatching(/^not an ECS document: /) },
    ]);
    expect(bulks(cluster)[0]?.body).toHaveLength(2);
    // Nothing left to send: no request at all.
    expect(await sink.write('system_logs', [bad.document])).toMatchObject({ written: 0 });
    expect(bulks(cluster)).toHaveLength(1);
  });

  it.each([
    [429, 'es_rejected_execution_exception'],
    [503, 'unavailable_shards_exception'],
    [403, 'security_exception'],
    [404, 'index_not_found_exception'],
  ])('throws for a %s item (%s): the writer retries the batch', async (status, type) => {
    const cluster = new FakeCluster();
    const batch = docs(2);
    cluster.itemFailure = (_action, id) =>
      id === idOf(batch[0] as TelemetryDocument) ? { status, type } : undefined;
    const sink = new ElasticSink(() => cluster.client(), 1000);
    const error = await sink.write('user_activity', batch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkRetryError);
    expect((error as Error).message).toBe(
      `1 of 2 events not stored, retrying: ${status} ${type}: scripted`,
    );
  });

  it('throws when the request fails as a whole (503, connection refused, a bad client)', async () => {
    const cluster = new FakeCluster();
    cluster.failures = { status: 503, times: 1 };
    const sink = new ElasticSink(() => cluster.client(), 1000);
    await expect(sink.write('user_activity', docs(1))).rejects.toMatchObject({
      message: 'Elasticsearch _bulk into nova_logs: 503 master_not_discovered_exception: no master',
      cause: expect.any(errors.ResponseError),
    });

    const broken = new ElasticSink(() => {
      throw new NovaError('CONFIG_INVALID', 'ELASTIC_CA_FILE cannot be read', {
        field: 'ELASTIC_CA_FILE',
      });
    }, 1000);
    await expect(broken.write('user_activity', docs(1))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});

describe('ElasticSink under the batch writer', () => {
  it('a 429 item: the batch is retried, every event stored once, the failure counted', async () => {
    const cluster = new FakeCluster();
    const batch = Array.from({ length: 5 }, (_, i) => activity(i));
    let busy = 1;
    cluster.itemFailure = (_action, id) =>
      id === batch[2]?.document._id.toHexString() && busy-- > 0
        ? { status: 429, type: 'es_rejected_execution_exception' }
        : undefined;
    const writer = writerOver(new ElasticSink(() => cluster.client(), 1000));
    for (const event of batch) writer.offer(event);
    expect(await writer.flush()).toBe(false); // the first attempt failed; the retry is pending
    await vi.waitFor(() => expect(writer.stats().written).toBe(5));
    expect(writer.stats()).toMatchObject({ written: 5, rejected: 0, failedFlushes: 1, depth: 0 });
    expect(cluster.documents('nova_logs').size).toBe(5);
    const answers = bulks(cluster);
    expect(answers).toHaveLength(2);
  });

  it('a 400 item: rejected and counted, never retried', async () => {
    const cluster = new FakeCluster();
    const batch = Array.from({ length: 3 }, (_, i) => activity(i));
    cluster.itemFailure = (_action, id) =>
      id === batch[0]?.document._id.toHexString()
        ? { status: 400, type: 'document_parsing_exception' }
        : undefined;
    const writer = writerOver(new ElasticSink(() => cluster.client(), 1000));
    for (const event of batch) writer.offer(event);
    expect(await writer.flush()).toBe(true);
    expect(writer.stats()).toMatchObject({
      written: 2,
      rejected: 1,
      failedFlushes: 0,
      lastRejection: {
        collection: 'user_activity',
        reason: '400 document_parsing_exception: scripted',
      },
    });
    expect(bulks(cluster)).toHaveLength(1);
  });

  it('gives up on a request that takes longer than its timeout (a socket that never answers)', async () => {
    let received = 0;
    const server = createServer(() => {
      received++; // accepted, never answered
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const config = loadConfig({ ELASTIC_URL: `http://127.0.0.1:${port}` }).elastic;
    if (!config) throw new Error('config');
    const client = createElasticClient(config);
    try {
      const sink = new ElasticSink(() => client, 150);
      const started = performance.now();
      await expect(
        sink.write('api_usage', [
          apiUsageEvent({ service: 's' }, 'GET', '/api/health', 200, 1).document,
        ]),
      ).rejects.toMatchObject({
        message: 'Elasticsearch _bulk into nova_logs: TimeoutError: Request timed out',
        cause: expect.any(errors.TimeoutError),
      });
      expect(performance.now() - started).toBeLessThan(1500);
      expect(received).toBe(1);

      // Under the writer: counted as a failed attempt, the events kept for the retry.
      const writer = writerOver(sink);
      writer.offer(activity(1));
      expect(await writer.flush()).toBe(false);
      expect(writer.stats()).toMatchObject({ depth: 1, written: 0, failedFlushes: 1 });
      expect(writer.stats().lastError?.message).toBe(
        'user_activity: Elasticsearch _bulk into nova_logs: TimeoutError: Request timed out',
      );
    } finally {
      await client.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('classifyBulkResponse', () => {
  type Item = estypes.BulkResponse['items'][number];
  const item = (status: number, type?: string): Item => ({
    create: {
      _index: '.ds-nova_logs-2026.03.04-000001',
      _id: 'x',
      status,
      ...(type ? { error: { type, reason: 'because' } } : {}),
    },
  });

  it('maps positions in the request back to positions in the batch', () => {
    expect(
      classifyBulkResponse(
        {
          errors: true,
          items: [
            item(201),
            item(409, 'version_conflict_engine_exception'),
            item(400, 'mapper_parsing_exception'),
            item(500, 'illegal_state_exception'),
          ],
        },
        [0, 2, 3, 5],
      ),
    ).toEqual({
      written: 2,
      rejected: [
        { index: 3, reason: '400 mapper_parsing_exception: because' },
        { index: 5, reason: '500 illegal_state_exception: because' },
      ],
    });
  });

  it('trusts errors:false, and refuses an answer that does not match the request', () => {
    expect(classifyBulkResponse({ errors: false, items: [item(201), item(201)] }, [0, 1])).toEqual({
      written: 2,
      rejected: [],
    });
    expect(() => classifyBulkResponse({ errors: false, items: [item(201)] }, [0, 1])).toThrow(
      '_bulk answered 1 items for 2 actions',
    );
    // A proxy's answer, or a search result from something that is not Elasticsearch.
    expect(() => classifyBulkResponse({} as estypes.BulkResponse, [0])).toThrow(
      '_bulk answered 0 items for 1 actions',
    );
  });

  it('retries the whole batch for any transient or target-unavailable item', () => {
    for (const status of [429, 502, 503, 504, 401, 403, 404]) {
      expect(() =>
        classifyBulkResponse({ errors: true, items: [item(201), item(status, 'e')] }, [0, 1]),
      ).toThrow(BulkRetryError);
    }
  });
});
