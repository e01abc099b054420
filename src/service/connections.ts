/**
 * Limits against slow and idle clients (slowloris): a client that opens connections and
 * sends its headers a byte at a time must neither hold them for long nor take every file
 * descriptor, which would stop the probes, the database connections and the log.
 *
 * - every request's headers must arrive within headersTimeoutMs and the whole request within
 *   requestTimeoutMs (10 s each by default: bodies here are at most 16 KB), else 408 and the
 *   connection closes;
 * - Node checks for such requests every CHECK_INTERVAL_MS (its default, 30 s, let a half-open
 *   request live about 40 s);
 * - at most maxConnections are open; more are closed as they arrive (counted in
 *   nova.http.connections.dropped), so the process keeps descriptors for its own work.
 *
 * A per-client cap is left to the proxy in front: behind one, every client has its address.
 */
import type { Server, ServerOptions } from 'node:http';
import type { ConnectionLimits } from '../config.js';

export const CHECK_INTERVAL_MS = 1000;

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 4096,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
};

/** The node:http server options behind the limits (requestTimeout goes through Fastify's). */
export function serverOptions(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    // Never longer than the timeouts it enforces: a 1 s timeout is checked at least each 1 s.
    connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, limits.headersTimeoutMs),
  };
}

/** Caps the server's open connections; `dropped` counts each one closed at the cap. */
export function capConnections(
  server: Server,
  maxConnections: number,
  { dropped, warn }: { dropped: () => void; warn: (message: string) => void },
): void {
  server.maxConnections = maxConnections;
  let warnedAt = 0;
  server.on('drop', () => {
    dropped();
    // One line a minute at most: a flood must not become a flood of log lines.
    if (Date.now() - warnedAt < 60_000) return;
    warnedAt = Date.now();
    warn(`${maxConnections} connections open (NOVA_HTTP_MAX_CONNECTIONS): closing new ones`);
  });
}
