/**
 * The saved objects under dashboards/ as the Kibana bootstrap reads them (file:line for every
 * mistake) and the comparison that decides which of them Kibana already holds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstDifference } from '../../src/bootstrap/kibana/plan.js';
import { loadSavedObjects } from '../../src/bootstrap/kibana/saved-objects.js';

const FIXTURES = resolve('test/fixtures/kibana');

let temp: string;
beforeEach(() => {
  temp = mkdtempSync(join(tmpdir(), 'nova-kibana-'));
});
afterEach(() => {
  rmSync(temp, { recursive: true, force: true });
});

describe('loadSavedObjects', () => {
  it('reads every file in name order, objects in line order, skipping the export-details line', () => {
    const files = loadSavedObjects(FIXTURES);
    expect(files.map((f) => f.file)).toEqual([
      'test/fixtures/kibana/api-usage.ndjson',
      'test/fixtures/kibana/data-views.ndjson',
    ]);
    expect(
      files.flatMap((f) => f.objects.map((o) => [o.object.type, o.object.id, o.title, o.line])),
    ).toEqual([
      ['lens', 'nova-api-requests', 'Requests over time', 1],
      ['dashboard', 'nova-api-usage', 'Nova: API usage', 2],
      ['index-pattern', 'nova-logs', 'nova_logs', 1],
    ]);
  });

  it.each([
    ['{"type":"lens","id":"x","attributes":{}', /broken\.ndjson:2: not JSON/],
    ['["lens"]', /broken\.ndjson:2: not a Kibana saved object: not a JSON object/],
    ['{"type":"lens","attributes":{}}', /broken\.ndjson:2: .*no "id"/],
    ['{"id":"x","attributes":{}}', /broken\.ndjson:2: .*no "type"/],
    ['{"type":"lens","id":"x"}', /broken\.ndjson:2: .*no "attributes" object/],
    ['{"type":"lens","id":"x","attributes":{},"references":[{"id":"y"}]}', /"references"/],
  ])('names file:line for a line that is not a saved object: %s', (line, message) => {
    writeFileSync(
      join(temp, 'broken.ndjson'),
      `{"type":"tag","id":"t","attributes":{}}\n${line}\n`,
    );
    expect(() => loadSavedObjects(temp)).toThrow(
      expect.objectContaining({
        code: 'BOOTSTRAP_FAILED',
        message: expect.stringMatching(message),
      }),
    );
  });

  it('refuses an object defined twice, an empty folder and a missing one', () => {
    const line = '{"type":"tag","id":"t","attributes":{"name":"t"}}\n';
    writeFileSync(join(temp, 'a.ndjson'), line);
    writeFileSync(join(temp, 'b.ndjson'), `\n${line}`);
    expect(() => loadSavedObjects(temp)).toThrow(
      /b\.ndjson:2: tag t is already defined at .*a\.ndjson:1/,
    );
    const empty = mkdtempSync(join(temp, 'empty-'));
    writeFileSync(join(empty, 'README.md'), 'no objects here');
    expect(() => loadSavedObjects(empty)).toThrow(/no Kibana saved objects \(\*\.ndjson\) in/);
    expect(() => loadSavedObjects(join(temp, 'nowhere'))).toThrow(
      expect.objectContaining({ code: 'BOOTSTRAP_FAILED' }),
    );
  });
});

describe('firstDifference', () => {
  it('ignores keys only Kibana has and compares JSON text as JSON', () => {
    const wanted = { title: 'A', panelsJSON: '[{"a":1,"b":[1,2]}]', nested: { x: 1 } };
    const stored = {
      title: 'A',
      panelsJSON: '[{ "b": [1, 2], "a": 1, "added": true }]',
      nested: { x: 1, y: 2 },
      version: 1,
    };
    expect(firstDifference(wanted, stored, 'attributes')).toBeUndefined();
  });

  it('names the first path that differs', () => {
    expect(firstDifference({ a: { b: 1 } }, { a: { b: 2 } }, 'attributes')).toBe('attributes.a.b');
    expect(firstDifference({ a: '[1,2]' }, { a: '[1]' }, 'attributes')).toBe('attributes.a');
    expect(firstDifference({ a: [{ b: 1 }] }, { a: [{ b: 3 }] }, 'attributes')).toBe(
      'attributes.a[0].b',
    );
    expect(firstDifference({ a: 'x' }, {}, 'attributes')).toBe('attributes.a');
    expect(firstDifference({ a: '{not json' }, { a: '{not json' }, 'attributes')).toBeUndefined();
  });
});
