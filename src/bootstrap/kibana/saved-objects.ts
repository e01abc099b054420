/**
 * The Kibana saved objects under dashboards/: NDJSON files, one object a line, as Kibana's
 * export API writes them. Read in file-name order; the export-details line an export ends with
 * is skipped (Kibana's import skips it too). Anything else that is not a saved object stops
 * the bootstrap with the file and line to fix.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NovaError } from '../../lib/errors.js';

/** dashboards/ of this package, from src/bootstrap/kibana or dist/bootstrap/kibana alike. */
export const DEFAULT_DASHBOARDS_DIR = resolve(
  fileURLToPath(new URL('.', import.meta.url)),
  '../../../dashboards',
);

export interface SavedObjectReference {
  type: string;
  id: string;
  name: string;
}

/** One line of a file: a Kibana 8 saved object, kept whole for the import. */
export interface SavedObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: SavedObjectReference[];
  [field: string]: unknown;
}

export interface LoadedObject {
  /** The file (relative to the working directory when inside it) and 1-based line. */
  file: string;
  line: number;
  /** attributes.title, else attributes.name, else '' (for listings and errors). */
  title: string;
  object: SavedObject;
}

export interface SavedObjectsFile {
  file: string;
  objects: LoadedObject[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isReference = (value: unknown): value is SavedObjectReference =>
  isRecord(value) &&
  typeof value.type === 'string' &&
  typeof value.id === 'string' &&
  typeof value.name === 'string';

/** The last line of an export: `{"exportedCount":…,"missingRefCount":…,…}`, no type. */
const isExportDetails = (value: Record<string, unknown>) =>
  value.type === undefined && typeof value.exportedCount === 'number';

function parseLine(text: string, where: string): SavedObject | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NovaError('BOOTSTRAP_FAILED', `${where}: not JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  const fail = (reason: string) => {
    throw new NovaError('BOOTSTRAP_FAILED', `${where}: not a Kibana saved object: ${reason}`);
  };
  if (!isRecord(value)) return fail('not a JSON object');
  if (isExportDetails(value)) return undefined;
  if (typeof value.type !== 'string' || value.type === '') return fail('no "type"');
  if (typeof value.id !== 'string' || value.id === '') return fail('no "id"');
  if (!isRecord(value.attributes)) return fail('no "attributes" object');
  const references = value.references ?? [];
  if (!Array.isArray(references) || !references.every(isReference)) {
    return fail('"references" must be a list of {type, id, name}');
  }
  return { ...value, type: value.type, id: value.id, attributes: value.attributes, references };
}

const titleOf = ({ attributes }: SavedObject) =>
  typeof attributes.title === 'string'
    ? attributes.title
    : typeof attributes.name === 'string'
      ? attributes.name
      : '';

/**
 * Every `*.ndjson` file in `dir`, in name order, with its objects in line order. Throws
 * BOOTSTRAP_FAILED naming file:line for a line that is not a saved object, for an object
 * (type and id) that appears twice, and when the folder holds no object at all (an image
 * built without dashboards/ must not "succeed" importing nothing).
 */
export function loadSavedObjects(dir: string = DEFAULT_DASHBOARDS_DIR): SavedObjectsFile[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith('.ndjson'))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `cannot read the saved objects folder ${dir}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const seen = new Map<string, string>();
  const files = names.map((name): SavedObjectsFile => {
    const path = join(dir, name);
    const shown = relative(process.cwd(), path).startsWith('..')
      ? path
      : relative(process.cwd(), path);
    const objects: LoadedObject[] = [];
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((text, index) => {
        if (text.trim() === '') return;
        const where = `${shown}:${index + 1}`;
        const object = parseLine(text, where);
        if (!object) return;
        const key = `${object.type}/${object.id}`;
        const first = seen.get(key);
        if (first) {
          throw new NovaError(
            'BOOTSTRAP_FAILED',
            `${where}: ${object.type} ${object.id} is already defined at ${first}`,
          );
        }
        seen.set(key, where);
        objects.push({ file: shown, line: index + 1, title: titleOf(object), object });
      });
    return { file: shown, objects };
  });
  if (seen.size === 0) {
    throw new NovaError('BOOTSTRAP_FAILED', `no Kibana saved objects (*.ndjson) in ${dir}`);
  }
  return files;
}
