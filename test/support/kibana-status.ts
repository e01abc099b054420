/**
 * A scripted Kibana `/api/status` on 127.0.0.1 (real sockets; Kibana itself cannot run here):
 * it answers what the test sets, after an optional delay, and records every request (method,
 * path, headers, body). A `route` hook may answer some requests itself: the scripted saved
 * objects and data views APIs (test/support/kibana-saved-objects.ts) are built on it.
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

const ORDER = ['available', 'degraded', 'unavailable', 'critical'];
const worst = (levels: string[]) =>
  levels.reduce((a, b) => (ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a), 'available');

/**
 * /api/status as Kibana 8 answers an authenticated caller (elastic/kibana
 * core-status-server-internal routes/status.ts): `overall` is the worst of core and every
 * plugin; the HTTP status is 503 only when core (elasticsearch, savedObjects) is unavailable
 * or critical; `redacted` is what a caller it does not authenticate gets (status.allowAnonymous
 * off): `overall` alone, at core's level.
 */
export function kibanaStatus(
  {
    elasticsearch = 'available',
    savedObjects = 'available',
    plugins = {},
  }: { elasticsearch?: string; savedObjects?: string; plugins?: Record<string, string> },
  { redacted = false } = {},
): KibanaAnswer {
  const core = worst([elasticsearch, savedObjects]);
  const overall = worst([core, ...Object.values(plugins)]);
  const status = ORDER.indexOf(core) >= ORDER.indexOf('unavailable') ? 503 : 200;
  if (redacted) return { status, body: JSON.stringify({ status: { overall: { level: core } } }) };
  const service = (level: string, what: string) => ({ level, summary: `${what} is ${level}` });
  return {
    status,
    body: JSON.stringify({
      name: 'kibana',
      version: { number: '8.15.3' },
      status: {
        overall: service(overall, 'Kibana'),
        core: {
          elasticsearch: service(elasticsearch, 'Elasticsearch'),
          savedObjects: service(savedObjects, 'SavedObjects service'),
        },
        plugins: Object.fromEntries(
          Object.entries(plugins).map(([name, level]) => [name, service(level, name)]),
        ),
      },
    }),
  };
}

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw request body (empty for a GET). */
  body: Buffer;
}

/** Answers a request itself, or returns undefined to leave it to the scripted status answer. */
export type KibanaRoute = (
  request: SeenRequest,
) => KibanaAnswer | undefined | Promise<KibanaAnswer | undefined>;

export async function startKibanaStatus(
  first: KibanaAnswer = statusAnswer('available'),
  route?: KibanaRoute,
) {
  let answer = first;
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    const respond = ({ status, body, delayMs = 0, location }: KibanaAnswer) =>
      setTimeout(() => {
        res.writeHead(status, {
          'content-type': 'application/json',
          ...(location ? { location } : {}),
        });
        res.end(body);
      }, delayMs);
    req.on('end', () => {
      const request: SeenRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      seen.push(request);
      Promise.resolve(route?.(request)).then(
        (routed) => respond(routed ?? answer),
        // A broken script shows up as a 500 the test can read, not as a hung request.
        (error: unknown) =>
          respond({ status: 500, body: JSON.stringify({ script: String(error) }) }),
      );
    });
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
