/**
 * Slow clients (slowloris) against the real listener: sockets that send part of their
 * headers and stop are answered 408 and closed once the headers timeout passes, /livez keeps
 * answering meanwhile, and at the connection cap new connections are closed and counted
 * until the slow ones are gone.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConnectionLimits } from '../../src/config.js';
import { createNovaDb } from '../../src/lib/db/index.js';
import { testConfig, useTestDatabase } from '../support/database.js';
import { serviceApp } from './fixtures.js';

const t = await useTestDatabase();
const db = createNovaDb(testConfig(t.url));
afterAll(() => db.close());

async function listening(connections: ConnectionLimits) {
  const app = serviceApp(db, t.url, { logger: false, connections });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { app, port, base: `http://127.0.0.1:${port}` };
}

interface Slow {
  socket: Socket;
  received: string;
  closed: Promise<void>;
}

/** A client that sends the start of a request, never its end. */
async function slowClient(port: number): Promise<Slow> {
  const socket = connect(port, '127.0.0.1');
  const slow: Slow = {
    socket,
    received: '',
    closed: new Promise((resolve) => socket.once('close', () => resolve())),
  };
  socket.on('data', (chunk) => {
    slow.received += chunk.toString();
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
  return slow;
}

const openConnections = (app: {
  server: { getConnections(cb: (e: Error | null, n: number) => void): void };
}) =>
  new Promise<number>((resolve, reject) =>
    app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );

async function until(check: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('slow clients', { timeout: 30_000 }, () => {
  it('are answered 408 and closed after the headers timeout; /livez answers meanwhile', async () => {
    const { app, port, base } = await listening({
      maxConnections: 1000,
      headersTimeoutMs: 1000,
      requestTimeoutMs: 1000,
    });
    try {
      const slow = await Promise.all(Array.from({ length: 300 }, () => slowClient(port)));
      await until(async () => (await openConnections(app)) >= 300, 5000);
      const live = await fetch(`${base}/livez`, { headers: { connection: 'close' } });
      expect(live.status).toBe(200);
      // Headers timeout (1 s) plus Node's check interval (1 s), with room for a busy machine;
      // Node's default interval alone is 30 s.
      await until(async () => (await openConnections(app)) === 0, 8000);
      await Promise.all(slow.map((s) => s.closed));
      expect(slow.filter((s) => s.received.startsWith('HTTP/1.1 408'))).toHaveLength(300);
    } finally {
      await app.close();
    }
  });

  it('beyond the cap are closed on arrival and counted, until the slow ones time out', async () => {
    const { app, port, base } = await listening({
      maxConnections: 20,
      headersTimeoutMs: 1500,
      requestTimeoutMs: 1500,
    });
    try {
      await Promise.all(Array.from({ length: 20 }, () => slowClient(port)));
      await until(async () => (await openConnections(app)) === 20, 5000);
      const extra = await slowClient(port).catch(() => undefined);
      if (extra) await extra.closed;
      expect(extra?.received ?? '').toBe('');
      await until(async () => (await openConnections(app)) === 0, 8000);
      const live = await fetch(`${base}/livez`, { headers: { connection: 'close' } });
      expect(live.status).toBe(200);
      const scrape = await (
        await fetch(`${base}/metrics`, { headers: { connection: 'close' } })
      ).text();
      const dropped = /^nova_http_connections_dropped_total(?:\{[^}]*\})? (\d+)/m.exec(scrape);
      expect(Number(dropped?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
    }
  });

  it('refuses a headers timeout longer than the request timeout, naming the variable', async () => {
    const { loadConfig } = await import('../../src/config.js');
    expect(() =>
      loadConfig({ NOVA_HTTP_HEADERS_TIMEOUT_MS: '20000', NOVA_HTTP_REQUEST_TIMEOUT_MS: '10000' }),
    ).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'NOVA_HTTP_HEADERS_TIMEOUT_MS' }),
    );
  });
});
