/**
 * What `nova bootstrap kibana` has to do: compare each saved object in dashboards/ with the one
 * Kibana holds, and the default data view with the one wanted. Pure: the state is read by the
 * caller.
 *
 * "Unchanged" means every attribute and reference in the file is in Kibana with the same value.
 * Kibana may add attributes of its own when it stores (or migrates) an object, so keys only
 * Kibana has do not count; arrays and scalars must match exactly, and attributes holding JSON
 * text (visState, panelsJSON, searchSourceJSON…) are compared as the JSON they hold, not as
 * strings. The one change this cannot see is a key deleted from a file and nothing else changed.
 */
import { canonical } from '../../lib/canonical.js';
import type { LoadedObject, SavedObjectReference, SavedObjectsFile } from './saved-objects.js';

/** An object as `_bulk_get` answers it: found, or an error in its place. */
export interface StoredObject {
  type: string;
  id: string;
  attributes?: Record<string, unknown>;
  references?: SavedObjectReference[];
  error?: { statusCode?: number; error?: string; message?: string };
}

export interface KibanaState {
  /** By `type/id`; undefined when Kibana could not be asked (every object is then imported). */
  objects: Map<string, StoredObject> | undefined;
  defaultDataView: string | null;
}

/** create: not in Kibana; update: differs; import: state unknown; unchanged: nothing to do. */
export type ObjectAction = 'create' | 'update' | 'import' | 'unchanged';

export interface ObjectStatus {
  file: string;
  line: number;
  type: string;
  id: string;
  title: string;
  action: ObjectAction;
  /** For an update: the first path whose value differs, e.g. `attributes.title`. */
  difference?: string;
}

export type KibanaStep =
  | { kind: 'importObject'; description: string; object: LoadedObject }
  | { kind: 'setDefaultDataView'; description: string; dataViewId: string };

export interface KibanaPlan {
  objects: ObjectStatus[];
  steps: KibanaStep[];
  warnings: string[];
}

export const objectKey = (o: { type: string; id: string }) => `${o.type}/${o.id}`;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON text of an object or array, parsed; anything else as it is. */
function jsonText(value: unknown): unknown {
  if (typeof value !== 'string' || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value);
  } catch {
    // Not JSON after all: compared as the string it is.
    return value;
  }
}

/**
 * The first path where `stored` lacks what `wanted` says, or undefined when it has all of it
 * (see the module comment for what "has" means).
 */
export function firstDifference(
  wanted: unknown,
  stored: unknown,
  path: string,
): string | undefined {
  const want = jsonText(wanted);
  const have = jsonText(stored);
  if (isRecord(want)) {
    if (!isRecord(have)) return path;
    for (const [key, value] of Object.entries(want)) {
      const found = firstDifference(value, have[key], `${path}.${key}`);
      if (found) return found;
    }
    return undefined;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return path;
    for (const [index, value] of want.entries()) {
      const found = firstDifference(value, have[index], `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  return canonical(want) === canonical(have) ? undefined : path;
}

function compare(loaded: LoadedObject, stored: StoredObject | undefined): ObjectStatus {
  const { file, line, title, object } = loaded;
  const status = { file, line, type: object.type, id: object.id, title };
  if (!stored) return { ...status, action: 'import' };
  if (stored.error) return { ...status, action: 'create' };
  const difference =
    firstDifference(object.attributes, stored.attributes ?? {}, 'attributes') ??
    object.references
      .map((ref, index) =>
        (stored.references ?? []).some((s) => canonical(s) === canonical(ref))
          ? undefined
          : `references[${index}]`,
      )
      .find(Boolean);
  return difference
    ? { ...status, action: 'update', difference }
    : { ...status, action: 'unchanged' };
}

const describe = (s: ObjectStatus) =>
  `${s.action === 'import' ? 'import (create or overwrite)' : s.action} ${s.type} ${s.id}` +
  `${s.title ? ` "${s.title}"` : ''} (${s.file}:${s.line}` +
  `${s.difference ? `; ${s.difference} differs` : ''})`;

/**
 * The steps: import every object Kibana lacks or holds differently (all of them when its state
 * is unknown), then point the default data view at `defaultDataViewId` unless it already does.
 */
export function planKibana(
  files: SavedObjectsFile[],
  state: KibanaState,
  defaultDataViewId: string,
): KibanaPlan {
  const loaded = files.flatMap((f) => f.objects);
  const objects = loaded.map((o) =>
    compare(o, state.objects ? state.objects.get(objectKey(o.object)) : undefined),
  );
  const steps: KibanaStep[] = objects.flatMap((status, index) =>
    status.action === 'unchanged'
      ? []
      : [
          {
            kind: 'importObject' as const,
            description: describe(status),
            object: loaded[index] as LoadedObject,
          },
        ],
  );
  if (state.defaultDataView !== defaultDataViewId) {
    steps.push({
      kind: 'setDefaultDataView',
      description: `set the default data view to ${defaultDataViewId} (now: ${state.defaultDataView ?? 'none'})`,
      dataViewId: defaultDataViewId,
    });
  }
  const warnings = state.objects
    ? []
    : [
        'Kibana did not answer _bulk_get: the objects could not be compared, so every one is imported (overwrite)',
      ];
  return { objects, steps, warnings };
}
