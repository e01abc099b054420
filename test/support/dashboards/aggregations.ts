/**
 * The Elasticsearch search behind each visualization of dashboards/: what Kibana asks of
 * nova_logs when a panel draws, so the live suite can run it against a real cluster.
 *
 * A Lens object gives one search per form-based layer, on the layer's data view:
 * - `size: 0`, `track_total_hits: true`;
 * - the query: a time range on the data view's time field (last 7 days by default), the
 *   visualization's query (KQL, or Lucene as `query_string`), its filter pills, and any
 *   extra filters the caller adds (the live suite's per-run filter);
 * - the aggregations: bucket columns nested in `columnOrder` order, metric columns inside the
 *   innermost bucket (or at the top without buckets). Aggregations are named by column id.
 *
 * | Lens column | Elasticsearch |
 * |---|---|
 * | terms | `terms` (size, order by `_count`, `_key` or a single-value metric column); with `secondaryFields`, `multi_terms` |
 * | date_histogram | `date_histogram`: `fixed_interval`, or `calendar_interval` for a single calendar unit (1h, 1d, 1w, 1M…); `auto` is about 50 buckets over the range, as Kibana picks; empty rows: `min_doc_count: 0` with `extended_bounds` |
 * | filters | `filters`, keyed by label, each KQL or Lucene query translated |
 * | range (explicit ranges) | `range` |
 * | count (of records) | nothing: the buckets' `doc_count`, or `hits.total` |
 * | percentile | `percentiles` with `percents: [p]` |
 * | average, sum, min, max | `avg`, `sum`, `min`, `max` |
 * | unique_count | `cardinality` |
 *
 * Display-only settings (labels, formats, `timeScale`, `emptyAsNull`, `parentFormat`) change
 * nothing in the request. Kibana's "Other" bucket is a second request made after the first
 * answers; it is not built here. Anything else (another operationType, a column filter, a time
 * shift, a formula, a KQL wildcard…) throws a TranslationError naming the object, layer and
 * column: a new kind of panel fails here until it is translated, never passes untried.
 *
 * A saved search gives the Discover request: its query and filters, the columns as `fields`,
 * its sort, the newest `sampleSize` hits.
 *
 * KQL: `field: value`, `field: "phrase"`, `field: *`, `field < <= > >= value`, `and`, `or`,
 * `not`, parentheses, keywords in any case, `\` escapes in unquoted values; translated as
 * Kibana does (`match`, `match_phrase`, `exists`, `range`, `bool`). Free text, wildcards,
 * value lists (`field: (a or b)`) and nested fields (`field: { … }`) throw.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { SavedObject } from '../../../src/bootstrap/kibana/saved-objects.js';

type Query = estypes.QueryDslQueryContainer;
type Agg = estypes.AggregationsAggregationContainer;
type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Something the translator does not know, named by where it is. */
export class TranslationError extends Error {
  override name = 'TranslationError';
}

export interface DataView {
  id: string;
  /** The index pattern: an index, data stream or alias name (comma-separated for several). */
  title: string;
  timeFieldName?: string;
}
export type DataViews = ReadonlyMap<string, DataView>;

/** The data views (`index-pattern` objects) among `objects`, by id. */
export function dataViewsOf(objects: Iterable<SavedObject>): DataViews {
  const views = new Map<string, DataView>();
  for (const o of objects) {
    if (o.type !== 'index-pattern') continue;
    const { title, timeFieldName } = o.attributes;
    if (typeof title !== 'string' || title === '') {
      throw new TranslationError(`index-pattern ${o.id}: no title`);
    }
    views.set(o.id, {
      id: o.id,
      title,
      ...(typeof timeFieldName === 'string' ? { timeFieldName } : {}),
    });
  }
  return views;
}

export interface TranslateOptions {
  /** The end of the time range; default: now. */
  now?: Date;
  /** The length of the time range; default 7 days. */
  rangeMs?: number;
  /** More filters, ANDed with the visualization's query (e.g. `term details.run`). */
  filters?: Query[];
  /** Hits a saved search asks for; default 500 (Discover's sample size). */
  sampleSize?: number;
}

