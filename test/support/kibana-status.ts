/**
 * A scripted Kibana `/api/status` on 127.0.0.1 (real sockets; Kibana itself cannot run here):
 * it answers what the test sets, after an optional delay, and records every request.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type KibanaConfig, loadConfig } from '../../src/config.js';

export interface KibanaAnswer {
  status: number;
  body: string;
  delayMs?: number;
  location?: string;
}

/** A status body at `level`, as Kibana 8 writes it. */
export const statusBody = (level: string, overall: object = {}) =>
  JSON.stringify({ version: { number: '8.15.3' }, status: { overall: { level, ...overall } } });

/** Kibana answers 200 while available or degraded, 503 otherwise. */
export const statusAnswer = (level: string): KibanaAnswer => ({
  status: level === 'available' || level === 'degraded' ? 200 : 503,
  body: statusBody(level),
});

export async function startKibanaStatus(first: KibanaAnswer = statusAnswer('available')) {
  let answer = first;
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const { status, body, delayMs = 0, location } = answer;
    setTimeout(() => {
      res.writeHead(status, {
        'content-type': 'application/json',
        ...(location ? { location } : {}),
      });
      res.end(body);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    /** KIBANA_* configuration pointing here, with `env` on top. */
    config: (env: Record<string, string> = {}) =>
      loadConfig({ KIBANA_URL: url, ...env }).kibana as KibanaConfig,
    answer: (next: KibanaAnswer) => {
      answer = next;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
