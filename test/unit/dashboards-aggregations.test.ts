/**
 * The searches behind dashboards/ (test/support/dashboards/aggregations.ts), offline: every
 * Lens visualization and saved search translates into an Elasticsearch request on fields the
 * nova_logs mapping has, a few requests are pinned exactly, and whatever the translator does
 * not know (another operationType, KQL it does not read, a column filter…) throws naming the
 * object and column. The live Elasticsearch suite runs these requests against a cluster.
 */
import type { estypes } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DASHBOARDS_DIR,
  loadSavedObjects,
  type SavedObject,
} from '../../src/bootstrap/kibana/saved-objects.js';
import { elasticSpecs } from '../../src/lib/db/elastic/index-specs.js';
import { defaultRetentionMs } from '../../src/lib/telemetry/collections.js';
import {
  autoInterval,
  dataViewsOf,
  kqlToQuery,
  SEARCHED_TYPES,
  searchBodiesFor,
  searchBodyFor,
  TranslationError,
} from '../support/dashboards/aggregations.js';
import { fieldOf } from '../support/dashboards/fields.js';
import { fieldsOf } from '../support/dashboards/mappings.js';

type Json = Record<string, unknown>;

const objects = loadSavedObjects(DEFAULT_DASHBOARDS_DIR).flatMap((f) =>
  f.objects.map((l) => l.object),
);
const views = dataViewsOf(objects);
const searched = objects.filter((o) => (SEARCHED_TYPES as readonly string[]).includes(o.type));
const specs = elasticSpecs({ embeddingDims: 1536, retentionMs: defaultRetentionMs() });
const NOW = new Date('2024-05-01T12:00:00.000Z');
const at = { now: NOW };

const object = (id: string): SavedObject => {
  const found = objects.find((o) => o.id === id);
  if (!found) throw new Error(`no object ${id} in dashboards/`);
  return structuredClone(found);
};
const layer = (o: SavedObject) =>
  (((o.attributes.state as Json).datasourceStates as Json).formBased as { layers: Json }).layers
    .main as { columns: Record<string, Json>; columnOrder: string[] };

/** The time range filter every request starts with: the 7 days before NOW. */
const lastWeek = {
  range: {
    '@timestamp': {
      gte: '2024-04-24T12:00:00.000Z',
      lte: '2024-05-01T12:00:00.000Z',
      format: 'strict_date_optional_time',
    },
  },
};
const histogram = {
  field: '@timestamp',
  fixed_interval: '3h',
  time_zone: 'UTC',
  min_doc_count: 0,
  extended_bounds: { min: Date.parse('2024-04-24T12:00:00Z'), max: NOW.getTime() },
};
const byCount = { _count: 'desc' };

/** Every field a request names: aggregation fields, query fields, requested fields, sort. */
function fieldsNamed(request: estypes.SearchRequest): string[] {
  const found = new Set<string>();
  const walk = (value: unknown, key?: string) => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v, key === 'fields' ? 'field' : undefined);
      return;
    }
    if (typeof value === 'string' && key === 'field') found.add(value);
    if (typeof value !== 'object' || value === null) return;
    for (const [k, v] of Object.entries(value)) {
      // Query clauses are keyed by field; a range aggregation (with `ranges`) is not.
      const clause = ['match', 'match_phrase', 'range', 'term'].includes(key ?? '');
      if (clause && !('ranges' in value)) found.add(k);
      walk(v, k);
    }
  };
  walk({ query: request.query, aggs: request.aggs, fields: request.fields });
  for (const s of [request.sort ?? []].flat()) found.add(Object.keys(s as Json)[0] as string);
  return [...found].sort();
}

/** The aggregation names from the top down to the innermost bucket, and its children. */
function nesting(aggs: Record<string, estypes.AggregationsAggregationContainer> | undefined) {
  const path: string[] = [];
  let level = aggs ?? {};
  for (;;) {
    const bucket = Object.entries(level).find(([, a]) => a.aggs);
    if (!bucket) return { path, innermost: Object.keys(level).sort() };
    path.push(bucket[0]);
    level = bucket[1].aggs as typeof level;
  }
}

