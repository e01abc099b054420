/**
 * Traces as the service makes them: the SDK with the service's own instrumentations
 * (telemetry/sdk.ts) and an InMemorySpanExporter, the app on real PostgreSQL, Elasticsearch
 * a local HTTP server answering `_search` (and the telemetry writer's `_bulk`) through the
 * client's real (undici) connection.
 *
 * Everything that loads pg, undici users or fastify is imported dynamically, after the ESM
 * hook and the SDK, as `--import ./dist/telemetry/register.js` orders it in production:
 * a module loaded before its instrumentation is never patched.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { register } from 'node:module';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
const { instrumentations } = await import('../../src/telemetry/sdk.js');
const exporter = new InMemorySpanExporter();
const sdk = new NodeSDK({
  serviceName: 'nova-api-test',
  spanProcessors: [new SimpleSpanProcessor(exporter)],
  metricReaders: [],
  logRecordProcessors: [],
  instrumentations: instrumentations(),
});
sdk.start();

const { loadConfig } = await import('../../src/config.js');
const { createNovaDb } = await import('../../src/lib/db/index.js');
const { testConfig, useTestDatabase } = await import('../support/database.js');
const { serviceApp, userWithToken } = await import('./fixtures.js');

/**
 * Elasticsearch as far as a search needs it: every `_search` answers no hits; `_bulk` (the
 * telemetry writer's, on its own schedule, untraced) takes every action.
 */
const searched: string[] = [];
const elastic = createServer((req: IncomingMessage, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const path = req.url?.split('?')[0];
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-elastic-product': 'Elasticsearch',
    });
    if (path === '/_bulk') {
      const lines = Buffer.concat(chunks).toString().split('\n').filter(Boolean);
      const items = lines
        .filter((_, i) => i % 2 === 0)
        .map(() => ({ create: { _index: 'nova_logs', status: 201 } }));
      res.end(JSON.stringify({ took: 1, errors: false, items }));
      return;
    }
    searched.push(`${req.method} ${path}`);
    res.end(
      JSON.stringify({
        took: 1,
        timed_out: false,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        hits: { total: { value: 0, relation: 'eq' }, max_score: null, hits: [] },
      }),
    );
  });
});
await new Promise<void>((resolve) => elastic.listen(0, '127.0.0.1', resolve));
const elasticUrl = `http://127.0.0.1:${(elastic.address() as AddressInfo).port}`;

const t = await useTestDatabase();
const elasticConfig = loadConfig({ ELASTIC_URL: elasticUrl, ELASTIC_MAX_RETRIES: '0' }).elastic;
const db = createNovaDb({ ...testConfig(t.url), elastic: elasticConfig });
const app = serviceApp(db, t.url);

beforeAll(() => app.ready());
afterAll(async () => {
  await app.close();
  await db.close();
  await new Promise((resolve) => elastic.close(resolve));
  await sdk.shutdown();
});

/** The chain of parents from `span` up to the root, by span id. */
function ancestors(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const chain: ReadableSpan[] = [];
  let parent = span.parentSpanContext?.spanId;
  while (parent && byId.has(parent)) {
    const next = byId.get(parent) as ReadableSpan;
    chain.push(next);
    parent = next.parentSpanContext?.spanId;
  }
  return chain;
}

