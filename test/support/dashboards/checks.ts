/**
 * The offline checks of dashboards/: what would break a dashboard in front of an SRE, found
 * before Kibana sees it. Each returns the problems as `file:line type id: what`, empty when
 * all is well, so a test shows every problem at once.
 *
 * - only the types checked here (data views, dashboards, Lens, saved searches), with a
 *   migration version Kibana 8.11 (the oldest supported) knows;
 * - no type and id twice; every reference resolves, within the file or to a data view;
 * - one dashboard a file, every visualization on a panel of it;
 * - data views read an index the Elasticsearch bootstrap maps, with a date time field;
 * - Lens and saved searches use existing fields with types their operations support;
 * - dashboard panels are on the grid, do not overlap, and show an object or embed a valid one;
 * - the stable form: objects sorted by type then id, keys sorted, as the generator writes.
 */
import { basename } from 'node:path';
import { GRID_COLUMNS, TYPE_VERSIONS, toNdjson } from '../../../scripts/dashboards/objects.js';
import type {
  LoadedObject,
  SavedObject,
  SavedObjectsFile,
} from '../../../src/bootstrap/kibana/saved-objects.js';
import type { ElasticSpecs } from '../../../src/lib/db/elastic/index-specs.js';
import { fieldOf, fieldProblem, kqlProblems } from './fields.js';
import { type DataViewFields, lensProblems } from './lens.js';
import { type FieldTypes, fieldsOf } from './mappings.js';

