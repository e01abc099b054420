/**
 * Embeddings for semantic search: one small interface, and a provider for any
 * OpenAI-compatible `POST {base}/embeddings` endpoint (OpenAI, Azure's compatible mode,
 * Ollama, vLLM, LocalAI...). Request: `{ model, input: string[], encoding_format: "float" }`;
 * answer: `{ data: [{ index, embedding: number[] }] }`.
 *
 * The vector size is checked on every answer: a model returning other dimensions than the
 * index's dense_vector would fail at index or query time with a far less helpful message.
 * `dimensions` is not sent, because only some servers accept it; choose a model (or set
 * ELASTIC_EMBEDDING_DIMS) so the two agree.
 */
import type { EmbeddingsConfig } from '../config.js';
import { NovaError } from './errors.js';
import { redactUrlCredentials } from './redact.js';
import { withRetry } from './retry.js';

export interface EmbeddingProvider {
  readonly model: string;
  readonly dims: number;
  /** One vector per text, in order. */
  embed(texts: readonly string[]): Promise<number[][]>;
}

/** Most servers cap a request's inputs; larger calls are split. */
const MAX_INPUTS = 256;
/**
 * And its tokens (OpenAI: 300,000 per request): 200,000 characters stay under that even for
 * scripts that spend a token per character.
 */
const MAX_REQUEST_CHARS = 200_000;
/** Statuses that refuse the input itself (too long, malformed), not the caller or server. */
const REFUSED = new Set([400, 413, 422]);
/** A status worth another attempt: rate limited or a server having a moment. */
const RETRY = new Set([408, 429, 500, 502, 503, 504]);

class TransientHttpError extends Error {}

export class OpenAiCompatibleEmbeddings implements EmbeddingProvider {
  readonly model: string;
  readonly dims: number;
  readonly #config: EmbeddingsConfig;
  readonly #fetch: typeof fetch;
  /** The URL as messages show it: no credentials, no query string. */
  readonly #shownUrl: string;
  readonly #endpoint: string;

  constructor(config: EmbeddingsConfig, fetchImpl: typeof fetch = fetch) {
    this.#config = config;
    // Credentials masked, query string dropped (some providers take ?key=...).
    const shown = new URL(redactUrlCredentials(config.url));
    this.#shownUrl = `${shown.origin}${shown.pathname}`;
    // {base}/embeddings, keeping a query string such as Azure's ?api-version=.
    const endpoint = new URL(config.url);
    endpoint.pathname = `${endpoint.pathname.replace(/\/+$/, '')}/embeddings`;
    this.#endpoint = endpoint.toString();
    this.model = config.model;
    this.dims = config.dims;
    this.#fetch = fetchImpl;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    const vectors: number[][] = [];
    let batch: string[] = [];
    let chars = 0;
    for (const text of texts) {
      if (
        batch.length > 0 &&
        (batch.length === MAX_INPUTS || chars + text.length > MAX_REQUEST_CHARS)
      ) {
        vectors.push(...(await this.#request(batch)));
        batch = [];
        chars = 0;
      }
      batch.push(text);
      chars += text.length;
    }
    if (batch.length > 0) vectors.push(...(await this.#request(batch)));
    return vectors;
  }

  async #request(input: readonly string[]): Promise<number[][]> {
    const answer = await withRetry(() => this.#post(input), {
      attempts: 3,
      baseDelayMs: 250,
      maxDelayMs: 4000,
      isTransient: (error) => error instanceof TransientHttpError,
    }).catch((error: unknown) => {
      if (error instanceof NovaError) throw error;
      throw new NovaError(
        'UNAVAILABLE',
        `embedding provider ${this.#shownUrl}: ${(error as Error).message}`,
        { cause: error },
      );
    });
    const data = (answer as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new NovaError(
        'UNAVAILABLE',
        `embedding provider ${this.#shownUrl} answered ${Array.isArray(data) ? data.length : 'no'} vectors for ${input.length} inputs`,
      );
    }
    const vectors: number[][] = new Array(input.length);
    for (const [position, item] of (data as { index?: unknown; embedding?: unknown }[]).entries()) {
      const index = item.index === undefined ? position : item.index;
      // Each input exactly once: a hole would send a kNN query without a vector.
      if (
        !Number.isInteger(index) ||
        (index as number) < 0 ||
        (index as number) >= input.length ||
        vectors[index as number]
      ) {
        throw new NovaError(
          'UNAVAILABLE',
          `embedding provider ${this.#shownUrl} answered an invalid or repeated index ${String(index)}`,
        );
      }
      const vector = item.embedding;
      if (!Array.isArray(vector) || !vector.every((v) => typeof v === 'number')) {
        throw new NovaError('UNAVAILABLE', `embedding ${index} is not a list of numbers`);
      }
      if (vector.length !== this.dims) {
        throw new NovaError(
          'CONFIG_INVALID',
          `model ${this.model} returns ${vector.length} dimensions, the index expects ${this.dims}: set ELASTIC_EMBEDDING_DIMS=${vector.length} and run \`nova bootstrap elastic\`, or choose another model`,
          { field: 'ELASTIC_EMBEDDING_DIMS' },
        );
      }
      vectors[index as number] = vector;
    }
    return vectors;
  }

  async #post(input: readonly string[]): Promise<unknown> {
    let response: Response;
    try {
      response = await this.#fetch(this.#endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.#config.apiKey ? { authorization: `Bearer ${this.#config.apiKey}` } : {}),
        },
        body: JSON.stringify({ model: this.model, input, encoding_format: 'float' }),
        signal: AbortSignal.timeout(this.#config.timeoutMs),
      });
    } catch (error) {
      // Refused, reset, or timed out: the network, not the request.
      throw new TransientHttpError((error as Error).message);
    }
    if (RETRY.has(response.status)) throw new TransientHttpError(`HTTP ${response.status}`);
    if (response.status === 404) {
      throw new NovaError(
        'CONFIG_INVALID',
        `embedding provider ${this.#shownUrl} has no /embeddings endpoint (HTTP 404): check EMBEDDING_URL`,
        { field: 'EMBEDDING_URL' },
      );
    }
    if (response.status === 401 || response.status === 403) {
      throw new NovaError(
        'CONFIG_INVALID',
        `embedding provider ${this.#shownUrl} refused the credentials (HTTP ${response.status}): check EMBEDDING_API_KEY`,
        { field: 'EMBEDDING_API_KEY' },
      );
    }
    if (!response.ok) {
      // The body may echo the request; the key is never in it, but keep the message short.
      const detail = (await response.text().catch(() => '')).slice(0, 300);
      if (REFUSED.has(response.status)) {
        // This input, not the provider: too long, malformed. Other inputs may well pass.
        throw new NovaError(
          'VALIDATION_FAILED',
          `embedding provider ${this.#shownUrl} refused the input (HTTP ${response.status}): ${detail}`.trim(),
          { field: 'input' },
        );
      }
      throw new Error(`HTTP ${response.status} ${detail}`.trim());
    }
    return response.json();
  }
}
