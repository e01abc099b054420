/**
 * A scripted Kibana 8 for `nova bootstrap kibana` tests, on the scripted /api/status server
 * (real sockets on 127.0.0.1; Kibana itself cannot run here, the live suite covers a real
 * one). It holds saved objects and the default data view in memory and answers the calls the
 * bootstrap makes the way Kibana's API documentation describes them:
 *
 * - POST /api/saved_objects/_bulk_get: each object, or `error.statusCode` 404 in its place;
 * - POST /api/saved_objects/_import: multipart `file` of NDJSON; `kbn-xsrf` required; with
 *   overwrite=true an existing object is replaced (`overwrite: true` in successResults),
 *   without it a `conflict`; a reference to an object neither imported nor stored is a
 *   `missing_references` error; HTTP 200 either way, `success: false` when anything failed;
 * - GET / POST /api/data_views/default ({data_view_id, force}).
 *
 * What it stores is what Kibana stores (asKibanaStores). Tests script the rest: answers
 * queued for a route (`once`), refused objects (`refuse`), a Kibana that rewrites what it
 * stores otherwise (`migrate`).
 */
import type { KibanaAnswer, SeenRequest } from './kibana-status.js';
import { startKibanaStatus, statusAnswer } from './kibana-status.js';

export interface StoredSavedObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: { type: string; id: string; name: string }[];
  [field: string]: unknown;
}

const json = (status: number, body: unknown): KibanaAnswer => ({
  status,
  body: JSON.stringify(body),
});
const badRequest = (message: string) =>
  json(400, { statusCode: 400, error: 'Bad Request', message });
const key = (o: { type: string; id: string }) => `${o.type}/${o.id}`;

/**
 * What Kibana 8.11–8.19 stores of an imported object of ours, as its source has it: bulkCreate
 * migrates on the way in (core-saved-objects-api-server-internal bulk_create.ts, the document
 * migrator's upgrade pipeline): types with model versions record them as virtual versions
 * `10.<n>.0` (dashboard 10.2.0, search 10.5.0: their 8.x model versions change no data), the
 * dashboard embeddable migrations parse and re-serialize panelsJSON (same content, not the
 * same text), and the import adds its own fields (managed, namespaces, timestamps, version,
 * migrationVersion). No attribute or reference of our files changes.
 */
export function asKibanaStores(object: StoredSavedObject): StoredSavedObject {
  const modelVersion: Record<string, string> = { dashboard: '10.2.0', search: '10.5.0' };
  const typeMigrationVersion =
    modelVersion[object.type] ?? String(object.typeMigrationVersion ?? '');
  const attributes = { ...object.attributes };
  if (typeof attributes.panelsJSON === 'string') {
    // Re-serialized with its keys in another order: equal as JSON, different as text.
    const reorder = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reorder)
        : value && typeof value === 'object'
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([k, v]) => [k, reorder(v)]),
            )
          : value;
    attributes.panelsJSON = JSON.stringify(reorder(JSON.parse(attributes.panelsJSON)));
  }
  const now = '2026-12-04T00:00:00.000Z';
  return {
    ...object,
    attributes,
    typeMigrationVersion,
    migrationVersion: { [object.type]: typeMigrationVersion },
    managed: false,
    namespaces: ['default'],
    created_at: now,
    updated_at: now,
    version: 'WzEsMV0=',
  };
}