export const DATA_VIEWS_FILE = 'data-views.ndjson';
const KNOWN_TYPES = Object.keys(TYPE_VERSIONS);
const SHOWN_TYPES = ['lens', 'search'];

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const record = (v: unknown): Json => (isRecord(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** `a` <= `b` as dotted version numbers. */
const notNewer = (a: string, b: string) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) {
    const d = (x?.[i] ?? 0) - (y?.[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return true;
};

/** The value of a JSON-text attribute (panelsJSON…), or undefined with a problem noted. */
function json(text: unknown, what: string, problems: string[]): unknown {
  if (typeof text !== 'string') {
    problems.push(`${what} is not a JSON string`);
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    problems.push(`${what} is not valid JSON`);
    return undefined;
  }
}

function dataViewProblems(o: SavedObject, fields: FieldTypes | undefined): string[] {
  const a = o.attributes;
  const problems: string[] = [];
  if (typeof a.title !== 'string' || a.title === '') return ['no title (index pattern)'];
  if (typeof a.name !== 'string' || a.name === '') problems.push('no name');
  if (!fields) return [...problems, `${a.title} matches no index template of the bootstrap`];
  const time = typeof a.timeFieldName === 'string' ? fields.get(a.timeFieldName) : undefined;
  if (time?.type !== 'date' && time?.type !== 'date_nanos') {
    problems.push(`timeFieldName ${String(a.timeFieldName)} is not a date field of ${a.title}`);
  }
  const formats = json(a.fieldFormatMap ?? '{}', 'fieldFormatMap', problems);
  for (const field of Object.keys(record(formats))) {
    if (!fields.has(field)) problems.push(`fieldFormatMap: no field ${field}`);
  }
  return problems;
}

function searchProblems(o: SavedObject, dataView: DataViewFields): string[] {
  const problems: string[] = [];
  const meta = record(o.attributes.kibanaSavedObjectMeta);
  const source = record(json(meta.searchSourceJSON, 'searchSourceJSON', problems));
  const ref = o.references.find((r) => r.name === source.indexRefName);
  const fields = ref?.type === 'index-pattern' ? dataView(ref.id)?.fields : undefined;
  if (!fields) return [...problems, 'searchSourceJSON: no data view (indexRefName) with fields'];
  const query = record(source.query).query;
  if (typeof query === 'string') problems.push(...kqlProblems(fields, query));
  for (const column of list(o.attributes.columns)) {
    if (!fieldOf(fields, String(column))) problems.push(`column ${String(column)}: no such field`);
  }
  for (const sort of list(o.attributes.sort)) {
    const [field = '', direction] = list(sort).map(String);
    // Sorting needs what terms needs: doc values of a keyword, number, date…
    const problem = fieldProblem(fields, field, 'terms');
    if (problem) problems.push(`sort on ${field}: not sortable (${problem})`);
    if (direction !== 'asc' && direction !== 'desc') problems.push(`sort ${field}: asc or desc`);
  }
  return problems;
}

function dashboardProblems(o: SavedObject, dataView: DataViewFields): string[] {
  const a = o.attributes;
  const problems: string[] = [];
  if (typeof a.title !== 'string' || a.title === '') problems.push('no title');
  json(a.optionsJSON, 'optionsJSON', problems);
  json(record(a.kibanaSavedObjectMeta).searchSourceJSON, 'searchSourceJSON', problems);
  if (a.timeRestore === true && (typeof a.timeFrom !== 'string' || typeof a.timeTo !== 'string')) {
    problems.push('timeRestore without timeFrom and timeTo');
  }
  const panels = json(a.panelsJSON, 'panelsJSON', problems);
  if (!Array.isArray(panels)) return [...problems, 'panelsJSON is not a list of panels'];
  const seen = new Map<string, Json>();
  for (const panel of panels.map(record)) {
    const index = String(panel.panelIndex);
    const at = `panel ${index}`;
    const grid = record(panel.gridData);
    const [x, y, w, h] = [grid.x, grid.y, grid.w, grid.h].map(Number) as [
      number,
      number,
      number,
      number,
    ];
    if (seen.has(index)) problems.push(`${at}: panelIndex used twice`);
    if (grid.i !== panel.panelIndex) problems.push(`${at}: gridData.i differs from panelIndex`);
    if (
      ![x, y, w, h].every(Number.isInteger) ||
      x < 0 ||
      y < 0 ||
      w < 1 ||
      h < 1 ||
      x + w > GRID_COLUMNS
    ) {
      problems.push(`${at}: not on the ${GRID_COLUMNS}-column grid`);
    }
    for (const [other, g] of seen) {
      const [ox, oy, ow, oh] = [g.x, g.y, g.w, g.h].map(Number) as [number, number, number, number];
      if (x < ox + ow && ox < x + w && y < oy + oh && oy < y + h)
        problems.push(`${at} overlaps panel ${other}`);
    }
    seen.set(index, grid);
    const embedded = record(panel.embeddableConfig).attributes;
    if (typeof panel.panelRefName === 'string') {
      const name = `${index}:${panel.panelRefName}`;
      const ref = o.references.find((r) => r.name === name);
      if (!ref) problems.push(`${at}: points at nothing (no reference ${name})`);
      else if (ref.type !== panel.type || !SHOWN_TYPES.includes(ref.type)) {
        problems.push(`${at}: a ${String(panel.type)} panel referencing a ${ref.type}`);
      }
    } else if (isRecord(embedded) && panel.type === 'lens') {
      const refs = Array.isArray(embedded.references)
        ? (embedded.references as SavedObject['references'])
        : o.references
            .filter((r) => r.name.startsWith(`${index}:`))
            .map((r) => ({ ...r, name: r.name.slice(index.length + 1) }));
      problems.push(...lensProblems(embedded, refs, dataView).map((p) => `${at} (by value): ${p}`));
    } else {
      problems.push(`${at}: shows nothing (neither panelRefName nor an embedded Lens)`);
    }
  }
  return problems;
}

/** Every problem of the saved objects of `files` against the bootstrap's `specs`. */
export function savedObjectProblems(files: SavedObjectsFile[], specs: ElasticSpecs): string[] {
  const problems: string[] = [];
  const all = files.flatMap((f) => f.objects);
  const where = (l: LoadedObject) => `${l.file}:${l.line} ${l.object.type} ${l.object.id}`;
  const byKey = new Map<string, LoadedObject>();
  for (const l of all) {
    const key = `${l.object.type}/${l.object.id}`;
    const first = byKey.get(key);
    if (first) problems.push(`${where(l)}: also defined at ${first.file}:${first.line}`);
    else byKey.set(key, l);
  }
  const views = new Map<string, { title: string; fields?: FieldTypes }>();
  for (const l of all.filter((l) => l.object.type === 'index-pattern')) {
    const title = String(l.object.attributes.title);
    const fields = fieldsOf(specs, title);
    views.set(l.object.id, { title, ...(fields ? { fields } : {}) });
  }
  const dataView: DataViewFields = (id) => views.get(id);
  const shown = new Set<string>();
  for (const l of all) {
    const { object: o } = l;
    const report = (list: string[]) => problems.push(...list.map((p) => `${where(l)}: ${p}`));
    const version = TYPE_VERSIONS[o.type as keyof typeof TYPE_VERSIONS];
    if (!version) {
      report([`type ${o.type} is none of ${KNOWN_TYPES.join(', ')} (the types checked offline)`]);
      continue;
    }
    if (o.coreMigrationVersion !== version.coreMigrationVersion) {
      report([`coreMigrationVersion must be ${version.coreMigrationVersion}`]);
    }
    if (
      typeof o.typeMigrationVersion !== 'string' ||
      !notNewer(o.typeMigrationVersion, version.typeMigrationVersion)
    ) {
      report([
        `typeMigrationVersion must be at most ${version.typeMigrationVersion} (Kibana 8.11)`,
      ]);
    }
    for (const ref of o.references) {
      const target = byKey.get(`${ref.type}/${ref.id}`);
      if (!target) report([`reference ${ref.name} to ${ref.type} ${ref.id}: not in dashboards/`]);
      else if (target.file !== l.file && basename(target.file) !== DATA_VIEWS_FILE) {
        report([`reference ${ref.name} leaves the file (to ${target.file}); only data views may`]);
      }
      if (o.type === 'dashboard') shown.add(`${l.file}|${ref.type}/${ref.id}`);
    }
    if (o.type === 'index-pattern') report(dataViewProblems(o, views.get(o.id)?.fields));
    if (o.type === 'lens') report(lensProblems(o.attributes, o.references, dataView));
    if (o.type === 'search') report(searchProblems(o, dataView));
    if (o.type === 'dashboard') report(dashboardProblems(o, dataView));
  }
  for (const file of files) {
    const types = file.objects.map((l) => l.object.type);
    if (basename(file.file) === DATA_VIEWS_FILE) {
      if (types.some((t) => t !== 'index-pattern')) problems.push(`${file.file}: data views only`);
      continue;
    }
    const dashboards = types.filter((t) => t === 'dashboard').length;
    if (dashboards !== 1) problems.push(`${file.file}: ${dashboards} dashboards, one expected`);
    for (const l of file.objects.filter((l) => SHOWN_TYPES.includes(l.object.type))) {
      if (!shown.has(`${l.file}|${l.object.type}/${l.object.id}`)) {
        problems.push(`${where(l)}: on no panel of this file's dashboard`);
      }
    }
  }
  return problems;
}

/** Problems of a file's text against the one stable form (sorted objects, sorted keys). */
export function stableFormProblems(name: string, text: string): string[] {
  const lines = text.split('\n').filter((line) => line !== '');
  let objects: SavedObject[];
  try {
    objects = lines.map((line) => JSON.parse(line) as SavedObject);
  } catch {
    return [`${name}: a line is not JSON`];
  }
  const stable = toNdjson(objects);
  if (text === stable) return [];
  const expected = stable.split('\n');
  const line = text.split('\n').findIndex((l, i) => l !== expected[i]);
  return [
    `${name}:${line + 1}: not in the stable form (objects by type then id, keys sorted, one a line); run npm run dashboards`,
  ];
}