describe('every visualization and saved search of dashboards/', () => {
  it('dashboards/ has Lens visualizations and saved searches to translate', () => {
    expect(searched.filter((o) => o.type === 'lens').length).toBeGreaterThanOrEqual(10);
    expect(searched.filter((o) => o.type === 'search').length).toBeGreaterThanOrEqual(1);
  });

  it.each(searched.map((o) => [o.type, o.id, o] as const))(
    '%s %s translates into a search on mapped fields',
    (_type, _id, o) => {
      const translated = searchBodiesFor(o, views, at);
      expect(translated.length).toBeGreaterThanOrEqual(1);
      for (const { request, layerId } of translated) {
        const refName = o.type === 'lens' ? `indexpattern-datasource-layer-${layerId}` : undefined;
        const ref = o.references.find((r) =>
          refName ? r.name === refName : r.type === 'index-pattern',
        );
        const view = views.get(ref?.id ?? '');
        expect(request.index).toBe(view?.title);
        expect([request.query?.bool?.filter ?? []].flat()[0]).toEqual(lastWeek);
        const fields = fieldsOf(specs, view?.title ?? '') ?? new Map();
        const unmapped = fieldsNamed(request).filter((f) => !fieldOf(fields, f));
        expect(unmapped, `${o.id} names fields nova_logs does not map`).toEqual([]);
        if (o.type !== 'lens') continue;
        expect(request.size).toBe(0);
        // Buckets nest in column order; the metrics (all but counts) sit in the innermost one.
        const { columns, columnOrder } = (
          ((o.attributes.state as Json).datasourceStates as Json).formBased as {
            layers: Record<string, { columns: Record<string, Json>; columnOrder: string[] }>;
          }
        ).layers[layerId] as { columns: Record<string, Json>; columnOrder: string[] };
        const buckets = columnOrder.filter((id) => columns[id]?.isBucketed === true);
        const metrics = columnOrder.filter(
          (id) => columns[id]?.isBucketed === false && columns[id]?.operationType !== 'count',
        );
        const { path, innermost } = nesting(request.aggs);
        expect(path).toEqual(buckets.slice(0, path.length));
        const last = buckets.at(-1);
        expect(innermost).toEqual(
          [...(last && !path.includes(last) ? [last] : []), ...metrics].sort(),
        );
      }
    },
  );
});

