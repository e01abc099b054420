/**
 * The OpenAI-compatible embeddings provider against a real HTTP server on 127.0.0.1, so the
 * global fetch, its headers, bodies and timeouts are the real ones; and the EMBEDDING_*
 * configuration that feeds it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EmbeddingsConfig, loadConfig } from '../../src/config.js';
import { OpenAiCompatibleEmbeddings } from '../../src/lib/embeddings.js';
import type { NovaError } from '../../src/lib/errors.js';
import { startEmbeddingServer } from '../support/embedding-server.js';
import { expectNovaError, novaFailure as failure } from '../support/nova-error.js';

const API_KEY = 'sk-test-3f9a1c7e5b2d4086';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: { model?: unknown; input?: unknown; encoding_format?: unknown };
}

/** What the server does with the n-th request (0-based): answer, or never answer (undefined). */
type Handler = (
  request: Received,
  n: number,
) => { status: number; body: unknown } | 'hang' | 'destroy';

interface FakeProvider {
  url: string;
  received: Received[];
  handle(handler: Handler): void;
}

/** A deterministic vector for a text, so tests can tell which input a vector belongs to. */
const vectorOf = (text: string, dims: number): number[] =>
  Array.from({ length: dims }, (_, i) => text.length * 1000 + (text.charCodeAt(0) || 0) + i / 10);

/** An OpenAI-style answer for these inputs, in the given order of indices. */
const answer = (inputs: readonly string[], dims: number, order?: number[]) => ({
  object: 'list',
  model: 'test-model',
  data: (order ?? inputs.map((_, i) => i)).map((index) => ({
    object: 'embedding',
    index,
    embedding: vectorOf(inputs[index] ?? '', dims),
  })),
});

const inputsOf = (request: Received): string[] => request.body.input as string[];

/** Answers each batch with 2-dimension vectors in reverse order, so reordering is exercised. */
const answerReversed: Handler = (request) => {
  const batch = inputsOf(request);
  return {
    status: 200,
    body: answer(
      batch,
      2,
      batch.map((_, i) => batch.length - 1 - i),
    ),
  };
};

let server: Server;
let provider: FakeProvider;

