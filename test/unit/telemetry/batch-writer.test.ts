import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchWriter, type BatchWriterOptions } from '../../../src/lib/telemetry/batch-writer.js';
import { auditEvent } from '../../../src/lib/telemetry/events.js';
import { activity, ScriptedSink } from '../../support/telemetry.js';

const open: BatchWriter[] = [];

function writer(sink: ScriptedSink, options: Partial<BatchWriterOptions> = {}) {
  const w = new BatchWriter(sink, {
    bufferSize: 100,
    batchSize: 10,
    flushIntervalMs: 3_600_000, // only size, flush() and close() write, unless a test says so
    writeTimeoutMs: 1000,
    baseRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    ...options,
  });
  open.push(w);
  return w;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((w) => w.close(50)));
});

const offerMany = (w: BatchWriter, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => w.offer(activity(from + i)));

describe('BatchWriter', () => {
  it('writes a full batch without waiting for the interval', async () => {
    const sink = new ScriptedSink();
    const w = writer(sink);
    offerMany(w, 0, 10);
    await vi.waitFor(() => expect(w.stats().written).toBe(10));
    expect(sink.stored.size).toBe(10);
  });

  it('writes a partial batch when the interval elapses', async () => {
    const sink = new ScriptedSink();
    const w = writer(sink, { flushIntervalMs: 20 });
    offerMany(w, 0, 3);
    expect(w.stats().written).toBe(0);
    await vi.waitFor(() => expect(w.stats().written).toBe(3));
  });

  it('keeps per-collection FIFO order', async () => {
    const sink = new ScriptedSink();
    const w = writer(sink);
    const events = Array.from({ length: 25 }, (_, i) => activity(i));
    for (const e of events) w.offer(e);
    await w.flush();
    expect(sink.arrivals).toEqual(events.map((e) => e.document._id.toHexString()));
  });

  it('never throws or waits on the caller side, and stays bounded while the store is down', async () => {
    const sink = new ScriptedSink();
    sink.mode = 'fail';
    const w = writer(sink, { bufferSize: 100 });
    const started = performance.now();
    const accepted = offerMany(w, 0, 1000);
    expect(performance.now() - started).toBeLessThan(500);
    expect(accepted.filter(Boolean)).toHaveLength(100);
    await vi.waitFor(() => expect(w.stats().failedFlushes).toBeGreaterThanOrEqual(2));
    const stats = w.stats();
    expect(stats.depth).toBe(100);
    expect(stats.dropped).toBe(900);
    expect(stats.collections.user_activity).toMatchObject({
      queued: 100,
      dropped: 900,
      written: 0,
    });
    expect(stats.lastError?.message).toContain('ECONNREFUSED');
    expect(stats.consecutiveFailures).toBeGreaterThanOrEqual(2);
  });

  it('loses nothing when the store recovers within the buffer, and stores nothing twice', async () => {
    const sink = new ScriptedSink();
    sink.mode = 'fail';
    const w = writer(sink, { bufferSize: 100 });
    offerMany(w, 0, 80);
    await vi.waitFor(() => expect(w.stats().failedFlushes).toBeGreaterThanOrEqual(3));
    sink.mode = 'ok';
    await vi.waitFor(() => expect(w.stats().written).toBe(80), { timeout: 2000 });
    expect(sink.stored.size).toBe(80);
    expect(new Set(sink.arrivals).size).toBe(sink.arrivals.length);
    expect(w.stats()).toMatchObject({ dropped: 0, depth: 0, consecutiveFailures: 0 });
  });

  it('treats a stalled write as failed after the write timeout and retries it', async () => {
    const sink = new ScriptedSink();
    sink.mode = 'stall';
    const w = writer(sink, { writeTimeoutMs: 30 });
    offerMany(w, 0, 10);
    await vi.waitFor(() => expect(w.stats().failedFlushes).toBeGreaterThanOrEqual(1));
    expect(w.stats().lastError?.message).toContain('longer than 30 ms');
    // While stalled, intake continues up to the bound.
    expect(offerMany(w, 10, 200).filter(Boolean)).toHaveLength(90);
    sink.mode = 'ok';
    await vi.waitFor(() => expect(w.stats().written).toBe(100), { timeout: 2000 });
  });

  it('counts documents the store refuses as rejected and does not retry them', async () => {
    const sink = new ScriptedSink();
    sink.refuse = (doc) => (doc.details as { n: number }).n % 5 === 0;
    const w = writer(sink);
    offerMany(w, 0, 10);
    await w.flush();
    expect(w.stats()).toMatchObject({ written: 8, rejected: 2, failedFlushes: 0, depth: 0 });
    expect(w.stats().lastRejection).toMatchObject({ collection: 'user_activity' });
    expect(w.stats().lastRejection?.reason).toContain('121');
    const calls = sink.calls;
    await w.flush();
    expect(sink.calls).toBe(calls);
  });

  it('one failing collection does not hold back the others', async () => {
    const sink = new ScriptedSink();
    sink.failing.add('audit_logs');
    const w = writer(sink);
    w.offer(auditEvent({ service: 't' }, 'u1', 'user.created', { type: 'user', id: 'u2' }));
    offerMany(w, 0, 5);
    await w.flush();
    expect(w.stats().collections.user_activity.written).toBe(5);
    expect(w.stats().collections.audit_logs.written).toBe(0);
    expect(w.stats().depth).toBe(1);
    sink.failing.clear();
    expect(await w.flush()).toBe(true);
    expect(w.stats().collections.audit_logs.written).toBe(1);
  });

  it('a stalled collection does not hold back the others, and shares only the bound', async () => {
    const sink = new ScriptedSink();
    sink.stalling.add('audit_logs');
    const w = writer(sink, { bufferSize: 200, writeTimeoutMs: 5000, flushIntervalMs: 10 });
    const audit = () =>
      auditEvent({ service: 't' }, 'u1', 'user.created', { type: 'user', id: 'u2' });
    for (let i = 0; i < 20; i++) w.offer(audit());
    for (let round = 0; round < 5; round++) {
      offerMany(w, round * 30, 30);
      await vi.waitFor(() =>
        expect(w.stats().collections.user_activity.written).toBe((round + 1) * 30),
      );
    }
    expect(w.stats().collections.audit_logs).toMatchObject({ queued: 20, written: 0 });
    expect(w.stats().depth).toBe(20);
  });

  it('flush() settles what was buffered when called, even under steady load', async () => {
    const sink = new ScriptedSink();
    const w = writer(sink, { batchSize: 5 });
    offerMany(w, 0, 20);
    let n = 20;
    const load = setInterval(() => {
      offerMany(w, n, 5);
      n += 5;
    }, 1);
    try {
      const started = performance.now();
      expect(await w.flush()).toBe(true);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(w.stats().written).toBeGreaterThanOrEqual(20);
    } finally {
      clearInterval(load);
    }
  });

  it('counts a write whose write concern was not confirmed as written, and says so', async () => {
    const sink = new ScriptedSink();
    sink.writeConcernError = 'WriteConcernFailed (64): waiting for replication timed out';
    const w = writer(sink);
    offerMany(w, 0, 3);
    expect(await w.flush()).toBe(true);
    expect(w.stats()).toMatchObject({ written: 3, writeConcernErrors: 1, failedFlushes: 0 });
    expect(w.stats().lastError?.message).toContain('WriteConcernFailed');
  });

  it('flush() reports whether the buffer emptied', async () => {
    const sink = new ScriptedSink();
    sink.mode = 'fail';
    const w = writer(sink);
    offerMany(w, 0, 3);
    expect(await w.flush()).toBe(false);
    sink.mode = 'ok';
    expect(await w.flush()).toBe(true);
  });

  it('close() flushes what is buffered and refuses later events', async () => {
    const sink = new ScriptedSink();
    const w = writer(sink, { batchSize: 100 });
    offerMany(w, 0, 50);
    expect(w.stats().written).toBe(0);
    const report = await w.close(1000);
    expect(report).toEqual({ written: 50, abandoned: 0 });
    expect(sink.stored.size).toBe(50);
    expect(w.offer(activity(99))).toBe(false);
    expect(w.stats().dropped).toBe(1);
  });

  it('close() retries within its bound and returns on time when the store stays down', async () => {
    const sink = new ScriptedSink();
    sink.mode = 'fail';
    const w = writer(sink, { batchSize: 100 });
    offerMany(w, 0, 40);
    const started = performance.now();
    const report = await w.close(150);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
    expect(report).toEqual({ written: 0, abandoned: 40 });
    expect(sink.calls).toBeGreaterThan(1);
    expect(w.stats()).toMatchObject({ dropped: 40, depth: 0 });
  });

  it('close() bounds a stalled write too, and ignores its late outcome', async () => {
    const sink = new ScriptedSink();
    sink.mode = 'stall';
    const w = writer(sink, { writeTimeoutMs: 10_000 });
    offerMany(w, 0, 10);
    const started = performance.now();
    const report = await w.close(100);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(report.abandoned).toBe(10);
    expect(w.stats()).toMatchObject({ written: 0, dropped: 10 });
  });

  it('close() counts each event once when one collection is written and another is stuck', async () => {
    const sink = new ScriptedSink();
    sink.stalling.add('audit_logs');
    const w = writer(sink, { batchSize: 100, writeTimeoutMs: 10_000 });
    w.offer(auditEvent({ service: 't' }, 'u1', 'user.created', { type: 'user', id: 'u2' }));
    offerMany(w, 0, 3);
    const report = await w.close(200);
    expect(report).toEqual({ written: 3, abandoned: 1 });
    expect(w.stats().collections.user_activity).toMatchObject({
      queued: 3,
      written: 3,
      dropped: 0,
    });
    expect(w.stats().collections.audit_logs).toMatchObject({ queued: 1, written: 0, dropped: 1 });
  });

  it('close() recovers when the store comes back before the bound', async () => {
    const sink = new ScriptedSink();
    sink.mode = 'fail';
    const w = writer(sink, { batchSize: 100 });
    offerMany(w, 0, 20);
    setTimeout(() => {
      sink.mode = 'ok';
    }, 50);
    const report = await w.close(2000);
    expect(report).toEqual({ written: 20, abandoned: 0 });
  });
});