/** One search of an object: the object's id, its layer ('' for a saved search), the request. */
export interface TranslatedSearch {
  objectId: string;
  layerId: string;
  request: estypes.SearchRequest;
}

const DAY_MS = 86_400_000;
export const DEFAULT_RANGE_MS = 7 * DAY_MS;
export const DEFAULT_SAMPLE_SIZE = 500;

// ---------------------------------------------------------------------------------------
// KQL

type Token =
  | { kind: '(' | ')' | 'and' | 'or' | 'not' | 'end'; at: number }
  | { kind: 'op'; op: ':' | '<' | '<=' | '>' | '>='; at: number }
  | { kind: 'word'; text: string; wildcard: boolean; at: number }
  | { kind: 'quoted'; text: string; at: number };

const SPECIAL = new Set([...'()":<>{}\\']);

function tokenize(kql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < kql.length) {
    const c = kql[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c, at: i++ });
    } else if (c === '<' || c === '>') {
      const op = kql[i + 1] === '=' ? (`${c}=` as const) : c;
      tokens.push({ kind: 'op', op, at: i });
      i += op.length;
    } else if (c === ':') {
      tokens.push({ kind: 'op', op: ':', at: i++ });
    } else if (c === '"') {
      const at = i++;
      let text = '';
      while (i < kql.length && kql[i] !== '"') {
        if (kql[i] === '\\') i++;
        text += kql[i++] ?? '';
      }
      if (i >= kql.length) throw new Error(`unterminated quoted value at ${at}`);
      i++;
      tokens.push({ kind: 'quoted', text, at });
    } else if (c === '{' || c === '}') {
      throw new Error(`nested field queries ({ … }) are not translated (at ${i})`);
    } else {
      const at = i;
      let text = '';
      let escaped = false;
      let wildcard = false;
      while (i < kql.length && !/\s/.test(kql[i] as string)) {
        const d = kql[i] as string;
        if (d === '\\') {
          escaped = true;
          text += kql[i + 1] ?? '';
          i += 2;
          continue;
        }
        if (SPECIAL.has(d)) break;
        if (d === '*') wildcard = true;
        text += d;
        i++;
      }
      const keyword = text.toLowerCase();
      if (!escaped && (keyword === 'and' || keyword === 'or' || keyword === 'not')) {
        tokens.push({ kind: keyword, at });
      } else {
        tokens.push({ kind: 'word', text, wildcard, at });
      }
    }
  }
  tokens.push({ kind: 'end', at: kql.length });
  return tokens;
}

/** Kibana's reading of an unquoted value: true/false, a number, else the text. */
function literal(text: string): estypes.FieldValue {
  if (text === 'true') return true;
  if (text === 'false') return false;
  return /^-?([1-9]\d*|0)(\.\d+)?$|^-?\.\d+$/.test(text) ? Number(text) : text;
}

function flatten(kind: 'filter' | 'should', parts: Query[]): Query[] {
  return parts.flatMap((p) => {
    const bool = p.bool;
    const only = bool && Object.keys(bool).length === (kind === 'should' ? 2 : 1);
    if (only && kind === 'filter' && bool.filter) return bool.filter as Query[];
    if (only && kind === 'should' && bool.should && bool.minimum_should_match === 1) {
      return bool.should as Query[];
    }
    return [p];
  });
}

/**
 * The Elasticsearch query of a KQL query (the subset listed above); match_all when empty.
 * Throws an Error saying what it does not translate, and where.
 */
