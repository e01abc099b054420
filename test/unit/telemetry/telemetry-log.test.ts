import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchWriter } from '../../../src/lib/telemetry/batch-writer.js';
import { TelemetryLog } from '../../../src/lib/telemetry/telemetry-log.js';
import { ScriptedSink } from '../../support/telemetry.js';

let writer: BatchWriter;
afterEach(async () => {
  await writer?.close(50);
});

function log(sink = new ScriptedSink(), bufferSize = 100) {
  writer = new BatchWriter(sink, {
    bufferSize,
    batchSize: 10,
    flushIntervalMs: 3_600_000,
    writeTimeoutMs: 1000,
  });
  return { log: new TelemetryLog({ mongodb: writer }, { service: 'nova-api' }), sink };
}

describe('TelemetryLog', () => {
  it('offers one event per call to the right collection, stamped with the service', async () => {
    const { log: l, sink } = log();
    expect(
      l.logUserActivity('user123', 'ticket_created', { ticketId: 'T001', priority: 'high' }),
    ).toBe(true);
    expect(l.logPerformance('api', '/tickets/search', 150, { resultsCount: 25 })).toBe(true);
    expect(l.logAudit(null, 'config.changed', { type: 'system_config', id: 'smtp.host' })).toBe(
      true,
    );
    expect(l.logSystem('info', 'started')).toBe(true);
    expect(l.logError(new Error('boom'))).toBe(true);
    expect(l.logApiUsage('GET', '/api/health', 200, 3)).toBe(true);
    expect(l.logSearch('kb', 'setup guide', 4, 12)).toBe(true);
    expect(await l.flush()).toBe(true);
    const byCollection = Object.fromEntries(
      [...sink.stored.values()].map(({ collection, doc }) => [collection, doc]),
    );
    expect(Object.keys(byCollection).sort()).toEqual([
      'api_usage',
      'audit_logs',
      'error_logs',
      'performance_metrics',
      'search_analytics',
      'system_logs',
      'user_activity',
    ]);
    expect(byCollection.user_activity).toMatchObject({
      service: 'nova-api',
      userId: 'user123',
      action: 'ticket_created',
      details: { ticketId: 'T001', priority: 'high' },
    });
    expect(byCollection.performance_metrics).toMatchObject({
      service: 'api',
      endpoint: '/tickets/search',
    });
  });

  it('counts bad arguments as invalid instead of throwing, keeping the last reason', () => {
    const { log: l } = log();
    expect(l.logPerformance('api', '/x', Number.NaN)).toBe(false);
    expect(l.logUserActivity('', 'x')).toBe(false);
    const stats = l.stats();
    expect(stats.invalid).toBe(2);
    expect(stats.lastInvalid).toMatchObject({ field: 'userId' });
    expect(stats.stores.mongodb?.queued).toBe(0);
  });

  it('survives details whose getters throw', () => {
    const { log: l } = log();
    const hostile = {
      get boom() {
        throw new Error('getter exploded');
      },
    };
    expect(() => l.logSystem('info', 'x', hostile)).not.toThrow();
    expect(l.stats().invalid).toBe(1);
  });

  it('drops before building when the buffer is full: no sanitizing for an event that is lost', () => {
    const sink = new ScriptedSink();
    sink.mode = 'fail';
    const { log: l } = log(sink, 5);
    for (let i = 0; i < 5; i++) l.logUserActivity(`u${i}`, 'a');
    const details = {
      get n() {
        return vi.fn()();
      },
    };
    const spy = vi.spyOn(details, 'n', 'get');
    expect(l.logUserActivity('u', 'a', details)).toBe(false);
    expect(spy).not.toHaveBeenCalled();
    expect(l.stats().stores.mongodb?.collections.user_activity).toMatchObject({
      queued: 5,
      dropped: 1,
    });
  });
});