describe('exact requests', () => {
  it('a percentile-over-time panel: a date histogram holding one percentiles per column', () => {
    expect(searchBodyFor(object('nova-lens-service-latency'), views, at)).toEqual({
      index: 'nova_logs',
      size: 0,
      track_total_hits: true,
      query: {
        bool: { filter: [lastWeek, { match: { 'event.dataset': 'performance_metrics' } }] },
      },
      aggs: {
        time: {
          date_histogram: histogram,
          aggs: {
            p50: { percentiles: { field: 'event.duration', percents: [50] } },
            p95: { percentiles: { field: 'event.duration', percents: [95] } },
            p99: { percentiles: { field: 'event.duration', percents: [99] } },
          },
        },
      },
    });
  });

  it('a top-terms table: terms by count, with a distinct count and a percentile inside', () => {
    expect(searchBodyFor(object('nova-lens-api-top-callers'), views, at)).toEqual({
      index: 'nova_logs',
      size: 0,
      track_total_hits: true,
      query: { bool: { filter: [lastWeek, { match: { 'event.dataset': 'api_usage' } }] } },
      aggs: {
        caller: {
          terms: { field: 'user.id', size: 15, order: byCount },
          aggs: {
            endpoints: { cardinality: { field: 'url.path' } },
            p95: { percentiles: { field: 'event.duration', percents: [95] } },
          },
        },
      },
    });
  });

  it('a filters panel: status classes as KQL ranges, per time bucket', () => {
    expect(searchBodyFor(object('nova-lens-api-status-classes'), views, at).aggs).toEqual({
      time: {
        date_histogram: histogram,
        aggs: {
          class: {
            filters: {
              filters: {
                '2xx/3xx': { range: { 'http.response.status_code': { lt: 400 } } },
                '4xx': {
                  bool: {
                    filter: [
                      { range: { 'http.response.status_code': { gte: 400 } } },
                      { range: { 'http.response.status_code': { lt: 500 } } },
                    ],
                  },
                },
                '5xx': { range: { 'http.response.status_code': { gte: 500 } } },
              },
            },
          },
        },
      },
    });
  });

  it('the zero-result queries panel: both KQL clauses filter, nested terms by count', () => {
    expect(searchBodyFor(object('nova-lens-search-zero-result-queries'), views, at)).toEqual({
      index: 'nova_logs',
      size: 0,
      track_total_hits: true,
      query: {
        bool: {
          filter: [
            lastWeek,
            { match: { 'event.dataset': 'search_analytics' } },
            { match: { 'search.result_count': 0 } },
          ],
        },
      },
      aggs: {
        query: {
          terms: { field: 'search.query', size: 20, order: byCount },
          aggs: { scope: { terms: { field: 'search.scope', size: 2, order: byCount } } },
        },
      },
    });
  });

  it('terms on several fields: multi_terms', () => {
    const request = searchBodyFor(object('nova-lens-service-dependency-status'), views, at);
    expect(request.aggs?.time?.aggs).toEqual({
      dependency: {
        multi_terms: {
          terms: [{ field: 'entity.id' }, { field: 'event.action' }],
          size: 20,
          order: byCount,
        },
      },
    });
  });

  it('a count without buckets: no aggregation, the exact total', () => {
    const request = searchBodyFor(object('nova-lens-errors-total'), views, at);
    expect(request.aggs).toBeUndefined();
    expect(request.track_total_hits).toBe(true);
  });

  it('a saved search: its columns as fields, its sort, the newest 500', () => {
    expect(searchBodyFor(object('nova-search-errors-latest'), views, at)).toEqual({
      index: 'nova_logs',
      size: 500,
      track_total_hits: true,
      query: { bool: { filter: [lastWeek, { match: { 'event.dataset': 'error_logs' } }] } },
      _source: false,
      fields: ['service.name', 'error.type', 'error.code', 'error.message', 'user.id', 'trace.id'],
      sort: [{ '@timestamp': { order: 'desc' } }],
    });
  });

  it('options: the range, extra filters and the sample size', () => {
    const request = searchBodyFor(object('nova-search-audit-latest'), views, {
      now: NOW,
      rangeMs: 3_600_000,
      filters: [{ term: { 'details.run': 'r1' } }],
      sampleSize: 5,
    });
    expect(request.size).toBe(5);
    expect(request.query?.bool?.filter).toEqual([
      {
        range: {
          '@timestamp': {
            gte: '2024-05-01T11:00:00.000Z',
            lte: '2024-05-01T12:00:00.000Z',
            format: 'strict_date_optional_time',
          },
        },
      },
      { match: { 'event.dataset': 'audit_logs' } },
      { term: { 'details.run': 'r1' } },
    ]);
  });
});

