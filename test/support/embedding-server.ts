/**
 * A real OpenAI-compatible `POST /v1/embeddings` server on 127.0.0.1 whose vectors are
 * hashed bags of words: texts sharing words are near each other under cosine similarity.
 * Not a language model, but enough for a live cluster's kNN to rank a matching article first.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** FNV-1a: a stable bucket for each word. */
function bucket(word: string, dims: number): number {
  let hash = 0x811c9dc5;
  for (const char of word) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % dims;
}

export function hashedVector(text: string, dims: number): number[] {
  // A small constant component: cosine similarity is undefined for an all-zero vector.
  const vector: number[] = Array.from({ length: dims }, (_, i) => (i === 0 ? 0.01 : 0));
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const i = bucket(word, dims);
    vector[i] = (vector[i] as number) + 1;
  }
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

export async function startEmbeddingServer(dims: number) {
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests++;
      const { input } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: string[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: input.map((text, index) => ({ index, embedding: hashedVector(text, dims) })),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