export function kqlToQuery(kql: string): Query {
  const tokens = tokenize(kql);
  let pos = 0;
  const peek = () => tokens[pos] as Token;
  const next = () => tokens[pos++] as Token;
  const fail = (token: Token, what: string): never => {
    throw new Error(`${what} (at ${token.at})`);
  };

  const clause = (): Query => {
    const token = next();
    if (token.kind === '(') {
      const inner = or();
      if (next().kind !== ')') fail(token, 'unbalanced parenthesis');
      return inner;
    }
    if (token.kind === 'quoted') return fail(token, `free text "${token.text}" (no field)`);
    if (token.kind !== 'word') return fail(token, `expected a field, found ${token.kind}`);
    const operator = next();
    if (operator.kind !== 'op') return fail(token, `free text ${token.text} (no field)`);
    const field = token.text;
    if (token.wildcard) fail(token, `field wildcards (${field}) are not translated`);
    const value = next();
    if (value.kind === '(') return fail(value, `value lists (${field}: (…)) are not translated`);
    if (value.kind !== 'word' && value.kind !== 'quoted') {
      return fail(value, `no value after ${field} ${operator.op}`);
    }
    if (operator.op !== ':') {
      if (value.kind === 'word' && value.wildcard) fail(value, 'a wildcard in a range');
      const bound = value.kind === 'word' ? literal(value.text) : value.text;
      const key = { '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' }[operator.op];
      return { range: { [field]: { [key]: bound } } };
    }
    if (value.kind === 'quoted') return { match_phrase: { [field]: value.text } };
    if (value.text === '*') return { exists: { field } };
    if (value.wildcard) return fail(value, `wildcard values (${value.text}) are not translated`);
    return { match: { [field]: literal(value.text) } };
  };
  const not = (): Query => {
    if (peek().kind !== 'not') return clause();
    next();
    return { bool: { must_not: [not()] } };
  };
  const and = (): Query => {
    const parts = [not()];
    while (peek().kind === 'and') {
      next();
      parts.push(not());
    }
    return parts.length === 1
      ? (parts[0] as Query)
      : { bool: { filter: flatten('filter', parts) } };
  };
  const or = (): Query => {
    const parts = [and()];
    while (peek().kind === 'or') {
      next();
      parts.push(and());
    }
    return parts.length === 1
      ? (parts[0] as Query)
      : { bool: { should: flatten('should', parts), minimum_should_match: 1 } };
  };

  if (peek().kind === 'end') return { match_all: {} };
  const query = or();
  const rest = peek();
  if (rest.kind !== 'end') {
    fail(
      rest,
      `expected and, or or the end, found ${rest.kind === 'word' ? rest.text : rest.kind}`,
    );
  }
  return query;
}

/** A Kibana query object ({language, query}) as Elasticsearch DSL. */
function queryOf(value: unknown, where: string): Query {
  if (!isRecord(value)) throw new TranslationError(`${where}: no query object`);
  const { language, query } = value;
  if (typeof query !== 'string') {
    throw new TranslationError(`${where}: query ${JSON.stringify(query)} is not a string`);
  }
  if (language === 'lucene') {
    return query.trim() === '' ? { match_all: {} } : { query_string: { query } };
  }
  if (language !== 'kuery') {
    throw new TranslationError(`${where}: query language ${String(language)} is not translated`);
  }
  try {
    return kqlToQuery(query);
  } catch (error) {
    throw new TranslationError(`${where}: KQL "${query}": ${(error as Error).message}`);
  }
}

/** Kibana filter pills: `{meta: {disabled, negate}, query}`; disabled ones are skipped. */
function filterPills(value: unknown, where: string): { filter: Query[]; mustNot: Query[] } {
  const filter: Query[] = [];
  const mustNot: Query[] = [];
  if (value === undefined) return { filter, mustNot };
  if (!Array.isArray(value)) throw new TranslationError(`${where}: filters is not a list`);
  value.forEach((pill, i) => {
    const meta = isRecord(pill) ? pill.meta : undefined;
    if (!isRecord(pill) || !isRecord(meta)) {
      throw new TranslationError(`${where}: filter ${i} has no meta`);
    }
    if (meta.disabled === true) return;
    if (!isRecord(pill.query)) {
      throw new TranslationError(
        `${where}: filter ${i} has no query (legacy filters are not translated)`,
      );
    }
    (meta.negate === true ? mustNot : filter).push(pill.query as Query);
  });
  return { filter, mustNot };
}