describe('traces', () => {
  it('a ticket search is one trace: a SERVER span with PostgreSQL and Elasticsearch client spans under it', async () => {
    const { token } = await userWithToken(t, 'agent');
    exporter.reset();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await app.inject({
      method: 'GET',
      url: '/api/tickets/search?q=secret%20words',
      headers: {
        authorization: `Bearer ${token}`,
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(searched.at(-1)).toMatch(/^POST \/nova_tickets\/_search$/);

    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER);
    expect(server, spans.map((s) => s.name).join(', ')).toBeDefined();
    const root = server as ReadableSpan;
    // The incoming traceparent is continued, and the route, not the URL, names the request.
    expect(root.spanContext().traceId).toBe(traceId);
    expect(root.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(root.attributes['http.route']).toBe('/api/tickets/search');
    expect(root.attributes['url.path']).toBe('/api/tickets/search');
    // Neither the search text nor the token (only a hash of it is ever queried) is recorded.
    const recorded = JSON.stringify(spans.map((s) => s.attributes));
    expect(recorded).not.toContain('secret');
    expect(recorded).not.toContain(token);

    const under = (span: ReadableSpan) => ancestors(span, spans).includes(root);
    const postgres = spans.filter((s) => s.attributes['db.system.name'] === 'postgresql');
    // The token's lookup and its permissions, under the authentication preHandler.
    expect(postgres.some((s) => String(s.attributes['db.query.text']).includes('api_tokens'))).toBe(
      true,
    );
    for (const span of postgres) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(under(span), span.name).toBe(true);
    }
    // The Elasticsearch client's HTTP request (undici), to the cluster's _search.
    const search = spans.filter(
      (s) =>
        s.kind === SpanKind.CLIENT &&
        String(s.attributes['url.full'] ?? '').startsWith(`${elasticUrl}/nova_tickets/_search`),
    );
    expect(search).toHaveLength(1);
    expect(under(search[0] as ReadableSpan)).toBe(true);
  });

  it('probes make no spans at all, nor do the dependency probes behind them', async () => {
    // A fresh app: its probe caches are cold, so /readyz and /api/health run the probes.
    const fresh = serviceApp(db, t.url);
    try {
      exporter.reset();
      for (const url of ['/livez', '/readyz', '/metrics']) {
        expect((await fresh.inject({ method: 'GET', url })).statusCode, url).toBe(200);
      }
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([]);
      // /api/health is traced (it is the API), but the probe it waits for is not its work.
      expect((await fresh.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => s.kind)).toEqual([SpanKind.SERVER]);
    } finally {
      await fresh.close();
    }
  });

  it('telemetry writes make no spans, whichever request filled the batch', async () => {
    await db.telemetry.flush(); // what earlier tests recorded
    exporter.reset();
    // Recorded as api_usage and performance_metrics for nova_logs (an authenticated
    // caller's), then written at once.
    const { token } = await userWithToken(t, 'viewer');
    const asked = await app.inject({
      method: 'GET',
      url: '/api/health',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(asked.statusCode).toBe(200);
    // The request's spans: its SERVER span (and the token lookup's PostgreSQL spans).
    const before = exporter.getFinishedSpans();
    expect(before.filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(1);
    const written = db.telemetry.stats().stores.elasticsearch?.written ?? 0;
    expect(await db.telemetry.flush()).toBe(true);
    expect(db.telemetry.stats().stores.elasticsearch?.written).toBe(written + 2);
    expect(exporter.getFinishedSpans().slice(before.length)).toEqual([]);
  });
});

describe('the request span', () => {
  /** An app whose log lines are kept, with a route that fails and one that refuses. */
  async function loggedApp() {
    const lines: Record<string, unknown>[] = [];
    const stream = { write: (line: string) => lines.push(JSON.parse(line)) };
    const logged = serviceApp(db, t.url, { logger: { level: 'info', stream } });
    logged.get('/api/boom', async (request) => {
      request.log.info('about to fail');
      throw new Error('boom');
    });
    await logged.ready();
    return { logged, lines };
  }

  it('is named by method and route, and says what the answer was', async () => {
    exporter.reset();
    const response = await app.inject({ method: 'GET', url: '/api/health?verbose=secret' });
    expect(response.statusCode).toBe(200);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('GET /api/health');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/health',
      'url.path': '/api/health',
      'url.scheme': 'http',
      'http.response.status_code': 200,
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(JSON.stringify(span?.attributes)).not.toContain('secret');
  });

  it('a 5xx is an error with its type and exception; a 4xx is not', async () => {
    const { logged } = await loggedApp();
    try {
      exporter.reset();
      expect((await logged.inject({ method: 'GET', url: '/api/boom' })).statusCode).toBe(500);
      expect((await logged.inject({ method: 'GET', url: '/api/tickets/search' })).statusCode).toBe(
        401,
      );
      expect((await logged.inject({ method: 'GET', url: '/api/nothing' })).statusCode).toBe(404);
      const [failed, refused, missing] = exporter.getFinishedSpans();
      expect(failed?.name).toBe('GET /api/boom');
      expect(failed?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
      expect(failed?.attributes['error.type']).toBe('Error');
      expect(failed?.attributes['http.response.status_code']).toBe(500);
      expect(failed?.events.map((event) => event.name)).toEqual(['exception']);
      expect(refused?.attributes['http.response.status_code']).toBe(401);
      expect(refused?.status.code).toBe(SpanStatusCode.UNSET);
      // No route matched: named by the method alone, without http.route.
      expect(missing?.name).toBe('GET');
      expect(missing?.attributes['http.route']).toBeUndefined();
      expect(missing?.attributes['http.response.status_code']).toBe(404);
    } finally {
      await logged.close();
    }
  });

  it('log lines of a sampled request carry its trace context; an unsampled one makes no span and no trace fields', async () => {
    const { logged, lines } = await loggedApp();
    try {
      exporter.reset();
      const sampled = '4bf92f3577b34da6a3ce929d0e0e4736';
      const unsampled = '0af7651916cd43dd8448eb211c80319c';
      for (const [traceId, flags] of [
        [sampled, '01'],
        [unsampled, '00'],
      ]) {
        const response = await logged.inject({
          method: 'GET',
          url: '/api/boom',
          headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-${flags}` },
        });
        expect(response.statusCode).toBe(500);
      }
      // The parent-based sampler follows the caller: only the sampled request has a span.
      const spans = exporter.getFinishedSpans();
      expect(spans.map((span) => span.spanContext().traceId)).toEqual([sampled]);
      const spanId = spans[0]?.spanContext().spanId;
      const byRequest = (reqId: string) => lines.filter((line) => line.reqId === reqId);
      const [first, second] = [...new Set(lines.map((line) => line.reqId))] as string[];
      // The handler's own line (through the mixin), the error and the access line.
      expect(byRequest(first ?? '').map((line) => line.msg)).toEqual([
        'about to fail',
        'unhandled error',
        'request completed',
      ]);
      for (const line of byRequest(first ?? '')) {
        expect(line).toMatchObject({ trace_id: sampled, span_id: spanId, trace_flags: '01' });
      }
      expect(byRequest(second ?? '')).toHaveLength(3);
      for (const line of byRequest(second ?? '')) {
        expect(line).not.toHaveProperty('trace_id');
        expect(line).not.toHaveProperty('span_id');
      }
    } finally {
      await logged.close();
    }
  });
});
