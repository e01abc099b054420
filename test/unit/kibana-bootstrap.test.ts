/**
 * `nova bootstrap kibana` against a scripted Kibana 8 on 127.0.0.1 (real sockets and real
 * multipart bodies; Kibana itself cannot run here, test/live/kibana.test.ts covers a real one):
 * the requests in order with their headers and bodies, a second run that writes nothing, an
 * edited object, refused imports, error answers, credentials, the bounded wait. The loader and
 * the comparison alone: test/unit/kibana-saved-objects.test.ts.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bootstrapKibana,
  formatKibanaReport,
  type KibanaBootstrapOptions,
} from '../../src/bootstrap/kibana/index.js';
import { freePort } from '../../src/bootstrap/postgres/embedded.js';
import { loadConfig } from '../../src/config.js';
import { NovaError } from '../../src/lib/errors.js';
import { startScriptedKibana } from '../support/kibana-saved-objects.js';
import { kibanaStatus, statusBody } from '../support/kibana-status.js';

const FIXTURES = resolve('test/fixtures/kibana');
const PASSWORD = 'hunter2-kibana';

let kibana: Awaited<ReturnType<typeof startScriptedKibana>>;
let temp: string;
beforeEach(async () => {
  kibana = await startScriptedKibana();
  temp = mkdtempSync(join(tmpdir(), 'nova-kibana-'));
});
afterEach(async () => {
  await kibana.close();
  rmSync(temp, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) =>
  loadConfig({
    KIBANA_URL: kibana.url,
    KIBANA_USERNAME: 'nova-dashboards',
    KIBANA_PASSWORD: PASSWORD,
    ...extra,
  });

/** Fast polling and retries: the timing is the wait tests' subject, not the others'. */
const fast = (options: KibanaBootstrapOptions = {}): KibanaBootstrapOptions => ({
  dir: FIXTURES,
  waitMs: 5000,
  waitOptions: { baseDelayMs: 20, maxDelayMs: 100 },
  callOptions: { sleep: async () => {} },
  ...options,
});

/** A copy of the fixtures in a temp dir, with `edit` applied to one file's text. */
function fixturesWith(file: string, edit: (text: string) => string): string {
  cpSync(FIXTURES, temp, { recursive: true });
  writeFileSync(join(temp, file), edit(readFileSync(join(temp, file), 'utf8')));
  return temp;
}

/** The error a bootstrap fails with (the test fails if it succeeds). */
async function failureOf(run: Promise<unknown>): Promise<NovaError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NovaError);
  return error as NovaError;
}

const writes = () => kibana.calls().filter((c) => !c.includes('_bulk_get') && c.startsWith('POST'));