// ---------------------------------------------------------------------------------------
// Time

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };
/** Kibana's round intervals for `auto`. */
const AUTO_INTERVALS = [
  '1s',
  '5s',
  '10s',
  '30s',
  '1m',
  '5m',
  '10m',
  '30m',
  '1h',
  '3h',
  '12h',
  '1d',
  '7d',
  '30d',
  '365d',
];
const intervalMs = (interval: string) => {
  const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(interval) ?? [];
  return Number(n) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
};

/** The interval `auto` picks: the round one nearest to 50 buckets, with at most 100. */
export function autoInterval(rangeMs: number): string {
  const target = rangeMs / 50;
  const distance = (interval: string) => Math.abs(Math.log(intervalMs(interval) / target));
  let best = 0;
  for (const [i, interval] of AUTO_INTERVALS.entries()) {
    if (distance(interval) < distance(AUTO_INTERVALS[best] as string)) best = i;
  }
  const last = AUTO_INTERVALS.length - 1;
  while (best < last && rangeMs / intervalMs(AUTO_INTERVALS[best] as string) > 100) best++;
  return AUTO_INTERVALS[best] as string;
}

/** `fixed_interval` or `calendar_interval` of a Lens interval, as Kibana sends it. */
function histogramInterval(
  interval: string,
  rangeMs: number,
): Pick<estypes.AggregationsDateHistogramAggregation, 'fixed_interval' | 'calendar_interval'> {
  if (interval === 'auto') return { fixed_interval: autoInterval(rangeMs) };
  const [, count = '1', unit] = /^(\d+)?(ms|s|m|h|d|w|M|q|y)$/.exec(interval) ?? [];
  if (!unit) throw new Error(`interval ${interval} is not translated`);
  if (count === '1' && ['m', 'h', 'd', 'w', 'M', 'q', 'y'].includes(unit)) {
    return { calendar_interval: `1${unit}` as estypes.AggregationsCalendarInterval };
  }
  if (['w', 'M', 'q', 'y'].includes(unit)) {
    throw new Error(`interval ${interval}: calendar units take no multiple`);
  }
  return { fixed_interval: `${count}${unit}` };
}

interface Range {
  fromMs: number;
  toMs: number;
}

function timeRange(options: TranslateOptions): Range {
  const toMs = (options.now ?? new Date()).getTime();
  return { fromMs: toMs - (options.rangeMs ?? DEFAULT_RANGE_MS), toMs };
}

function topQuery(view: DataView, range: Range, parts: Query[], mustNot: Query[]): Query {
  const time: Query[] = view.timeFieldName
    ? [
        {
          range: {
            [view.timeFieldName]: {
              gte: new Date(range.fromMs).toISOString(),
              lte: new Date(range.toMs).toISOString(),
              format: 'strict_date_optional_time',
            },
          },
        },
      ]
    : [];
  const filter = flatten('filter', [...time, ...parts.filter((q) => !q.match_all)]);
  return { bool: { filter, ...(mustNot.length > 0 ? { must_not: mustNot } : {}) } };
}

// ---------------------------------------------------------------------------------------
// Lens

/** Column keys that change nothing in the request (display, or checked offline). */
const COLUMN_KEYS = new Set([
  'operationType',
  'sourceField',
  'params',
  'label',
  'customLabel',
  'dataType',
  'isBucketed',
  'scale',
  'timeScale',
]);

