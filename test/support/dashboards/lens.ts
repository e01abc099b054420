/**
 * A Lens visualization checked the way Kibana would read it: each form-based layer names a
 * data view that exists, each column's field exists there with a type its operation can use,
 * every KQL (visualization query, filters columns, column filters) names existing fields, and
 * the visualization draws only columns that exist, buckets as buckets and metrics as metrics.
 */
import type { SavedObjectReference } from '../../../src/bootstrap/kibana/saved-objects.js';
import { dataTypeOf, fieldOf, fieldProblem, kqlProblems } from './fields.js';
import type { FieldTypes } from './mappings.js';

/** The fields of a data view by id; undefined when dashboards/ has no such data view. */
export type DataViewFields = (id: string) => { title: string; fields?: FieldTypes } | undefined;

export const LENS_VISUALIZATIONS = ['lnsXY', 'lnsDatatable', 'lnsMetric', 'lnsPie'] as const;

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const record = (v: unknown): Json => (isRecord(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

interface Layer {
  id: string;
  columns: Json;
  fields?: FieldTypes;
}

function columnProblems(layer: Layer, id: string, column: Json): string[] {
  const at = `layer ${layer.id} column ${id}`;
  const fields = layer.fields;
  if (!fields) return [];
  const op = String(column.operationType);
  const params = record(column.params);
  const problems: string[] = [];
  const kql = (query: unknown) => {
    if (typeof query === 'string')
      problems.push(...kqlProblems(fields, query).map((p) => `${at}: ${p}`));
  };
  kql(record(column.filter).query);
  if (op === 'filters') {
    const filters = list(params.filters);
    if (filters.length === 0) problems.push(`${at}: filters without a filter`);
    for (const f of filters) kql(record(record(f).input).query);
    return problems;
  }
  const field = column.sourceField;
  if (op === 'count' && field === '___records___') return problems;
  if (typeof field !== 'string') return [...problems, `${at}: ${op} without a sourceField`];
  const problem = fieldProblem(fields, field, op);
  if (problem) return [...problems, `${at}: ${problem}`];
  const bucketed = op === 'terms' || op === 'date_histogram' || op === 'range';
  if (column.isBucketed !== bucketed) problems.push(`${at}: isBucketed must be ${bucketed}`);
  if (op === 'terms') {
    const secondary = list(params.secondaryFields);
    for (const other of secondary) {
      const p = fieldProblem(fields, String(other), op);
      if (p) problems.push(`${at}: ${p}`);
    }
    const expected = secondary.length > 0 ? 'string' : dataTypeOf(fields.get(field)?.type ?? '');
    if (column.dataType !== expected) problems.push(`${at}: dataType must be ${expected}`);
    if (!Number.isInteger(params.size) || (params.size as number) < 1) {
      problems.push(`${at}: terms needs a size >= 1`);
    }
    const orderBy = record(params.orderBy);
    if (orderBy.type === 'column' && !isMetric(layer, orderBy.columnId)) {
      problems.push(`${at}: ordered by ${String(orderBy.columnId)}, which is no metric column`);
    }
  } else if (op === 'date_histogram') {
    if (column.dataType !== 'date') problems.push(`${at}: dataType must be date`);
  } else if (column.dataType !== 'number') {
    problems.push(`${at}: dataType must be number`);
  }
  if (op === 'percentile') {
    const p = params.percentile;
    if (typeof p !== 'number' || p <= 0 || p > 100)
      problems.push(`${at}: percentile must be in (0, 100]`);
  }
  return problems;
}

const isMetric = (layer: Layer, id: unknown) =>
  typeof id === 'string' && isRecord(layer.columns[id]) && layer.columns[id].isBucketed === false;
const isBucket = (layer: Layer, id: unknown) =>
  typeof id === 'string' && isRecord(layer.columns[id]) && layer.columns[id].isBucketed === true;

/** The [layer, column, role] triples a visualization draws. */
type Role = 'bucket' | 'metric' | 'any';

function drawn(type: string, vis: Json): (readonly [unknown, unknown, Role])[] {
  if (type === 'lnsXY') {
    return list(vis.layers)
      .map(record)
      .filter((l) => (l.layerType ?? 'data') === 'data')
      .flatMap((l) => [
        ...(l.xAccessor === undefined ? [] : [[l.layerId, l.xAccessor, 'bucket'] as const]),
        ...(l.splitAccessor === undefined ? [] : [[l.layerId, l.splitAccessor, 'bucket'] as const]),
        ...(list(l.accessors).length === 0
          ? [[l.layerId, undefined, 'metric'] as const]
          : list(l.accessors).map((a) => [l.layerId, a, 'metric'] as const)),
      ]);
  }
  if (type === 'lnsPie') {
    return list(vis.layers)
      .map(record)
      .flatMap((l) => [
        ...list(l.primaryGroups).map((g) => [l.layerId, g, 'bucket'] as const),
        ...list(l.metrics).map((m) => [l.layerId, m, 'metric'] as const),
      ]);
  }
  if (type === 'lnsMetric') {
    return [
      [vis.layerId, vis.metricAccessor, 'metric'] as const,
      ...(vis.breakdownByAccessor === undefined
        ? []
        : [[vis.layerId, vis.breakdownByAccessor, 'bucket'] as const]),
    ];
  }
  // lnsDatatable: any column, in any role.
  return list(vis.columns).map((c) => [vis.layerId, record(c).columnId, 'any'] as const);
}

/** Everything wrong with a Lens visualization's attributes and references. */
export function lensProblems(
  attributes: Json,
  references: SavedObjectReference[],
  dataView: DataViewFields,
): string[] {
  const type = String(attributes.visualizationType);
  if (!(LENS_VISUALIZATIONS as readonly string[]).includes(type)) {
    return [`visualizationType ${type} is not one of ${LENS_VISUALIZATIONS.join(', ')}`];
  }
  const state = record(attributes.state);
  const rawLayers = record(record(record(state.datasourceStates).formBased).layers);
  if (Object.keys(rawLayers).length === 0) return ['no form-based layer'];
  const problems: string[] = [];
  const layers = new Map<string, Layer>();
  for (const [id, raw] of Object.entries(rawLayers)) {
    const name = `indexpattern-datasource-layer-${id}`;
    const ref = references.find((r) => r.name === name);
    const view = ref?.type === 'index-pattern' ? dataView(ref.id) : undefined;
    if (ref?.type !== 'index-pattern') {
      problems.push(`layer ${id}: no index-pattern reference ${name}`);
    } else if (!view) {
      problems.push(`layer ${id}: data view ${ref.id} is not in dashboards/`);
    } else if (!view.fields) {
      problems.push(`layer ${id}: data view ${view.title} matches no index template`);
    }
    const columns = record(record(raw).columns);
    const layer: Layer = { id, columns, ...(view?.fields ? { fields: view.fields } : {}) };
    layers.set(id, layer);
    const order = list(record(raw).columnOrder).map(String).sort().join();
    if (order !== Object.keys(columns).sort().join()) {
      problems.push(`layer ${id}: columnOrder does not list exactly its columns`);
    }
    for (const [columnId, column] of Object.entries(columns)) {
      problems.push(...columnProblems(layer, columnId, record(column)));
    }
  }
  const query = record(state.query);
  for (const layer of layers.values()) {
    if (!layer.fields) continue;
    if (typeof query.query === 'string') problems.push(...kqlProblems(layer.fields, query.query));
    for (const filter of list(state.filters)) {
      const key = record(record(filter).meta).key;
      if (typeof key === 'string' && !fieldOf(layer.fields, key)) {
        problems.push(`filter on ${key}: no such field in the mapping`);
      }
    }
  }
  const used = new Set<unknown>();
  for (const [layerId, columnId, role] of drawn(type, record(state.visualization))) {
    const layer = typeof layerId === 'string' ? layers.get(layerId) : undefined;
    used.add(layerId);
    if (!layer) problems.push(`${type} draws layer ${String(layerId)}, which does not exist`);
    else if (columnId === undefined || !isRecord(layer.columns[columnId as string])) {
      problems.push(`${type} draws column ${String(columnId)}, not in layer ${layer.id}`);
    } else if (role === 'bucket' && !isBucket(layer, columnId)) {
      problems.push(`${type} uses metric column ${String(columnId)} as a bucket`);
    } else if (role === 'metric' && !isMetric(layer, columnId)) {
      problems.push(`${type} uses bucket column ${String(columnId)} as a metric`);
    }
  }
  for (const id of layers.keys()) {
    if (!used.has(id)) problems.push(`layer ${id} is computed but never drawn`);
  }
  return problems;
}