beforeEach(async () => {
  const received: Received[] = [];
  let handler: Handler = (request) => ({ status: 200, body: answer(inputsOf(request), 4) });
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text ? (JSON.parse(text) as Received['body']) : {},
      };
      received.push(request);
      const result = handler(request, received.length - 1);
      if (result === 'hang') return; // never answers; the client's timeout must fire
      if (result === 'destroy') {
        req.socket.destroy();
        return;
      }
      res.writeHead(result.status, { 'content-type': 'application/json' });
      res.end(typeof result.body === 'string' ? result.body : JSON.stringify(result.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  provider = {
    url: `http://127.0.0.1:${port}/v1`,
    received,
    handle: (next) => {
      handler = next;
    },
  };
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const config = (overrides: Partial<EmbeddingsConfig> = {}): EmbeddingsConfig => ({
  url: provider.url,
  model: 'test-model',
  apiKey: API_KEY,
  dims: 4,
  timeoutMs: 5000,
  ...overrides,
});

describe('OpenAiCompatibleEmbeddings over HTTP', () => {
  it('POSTs model, inputs and encoding_format as JSON to {url}/embeddings with a bearer key', async () => {
    const embeddings = new OpenAiCompatibleEmbeddings(config());
    expect(embeddings.model).toBe('test-model');
    expect(embeddings.dims).toBe(4);

    const vectors = await embeddings.embed(['reset my vpn', 'printer jam']);

    expect(vectors).toEqual([vectorOf('reset my vpn', 4), vectorOf('printer jam', 4)]);
    expect(provider.received).toHaveLength(1);
    const [request] = provider.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1/embeddings');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.body).toEqual({
      model: 'test-model',
      input: ['reset my vpn', 'printer jam'],
      encoding_format: 'float',
    });
  });

  it('sends no authorization header without an API key', async () => {
    const vectors = await new OpenAiCompatibleEmbeddings(config({ apiKey: undefined })).embed([
      'hello',
    ]);
    expect(vectors).toEqual([vectorOf('hello', 4)]);
    expect(provider.received).toHaveLength(1);
    expect(provider.received[0]?.headers).not.toHaveProperty('authorization');
  });

  it('returns vectors in input order when the server answers out of order', async () => {
    provider.handle((request) => ({
      status: 200,
      body: answer(inputsOf(request), 4, [2, 0, 1]),
    }));
    const inputs = ['alpha', 'bravo!', 'charlie??'];
    const vectors = await new OpenAiCompatibleEmbeddings(config()).embed(inputs);
    expect(vectors).toEqual(inputs.map((text) => vectorOf(text, 4)));
  });

  it('splits 600 inputs into requests of 256, 256 and 88, and keeps their order', async () => {
    const inputs = Array.from({ length: 600 }, (_, i) => `text number ${i}`);
    // Every batch answered in reverse, so the per-batch reordering is exercised too.
    provider.handle(answerReversed);
    const vectors = await new OpenAiCompatibleEmbeddings(config({ dims: 2 })).embed(inputs);

    expect(provider.received.map((r) => inputsOf(r).length)).toEqual([256, 256, 88]);
    expect(provider.received.flatMap(inputsOf)).toEqual(inputs);
    expect(vectors).toHaveLength(600);
    expect(vectors).toEqual(inputs.map((text) => vectorOf(text, 2)));
  });

  it('splits a call over 200,000 characters into requests of at most 200,000, in order', async () => {
    // 8000 characters each (the most an article's text has): 25 fill a request exactly.
    const inputs = Array.from({ length: 60 }, (_, i) =>
      `${String.fromCharCode(65 + (i % 26))}${String(i).padStart(2, '0')}`.padEnd(8000, '.'),
    );
    provider.handle(answerReversed);
    const vectors = await new OpenAiCompatibleEmbeddings(config({ dims: 2 })).embed(inputs);

    const sent = provider.received.map(inputsOf);
    expect(sent.map((batch) => batch.length)).toEqual([25, 25, 10]);
    for (const batch of sent) {
      expect(batch.join('').length).toBeLessThanOrEqual(200_000);
      expect(batch.length).toBeLessThanOrEqual(256);
    }
    expect(sent.flat()).toEqual(inputs);
    expect(vectors).toEqual(inputs.map((text) => vectorOf(text, 2)));
  });

  it('splits by whichever limit comes first: 256 inputs, or 200,000 characters', async () => {
    // 300 short texts, then texts long enough that a few fill a request.
    const short = Array.from({ length: 300 }, (_, i) => `short ${i}`);
    const long = Array.from({ length: 5 }, (_, i) => `${i}`.padEnd(90_000, 'x'));
    const tail = ['end one', 'end two'];
    const inputs = [...short, ...long, ...tail];
    const vectors = await new OpenAiCompatibleEmbeddings(config()).embed(inputs);

    const sent = provider.received.map(inputsOf);
    expect(sent.length).toBeGreaterThan(2);
    for (const batch of sent) {
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(256);
      expect(batch.join('').length).toBeLessThanOrEqual(200_000);
    }
    expect(sent[0]).toEqual(short.slice(0, 256));
    expect(sent.flat()).toEqual(inputs);
    expect(vectors).toEqual(inputs.map((text) => vectorOf(text, 4)));
  });

  it('sends a single text over 200,000 characters alone', async () => {
    const huge = 'h'.repeat(250_000);
    const inputs = ['before', huge, 'after'];
    const vectors = await new OpenAiCompatibleEmbeddings(config()).embed(inputs);
    expect(provider.received.map(inputsOf)).toEqual([['before'], [huge], ['after']]);
    expect(vectors).toEqual(inputs.map((text) => vectorOf(text, 4)));
  });

  it('sends nothing for no inputs', async () => {
    expect(await new OpenAiCompatibleEmbeddings(config()).embed([])).toEqual([]);
    expect(provider.received).toHaveLength(0);
  });

  it('retries a 429 and succeeds on the second request', async () => {
    provider.handle((request, n) =>
      n === 0
        ? { status: 429, body: { error: { message: 'rate limited' } } }
        : { status: 200, body: answer(inputsOf(request), 4) },
    );
    const vectors = await new OpenAiCompatibleEmbeddings(config()).embed(['slow down']);
    expect(vectors).toEqual([vectorOf('slow down', 4)]);
    expect(provider.received).toHaveLength(2);
    expect(provider.received[1]?.body).toEqual(provider.received[0]?.body);
  });

  it('gives up on a persistent 503 after 3 requests, as UNAVAILABLE', async () => {
    provider.handle(() => ({ status: 503, body: { error: 'overloaded' } }));
    const error = await failure(() => new OpenAiCompatibleEmbeddings(config()).embed(['x']));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('503');
    expect(error.message).toContain(provider.url);
    expect(provider.received).toHaveLength(3);
  });

  it.each([401, 403])(
    'refuses credentials on %i as CONFIG_INVALID, without retrying',
    async (status) => {
      provider.handle(() => ({ status, body: { error: { message: 'bad key' } } }));
      const error = await failure(() => new OpenAiCompatibleEmbeddings(config()).embed(['x']));
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.field).toBe('EMBEDDING_API_KEY');
      expect(error.message).toContain(String(status));
      expect(provider.received).toHaveLength(1);
    },
  );

  it('reports an input it refuses (400, 413, 422) as VALIDATION_FAILED, without retrying', async () => {
    for (const status of [400, 413, 422]) {
      provider.handle(() => ({
        status,
        body: { error: { message: 'maximum context length is 8192 tokens' } },
      }));
      const error = await failure(() => new OpenAiCompatibleEmbeddings(config()).embed(['x']));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.field).toBe('input');
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error.message).toContain('maximum context length');
    }
    expect(provider.received).toHaveLength(3);
  });

  it('reports another client error as UNAVAILABLE with its status, without retrying', async () => {
    provider.handle(() => ({ status: 402, body: { error: { message: 'quota exceeded' } } }));
    const error = await failure(() => new OpenAiCompatibleEmbeddings(config()).embed(['x']));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('HTTP 402');
    expect(error.message).toContain('quota exceeded');
    expect(provider.received).toHaveLength(1);
  });

  it('refuses vectors of the wrong size as CONFIG_INVALID naming ELASTIC_EMBEDDING_DIMS', async () => {
    provider.handle((request) => ({ status: 200, body: answer(inputsOf(request), 768) }));
    const error = await failure(() =>
      new OpenAiCompatibleEmbeddings(config({ dims: 1536 })).embed(['x']),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.field).toBe('ELASTIC_EMBEDDING_DIMS');
    expect(error.message).toContain('768');
    expect(error.message).toContain('1536');
    expect(error.message).toContain('ELASTIC_EMBEDDING_DIMS=768');
    expect(provider.received).toHaveLength(1);
  });

  it('refuses fewer vectors than inputs as UNAVAILABLE', async () => {
    provider.handle((request) => ({
      status: 200,
      body: answer(inputsOf(request), 4, [0]),
    }));
    const error = await failure(() =>
      new OpenAiCompatibleEmbeddings(config()).embed(['one', 'two', 'three']),
    );
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('answered 1 vectors for 3 inputs');
  });

  it('refuses an answer without data, or with a vector that is not numbers, as UNAVAILABLE', async () => {
    provider.handle(() => ({ status: 200, body: { object: 'list' } }));
    const missing = await failure(() => new OpenAiCompatibleEmbeddings(config()).embed(['x']));
    expect(missing.code).toBe('UNAVAILABLE');
    expect(missing.message).toContain('answered no vectors for 1 inputs');

    provider.handle(() => ({
      status: 200,
      body: { data: [{ index: 0, embedding: ['a', 'b', 'c', 'd'] }] },
    }));
    const strings = await failure(() => new OpenAiCompatibleEmbeddings(config()).embed(['x']));
    expect(strings.code).toBe('UNAVAILABLE');
    expect(strings.message).toContain('not a list of numbers');
  });

  it('reports a body that is not JSON as UNAVAILABLE', async () => {
    provider.handle(() => ({ status: 200, body: '<html>gateway</html>' }));
    const error = await failure(() => new OpenAiCompatibleEmbeddings(config()).embed(['x']));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain(provider.url);
  });

  it('times out a server that never answers, retries, then reports UNAVAILABLE', async () => {
    provider.handle(() => 'hang');
    const error = await failure(() =>
      new OpenAiCompatibleEmbeddings(config({ timeoutMs: 100 })).embed(['x']),
    );
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/abort|timeout/i);
    expect(provider.received).toHaveLength(3);
  });

  it('retries a dropped connection, then reports UNAVAILABLE', async () => {
    provider.handle(() => 'destroy');
    const error = await failure(() => new OpenAiCompatibleEmbeddings(config()).embed(['x']));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain(provider.url);
    expect(provider.received).toHaveLength(3);
  });

  it('never puts the API key in an error message', async () => {
    const errors: NovaError[] = [];
    const embed = (overrides: Partial<EmbeddingsConfig> = {}) =>
      failure(() => new OpenAiCompatibleEmbeddings(config(overrides)).embed(['x']));

    // The server echoes the request body back, as some do in their error messages.
    for (const status of [400, 401, 403, 404, 422, 503]) {
      provider.handle((request) => ({
        status,
        body: { error: 'bad request', echo: request.body },
      }));
      errors.push(await embed());
    }
    provider.handle((request) => ({ status: 200, body: answer(inputsOf(request), 3) }));
    errors.push(await embed());
    provider.handle(() => ({ status: 200, body: { data: [] } }));
    errors.push(await embed());
    provider.handle(() => 'hang');
    errors.push(await embed({ timeoutMs: 100 }));

    expect(errors.map((e) => e.code)).toEqual([
      'VALIDATION_FAILED', // 400: this input refused
      'CONFIG_INVALID',
      'CONFIG_INVALID',
      'CONFIG_INVALID', // 404: EMBEDDING_URL names no embeddings API
      'VALIDATION_FAILED', // 422
      'UNAVAILABLE',
      'CONFIG_INVALID',
      'UNAVAILABLE',
      'UNAVAILABLE',
    ]);
    // The key did reach the server: the check below is not vacuous.
    expect(provider.received[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    for (const error of errors) {
      expect(error.message).not.toContain(API_KEY);
      expect(JSON.stringify(error.toJSON())).not.toContain(API_KEY);
    }
  });
  it('keeps the query string of EMBEDDING_URL in requests, never in error messages', async () => {
    const secret = 'secret-value';
    const url = `${provider.url}?key=${secret}&api-version=2024-02-01`;
    const errors: NovaError[] = [];
    const embed = (overrides: Partial<EmbeddingsConfig> = {}) =>
      failure(() => new OpenAiCompatibleEmbeddings(config({ url, ...overrides })).embed(['x']));

    for (const status of [400, 401, 404, 503]) {
      provider.handle(() => ({ status, body: { error: 'no' } }));
      errors.push(await embed());
    }
    provider.handle(() => ({ status: 200, body: '<html>gateway</html>' }));
    errors.push(await embed());
    provider.handle(() => ({ status: 200, body: { data: [] } }));
    errors.push(await embed());
    provider.handle(() => ({ status: 200, body: { data: [{ index: 3, embedding: [1] }] } }));
    errors.push(await embed());
    provider.handle(() => 'hang');
    errors.push(await embed({ timeoutMs: 100 }));

    // The server got the query string: the provider needs it, and the check is not vacuous.
    expect(provider.received[0]?.url).toBe(`/v1/embeddings?key=${secret}&api-version=2024-02-01`);
    for (const error of errors) {
      expect(error.message).toContain(provider.url);
      expect(error.message).not.toContain(secret);
      expect(error.message).not.toContain('api-version');
      expect(JSON.stringify(error.toJSON())).not.toContain(secret);
    }
    expect(errors).toHaveLength(8);
  });
});