/** operationType to the params it may carry (`format` is display-only everywhere). */
const OPERATIONS: Record<string, { bucket: boolean; params: string[] }> = {
  terms: {
    bucket: true,
    params: [
      'size',
      'orderBy',
      'orderDirection',
      'otherBucket',
      'missingBucket',
      'parentFormat',
      'secondaryFields',
    ],
  },
  date_histogram: {
    bucket: true,
    params: ['interval', 'includeEmptyRows', 'dropPartials', 'ignoreTimeRange'],
  },
  filters: { bucket: true, params: ['filters'] },
  range: {
    bucket: true,
    params: ['type', 'ranges', 'maxBars', 'parentFormat', 'includeEmptyRows'],
  },
  count: { bucket: false, params: ['emptyAsNull'] },
  percentile: { bucket: false, params: ['percentile'] },
  average: { bucket: false, params: ['emptyAsNull'] },
  sum: { bucket: false, params: ['emptyAsNull'] },
  min: { bucket: false, params: ['emptyAsNull'] },
  max: { bucket: false, params: ['emptyAsNull'] },
  unique_count: { bucket: false, params: ['emptyAsNull'] },
};
const SINGLE_VALUE_METRICS: Record<string, 'avg' | 'sum' | 'min' | 'max' | 'cardinality'> = {
  average: 'avg',
  sum: 'sum',
  min: 'min',
  max: 'max',
  unique_count: 'cardinality',
};

interface Column {
  id: string;
  op: string;
  field: string;
  params: Json;
}

interface LayerContext {
  where: string;
  columns: Map<string, Column>;
  view: DataView;
  range: Range;
}

function readColumn(id: string, raw: unknown, where: string): Column {
  const at = `${where}, column ${id}`;
  if (!isRecord(raw)) throw new TranslationError(`${at}: not an object`);
  const op = String(raw.operationType);
  const spec = OPERATIONS[op];
  if (!spec) {
    throw new TranslationError(
      `${at}: operationType ${op} is not translated (known: ${Object.keys(OPERATIONS).join(', ')})`,
    );
  }
  for (const key of Object.keys(raw)) {
    if (!COLUMN_KEYS.has(key)) throw new TranslationError(`${at}: ${key} is not translated`);
  }
  const params = raw.params ?? {};
  if (!isRecord(params)) throw new TranslationError(`${at}: params is not an object`);
  for (const key of Object.keys(params)) {
    if (key !== 'format' && !spec.params.includes(key)) {
      throw new TranslationError(`${at}: ${op} param ${key} is not translated`);
    }
  }
  if (raw.isBucketed !== undefined && raw.isBucketed !== spec.bucket) {
    throw new TranslationError(`${at}: ${op} with isBucketed ${String(raw.isBucketed)}`);
  }
  const field = raw.sourceField;
  if (op === 'count') {
    if (field !== '___records___') {
      throw new TranslationError(`${at}: count of a field (${String(field)}) is not translated`);
    }
  } else if (op !== 'filters' && (typeof field !== 'string' || field === '')) {
    throw new TranslationError(`${at}: ${op} without a sourceField`);
  }
  return { id, op, field: typeof field === 'string' ? field : '', params };
}

function metricAgg(column: Column, where: string): Agg | undefined {
  const { op, field, params } = column;
  if (op === 'count') return undefined;
  if (op === 'percentile') {
    const p = params.percentile;
    if (typeof p !== 'number' || !(p > 0 && p <= 100)) {
      throw new TranslationError(`${where}: percentile ${String(p)} is not in (0, 100]`);
    }
    return { percentiles: { field, percents: [p] } };
  }
  const agg = SINGLE_VALUE_METRICS[op];
  if (!agg) throw new TranslationError(`${where}: ${op} is not a metric`);
  return { [agg]: { field } };
}