describe('bootstrapKibana', () => {
  it('needs KIBANA_URL', async () => {
    await expect(bootstrapKibana(loadConfig({}), fast())).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      field: 'KIBANA_URL',
    });
  });

  it('imports every object in one multipart request with overwrite, then sets the default data view', async () => {
    const report = await bootstrapKibana(env(), fast());
    expect(kibana.calls()).toEqual([
      'POST /api/saved_objects/_bulk_get',
      'GET /api/data_views/default',
      'POST /api/saved_objects/_import?overwrite=true',
      'POST /api/data_views/default',
      // Read back: converged.
      'POST /api/saved_objects/_bulk_get',
      'GET /api/data_views/default',
    ]);
    const imported = kibana.seen.find((r) => r.path.startsWith('/api/saved_objects/_import'));
    expect(imported?.headers['kbn-xsrf']).toBe('true');
    expect(imported?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(imported?.headers.authorization).toBe(
      `Basic ${Buffer.from(`nova-dashboards:${PASSWORD}`).toString('base64')}`,
    );
    const body = imported?.body.toString() ?? '';
    expect(body).toContain('name="file"; filename="nova-dashboards.ndjson"');
    const lines = body.split(/\r?\n/).filter((l) => l.startsWith('{'));
    expect(lines.map((l) => JSON.parse(l).id)).toEqual([
      'nova-api-requests',
      'nova-api-usage',
      'nova-logs',
    ]);
    // Sent as the files hold them, not rewritten.
    expect(JSON.parse(lines[2] ?? '')).toEqual(
      JSON.parse(readFileSync(join(FIXTURES, 'data-views.ndjson'), 'utf8')),
    );
    const setDefault = kibana.seen.find(
      (r) => r.method === 'POST' && r.path === '/api/data_views/default',
    );
    expect(JSON.parse(setDefault?.body.toString() ?? '')).toEqual({
      data_view_id: 'nova-logs',
      force: true,
    });
    expect(setDefault?.headers['kbn-xsrf']).toBe('true');
    expect(kibana.objects.size).toBe(3);
    expect(kibana.defaultDataView()).toBe('nova-logs');
    expect(report).toMatchObject({
      url: kibana.url,
      version: '8.15.3',
      credentials: 'KIBANA_USERNAME',
      dryRun: false,
      changed: true,
      imported: { created: 3, overwritten: 0 },
      warnings: [],
    });
    expect(report.steps.map((s) => s.description)).toEqual([
      'create lens nova-api-requests "Requests over time" (test/fixtures/kibana/api-usage.ndjson:1)',
      'create dashboard nova-api-usage "Nova: API usage" (test/fixtures/kibana/api-usage.ndjson:2)',
      'create index-pattern nova-logs "nova_logs" (test/fixtures/kibana/data-views.ndjson:1)',
      'set the default data view to nova-logs (now: none)',
    ]);
    const text = formatKibanaReport(report);
    expect(text).toContain('4 change(s) applied:');
    expect(text).toContain('saved objects: 3 in 2 file(s): 3 created');
    expect(text).not.toContain(PASSWORD);
  });

  it('changes nothing on a second run, and says so', async () => {
    await bootstrapKibana(env(), fast());
    kibana.seen.length = 0;
    const report = await bootstrapKibana(env(), fast());
    expect(kibana.calls()).toEqual([
      'POST /api/saved_objects/_bulk_get',
      'GET /api/data_views/default',
    ]);
    expect(report).toMatchObject({ steps: [], changed: false, imported: undefined, warnings: [] });
    expect(report.files.flatMap((f) => f.objects.map((o) => o.action))).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    const text = formatKibanaReport(report);
    expect(text).toContain('nothing to change (already up to date)');
    expect(text).toContain('saved objects: 3 in 2 file(s): 3 unchanged');
  });

  it('takes what Kibana does to every object it stores (model versions, panelsJSON re-serialized, its own fields) for no change: the shipped dashboards, twice', async () => {
    const shipped = fast({ dir: resolve('dashboards') });
    const first = await bootstrapKibana(env(), shipped);
    expect(first.changed).toBe(true);
    const dashboard = [...kibana.objects.values()].find((o) => o.type === 'dashboard');
    const file = readFileSync(resolve('dashboards/api-usage.ndjson'), 'utf8');
    expect(dashboard?.typeMigrationVersion).toBe('10.2.0');
    expect(file).not.toContain(String(dashboard?.attributes.panelsJSON).slice(0, 40));
    const second = await bootstrapKibana(env(), shipped);
    expect(second).toMatchObject({ steps: [], changed: false, warnings: [] });
  });

  it('imports only the object that changed, as an overwrite', async () => {
    await bootstrapKibana(env(), fast());
    const dir = fixturesWith('api-usage.ndjson', (t) =>
      t.replace('"title":"Nova: API usage"', '"title":"Nova: API usage (v2)"'),
    );
    kibana.seen.length = 0;
    const report = await bootstrapKibana(env(), fast({ dir }));
    expect(report.steps.map((s) => s.description)).toEqual([
      expect.stringMatching(
        /^update dashboard nova-api-usage "Nova: API usage \(v2\)" \(.*api-usage\.ndjson:2; attributes\.title differs\)$/,
      ),
    ]);
    expect(report.imported).toEqual({ created: 0, overwritten: 1 });
    const body = kibana.seen.find((r) => r.path.includes('_import'))?.body.toString() ?? '';
    expect(body.split(/\r?\n/).filter((l) => l.startsWith('{'))).toHaveLength(1);
    expect(kibana.objects.get('dashboard/nova-api-usage')?.attributes.title).toBe(
      'Nova: API usage (v2)',
    );
  });

  it('on a dry run lists every file and object and writes nothing', async () => {
    kibana.setDefaultDataView('someone-elses');
    const report = await bootstrapKibana(env(), fast({ dryRun: true }));
    expect(writes()).toEqual([]);
    expect(kibana.objects.size).toBe(0);
    expect(report).toMatchObject({ dryRun: true, changed: false, imported: undefined });
    expect(report.files).toEqual([
      {
        file: 'test/fixtures/kibana/api-usage.ndjson',
        objects: [
          {
            line: 1,
            type: 'lens',
            id: 'nova-api-requests',
            title: 'Requests over time',
            action: 'create',
          },
          {
            line: 2,
            type: 'dashboard',
            id: 'nova-api-usage',
            title: 'Nova: API usage',
            action: 'create',
          },
        ],
      },
      {
        file: 'test/fixtures/kibana/data-views.ndjson',
        objects: [
          { line: 1, type: 'index-pattern', id: 'nova-logs', title: 'nova_logs', action: 'create' },
        ],
      },
    ]);
    const text = formatKibanaReport(report);
    expect(text).toContain('4 change(s) planned (dry run, nothing applied):');
    expect(text).toContain('set the default data view to nova-logs (now: someone-elses)');
    expect(text).toMatch(
      /test\/fixtures\/kibana\/data-views\.ndjson:\n\s+index-pattern\s+nova-logs\s+to create\s+nova_logs/,
    );
  });

  it('sets the default data view only when it is another one', async () => {
    kibana.setDefaultDataView('nova-logs');
    const report = await bootstrapKibana(env(), fast());
    expect(report.steps.map((s) => s.kind)).not.toContain('setDefaultDataView');
    expect(writes()).toEqual(['POST /api/saved_objects/_import?overwrite=true']);
    kibana.setDefaultDataView('someone-elses');
    kibana.seen.length = 0;
    const again = await bootstrapKibana(env(), fast());
    expect(again.steps.map((s) => s.description)).toEqual([
      'set the default data view to nova-logs (now: someone-elses)',
    ]);
    expect(writes()).toEqual(['POST /api/data_views/default']);
    expect(kibana.defaultDataView()).toBe('nova-logs');
  });

  it('fails listing every object Kibana refused, with its file and line, when the import says success: false', async () => {
    kibana.refuse('lens/nova-api-requests', { type: 'unsupported_type' });
    const dir = fixturesWith(
      'api-usage.ndjson',
      (t) =>
        `${t}{"type":"dashboard","id":"orphan","attributes":{"title":"Orphan"},"references":[{"type":"lens","id":"nowhere","name":"p1:panel_p1"}]}\n`,
    );
    const { code, message } = await failureOf(bootstrapKibana(env(), fast({ dir })));
    expect(code).toBe('BOOTSTRAP_FAILED');
    expect(message).toMatch(/^Kibana refused the import \(success: false, 2 of 4 imported\): /);
    expect(message).toMatch(
      /lens nova-api-requests "Requests over time" \(.*api-usage\.ndjson:1\): unsupported_type; /,
    );
    expect(message).toMatch(
      /dashboard orphan "Orphan" \(.*api-usage\.ndjson:4\): missing_references: lens nowhere \(neither in the files nor in Kibana\)/,
    );
    // Nothing after a failed import: the default data view is left alone.
    expect(writes()).toEqual(['POST /api/saved_objects/_import?overwrite=true']);
  });

  it('fails on a 200 with success: false even without errors', async () => {
    kibana.once('POST /api/saved_objects/_import', {
      status: 200,
      body: '{"success":false,"successCount":0}',
    });
    await expect(bootstrapKibana(env(), fast())).rejects.toThrow(
      /Kibana refused the import \(success: false, 0 of 3 imported\) without saying which object/,
    );
  });

  it.each([
    [
      400,
      '{"statusCode":400,"error":"Bad Request","message":"Unexpected token in JSON at line 2"}',
    ],
    [
      413,
      '{"statusCode":413,"error":"Request Entity Too Large","message":"Payload content length greater than maximum allowed: 26214400"}',
    ],
    [
      500,
      '{"statusCode":500,"error":"Internal Server Error","message":"An internal server error occurred."}',
    ],
  ])('fails on HTTP %i quoting the server body', async (status, body) => {
    kibana.once('POST /api/saved_objects/_import', { status, body });
    await expect(bootstrapKibana(env(), fast())).rejects.toMatchObject({
      code: 'BOOTSTRAP_FAILED',
      message: `Kibana POST /api/saved_objects/_import answered HTTP ${status}: ${body}`,
    });
  });

  it('retries 503 and unanswered requests a bounded number of times, then says UNAVAILABLE', async () => {
    const busy = { status: 503, body: '{"statusCode":503,"message":"Kibana is busy"}' };
    kibana.once('POST /api/saved_objects/_import', busy, busy);
    kibana.once('GET /api/data_views/default', { status: 200, body: '{}', delayMs: 1500 });
    const report = await bootstrapKibana(env({ KIBANA_REQUEST_TIMEOUT_MS: '300' }), fast());
    expect(report.imported).toEqual({ created: 3, overwritten: 0 });
    expect(kibana.calls().filter((c) => c.includes('_import'))).toHaveLength(3);
    expect(kibana.calls().filter((c) => c === 'GET /api/data_views/default')).toHaveLength(3);

    kibana.once('GET /api/data_views/default', busy, busy, busy, busy);
    await expect(bootstrapKibana(env(), fast())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message:
        'Kibana GET /api/data_views/default answered HTTP 503 4 times: {"statusCode":503,"message":"Kibana is busy"}',
    });
  });

  it('fails at once on refused credentials, saying which privileges it needs, without the password', async () => {
    kibana.once('POST /api/saved_objects/_bulk_get', {
      status: 403,
      body: '{"statusCode":403,"error":"Forbidden","message":"Unable to bulk_get lens"}',
    });
    const failure = await failureOf(bootstrapKibana(env(), fast()));
    expect(failure).toMatchObject({ code: 'BOOTSTRAP_FAILED' });
    expect(failure.message).toMatch(
      /^Kibana POST \/api\/saved_objects\/_bulk_get refused \(HTTP 403\)/,
    );
    expect(failure.message).toContain('Saved Objects Management');
    expect(failure.message).toContain('Unable to bulk_get lens');
    expect(failure.message).not.toContain(PASSWORD);
    expect(writes()).toEqual([]);
  });

  it('waits while the saved objects are unavailable (migrating), then imports though a plugin is degraded', async () => {
    kibana.answer(kibanaStatus({ savedObjects: 'unavailable' }));
    // Kibana usable, its overall level held at degraded by one plugin: the import goes ahead.
    setTimeout(() => kibana.answer(kibanaStatus({ plugins: { fleet: 'degraded' } })), 300);
    const report = await bootstrapKibana(env(), fast());
    expect(report.changed).toBe(true);
    expect(report.warnings).toContain(
      'Kibana is degraded (fleet (fleet is degraded)); its saved objects are available',
    );
    const probes = kibana.seen.filter((r) => r.path === '/api/status');
    expect(probes.length).toBeGreaterThan(2);
    // Nothing is read or written before the saved objects are available.
    const firstCall = kibana.seen.findIndex((r) => r.path !== '/api/status');
    expect(kibana.seen.slice(firstCall).some((r) => r.path === '/api/status')).toBe(false);
  });

  it('gives up at the deadline naming the last level, and on a closed port naming the error', async () => {
    kibana.answer({
      status: 503,
      body: statusBody('unavailable', { summary: 'elasticsearch is red' }),
    });
    const started = Date.now();
    await expect(bootstrapKibana(env(), fast({ waitMs: 600 }))).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(
        /^Kibana at http:\/\/127\.0\.0\.1:\d+ did not report its saved objects available within 0\.6 s \(\d+ checks of \/api\/status\); last answer: level unavailable \(elasticsearch is red\)$/,
      ),
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(writes()).toEqual([]);

    const closed = loadConfig({ KIBANA_URL: `http://127.0.0.1:${await freePort()}` });
    await expect(bootstrapKibana(closed, fast({ waitMs: 300 }))).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/last answer: ECONNREFUSED$/),
    });
  });

  it('stops waiting at once when /api/status refuses the credentials', async () => {
    kibana.answer({ status: 401, body: '{"statusCode":401,"error":"Unauthorized"}' });
    const started = Date.now();
    await expect(bootstrapKibana(env(), fast({ waitMs: 10_000 }))).rejects.toMatchObject({
      code: 'BOOTSTRAP_FAILED',
      message: expect.stringContaining('Kibana refused the credentials (HTTP 401)'),
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('uses KIBANA_API_KEY first, then KIBANA_USERNAME, then the Elasticsearch administrator', async () => {
    const auth = () => kibana.seen.find((r) => r.path.includes('_bulk_get'))?.headers.authorization;
    const admin = {
      ELASTIC_URL: 'http://127.0.0.1:9200',
      ELASTIC_ADMIN_USERNAME: 'elastic',
      ELASTIC_ADMIN_PASSWORD: 'es-admin-secret',
    };
    const fromAdmin = await bootstrapKibana(
      loadConfig({ KIBANA_URL: kibana.url, ...admin }),
      fast({ dryRun: true }),
    );
    expect(fromAdmin.credentials).toBe('ELASTIC_ADMIN_USERNAME');
    expect(auth()).toBe(`Basic ${Buffer.from('elastic:es-admin-secret').toString('base64')}`);
    kibana.seen.length = 0;
    const fromKey = await bootstrapKibana(
      loadConfig({ KIBANA_URL: kibana.url, KIBANA_API_KEY: 'a2V5', ...admin }),
      fast({ dryRun: true }),
    );
    expect(fromKey.credentials).toBe('KIBANA_API_KEY');
    expect(auth()).toBe('ApiKey a2V5');
    kibana.seen.length = 0;
    const anonymous = await bootstrapKibana(
      loadConfig({ KIBANA_URL: kibana.url }),
      fast({ dryRun: true }),
    );
    expect(anonymous.credentials).toBe('none');
    expect(auth()).toBeUndefined();
    expect(JSON.stringify([fromAdmin, fromKey])).not.toMatch(/es-admin-secret|a2V5/);
  });

  it('imports everything, with a warning, when Kibana has no _bulk_get to compare with', async () => {
    kibana.once('POST /api/saved_objects/_bulk_get', { status: 404, body: '{"statusCode":404}' });
    const report = await bootstrapKibana(env(), fast());
    expect(report.files.flatMap((f) => f.objects.map((o) => o.action))).toEqual([
      'import',
      'import',
      'import',
    ]);
    expect(report.warnings).toEqual([
      expect.stringContaining('the objects could not be compared, so every one is imported'),
    ]);
    expect(report.imported).toEqual({ created: 3, overwritten: 0 });
  });

  it('accepts attributes Kibana adds when it stores an object', async () => {
    kibana.migrate((o) => ({ ...o, attributes: { ...o.attributes, addedByKibana: 1 } }));
    await bootstrapKibana(env(), fast());
    expect((await bootstrapKibana(env(), fast())).steps).toEqual([]);
  });

  it('warns when Kibana stores an object differently from its file, instead of failing', async () => {
    kibana.migrate((o) =>
      o.type === 'lens'
        ? { ...o, attributes: { ...o.attributes, visualizationType: 'lnsXYv2' } }
        : o,
    );
    const report = await bootstrapKibana(env(), fast());
    expect(report.warnings).toEqual([
      expect.stringMatching(
        /^Kibana holds 1 object\(s\) differently from the files after importing them \(it migrated them\): lens nova-api-requests \(attributes\.visualizationType\);/,
      ),
    ]);
  });

  it('refuses files without the default data view before asking Kibana anything', async () => {
    await expect(
      bootstrapKibana(env(), fast({ defaultDataViewId: 'nova-tickets' })),
    ).rejects.toMatchObject({
      code: 'BOOTSTRAP_FAILED',
      message:
        'the default data view nova-tickets is not among the saved objects (an index-pattern with that id)',
    });
    expect(kibana.seen).toEqual([]);
  });
});
