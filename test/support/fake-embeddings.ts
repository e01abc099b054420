/**
 * An embedding provider for tests that records what it embeds and fails the way
 * OpenAiCompatibleEmbeddings does: `down` is an outage (NovaError UNAVAILABLE, as the real
 * provider reports a network failure, a timeout or a 5xx), `refuse` names texts it will not
 * take (a plain Error, as an HTTP 400 for one input), `fail` throws any given error. `onEmbed`
 * runs before it answers, e.g. to change a row while the caller waits for the vectors.
 */
import type { EmbeddingProvider } from '../../src/lib/embeddings.js';
import { NovaError } from '../../src/lib/errors.js';

export interface FakeEmbeddingsOptions {
  /** Vector size (default 3). */
  dims?: number;
  /** Every call fails as an outage: NovaError('UNAVAILABLE'). */
  down?: boolean;
  /** A call holding a text this accepts fails with a plain Error (an HTTP 400). */
  refuse?: (text: string) => boolean;
  /** Thrown as is by every call (after `down` and `refuse`). */
  fail?: Error;
  /** Awaited before answering a call (after it is recorded, before any failure). */
  onEmbed?: (texts: readonly string[], call: number) => Promise<void> | void;
}

/** The URL an outage names, like the real provider's messages. */
export const FAKE_PROVIDER_URL = 'http://127.0.0.1:11434/v1';

export class FakeEmbeddings implements EmbeddingProvider {
  readonly model = 'fake-model';
  readonly dims: number;
  /** The texts of every call, in order, failed ones included. */
  readonly calls: string[][] = [];
  down: boolean;
  refuse: ((text: string) => boolean) | undefined;
  fail: Error | undefined;
  onEmbed: FakeEmbeddingsOptions['onEmbed'];

  constructor({ dims = 3, down = false, refuse, fail, onEmbed }: FakeEmbeddingsOptions = {}) {
    this.dims = dims;
    this.down = down;
    this.refuse = refuse;
    this.fail = fail;
    this.onEmbed = onEmbed;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    this.calls.push([...texts]);
    await this.onEmbed?.(texts, this.calls.length);
    if (this.down) {
      throw new NovaError(
        'UNAVAILABLE',
        `embedding provider ${FAKE_PROVIDER_URL}: connect ECONNREFUSED 127.0.0.1:11434`,
      );
    }
    const refused = texts.find((text) => this.refuse?.(text));
    if (refused !== undefined) {
      throw new Error(`HTTP 400 {"error":"input refused: ${refused.slice(0, 40)}"}`);
    }
    if (this.fail) throw this.fail;
    return texts.map((text) => FakeEmbeddings.vector(text, this.dims));
  }

  /** The vector of a text: its length, its first char code, 0.5, then zeros up to `dims`. */
  static vector(text: string, dims = 3): number[] {
    return Array.from({ length: dims }, (_, i) =>
      i === 0 ? text.length : i === 1 ? text.charCodeAt(0) : i === 2 ? 0.5 : 0,
    );
  }
}
