/**
 * Lens visualizations (Kibana 8 `lens` saved objects) from short specs: one form-based layer
 * on one data view, columns named by readable ids (`time`, `p95`) so the NDJSON diff of a
 * change says what changed.
 *
 * The saved shape follows what Kibana 8.11+ exports: `state.datasourceStates.formBased.layers`,
 * the layer's data view as the reference `indexpattern-datasource-layer-<layerId>`, and the
 * visualization state of lnsXY / lnsDatatable / lnsMetric
 * (https://www.elastic.co/guide/en/kibana/8.11/saved-objects-api-export.html; Kibana's own
 * sample data, home/server/services/sample_data/data_sets/*\/saved_objects.ts).
 */
import type { SavedObject } from '../../src/bootstrap/kibana/saved-objects.js';
import { TYPE_VERSIONS } from './objects.js';

/** The only layer of every visualization. */
export const LAYER_ID = 'main';

export type ColumnSpec =
  | { op: 'date_histogram'; field: string; label?: string }
  | {
      op: 'terms';
      field: string;
      label: string;
      size: number;
      /** Multi-field terms ("Top values" of several fields). */
      secondaryFields?: string[];
      /** `number` for numeric fields (status codes). Default `string`. */
      dataType?: 'string' | 'number';
      /** The metric column the top values are ranked by. Default: the first metric. */
      orderBy?: string;
    }
  | { op: 'filters'; label: string; filters: { label: string; kql: string }[] }
  /** `perMinute`: normalised to a rate per minute (Lens "normalize by unit"). */
  | { op: 'count'; label: string; perMinute?: boolean }
  | { op: 'percentile'; field: string; label: string; percentile: number }
  | { op: 'average' | 'max' | 'unique_count'; field: string; label: string };

export type VisualizationSpec =
  | {
      type: 'xy';
      series: 'line' | 'bar_stacked' | 'bar_horizontal_stacked' | 'bar_percentage_stacked';
      x: string;
      y: string[];
      split?: string;
    }
  /** Rows are the bucketed columns, in column order; `sortBy` a metric, descending. */
  | { type: 'table'; sortBy?: string }
  | { type: 'metric'; metric: string };

export interface LensSpec {
  id: string;
  title: string;
  description: string;
  /** KQL applied to the whole visualization (which events it counts). */
  query: string;
  /** In display order; keys are the column ids. */
  columns: Record<string, ColumnSpec>;
  visualization: VisualizationSpec;
}

/** Constructors for the columns, so specs read as what they show. */
export const col = {
  time: (field = '@timestamp'): ColumnSpec => ({ op: 'date_histogram', field }),
  terms: (
    field: string,
    label: string,
    size: number,
    options: { secondaryFields?: string[]; dataType?: 'string' | 'number'; orderBy?: string } = {},
  ): ColumnSpec => ({ op: 'terms', field, label, size, ...options }),
  filters: (label: string, filters: { label: string; kql: string }[]): ColumnSpec => ({
    op: 'filters',
    label,
    filters,
  }),
  count: (label: string, options: { perMinute?: boolean } = {}): ColumnSpec => ({
    op: 'count',
    label,
    ...options,
  }),
  percentile: (field: string, percentile: number, label = `p${percentile}`): ColumnSpec => ({
    op: 'percentile',
    field,
    label,
    percentile,
  }),
  average: (field: string, label: string): ColumnSpec => ({ op: 'average', field, label }),
  unique: (field: string, label: string): ColumnSpec => ({ op: 'unique_count', field, label }),
};

const isBucket = (c: ColumnSpec) => ['date_histogram', 'terms', 'filters'].includes(c.op);