export async function startScriptedKibana() {
  const objects = new Map<string, StoredSavedObject>();
  let defaultDataView: string | null = null;
  const queued = new Map<string, KibanaAnswer[]>();
  const refused = new Map<string, Record<string, unknown>>();
  let migrate: (o: StoredSavedObject) => StoredSavedObject = asKibanaStores;

  async function importObjects(request: SeenRequest, overwrite: boolean): Promise<KibanaAnswer> {
    const form = await new Request('http://kibana/', {
      method: 'POST',
      headers: { 'content-type': String(request.headers['content-type']) },
      body: request.body,
    }).formData();
    const file = form.get('file');
    if (!(file instanceof Blob)) return badRequest('[request body.file]: expected a file');
    const incoming = (await file.text())
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as StoredSavedObject);
    const importing = new Set(incoming.map(key));
    const errors: unknown[] = [];
    const successResults: unknown[] = [];
    for (const object of incoming) {
      const meta = { title: object.attributes?.title };
      const base = { type: object.type, id: object.id, meta };
      const missing = (object.references ?? []).filter(
        (r) => !importing.has(key(r)) && !objects.has(key(r)),
      );
      const scripted = refused.get(key(object));
      if (scripted) errors.push({ ...base, title: meta.title, error: scripted });
      else if (missing.length > 0) {
        errors.push({
          ...base,
          error: {
            type: 'missing_references',
            references: missing.map(({ type, id }) => ({ type, id })),
          },
        });
      } else if (objects.has(key(object)) && !overwrite) {
        errors.push({ ...base, error: { type: 'conflict' } });
      } else {
        const existed = objects.has(key(object));
        objects.set(key(object), migrate(structuredClone(object)));
        successResults.push({ ...base, ...(existed ? { overwrite: true } : {}) });
      }
    }
    return json(200, {
      success: errors.length === 0,
      successCount: successResults.length,
      successResults,
      ...(errors.length > 0 ? { errors } : {}),
    });
  }

  const kibana = await startKibanaStatus(statusAnswer('available'), async (request) => {
    const [path = '', query = ''] = request.path.split('?');
    const route = `${request.method} ${path}`;
    const next = queued.get(route)?.shift();
    if (next) return next;
    if (request.method !== 'GET' && request.headers['kbn-xsrf'] === undefined) {
      return badRequest('Request must contain a kbn-xsrf header.');
    }
    switch (route) {
      case 'POST /api/saved_objects/_bulk_get': {
        const wanted = JSON.parse(request.body.toString()) as { type: string; id: string }[];
        return json(200, {
          saved_objects: wanted.map(
            (w) =>
              objects.get(key(w)) ?? {
                type: w.type,
                id: w.id,
                error: {
                  statusCode: 404,
                  error: 'Not Found',
                  message: `Saved object [${w.type}/${w.id}] not found`,
                },
              },
          ),
        });
      }
      case 'POST /api/saved_objects/_import':
        return importObjects(request, new URLSearchParams(query).get('overwrite') === 'true');
      case 'GET /api/data_views/default':
        return json(200, { data_view_id: defaultDataView ?? '' });
      case 'POST /api/data_views/default': {
        const body = JSON.parse(request.body.toString()) as {
          data_view_id: string | null;
          force?: boolean;
        };
        if (defaultDataView === null || body.force) defaultDataView = body.data_view_id;
        return json(200, { acknowledged: true });
      }
      default:
        return undefined;
    }
  });

  return {
    ...kibana,
    objects,
    defaultDataView: () => defaultDataView,
    setDefaultDataView: (id: string | null) => {
      defaultDataView = id;
    },
    /** The next answers to `METHOD /path` (without the query), before the scripted API. */
    once: (route: string, ...answers: KibanaAnswer[]) => {
      queued.set(route, [...(queued.get(route) ?? []), ...answers]);
    },
    /** Refuse importing `type/id` with this `error` (e.g. {type: 'unsupported_type'}). */
    refuse: (objectKey: string, error: Record<string, unknown>) => {
      refused.set(objectKey, error);
    },
    /** What Kibana does to an object when it stores it, on top of what it always does. */
    migrate: (transform: (o: StoredSavedObject) => StoredSavedObject) => {
      migrate = (object) => transform(asKibanaStores(object));
    },
    /** The requests other than /api/status: what the bootstrap read and wrote. */
    calls: () =>
      kibana.seen
        .filter((r) => !r.path.startsWith('/api/status'))
        .map((r) => `${r.method} ${r.path}`),
  };
}