/** The terms `order` and, for a metric ordering, the metric the terms must hold. */
function termsOrder(
  column: Column,
  ctx: LayerContext,
  at: string,
): { order: estypes.AggregationsAggregateOrder; child?: [string, Agg] } {
  const direction = column.params.orderDirection ?? 'desc';
  if (direction !== 'asc' && direction !== 'desc') {
    throw new TranslationError(`${at}: orderDirection ${String(direction)}`);
  }
  const orderBy = isRecord(column.params.orderBy) ? column.params.orderBy : { type: 'column' };
  if (orderBy.type === 'alphabetical') return { order: { _key: direction } };
  if (orderBy.type !== 'column') {
    throw new TranslationError(`${at}: terms ordered by ${String(orderBy.type)} is not translated`);
  }
  const target = ctx.columns.get(String(orderBy.columnId));
  if (!target)
    throw new TranslationError(`${at}: ordered by ${String(orderBy.columnId)}, no such column`);
  if (target.op === 'count') return { order: { _count: direction } };
  if (!SINGLE_VALUE_METRICS[target.op]) {
    throw new TranslationError(`${at}: terms ordered by a ${target.op} column is not translated`);
  }
  const agg = metricAgg(target, `${ctx.where}, column ${target.id}`) as Agg;
  return { order: { [target.id]: direction }, child: [target.id, agg] };
}

/** A bucket column's aggregation, with `inner` (the deeper buckets and metrics) inside. */
function bucketAgg(column: Column, ctx: LayerContext, inner: Record<string, Agg>): Agg {
  const at = `${ctx.where}, column ${column.id}`;
  const { op, field, params } = column;
  const aggs = (extra: Record<string, Agg> = {}) => {
    const all = { ...inner, ...extra };
    return Object.keys(all).length > 0 ? { aggs: all } : {};
  };
  if (op === 'terms') {
    const size = params.size;
    if (!Number.isInteger(size) || (size as number) < 1) {
      throw new TranslationError(`${at}: terms size ${String(size)}`);
    }
    const { order, child } = termsOrder(column, ctx, at);
    const extra = child ? { [child[0]]: child[1] } : {};
    const secondary = params.secondaryFields ?? [];
    if (!Array.isArray(secondary) || !secondary.every((f) => typeof f === 'string')) {
      throw new TranslationError(`${at}: secondaryFields is not a list of fields`);
    }
    if (secondary.length > 0) {
      if (params.missingBucket === true) {
        throw new TranslationError(`${at}: missingBucket with secondaryFields is not translated`);
      }
      return {
        multi_terms: {
          terms: [field, ...secondary].map((f) => ({ field: f })),
          size: size as number,
          order,
        },
        ...aggs(extra),
      };
    }
    return {
      terms: {
        field,
        size: size as number,
        order,
        ...(params.missingBucket === true ? { missing: '__missing__' } : {}),
      },
      ...aggs(extra),
    };
  }
  if (op === 'date_histogram') {
    if (params.ignoreTimeRange === true) {
      throw new TranslationError(`${at}: ignoreTimeRange is not translated`);
    }
    let interval: ReturnType<typeof histogramInterval>;
    try {
      interval = histogramInterval(
        String(params.interval ?? 'auto'),
        ctx.range.toMs - ctx.range.fromMs,
      );
    } catch (error) {
      throw new TranslationError(`${at}: ${(error as Error).message}`);
    }
    const empty = params.includeEmptyRows === true;
    return {
      date_histogram: {
        field,
        ...interval,
        time_zone: 'UTC',
        min_doc_count: empty ? 0 : 1,
        ...(empty ? { extended_bounds: { min: ctx.range.fromMs, max: ctx.range.toMs } } : {}),
      },
      ...aggs(),
    };
  }
  if (op === 'filters') {
    const list = params.filters;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TranslationError(`${at}: filters without a filter`);
    }
    const keyed: Record<string, Query> = {};
    for (const [i, f] of list.entries()) {
      if (!isRecord(f)) throw new TranslationError(`${at}: filter ${i} is not an object`);
      const input = isRecord(f.input) ? f.input : {};
      const key = String(f.label || input.query || '*');
      if (key in keyed) throw new TranslationError(`${at}: two filters named ${key}`);
      keyed[key] = queryOf(input, `${at}, filter ${key}`);
    }
    return { filters: { filters: keyed }, ...aggs() };
  }
  if (op === 'range') {
    if (params.type !== 'range') {
      throw new TranslationError(`${at}: range of type ${String(params.type)} is not translated`);
    }
    const ranges = params.ranges;
    if (!Array.isArray(ranges) || ranges.length === 0) {
      throw new TranslationError(`${at}: range without ranges`);
    }
    const bound = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    return {
      range: {
        field,
        ranges: ranges.map((r: Json) => ({
          ...(bound(r.from) ? { from: r.from as number } : {}),
          ...(bound(r.to) ? { to: r.to as number } : {}),
          ...(typeof r.label === 'string' && r.label !== '' ? { key: r.label } : {}),
        })),
      },
      ...aggs(),
    };
  }
  throw new TranslationError(`${at}: ${op} is not a bucket`);
}