describe('OpenAiCompatibleEmbeddings with an injected fetch', () => {
  it('retries network failures and passes a timeout signal', async () => {
    const calls: { url: string; init: RequestInit | undefined }[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      calls.push({ url: String(input), init });
      if (calls.length < 3) throw new TypeError('fetch failed');
      return new Response(JSON.stringify({ data: [{ index: 0, embedding: [1, 2, 3] }] }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    const embeddings = new OpenAiCompatibleEmbeddings(
      config({ url: 'http://embeddings.invalid/v1', dims: 3, apiKey: undefined }),
      fakeFetch,
    );
    expect(await embeddings.embed(['q'])).toEqual([[1, 2, 3]]);
    expect(calls).toHaveLength(3);
    expect(calls[0]?.url).toBe('http://embeddings.invalid/v1/embeddings');
    expect(calls[0]?.init?.method).toBe('POST');
    expect(calls[0]?.init?.signal).toBeInstanceOf(AbortSignal);
    expect(calls[0]?.init?.headers).toEqual({ 'content-type': 'application/json' });
  });

  it.each([
    ['a repeated index', [1, 1]],
    ['an index out of range', [0, 5]],
    ['a fractional and a negative index', [0.5, -1]],
  ])('refuses an answer with %s instead of leaving holes', async (_, indices) => {
    const fakeFetch: typeof fetch = async () =>
      new Response(
        JSON.stringify({ data: indices.map((index) => ({ index, embedding: [1, 2] })) }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      );
    const error = await failure(() =>
      new OpenAiCompatibleEmbeddings(config({ dims: 2 }), fakeFetch).embed(['a', 'b']),
    );
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/invalid or repeated index/);
  });

  it('masks credentials in the URL when it names the provider in an error', async () => {
    const fakeFetch: typeof fetch = async () => {
      throw new TypeError('connect ECONNREFUSED');
    };
    const error = await failure(() =>
      new OpenAiCompatibleEmbeddings(
        config({ url: 'https://svc:url-secret@embeddings.invalid/v1' }),
        fakeFetch,
      ).embed(['q']),
    );
    expect(error.message).not.toContain('url-secret');
    expect(error.message).toContain('embeddings.invalid');
  });

  it('reports a network failure that persists as UNAVAILABLE with the cause', async () => {
    let calls = 0;
    const fakeFetch: typeof fetch = async () => {
      calls++;
      throw new TypeError('connect ECONNREFUSED');
    };
    const error = await failure(() =>
      new OpenAiCompatibleEmbeddings(config(), fakeFetch).embed(['q']),
    );
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.cause).toBeInstanceOf(Error);
    expect(calls).toBe(3);
  });
});

describe('embeddings configuration', () => {
  it('is undefined without EMBEDDING_URL', () => {
    expect(loadConfig({}).embeddings).toBeUndefined();
    expect(loadConfig({ EMBEDDING_MODEL: 'm', EMBEDDING_API_KEY: 'k' }).embeddings).toBeUndefined();
  });

  it('reads the URL without its trailing slash, the model, and defaults', () => {
    expect(
      loadConfig({ EMBEDDING_URL: 'http://127.0.0.1:11434/v1/', EMBEDDING_MODEL: 'nomic' })
        .embeddings,
    ).toEqual({
      url: 'http://127.0.0.1:11434/v1',
      model: 'nomic',
      apiKey: undefined,
      dims: 1536,
      timeoutMs: 10_000,
    });
  });

  it('reads the key, the dimensions from ELASTIC_EMBEDDING_DIMS, and the timeout', () => {
    expect(
      loadConfig({
        EMBEDDING_URL: 'https://api.example.com/v1//',
        EMBEDDING_MODEL: 'text-embedding-3-small',
        EMBEDDING_API_KEY: API_KEY,
        ELASTIC_EMBEDDING_DIMS: '768',
        EMBEDDING_TIMEOUT_MS: '2500',
      }).embeddings,
    ).toEqual({
      url: 'https://api.example.com/v1',
      model: 'text-embedding-3-small',
      apiKey: API_KEY,
      dims: 768,
      timeoutMs: 2500,
    });
  });

  it('requires EMBEDDING_MODEL with EMBEDDING_URL', () => {
    expectNovaError(() => loadConfig({ EMBEDDING_URL: 'http://127.0.0.1:11434/v1' }), {
      code: 'CONFIG_INVALID',
      field: 'EMBEDDING_MODEL',
    });
  });

  it('refuses credentials in the URL without echoing them', () => {
    let thrown: unknown;
    try {
      loadConfig({
        EMBEDDING_URL: 'https://svc:url-secret@embeddings.example/v1',
        EMBEDDING_MODEL: 'm',
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'CONFIG_INVALID', field: 'EMBEDDING_URL' });
    expect(String((thrown as Error).message)).not.toContain('url-secret');
  });

  it('refuses a URL that is not http or https', () => {
    expectNovaError(() => loadConfig({ EMBEDDING_URL: 'ftp://x', EMBEDDING_MODEL: 'm' }), {
      code: 'CONFIG_INVALID',
      field: 'EMBEDDING_URL',
    });
    expectNovaError(() => loadConfig({ EMBEDDING_URL: 'not a url', EMBEDDING_MODEL: 'm' }), {
      code: 'CONFIG_INVALID',
      field: 'EMBEDDING_URL',
    });
  });

  it('refuses malformed dimensions and timeouts without echoing them', () => {
    const base = { EMBEDDING_URL: 'http://127.0.0.1:11434/v1', EMBEDDING_MODEL: 'm' };
    expectNovaError(() => loadConfig({ ...base, ELASTIC_EMBEDDING_DIMS: '0' }), {
      code: 'CONFIG_INVALID',
      field: 'ELASTIC_EMBEDDING_DIMS',
    });
    const timeout = expectNovaError(
      () => loadConfig({ ...base, EMBEDDING_TIMEOUT_MS: 'soon-ish' }),
      { code: 'CONFIG_INVALID', field: 'EMBEDDING_TIMEOUT_MS' },
    );
    expect(timeout.message).not.toContain('soon-ish');
  });
});

describe('the live suite embedding server (test/support/embedding-server.ts)', () => {
  it('answers the provider with unit vectors that put texts sharing words nearest', async () => {
    const server = await startEmbeddingServer(64);
    try {
      const embeddings = new OpenAiCompatibleEmbeddings({
        url: server.url,
        model: 'hashed-words',
        apiKey: undefined,
        dims: 64,
        timeoutMs: 5000,
      });
      const [query, mail, printer, empty] = await embeddings.embed([
        'mailbox full',
        'When the mailbox is full, archive old mail',
        'Replace the toner cartridge',
        '',
      ]);
      const dot = (a?: number[], b?: number[]) =>
        (a ?? []).reduce((sum, v, i) => sum + v * ((b ?? [])[i] ?? 0), 0);
      expect(dot(query, query)).toBeCloseTo(1, 6);
      expect(dot(empty, empty)).toBeCloseTo(1, 6);
      expect(dot(query, mail)).toBeGreaterThan(dot(query, printer) + 0.3);
      expect(server.requests()).toBe(1);
    } finally {
      await server.close();
    }
  });
});
