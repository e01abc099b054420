/**
 * PrincipalCache on its own, with a scripted listening connection (an EventEmitter with
 * pg.Client's connect/query/end) and a clock: a read that raced an invalidation is not
 * cached, entries end at the earlier of the TTL and the token's expiry, the bound evicts the
 * least recently used, and a lost connection empties and bypasses the cache until LISTEN is
 * back. The real database path is test/integration/principal-cache.test.ts.
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PrincipalCache } from '../../src/lib/db/postgres/principal-cache.js';

class ScriptedClient extends EventEmitter {
  listened: string[] = [];
  refuse = false;
  async connect() {
    if (this.refuse) throw new Error('connection refused');
  }
  async query(text: string) {
    this.listened.push(text);
  }
  async end() {}
}

/** Which of `tokens` the cache holds (each lookup is a hit that moves its entry). */
const held = (cache: PrincipalCache, tokens: string[]) =>
  tokens.map((token) => cache.get(token) !== undefined);

function cacheWith(options: { maxEntries?: number; ttlMs?: number; refused?: number } = {}) {
  let now = 1_000_000;
  const clients: ScriptedClient[] = [];
  const cache = new PrincipalCache({
    ttlMs: options.ttlMs ?? 30_000,
    maxEntries: options.maxEntries ?? 100,
    reconnectDelayMs: 1,
    now: () => now,
    connect: () => {
      const client = new ScriptedClient();
      client.refuse = clients.length < (options.refused ?? 0);
      clients.push(client);
      return client as unknown as pg.Client;
    },
  });
  return { cache, clients, advance: (ms: number) => (now += ms), at: () => now };
}

const principal = (tokenId: string, userId = 'u1') => ({ tokenId, userId, permissions: ['a:b'] });

describe('PrincipalCache', () => {
  it('is bypassed until LISTEN is in place, then serves what was set', async () => {
    const { cache, clients } = cacheWith();
    cache.set('k', principal('t1'), null, cache.generation);
    expect(cache.get('k')).toBeUndefined();
    await cache.start();
    expect(clients[0]?.listened).toEqual(['LISTEN nova_principals']);
    cache.set('k', principal('t1'), null, cache.generation);
    expect(cache.get('k')).toEqual(principal('t1'));
  });

  it('does not cache a read that an invalidation overtook', async () => {
    const { cache, clients } = cacheWith();
    await cache.start();
    const generation = cache.generation; // the database read starts
    clients[0]?.emit('notification', { channel: 'nova_principals', payload: 'token:t1' });
    cache.set('k', principal('t1'), null, generation); // the read, now possibly stale, ends
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', principal('t1'), null, cache.generation);
    expect(cache.get('k')).toBeDefined();
  });

  it('drops what a notification names: a token, a user, or everything', async () => {
    const { cache, clients } = cacheWith();
    await cache.start();
    const fill = () => {
      cache.set('a', principal('t1', 'u1'), null, cache.generation);
      cache.set('b', principal('t2', 'u1'), null, cache.generation);
      cache.set('c', principal('t3', 'u2'), null, cache.generation);
    };
    const notify = (payload: string) =>
      clients[0]?.emit('notification', { channel: 'nova_principals', payload });
    fill();
    notify('token:t2');
    expect(['a', 'b', 'c'].map((k) => cache.get(k) !== undefined)).toEqual([true, false, true]);
    fill();
    notify('user:u1');
    expect(['a', 'b', 'c'].map((k) => cache.get(k) !== undefined)).toEqual([false, false, true]);
    fill();
    notify('all');
    expect(cache.size).toBe(0);
    fill();
    clients[0]?.emit('notification', { channel: 'another', payload: 'all' });
    expect(cache.size).toBe(3);
  });

  it("ends an entry at the TTL or at the token's expiry, whichever is first", async () => {
    const { cache, advance, at } = cacheWith({ ttlMs: 30_000 });
    await cache.start();
    cache.set('long', principal('t1'), null, cache.generation);
    cache.set('soon', principal('t2'), new Date(at() + 5_000), cache.generation);
    advance(4_999);
    expect(cache.get('soon')).toBeDefined();
    advance(1);
    expect(cache.get('soon')).toBeUndefined();
    expect(cache.get('long')).toBeDefined();
    advance(25_000);
    expect(cache.get('long')).toBeUndefined();
  });

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const { cache } = cacheWith({ maxEntries: 3 });
    await cache.start();
    for (const k of ['a', 'b', 'c']) cache.set(k, principal(k), null, cache.generation);
    cache.get('a'); // used: b is now the oldest
    cache.set('d', principal('d'), null, cache.generation);
    expect(cache.size).toBe(3);
    expect(held(cache, ['a', 'b', 'c', 'd'])).toEqual([true, false, true, true]);
  });

  it('keeps the order through repeated hits on the most recent entry', async () => {
    const { cache, clients } = cacheWith({ maxEntries: 3 });
    await cache.start();
    for (const k of ['a', 'b', 'c']) cache.set(k, principal(k), null, cache.generation);
    cache.get('a');
    cache.get('a'); // already the most recent: nothing moves
    cache.get('b'); // now c is the oldest
    cache.set('d', principal('d'), null, cache.generation);
    expect(held(cache, ['a', 'b', 'c', 'd'])).toEqual([true, true, false, true]);
    // The most recent entry dropped, then cached again: it is the most recent once more.
    clients[0]?.emit('notification', { channel: 'nova_principals', payload: 'token:d' });
    cache.set('d', principal('d'), null, cache.generation);
    cache.get('a');
    cache.set('e', principal('e'), null, cache.generation);
    expect(held(cache, ['a', 'b', 'd', 'e'])).toEqual([true, false, true, true]);
  });

  it('empties and bypasses itself when the connection is lost, and listens again', async () => {
    const { cache, clients } = cacheWith();
    await cache.start();
    cache.set('k', principal('t1'), null, cache.generation);
    const generation = cache.generation;
    clients[0]?.emit('error', new Error('terminating connection due to administrator command'));
    expect(cache.active).toBe(false);
    expect(cache.size).toBe(0);
    // A read that began before the loss is not cached after it.
    cache.set('k', principal('t1'), null, generation);
    expect(cache.get('k')).toBeUndefined();
    await expect.poll(() => cache.active).toBe(true);
    expect(clients).toHaveLength(2);
    await cache.close();
    expect(cache.active).toBe(false);
  });

  it('keeps retrying a connection that is refused, bypassed meanwhile', async () => {
    const { cache, clients } = cacheWith({ refused: 2 });
    await cache.start();
    expect(cache.active).toBe(false);
    cache.set('k', principal('t1'), null, cache.generation);
    expect(cache.get('k')).toBeUndefined();
    await expect.poll(() => cache.active).toBe(true);
    expect(clients.map((c) => c.refuse)).toEqual([true, true, false]);
    await cache.close();
  });
});