function lensLayer(
  object: SavedObject,
  layerId: string,
  raw: unknown,
  dataViews: DataViews,
  options: TranslateOptions,
): estypes.SearchRequest {
  const where = `lens ${object.id}, layer ${layerId}`;
  if (!isRecord(raw) || !isRecord(raw.columns)) {
    throw new TranslationError(`${where}: no columns`);
  }
  if (isRecord(raw.incompleteColumns) && Object.keys(raw.incompleteColumns).length > 0) {
    throw new TranslationError(`${where}: incomplete columns`);
  }
  const refName = `indexpattern-datasource-layer-${layerId}`;
  const ref = object.references.find((r) => r.name === refName);
  const view = ref?.type === 'index-pattern' ? dataViews.get(ref.id) : undefined;
  if (!view) throw new TranslationError(`${where}: no data view (reference ${refName})`);
  const order = Array.isArray(raw.columnOrder) ? raw.columnOrder.map(String) : [];
  const ids = Object.keys(raw.columns);
  if (order.length !== ids.length || !ids.every((id) => order.includes(id))) {
    throw new TranslationError(`${where}: columnOrder does not list exactly its columns`);
  }
  if (order.length === 0) throw new TranslationError(`${where}: no columns`);
  const columns = new Map(
    order.map((id) => [id, readColumn(id, (raw.columns as Json)[id], where)] as const),
  );
  const range = timeRange(options);
  const ctx: LayerContext = { where, columns, view, range };

  const buckets = [...columns.values()].filter((c) => OPERATIONS[c.op]?.bucket);
  let aggs: Record<string, Agg> = {};
  for (const c of columns.values()) {
    const agg = OPERATIONS[c.op]?.bucket ? undefined : metricAgg(c, `${where}, column ${c.id}`);
    if (agg) aggs[c.id] = agg;
  }
  for (const bucket of buckets.reverse()) aggs = { [bucket.id]: bucketAgg(bucket, ctx, aggs) };

  const state = isRecord(object.attributes.state) ? object.attributes.state : {};
  const pills = filterPills(state.filters, where);
  const query = topQuery(
    view,
    range,
    [
      queryOf(state.query ?? { language: 'kuery', query: '' }, where),
      ...pills.filter,
      ...(options.filters ?? []),
    ],
    pills.mustNot,
  );
  return {
    index: view.title,
    size: 0,
    track_total_hits: true,
    query,
    ...(Object.keys(aggs).length > 0 ? { aggs } : {}),
  };
}

function lensSearches(
  object: SavedObject,
  dataViews: DataViews,
  options: TranslateOptions,
): TranslatedSearch[] {
  const state = object.attributes.state;
  const sources = isRecord(state) && isRecord(state.datasourceStates) ? state.datasourceStates : {};
  for (const [name, source] of Object.entries(sources)) {
    const layers = isRecord(source) && isRecord(source.layers) ? source.layers : {};
    if (name !== 'formBased' && Object.keys(layers).length > 0) {
      throw new TranslationError(`lens ${object.id}: ${name} layers are not translated`);
    }
  }
  const formBased = isRecord(sources.formBased) ? sources.formBased : {};
  const layers = isRecord(formBased.layers) ? formBased.layers : {};
  if (Object.keys(layers).length === 0) {
    throw new TranslationError(`lens ${object.id}: no form-based layer`);
  }
  return Object.entries(layers).map(([layerId, raw]) => ({
    objectId: object.id,
    layerId,
    request: lensLayer(object, layerId, raw, dataViews, options),
  }));
}