function column(spec: ColumnSpec, orderBy: string | undefined): Record<string, unknown> {
  const metric = { isBucketed: false, scale: 'ratio', dataType: 'number' };
  switch (spec.op) {
    case 'date_histogram':
      return {
        label: spec.label ?? spec.field,
        dataType: 'date',
        operationType: 'date_histogram',
        sourceField: spec.field,
        isBucketed: true,
        scale: 'interval',
        params: { interval: 'auto', includeEmptyRows: true, dropPartials: false },
      };
    case 'terms': {
      const rankedBy = spec.orderBy ?? orderBy;
      if (!rankedBy) throw new Error(`terms on ${spec.field} needs a metric column to order by`);
      return {
        label: spec.label,
        customLabel: true,
        dataType: spec.dataType ?? 'string',
        operationType: 'terms',
        sourceField: spec.field,
        isBucketed: true,
        scale: 'ordinal',
        params: {
          size: spec.size,
          orderBy: { type: 'column', columnId: rankedBy },
          orderDirection: 'desc',
          otherBucket: false,
          missingBucket: false,
          parentFormat: spec.secondaryFields ? { id: 'multi_terms' } : { id: 'terms' },
          ...(spec.secondaryFields ? { secondaryFields: spec.secondaryFields } : {}),
        },
      };
    }
    case 'filters':
      return {
        label: spec.label,
        customLabel: true,
        dataType: 'string',
        operationType: 'filters',
        isBucketed: true,
        scale: 'ordinal',
        params: {
          filters: spec.filters.map((f) => ({
            label: f.label,
            input: { query: f.kql, language: 'kuery' },
          })),
        },
      };
    case 'count':
      return {
        ...metric,
        label: spec.label,
        customLabel: true,
        operationType: 'count',
        sourceField: '___records___',
        params: { emptyAsNull: true },
        ...(spec.perMinute ? { timeScale: 'm' } : {}),
      };
    case 'percentile':
      return {
        ...metric,
        label: spec.label,
        customLabel: true,
        operationType: 'percentile',
        sourceField: spec.field,
        params: { percentile: spec.percentile },
      };
    default:
      return {
        ...metric,
        label: spec.label,
        customLabel: true,
        operationType: spec.op,
        sourceField: spec.field,
        params: { emptyAsNull: true },
      };
  }
}

function visualization(spec: LensSpec): { type: string; state: Record<string, unknown> } {
  const vis = spec.visualization;
  const layer = { layerId: LAYER_ID, layerType: 'data' };
  if (vis.type === 'metric') {
    return { type: 'lnsMetric', state: { ...layer, metricAccessor: vis.metric } };
  }
  if (vis.type === 'table') {
    return {
      type: 'lnsDatatable',
      state: {
        ...layer,
        columns: Object.keys(spec.columns).map((columnId) => ({ columnId, isTransposed: false })),
        ...(vis.sortBy ? { sorting: { columnId: vis.sortBy, direction: 'desc' } } : {}),
      },
    };
  }
  return {
    type: 'lnsXY',
    state: {
      preferredSeriesType: vis.series,
      legend: { isVisible: true, position: 'right' },
      valueLabels: 'hide',
      fittingFunction: 'None',
      axisTitlesVisibilitySettings: { x: false, yLeft: true, yRight: true },
      layers: [
        {
          ...layer,
          seriesType: vis.series,
          xAccessor: vis.x,
          accessors: vis.y,
          ...(vis.split ? { splitAccessor: vis.split } : {}),
        },
      ],
    },
  };
}

/** The `lens` saved object of a spec, on the data view `dataViewId`. */
export function lensObject(spec: LensSpec, dataViewId: string): SavedObject {
  const firstMetric = Object.entries(spec.columns).find(([, c]) => !isBucket(c))?.[0];
  const columns = Object.fromEntries(
    Object.entries(spec.columns).map(([id, c]) => [id, column(c, firstMetric)]),
  );
  const vis = visualization(spec);
  return {
    type: 'lens',
    id: spec.id,
    ...TYPE_VERSIONS.lens,
    attributes: {
      title: spec.title,
      description: spec.description,
      visualizationType: vis.type,
      state: {
        datasourceStates: {
          formBased: {
            layers: {
              [LAYER_ID]: {
                columnOrder: Object.keys(spec.columns),
                columns,
                incompleteColumns: {},
              },
            },
          },
        },
        visualization: vis.state,
        query: { language: 'kuery', query: spec.query },
        filters: [],
        internalReferences: [],
        adHocDataViews: {},
      },
    },
    references: [
      { type: 'index-pattern', id: dataViewId, name: `indexpattern-datasource-layer-${LAYER_ID}` },
    ],
  };
}
