/**
 * dashboards/ checked offline, against the mappings the Elasticsearch bootstrap creates
 * (index-specs.ts, component templates resolved): every object parses and is of a checked
 * type, references resolve, fields exist with types their aggregations support, panels show
 * something; the files are the generator's output in the stable form. Then each check is
 * shown to fail on a broken copy.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { renderDashboards } from '../../scripts/dashboards/render.js';
import {
  type LoadedObject,
  loadSavedObjects,
  type SavedObjectsFile,
} from '../../src/bootstrap/kibana/saved-objects.js';
import { elasticSpecs } from '../../src/lib/db/elastic/index-specs.js';
import { defaultRetentionMs } from '../../src/lib/telemetry/collections.js';
import { savedObjectProblems, stableFormProblems } from '../support/dashboards/checks.js';
import { kqlProblems } from '../support/dashboards/fields.js';
import { kqlClauses } from '../support/dashboards/kql.js';
import { fieldsOf } from '../support/dashboards/mappings.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(ROOT, 'dashboards');
const specs = elasticSpecs({ embeddingDims: 1536, retentionMs: defaultRetentionMs() });
const files = loadSavedObjects(DIR);
const ndjsonNames = () =>
  readdirSync(DIR)
    .filter((n) => n.endsWith('.ndjson'))
    .sort();

const kqlProblemsFor = (elastic: typeof specs, query: string) =>
  kqlProblems(fieldsOf(elastic, 'nova_logs') ?? new Map(), query);

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
/** A folder holding `contents` as files, for what the loader must refuse. */
function folder(contents: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'nova-dashboards-'));
  temps.push(dir);
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
  return dir;
}

type Json = Record<string, unknown>;
/** A deep copy of the files, changed by `change`, and its problems. */
function problemsAfter(
  change: (find: (id: string) => LoadedObject, copy: SavedObjectsFile[]) => void,
) {
  const copy = structuredClone(files);
  const find = (id: string) => {
    const found = copy.flatMap((f) => f.objects).find((l) => l.object.id === id);
    if (!found) throw new Error(`no object ${id}`);
    return found;
  };
  change(find, copy);
  return savedObjectProblems(copy, specs);
}
const state = (l: LoadedObject) => l.object.attributes.state as Json;
const layer = (l: LoadedObject) =>
  ((state(l).datasourceStates as Json).formBased as { layers: Record<string, Json> }).layers
    .main as { columns: Record<string, Json>; columnOrder: string[] };
/** Rewrites a JSON-text attribute (panelsJSON) through `change`. */
function editJson(l: LoadedObject, key: string, change: (value: Json[]) => void) {
  const value = JSON.parse(l.object.attributes[key] as string) as Json[];
  change(value);
  l.object.attributes[key] = JSON.stringify(value);
}
function expectProblem(problems: string[], fragment: string) {
  expect(
    problems.some((p) => p.includes(fragment)),
    `expected a problem with "${fragment}", got:\n${problems.join('\n')}`,
  ).toBe(true);
}