// ---------------------------------------------------------------------------------------
// Saved searches

const SEARCH_SOURCE_KEYS = new Set(['query', 'filter', 'indexRefName', 'highlightAll', 'version']);

function savedSearch(
  object: SavedObject,
  dataViews: DataViews,
  options: TranslateOptions,
): estypes.SearchRequest {
  const where = `search ${object.id}`;
  const a = object.attributes;
  if (a.isTextBasedQuery === true) throw new TranslationError(`${where}: ES|QL is not translated`);
  const meta = isRecord(a.kibanaSavedObjectMeta) ? a.kibanaSavedObjectMeta : {};
  let source: unknown;
  try {
    source = JSON.parse(String(meta.searchSourceJSON));
  } catch {
    throw new TranslationError(`${where}: searchSourceJSON is not JSON`);
  }
  if (!isRecord(source)) throw new TranslationError(`${where}: searchSourceJSON is not an object`);
  for (const key of Object.keys(source)) {
    if (!SEARCH_SOURCE_KEYS.has(key)) {
      throw new TranslationError(`${where}: searchSourceJSON.${key} is not translated`);
    }
  }
  const ref = object.references.find((r) => r.name === source.indexRefName);
  const view = ref?.type === 'index-pattern' ? dataViews.get(ref.id) : undefined;
  if (!view) throw new TranslationError(`${where}: no data view (indexRefName)`);
  const pills = filterPills(source.filter, where);
  const query = topQuery(
    view,
    timeRange(options),
    [
      queryOf(source.query ?? { language: 'kuery', query: '' }, where),
      ...pills.filter,
      ...(options.filters ?? []),
    ],
    pills.mustNot,
  );
  const columns = (Array.isArray(a.columns) ? a.columns : []).map(String);
  const documents = columns.length === 0 || (columns.length === 1 && columns[0] === '_source');
  const sort = (Array.isArray(a.sort) ? a.sort : []).map((s: unknown, i) => {
    const [field, direction] = Array.isArray(s) ? s : [];
    if (typeof field !== 'string' || (direction !== 'asc' && direction !== 'desc')) {
      throw new TranslationError(`${where}: sort ${i} is not [field, asc|desc]`);
    }
    return { [field]: { order: direction } } as estypes.SortCombinations;
  });
  return {
    index: view.title,
    size: options.sampleSize ?? DEFAULT_SAMPLE_SIZE,
    track_total_hits: true,
    query,
    ...(documents ? { _source: true } : { _source: false, fields: columns }),
    ...(sort.length > 0 ? { sort } : {}),
  };
}

// ---------------------------------------------------------------------------------------

/** The object types with a search behind them. */
export const SEARCHED_TYPES = ['lens', 'search'] as const;

/** Every search of a lens (one per layer) or saved search object. */
export function searchBodiesFor(
  object: SavedObject,
  dataViews: DataViews,
  options: TranslateOptions = {},
): TranslatedSearch[] {
  if (object.type === 'lens') return lensSearches(object, dataViews, options);
  if (object.type === 'search') {
    return [{ objectId: object.id, layerId: '', request: savedSearch(object, dataViews, options) }];
  }
  throw new TranslationError(`${object.type} ${object.id}: no search behind a ${object.type}`);
}

/** The search of a lens object with one layer, or of a saved search. */
export function searchBodyFor(
  object: SavedObject,
  dataViews: DataViews,
  options: TranslateOptions = {},
): estypes.SearchRequest {
  const all = searchBodiesFor(object, dataViews, options);
  if (all.length !== 1) {
    throw new TranslationError(
      `${object.type} ${object.id}: ${all.length} layers, use searchBodiesFor`,
    );
  }
  return (all[0] as TranslatedSearch).request;
}