describe('KQL', () => {
  it.each([
    ['', { match_all: {} }],
    ['event.dataset: api_usage', { match: { 'event.dataset': 'api_usage' } }],
    ['search.query: "vpn setup"', { match_phrase: { 'search.query': 'vpn setup' } }],
    ['search.query: "say \\"hi\\""', { match_phrase: { 'search.query': 'say "hi"' } }],
    ['error.code: *', { exists: { field: 'error.code' } }],
    ['http.response.status_code >= 500', { range: { 'http.response.status_code': { gte: 500 } } }],
    ['event.duration<1e3', { range: { 'event.duration': { lt: '1e3' } } }],
    ['search.result_count: 0', { match: { 'search.result_count': 0 } }],
    ['error.code: 007', { match: { 'error.code': '007' } }],
    ['details.ok: true', { match: { 'details.ok': true } }],
    ['url.path: \\/api\\/tickets\\/\\:id', { match: { 'url.path': '/api/tickets/:id' } }],
    [
      'not event.outcome: success',
      { bool: { must_not: [{ match: { 'event.outcome': 'success' } }] } },
    ],
    [
      'a: 1 or b: 2 and c: 3',
      {
        bool: {
          should: [
            { match: { a: 1 } },
            { bool: { filter: [{ match: { b: 2 } }, { match: { c: 3 } }] } },
          ],
          minimum_should_match: 1,
        },
      },
    ],
    [
      '(a: 1 OR b: 2) AND NOT c: 3',
      {
        bool: {
          filter: [
            {
              bool: { should: [{ match: { a: 1 } }, { match: { b: 2 } }], minimum_should_match: 1 },
            },
            { bool: { must_not: [{ match: { c: 3 } }] } },
          ],
        },
      },
    ],
    [
      'a: 1 or b: 2 or c: 3',
      {
        bool: {
          should: [{ match: { a: 1 } }, { match: { b: 2 } }, { match: { c: 3 } }],
          minimum_should_match: 1,
        },
      },
    ],
  ] as const)('%s', (kql, query) => {
    expect(kqlToQuery(kql)).toEqual(query);
  });

  it.each([
    ['vpn', /free text vpn/],
    ['"vpn setup"', /free text "vpn setup"/],
    ['url.path: /api/*', /wildcard values/],
    ['url.*: x', /field wildcards/],
    ['event.dataset: (api_usage or error_logs)', /value lists/],
    ['details: { run: x }', /nested field/],
    ['event.dataset: api usage', /expected and, or or the end, found usage/],
    ['(a: 1', /unbalanced parenthesis/],
    ['a:', /no value after a :/],
    ['a: "open', /unterminated/],
  ])('%s throws', (kql, message) => {
    expect(() => kqlToQuery(kql)).toThrow(message);
  });
});

