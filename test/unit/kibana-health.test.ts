/**
 * kibanaHealth against a scripted /api/status on 127.0.0.1 (real sockets; Kibana itself
 * cannot run here: the live suite covers a real one): each level Kibana reports, refused
 * credentials, answers that are not Kibana's, a closed port and a silent server.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/bootstrap/postgres/embedded.js';
import { type KibanaConfig, loadConfig } from '../../src/config.js';
import { kibanaHealth } from '../../src/lib/kibana.js';
import { kibanaStatus, startKibanaStatus, statusBody as status } from '../support/kibana-status.js';

const kibana = await startKibanaStatus();
afterAll(() => kibana.close());
const { url, seen, config } = kibana;

describe('kibanaHealth', () => {
  it.each([
    ['available', 200, 'up'],
    ['degraded', 200, 'degraded'],
    ['unavailable', 503, 'down'],
    ['critical', 503, 'down'],
  ])('reports level %s (HTTP %i) as %s', async (level, code, expected) => {
    kibana.answer({ status: code, body: status(level, { summary: `${level} summary` }) });
    const health = await kibanaHealth(config());
    expect(health).toMatchObject({ status: expected, level, version: '8.15.3' });
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    if (expected === 'up') expect(health).not.toHaveProperty('error');
    else expect(health.error).toBe(`${level} summary`);
  });

  it('asks /api/status with the configured credentials', async () => {
    kibana.answer({ status: 200, body: status('available') });
    await kibanaHealth(config({ KIBANA_USERNAME: 'nova', KIBANA_PASSWORD: 'pa:ss' }));
    expect(seen.at(-1)?.path).toBe('/api/status');
    expect(seen.at(-1)?.headers.authorization).toBe(
      `Basic ${Buffer.from('nova:pa:ss').toString('base64')}`,
    );
    await kibanaHealth(config({ KIBANA_API_KEY: 'a2V5' }));
    expect(seen.at(-1)?.headers.authorization).toBe('ApiKey a2V5');
    await kibanaHealth(config());
    expect(seen.at(-1)?.headers).not.toHaveProperty('authorization');
  });

  it('keeps a base path', async () => {
    kibana.answer({ status: 200, body: status('available') });
    await kibanaHealth(loadConfig({ KIBANA_URL: `${url}/kibana/` }).kibana as KibanaConfig);
    expect(seen.at(-1)?.path).toBe('/kibana/api/status');
  });

  it.each([401, 403])(
    'reports credentials refused with %i as degraded, saying what to set',
    async (code) => {
      kibana.answer({ status: code, body: '{"statusCode":401,"error":"Unauthorized"}' });
      const health = await kibanaHealth(config());
      expect(health.status).toBe('degraded');
      expect(health.error).toContain(`HTTP ${code}`);
      expect(health.error).toContain('KIBANA_USERNAME');
    },
  );

  it('reports a redirect as down, without following it with the credentials', async () => {
    kibana.answer({ status: 302, body: '', location: '/login?next=%2Fapi%2Fstatus' });
    const before = seen.length;
    const health = await kibanaHealth(config({ KIBANA_USERNAME: 'nova', KIBANA_PASSWORD: 'x' }));
    expect(health).toMatchObject({
      status: 'down',
      error: 'unexpected answer from /api/status: HTTP 302',
    });
    expect(seen.length).toBe(before + 1);
  });

  it('reports an answer that is not Kibana status as down', async () => {
    kibana.answer({ status: 502, body: '<html>Bad Gateway</html>' });
    expect(await kibanaHealth(config())).toMatchObject({
      status: 'down',
      error: 'unexpected answer from /api/status: HTTP 502',
    });
    kibana.answer({ status: 200, body: '{"status":{"overall":{"level":"purple"}}}' });
    expect((await kibanaHealth(config())).status).toBe('down');
  });

  it('reports a closed port and a silent server as down, within the timeout', async () => {
    const closed = loadConfig({ KIBANA_URL: `http://127.0.0.1:${await freePort()}` })
      .kibana as KibanaConfig;
    expect(await kibanaHealth(closed)).toMatchObject({ status: 'down', error: 'ECONNREFUSED' });
    kibana.answer({ status: 200, body: status('available'), delayMs: 2000 });
    const started = Date.now();
    expect(await kibanaHealth(config(), 200)).toMatchObject({
      status: 'down',
      error: 'no answer within 200 ms',
    });
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('KIBANA_* configuration', () => {
  it('refuses credentials in the URL, half a login, and both kinds of credentials', () => {
    expect(() => loadConfig({ KIBANA_URL: 'http://u:p@127.0.0.1:5601' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'KIBANA_URL' }),
    );
    expect(() => loadConfig({ KIBANA_URL: url, KIBANA_USERNAME: 'nova' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'KIBANA_PASSWORD' }),
    );
    expect(() =>
      loadConfig({
        KIBANA_URL: url,
        KIBANA_USERNAME: 'nova',
        KIBANA_PASSWORD: 'secret',
        KIBANA_API_KEY: 'k',
      }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'KIBANA_API_KEY' }));
    expect(loadConfig({}).kibana).toBeUndefined();
  });
});

describe('what /api/status levels mean (Kibana routes/status.ts)', () => {
  it('a degraded plugin: usable and ready to import, degraded, the plugin named', async () => {
    kibana.answer(kibanaStatus({ plugins: { fleet: 'degraded' } }));
    expect(await kibanaHealth(config())).toMatchObject({
      status: 'degraded',
      level: 'degraded',
      ready: true,
      degradedPlugins: ['fleet (fleet is degraded)'],
      error: 'degraded plugins: fleet (fleet is degraded)',
    });
  });

  it('saved objects unavailable (migrating): HTTP 503, down, not ready', async () => {
    kibana.answer(kibanaStatus({ savedObjects: 'unavailable' }));
    expect(await kibanaHealth(config())).toMatchObject({ status: 'down', ready: false });
  });

  it('Elasticsearch degraded (yellow): degraded and still ready; all available: up', async () => {
    kibana.answer(kibanaStatus({ elasticsearch: 'degraded' }));
    expect(await kibanaHealth(config())).toMatchObject({ status: 'degraded', ready: true });
    kibana.answer(kibanaStatus({}));
    expect(await kibanaHealth(config())).toMatchObject({ status: 'up', ready: true });
  });

  it('the redacted answer of an unauthenticated caller: core’s level alone decides', async () => {
    kibana.answer(kibanaStatus({ plugins: { fleet: 'unavailable' } }, { redacted: true }));
    expect(await kibanaHealth(config())).toMatchObject({ status: 'up', ready: true });
    kibana.answer(kibanaStatus({ savedObjects: 'unavailable' }, { redacted: true }));
    expect(await kibanaHealth(config())).toMatchObject({ status: 'down', ready: false });
  });
});