describe('dashboards/', () => {
  it('holds the three data views and the five dashboards, one file each, with stable ids', () => {
    const objects = files.flatMap((f) => f.objects);
    expect(
      objects.filter((l) => l.object.type === 'index-pattern').map((l) => l.object.id),
    ).toEqual(['nova-kb', 'nova-logs', 'nova-tickets']);
    const dashboards = objects
      .filter((l) => l.object.type === 'dashboard')
      .map((l) => [l.file.replace(/^.*\//, ''), l.object.id, l.title]);
    expect(dashboards).toEqual([
      ['api-usage.ndjson', 'nova-dashboard-api-usage', 'Nova: API usage'],
      ['audit-activity.ndjson', 'nova-dashboard-audit-activity', 'Nova: Audit activity'],
      ['errors.ndjson', 'nova-dashboard-errors', 'Nova: Errors'],
      ['search-analytics.ndjson', 'nova-dashboard-search-analytics', 'Nova: Search analytics'],
      [
        'service-health.ndjson',
        'nova-dashboard-service-health',
        'Nova: Service health and performance',
      ],
    ]);
  });

  it('has every line a saved object with type, id, attributes and references', () => {
    for (const l of files.flatMap((f) => f.objects)) {
      expect(l.object).toEqual(
        expect.objectContaining({
          type: expect.any(String),
          id: expect.stringMatching(/^nova-[a-z0-9-]+$/),
          attributes: expect.any(Object),
          references: expect.any(Array),
        }),
      );
    }
  });

  it('passes every offline check against the mappings of the Elasticsearch bootstrap', () => {
    expect(savedObjectProblems(files, specs)).toEqual([]);
  });

  it('is the generator output, in the stable form', () => {
    const rendered = renderDashboards();
    expect(ndjsonNames()).toEqual([...rendered.keys()].sort());
    for (const [name, text] of rendered) {
      const committed = readFileSync(join(DIR, name), 'utf8');
      expect(stableFormProblems(name, committed)).toEqual([]);
      expect(committed, `${name} differs: run npm run dashboards`).toBe(text);
    }
  });

  it('`npm run dashboards -- --check` agrees (the command the README documents)', async () => {
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '--silent', 'dashboards', '--', '--check'],
      {
        cwd: ROOT,
      },
    );
    expect(stdout).toContain('files up to date');
  });

  it('is documented: the README names every object by id and title', () => {
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    for (const l of files.flatMap((f) => f.objects)) {
      expect(readme, l.object.id).toContain(`\`${l.object.id}\``);
      expect(readme, l.object.id).toContain(l.title);
    }
  });
});

describe('the mappings the checks read', () => {
  it('are the composed templates of index-specs.ts, multi-fields included', () => {
    const logs = fieldsOf(specs, 'nova_logs');
    expect(logs?.get('event.duration')).toEqual({
      type: 'long',
      searchable: true,
      aggregatable: true,
    });
    expect(logs?.get('url.path')?.type).toBe('keyword');
    expect(logs?.get('message')?.type).toBe('match_only_text');
    expect(logs?.get('details')?.type).toBe('flattened');
    expect(fieldsOf(specs, 'nova_tickets')?.get('title.raw')?.type).toBe('keyword');
    expect(fieldsOf(specs, 'nova_kb')?.get('created_at')?.type).toBe('date');
    expect(fieldsOf(specs, 'logs-nova-default')).toBeUndefined();
  });

  it('follow a change of the spec: a field removed from nova_logs breaks the panels using it', () => {
    const changed = structuredClone(specs);
    const logs = changed.componentTemplates.find((c) => c.name === 'nova-logs-mappings');
    delete logs?.template.mappings?.properties?.url;
    expectProblem(savedObjectProblems(files, changed), 'terms on url.path: no such field');
  });

  it('know unaggregatable (doc_values: false) and unsearchable (index: false) fields', () => {
    const changed = structuredClone(specs);
    const logs = changed.componentTemplates.find((c) => c.name === 'nova-logs-mappings');
    const error = logs?.template.mappings?.properties?.error as {
      properties: Record<string, object>;
    };
    error.properties.type = { type: 'keyword', doc_values: false };
    error.properties.code = { type: 'keyword', index: false };
    const problems = savedObjectProblems(files, changed);
    expectProblem(problems, 'terms on error.type: not aggregatable (doc_values: false)');
    expect(kqlProblemsFor(changed, 'error.code: E1')).toEqual([
      'query "error.code: E1": error.code is not searchable (index: false)',
    ]);
  });

  it('KQL clauses are found outside quotes, with range operators', () => {
    expect(kqlClauses('event.dataset: api_usage and (a.b >= 5 or c:"x: y")')).toEqual([
      { field: 'event.dataset', operator: ':', value: 'api_usage' },
      { field: 'a.b', operator: '>=', value: '5' },
      { field: 'c', operator: ':', value: '"____"' },
    ]);
  });
});

describe('each check fails on a broken copy', () => {
  it('a line that is not JSON, or not a saved object, stops the loader naming file and line', () => {
    const good = readFileSync(join(DIR, 'data-views.ndjson'), 'utf8');
    expect(() => loadSavedObjects(folder({ 'a.ndjson': `${good}{"type":\n` }))).toThrow(
      /a\.ndjson:4: not JSON/,
    );
    expect(() =>
      loadSavedObjects(folder({ 'a.ndjson': '{"type":"lens","attributes":{}}\n' })),
    ).toThrow(/a\.ndjson:1: .*no "id"/);
    expect(() => loadSavedObjects(folder({ 'a.ndjson': good, 'b.ndjson': good }))).toThrow(
      /already defined/,
    );
  });

  it('an unknown type, or a migration version newer than Kibana 8.11 knows', () => {
    expectProblem(
      problemsAfter((find) => {
        find('nova-lens-errors-total').object.type = 'visualization';
      }),
      'type visualization is none of',
    );
    expectProblem(
      problemsAfter((find) => {
        find('nova-dashboard-errors').object.typeMigrationVersion = '10.3.0';
      }),
      'typeMigrationVersion must be at most 8.9.0',
    );
  });

  it('a duplicate id', () => {
    expectProblem(
      problemsAfter((find, copy) => {
        copy[0]?.objects.push(structuredClone(find('nova-lens-errors-total')));
      }),
      'also defined at',
    );
  });

  it('a dangling reference, and one that leaves its file for anything but a data view', () => {
    expectProblem(
      problemsAfter((find) => {
        const ref = find('nova-lens-errors-total').object.references[0];
        if (ref) ref.id = 'nova-gone';
      }),
      'to index-pattern nova-gone: not in dashboards/',
    );
    expectProblem(
      problemsAfter((find) => {
        const ref = find('nova-dashboard-errors').object.references[0];
        if (ref) ref.id = 'nova-lens-api-top-callers';
      }),
      'leaves the file',
    );
  });

  it('a field the mapping lacks, in a column, a filters column or a query', () => {
    expectProblem(
      problemsAfter((find) => {
        const columns = layer(find('nova-lens-api-top-endpoints')).columns;
        if (columns.endpoint) columns.endpoint.sourceField = 'url.full';
      }),
      'terms on url.full: no such field',
    );
    expectProblem(
      problemsAfter((find) => {
        const column = layer(find('nova-lens-api-status-classes')).columns.class as Json;
        ((column.params as Json).filters as Json[]).push({
          label: 'x',
          input: { query: 'http.status >= 500', language: 'kuery' },
        });
      }),
      'no field http.status',
    );
    expectProblem(
      problemsAfter((find) => {
        (state(find('nova-lens-errors-rate')).query as Json).query =
          'event.dataset: error_logs and error.kind: x';
      }),
      'no field error.kind',
    );
    expectProblem(
      problemsAfter((find) => {
        find('nova-search-errors-latest').object.attributes.columns = ['error.stack'];
      }),
      'column error.stack: no such field',
    );
  });

  it('an aggregation the field type cannot do: percentile on a keyword, terms on text, a histogram on a keyword, a range on a keyword', () => {
    const p95 = (field: string) =>
      problemsAfter((find) => {
        const columns = layer(find('nova-lens-service-latency-by-endpoint')).columns;
        if (columns.p95) columns.p95.sourceField = field;
      });
    expectProblem(p95('error.type'), 'percentile on error.type (keyword): needs');
    expectProblem(
      problemsAfter((find) => {
        const columns = layer(find('nova-lens-errors-top-types')).columns;
        if (columns.type) columns.type.sourceField = 'error.message';
      }),
      'terms on error.message (match_only_text): needs',
    );
    expectProblem(
      problemsAfter((find) => {
        const columns = layer(find('nova-lens-errors-rate')).columns;
        if (columns.time) columns.time.sourceField = 'trace.id';
      }),
      'date_histogram on trace.id (keyword)',
    );
    expectProblem(
      problemsAfter((find) => {
        (state(find('nova-lens-errors-rate')).query as Json).query = 'error.code >= 500';
      }),
      'error.code >= needs a number or a date',
    );
    expectProblem(
      problemsAfter((find) => {
        find('nova-search-errors-latest').object.attributes.sort = [['message', 'desc']];
      }),
      'sort on message: not sortable (terms on message (match_only_text)',
    );
  });

  it('a query on a dataset no telemetry collection is named after', () => {
    expectProblem(
      problemsAfter((find) => {
        (state(find('nova-lens-api-top-callers')).query as Json).query = 'event.dataset: api_logs';
      }),
      'event.dataset api_logs is no telemetry collection',
    );
  });

  it('a visualization drawing a column that is not there, or a metric as a bucket', () => {
    expectProblem(
      problemsAfter((find) => {
        const { columns, columnOrder } = layer(find('nova-lens-service-latency'));
        delete columns.p99;
        columnOrder.pop();
      }),
      'draws column p99, not in layer main',
    );
    expectProblem(
      problemsAfter((find) => {
        const vis = state(find('nova-lens-service-latency')).visualization as { layers: Json[] };
        if (vis.layers[0]) vis.layers[0].xAccessor = 'p50';
      }),
      'uses metric column p50 as a bucket',
    );
  });

  it('a data view on an index the bootstrap does not map, or without a date time field', () => {
    expectProblem(
      problemsAfter((find) => {
        find('nova-kb').object.attributes.title = 'nova_articles';
      }),
      'nova_articles matches no index template',
    );
    expectProblem(
      problemsAfter((find) => {
        find('nova-tickets').object.attributes.timeFieldName = 'status';
      }),
      'timeFieldName status is not a date field',
    );
  });

  it('a panel pointing at nothing, showing nothing, or off the grid and overlapping', () => {
    expectProblem(
      problemsAfter((find) => {
        const dashboard = find('nova-dashboard-errors').object;
        dashboard.references = dashboard.references.filter(
          (r) => !r.name.startsWith('errors-rate:'),
        );
      }),
      'panel errors-rate: points at nothing',
    );
    expectProblem(
      problemsAfter((find) => {
        editJson(find('nova-dashboard-errors'), 'panelsJSON', (panels) => {
          delete panels[0]?.panelRefName;
        });
      }),
      'panel errors-total: shows nothing',
    );
    expectProblem(
      problemsAfter((find) => {
        editJson(find('nova-dashboard-errors'), 'panelsJSON', (panels) => {
          const grid = panels[1]?.gridData as Json;
          grid.x = 20;
        });
      }),
      'not on the 48-column grid',
    );
    expectProblem(
      problemsAfter((find) => {
        editJson(find('nova-dashboard-errors'), 'panelsJSON', (panels) => {
          const grid = panels[1]?.gridData as Json;
          grid.x = 6;
          grid.w = 30;
        });
      }),
      'panel errors-rate overlaps panel errors-total',
    );
  });

  it('an embedded (by-value) Lens panel is checked like a saved one', () => {
    const embed = (change: (lens: LoadedObject) => void) =>
      problemsAfter((find) => {
        const lens = structuredClone(find('nova-lens-errors-total'));
        change(lens);
        const dashboard = find('nova-dashboard-errors');
        dashboard.object.references = dashboard.object.references.filter(
          (r) => !r.name.startsWith('errors-total:'),
        );
        editJson(dashboard, 'panelsJSON', (panels) => {
          const panel = panels[0] as Json;
          delete panel.panelRefName;
          panel.embeddableConfig = {
            attributes: { ...lens.object.attributes, references: lens.object.references },
          };
        });
      });
    // Still valid, except that the saved Lens is now on no panel.
    expect(embed(() => undefined)).toEqual([
      expect.stringContaining('nova-lens-errors-total: on no panel'),
    ]);
    expectProblem(
      embed((lens) => {
        const columns = layer(lens).columns;
        if (columns.errors)
          Object.assign(columns.errors, { operationType: 'max', sourceField: 'error.code' });
      }),
      'panel errors-total (by value): layer main column errors: max on error.code (keyword)',
    );
  });

  it('a visualization on no panel of its dashboard', () => {
    expectProblem(
      problemsAfter((find) => {
        const dashboard = find('nova-dashboard-errors');
        editJson(dashboard, 'panelsJSON', (panels) => {
          panels.splice(2, 1);
        });
        dashboard.object.references = dashboard.object.references.filter(
          (r) => r.id !== 'nova-lens-errors-top-types',
        );
      }),
      'nova-lens-errors-top-types: on no panel',
    );
  });

  it('objects out of order, or keys not sorted', () => {
    const text = readFileSync(join(DIR, 'errors.ndjson'), 'utf8');
    const lines = text.trimEnd().split('\n');
    const swapped = `${[lines[1], lines[0], ...lines.slice(2)].join('\n')}\n`;
    expectProblem(
      stableFormProblems('errors.ndjson', swapped),
      'errors.ndjson:1: not in the stable form',
    );
    const first = JSON.parse(lines[0] as string) as Json;
    const unsorted = `${[JSON.stringify({ type: first.type, ...first }), ...lines.slice(1)].join('\n')}\n`;
    expectProblem(
      stableFormProblems('errors.ndjson', unsorted),
      'errors.ndjson:1: not in the stable form',
    );
  });
});