describe('what is not translated throws, naming the object and column', () => {
  const fails = (o: SavedObject, message: RegExp) => {
    expect(() => searchBodiesFor(o, views, at)).toThrow(TranslationError);
    expect(() => searchBodiesFor(o, views, at)).toThrow(message);
  };

  it('an unknown operationType', () => {
    const o = object('nova-lens-service-latency');
    (layer(o).columns.p95 as Json).operationType = 'median';
    fails(
      o,
      /^lens nova-lens-service-latency, layer main, column p95: operationType median is not translated/,
    );
  });

  it('KQL it does not read, in the visualization query or a filters column', () => {
    const o = object('nova-lens-api-top-endpoints');
    ((o.attributes.state as Json).query as Json).query = 'event.dataset: api_*';
    fails(
      o,
      /^lens nova-lens-api-top-endpoints, layer main: KQL "event.dataset: api_\*": wildcard values/,
    );
    const f = object('nova-lens-api-status-classes');
    const params = layer(f).columns.class?.params as { filters: { input: Json }[] };
    (params.filters[2] as { input: Json }).input.query = 'http.response.status_code >= 5*';
    fails(f, /column class, filter 5xx: KQL .*a wildcard in a range/);
  });

  it('a saved search with KQL it does not read', () => {
    const o = object('nova-search-audit-latest');
    const meta = o.attributes.kibanaSavedObjectMeta as Json;
    const source = JSON.parse(meta.searchSourceJSON as string) as Json;
    source.query = { language: 'kuery', query: 'audit' };
    meta.searchSourceJSON = JSON.stringify(source);
    fails(o, /^search nova-search-audit-latest: KQL "audit": free text audit/);
  });

  it('column settings that change the request: a column filter, a time shift, an unknown param', () => {
    const filtered = object('nova-lens-api-top-endpoints');
    (layer(filtered).columns.requests as Json).filter = { language: 'kuery', query: 'a: 1' };
    fails(filtered, /column requests: filter is not translated/);
    const shifted = object('nova-lens-api-top-endpoints');
    (layer(shifted).columns.requests as Json).timeShift = '1d';
    fails(shifted, /column requests: timeShift is not translated/);
    const include = object('nova-lens-api-top-endpoints');
    ((layer(include).columns.endpoint as Json).params as Json).include = ['/api/a'];
    fails(include, /column endpoint: terms param include is not translated/);
  });

  it('a count of a field, terms ordered by a percentile, a histogram range', () => {
    const count = object('nova-lens-errors-total');
    (layer(count).columns.errors as Json).sourceField = 'error.type';
    fails(count, /column errors: count of a field \(error.type\)/);
    const ordered = object('nova-lens-api-top-callers');
    ((layer(ordered).columns.caller as Json).params as Json).orderBy = {
      type: 'column',
      columnId: 'p95',
    };
    fails(ordered, /column caller: terms ordered by a percentile column/);
    const histogramRange = object('nova-lens-search-top-queries');
    layer(histogramRange).columns.query = {
      operationType: 'range',
      sourceField: 'search.result_count',
      isBucketed: true,
      params: { type: 'histogram', maxBars: 'auto', ranges: [] },
    };
    fails(histogramRange, /column query: range of type histogram/);
  });

  it('a layer without its data view, a text-based layer, incomplete columns', () => {
    const orphan = object('nova-lens-errors-total');
    orphan.references = [];
    fails(orphan, /^lens nova-lens-errors-total, layer main: no data view/);
    const esql = object('nova-lens-errors-total');
    ((esql.attributes.state as Json).datasourceStates as Json).textBased = {
      layers: { q: { query: { esql: 'FROM nova_logs' } } },
    };
    fails(esql, /^lens nova-lens-errors-total: textBased layers are not translated/);
    const incomplete = object('nova-lens-errors-total');
    (layer(incomplete) as Json).incompleteColumns = { x: { operationType: 'sum' } };
    fails(incomplete, /layer main: incomplete columns/);
  });
});

