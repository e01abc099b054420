/**
 * Kibana 8 saved objects other than Lens: data views (`index-pattern`), saved searches
 * (`search`) and dashboards, plus the one NDJSON form every file of dashboards/ is written in.
 *
 * Migration versions: Kibana migrates an imported object forward from the version it carries
 * and refuses one newer than it knows. These are the versions Kibana 8.11 to 8.19 export or
 * accept (coreMigrationVersion is 8.8.0 since 8.8; lens and dashboard 8.9.0, index-pattern
 * 8.0.0 as 8.x exports carry them; search 7.9.3 as Kibana's own sample data ships it, newer
 * Kibanas (10.x model versions) migrate it forward).
 * https://www.elastic.co/guide/en/kibana/8.11/saved-objects-api-import.html
 */
import type {
  SavedObject,
  SavedObjectReference,
} from '../../src/bootstrap/kibana/saved-objects.js';

const CORE = '8.8.0';
export const TYPE_VERSIONS = {
  dashboard: { coreMigrationVersion: CORE, typeMigrationVersion: '8.9.0' },
  'index-pattern': { coreMigrationVersion: CORE, typeMigrationVersion: '8.0.0' },
  lens: { coreMigrationVersion: CORE, typeMigrationVersion: '8.9.0' },
  search: { coreMigrationVersion: CORE, typeMigrationVersion: '7.9.3' },
} as const;

/** Kibana's dashboard grid is 48 columns wide. */
export const GRID_COLUMNS = 48;

/**
 * JSON with object keys sorted by code point at every depth (not localeCompare: the order
 * must not depend on the machine's locale, or the committed files would differ by machine).
 */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const byTypeThenId = (a: SavedObject, b: SavedObject) =>
  a.type === b.type ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.type < b.type ? -1 : 1;

/** One file's text: objects sorted by type then id, one stable JSON object a line. */
export const toNdjson = (objects: readonly SavedObject[]): string =>
  `${[...objects]
    .sort(byTypeThenId)
    .map((o) => stableJson(o))
    .join('\n')}\n`;

export interface DataViewSpec {
  id: string;
  /** The index, alias or data stream it reads. */
  title: string;
  name: string;
  timeFieldName: string;
  /** Field formats by field, e.g. event.duration (nanoseconds) shown as milliseconds. */
  fieldFormats?: Record<string, { id: string; params: Record<string, unknown> }>;
}

export const dataViewObject = (spec: DataViewSpec): SavedObject => ({
  type: 'index-pattern',
  id: spec.id,
  ...TYPE_VERSIONS['index-pattern'],
  attributes: {
    title: spec.title,
    name: spec.name,
    timeFieldName: spec.timeFieldName,
    fieldFormatMap: stableJson(spec.fieldFormats ?? {}),
  },
  references: [],
});

const INDEX_REF = 'kibanaSavedObjectMeta.searchSourceJSON.index';

export interface SearchSpec {
  id: string;
  title: string;
  description: string;
  query: string;
  columns: string[];
  /** Newest first. */
  sortField: string;
}

/** A saved search (Discover), shown on a dashboard as a table of the latest events. */
export const searchObject = (spec: SearchSpec, dataViewId: string): SavedObject => ({
  type: 'search',
  id: spec.id,
  ...TYPE_VERSIONS.search,
  attributes: {
    title: spec.title,
    description: spec.description,
    columns: spec.columns,
    sort: [[spec.sortField, 'desc']],
    kibanaSavedObjectMeta: {
      searchSourceJSON: stableJson({
        query: { language: 'kuery', query: spec.query },
        filter: [],
        indexRefName: INDEX_REF,
      }),
    },
  },
  references: [{ type: 'index-pattern', id: dataViewId, name: INDEX_REF }],
});

export interface PanelSpec {
  /** The object shown, by reference. */
  type: 'lens' | 'search';
  id: string;
  /** Grid width (of 48) and height (rows). */
  w: number;
  h: number;
}

export interface DashboardSpec {
  id: string;
  title: string;
  description: string;
  /** Laid out left to right, wrapping at the grid's width. */
  panels: PanelSpec[];
  timeFrom: string;
}

/** Panel positions: rows filled left to right; a row is as tall as its tallest panel. */
export function layout(panels: readonly PanelSpec[]) {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map((panel) => {
    if (panel.w > GRID_COLUMNS) throw new Error(`${panel.id}: wider than the grid`);
    if (x + panel.w > GRID_COLUMNS) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const grid = { x, y, w: panel.w, h: panel.h };
    x += panel.w;
    rowHeight = Math.max(rowHeight, panel.h);
    return grid;
  });
}

/** The panel's index on the dashboard: the object's id without the common `nova-<type>-`. */
const panelIndex = (panel: PanelSpec) => panel.id.replace(/^nova-(lens|search)-/, '');

export function dashboardObject(spec: DashboardSpec): SavedObject {
  const grids = layout(spec.panels);
  const references: SavedObjectReference[] = [];
  const panels = spec.panels.map((panel, n) => {
    const index = panelIndex(panel);
    references.push({ type: panel.type, id: panel.id, name: `${index}:panel_${index}` });
    return {
      version: '8.11.0',
      type: panel.type,
      panelIndex: index,
      gridData: { ...grids[n], i: index },
      embeddableConfig: { enhancements: {} },
      panelRefName: `panel_${index}`,
    };
  });
  return {
    type: 'dashboard',
    id: spec.id,
    ...TYPE_VERSIONS.dashboard,
    attributes: {
      title: spec.title,
      description: spec.description,
      panelsJSON: stableJson(panels),
      optionsJSON: stableJson({
        useMargins: true,
        syncColors: false,
        syncCursor: true,
        syncTooltips: false,
        hidePanelTitles: false,
      }),
      timeRestore: true,
      timeFrom: spec.timeFrom,
      timeTo: 'now',
      refreshInterval: { pause: false, value: 60_000 },
      kibanaSavedObjectMeta: {
        searchSourceJSON: stableJson({ query: { language: 'kuery', query: '' }, filter: [] }),
      },
      version: 1,
    },
    references,
  };
}