describe('the rest of what is translated', () => {
  it('date histogram intervals: auto by range, a single calendar unit, fixed multiples', () => {
    expect(autoInterval(24 * 3_600_000)).toBe('30m');
    expect(autoInterval(7 * 86_400_000)).toBe('3h');
    expect(autoInterval(15 * 60_000)).toBe('30s');
    expect(autoInterval(365 * 86_400_000)).toBe('7d');
    const interval = (value: string) => {
      const o = object('nova-lens-search-latency');
      ((layer(o).columns.time as Json).params as Json).interval = value;
      const { date_histogram } = searchBodyFor(o, views, at).aggs?.time ?? {};
      return { fixed: date_histogram?.fixed_interval, calendar: date_histogram?.calendar_interval };
    };
    expect(interval('1h')).toEqual({ fixed: undefined, calendar: '1h' });
    expect(interval('w')).toEqual({ fixed: undefined, calendar: '1w' });
    expect(interval('30m')).toEqual({ fixed: '30m', calendar: undefined });
    expect(() => interval('2w')).toThrow(
      /column time: interval 2w: calendar units take no multiple/,
    );
  });

  it('without empty rows, a histogram drops empty buckets and has no bounds', () => {
    const o = object('nova-lens-search-latency');
    ((layer(o).columns.time as Json).params as Json).includeEmptyRows = false;
    expect(searchBodyFor(o, views, at).aggs?.time?.date_histogram).toEqual({
      field: '@timestamp',
      fixed_interval: '3h',
      time_zone: 'UTC',
      min_doc_count: 1,
    });
  });

  it('explicit ranges, alphabetical order, ordering by a single-value metric it then holds', () => {
    const o = object('nova-lens-search-top-queries');
    const columns = layer(o).columns;
    columns.query = {
      operationType: 'range',
      sourceField: 'search.result_count',
      isBucketed: true,
      params: {
        type: 'range',
        ranges: [
          { from: null, to: 1, label: 'none' },
          { from: 1, to: null, label: '' },
        ],
      },
    };
    expect(searchBodyFor(o, views, at).aggs?.query?.range).toEqual({
      field: 'search.result_count',
      ranges: [{ to: 1, key: 'none' }, { from: 1 }],
    });

    const ordered = object('nova-lens-api-top-callers');
    const caller = layer(ordered).columns.caller as { params: Json };
    caller.params.orderBy = { type: 'column', columnId: 'endpoints' };
    expect(searchBodyFor(ordered, views, at).aggs?.caller?.terms?.order).toEqual({
      endpoints: 'desc',
    });
    caller.params.orderBy = { type: 'alphabetical' };
    caller.params.orderDirection = 'asc';
    expect(searchBodyFor(ordered, views, at).aggs?.caller?.terms?.order).toEqual({ _key: 'asc' });

    // Ordering an outer terms by a metric: the metric is also a direct child of that terms.
    const outer = object('nova-lens-api-top-endpoints');
    const l = layer(outer);
    l.columns.paths = {
      operationType: 'unique_count',
      sourceField: 'user.id',
      isBucketed: false,
      params: {},
    };
    l.columnOrder.push('paths');
    ((l.columns.endpoint as Json).params as Json).orderBy = { type: 'column', columnId: 'paths' };
    expect(searchBodyFor(outer, views, at).aggs?.endpoint).toEqual({
      terms: { field: 'url.path', size: 15, order: { paths: 'desc' } },
      aggs: {
        method: {
          terms: { field: 'http.request.method', size: 6, order: byCount },
          aggs: { paths: { cardinality: { field: 'user.id' } } },
        },
        paths: { cardinality: { field: 'user.id' } },
      },
    });
  });

  it('filter pills (negated, disabled) and Lucene queries', () => {
    const o = object('nova-lens-errors-total');
    const state = o.attributes.state as Json;
    state.query = { language: 'lucene', query: 'error.type:TypeError' };
    state.filters = [
      { meta: { negate: false }, query: { match_phrase: { 'service.name': 'nova' } } },
      { meta: { negate: true }, query: { match_phrase: { 'error.code': 'E_LIVE' } } },
      { meta: { disabled: true }, query: { match_phrase: { 'user.id': 'u1' } } },
    ];
    expect(searchBodyFor(o, views, at).query).toEqual({
      bool: {
        filter: [
          lastWeek,
          { query_string: { query: 'error.type:TypeError' } },
          { match_phrase: { 'service.name': 'nova' } },
        ],
        must_not: [{ match_phrase: { 'error.code': 'E_LIVE' } }],
      },
    });
    state.filters = [{ meta: {}, exists: { field: 'error.code' } }];
    expect(() => searchBodyFor(o, views, at)).toThrow(/filter 0 has no query/);
  });

  it('a Lens with two layers gives two searches; searchBodyFor wants one', () => {
    const o = object('nova-lens-errors-total');
    const layers = (((o.attributes.state as Json).datasourceStates as Json).formBased as Json)
      .layers as Json;
    layers.second = structuredClone(layers.main);
    o.references.push({
      type: 'index-pattern',
      id: 'nova-logs',
      name: 'indexpattern-datasource-layer-second',
    });
    expect(searchBodiesFor(o, views, at).map((s) => s.layerId)).toEqual(['main', 'second']);
    expect(() => searchBodyFor(o, views, at)).toThrow(/2 layers, use searchBodiesFor/);
    expect(() => searchBodyFor(object('nova-dashboard-errors'), views, at)).toThrow(
      /no search behind a dashboard/,
    );
  });
});
