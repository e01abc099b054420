/**
 * The Kibana 8 APIs the bootstrap calls, over the one Kibana request helper (lib/kibana.ts):
 * read saved objects (`_bulk_get`), import them (`_import?overwrite=true`), read and set the
 * default data view. Each call is retried a few times, with backoff, on answers that say
 * "try again" (429, 502, 503, 504) or no answer; any other non-2xx answer fails at once with
 * the server's body, and an import that answers 200 with `success: false` fails listing
 * every object Kibana refused.
 */
import type { KibanaConfig } from '../../config.js';
import { NovaError } from '../../lib/errors.js';
import { type KibanaReply, type KibanaRequest, kibanaRequest } from '../../lib/kibana.js';
import { withRetry } from '../../lib/retry.js';
import type { StoredObject } from './plan.js';
import type { LoadedObject, SavedObject } from './saved-objects.js';

const TRANSIENT_STATUS = new Set([429, 502, 503, 504]);
/** How much of an error body goes into a message. */
const BODY_LIMIT = 2000;

class TransientAnswer extends Error {
  constructor(readonly reply: KibanaReply) {
    super(`HTTP ${reply.status}`);
  }
}

const excerpt = (body: string) =>
  body.length > BODY_LIMIT ? `${body.slice(0, BODY_LIMIT)}… (${body.length} bytes)` : body;

export interface KibanaCallOptions {
  /** Attempts per call, including the first (default 4). */
  attempts?: number;
  /** Injected in tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * One request, retried while Kibana answers "try again" or not at all; refused credentials
 * fail here, with what to set. Any other answer is returned for the caller to judge.
 */
async function send(
  config: KibanaConfig,
  request: KibanaRequest,
  { attempts = 4, sleep }: KibanaCallOptions,
): Promise<KibanaReply> {
  let reply: KibanaReply;
  try {
    reply = await withRetry(
      async () => {
        const answer = await kibanaRequest(config, request);
        if (TRANSIENT_STATUS.has(answer.status)) throw new TransientAnswer(answer);
        return answer;
      },
      {
        attempts,
        baseDelayMs: 250,
        maxDelayMs: 2000,
        isTransient: (error) =>
          error instanceof TransientAnswer ||
          (error instanceof NovaError && error.code === 'UNAVAILABLE'),
        ...(sleep ? { sleep } : {}),
      },
    );
  } catch (error) {
    if (!(error instanceof TransientAnswer)) throw error;
    throw new NovaError(
      'UNAVAILABLE',
      `${describeCall(request)} answered HTTP ${error.reply.status} ${attempts} times: ${excerpt(error.reply.body)}`,
    );
  }
  if (reply.status === 401 || reply.status === 403) {
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `${describeCall(request)} refused (HTTP ${reply.status}): importing dashboards needs a Kibana user with "all" on ` +
        'Saved Objects Management, Dashboard, Visualize and Data View Management (and "all" on ' +
        'Advanced Settings to set the default data view): set KIBANA_USERNAME/KIBANA_PASSWORD or ' +
        `KIBANA_API_KEY. Kibana said: ${excerpt(reply.body)}`,
    );
  }
  return reply;
}

const describeCall = (request: KibanaRequest) =>
  `Kibana ${request.method} ${request.path.split('?')[0]}`;

/** The parsed JSON of a 2xx answer, or a NovaError quoting what Kibana said instead. */
function parse<T>(request: KibanaRequest, reply: KibanaReply): T {
  if (reply.status < 200 || reply.status > 299) {
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `${describeCall(request)} answered HTTP ${reply.status}: ${excerpt(reply.body)}`,
    );
  }
  try {
    return JSON.parse(reply.body) as T;
  } catch (error) {
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `${describeCall(request)} answered HTTP ${reply.status} with a body that is not JSON: ${excerpt(reply.body)}`,
      { cause: error },
    );
  }
}

/** One API call: the parsed JSON of a 2xx answer, or a NovaError saying what Kibana said. */
export async function callKibana<T>(
  config: KibanaConfig,
  request: KibanaRequest,
  options: KibanaCallOptions = {},
): Promise<T> {
  return parse<T>(request, await send(config, request, options));
}

/**
 * The saved objects Kibana holds under these ids, by `type/id` (a missing one carries
 * `error.statusCode` 404), or undefined when this Kibana has no `_bulk_get` (deprecated since
 * 8.7, so a later major may drop it): the caller then imports without comparing.
 */
export async function readSavedObjects(
  config: KibanaConfig,
  objects: SavedObject[],
  options: KibanaCallOptions = {},
): Promise<Map<string, StoredObject> | undefined> {
  const request: KibanaRequest = {
    method: 'POST',
    path: '/api/saved_objects/_bulk_get',
    json: objects.map(({ type, id }) => ({ type, id })),
  };
  const reply = await send(config, request, options);
  // The route itself is gone (the answer for a missing object is a 200 with an error in place).
  if (reply.status === 404 || reply.status === 410) return undefined;
  const answer = parse<{ saved_objects?: StoredObject[] }>(request, reply);
  const found = answer.saved_objects ?? [];
  const unreadable = found.filter((o) => o.error && o.error.statusCode !== 404);
  if (unreadable.length > 0) {
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `Kibana cannot read ${unreadable
        .map(
          (o) =>
            `${o.type} ${o.id} (${o.error?.statusCode}: ${o.error?.message ?? o.error?.error})`,
        )
        .join(', ')}`,
    );
  }
  return new Map(found.map((o) => [`${o.type}/${o.id}`, o]));
}

interface ImportError {
  id: string;
  type: string;
  title?: string;
  meta?: { title?: string };
  error?: {
    type?: string;
    message?: string;
    references?: { type: string; id: string }[];
    [field: string]: unknown;
  };
}

interface ImportAnswer {
  success?: boolean;
  successCount?: number;
  errors?: ImportError[];
  successResults?: {
    type: string;
    id: string;
    overwrite?: boolean;
    destinationId?: string;
  }[];
}

export interface ImportResult {
  created: number;
  overwritten: number;
  warnings: string[];
}

const whyRefused = ({ error }: ImportError) => {
  if (!error?.type) return 'unknown error';
  if (error.type === 'missing_references') {
    const refs = (error.references ?? []).map((r) => `${r.type} ${r.id}`).join(', ');
    return `missing_references: ${refs || 'unnamed'} (neither in the files nor in Kibana)`;
  }
  return error.message ? `${error.type}: ${error.message}` : error.type;
};

/**
 * Imports `objects` in one request with overwrite=true: one file for Kibana, so references
 * between objects of different files resolve whatever the order. A 200 with `success: false`
 * or any `errors` fails, naming each refused object with its file and line; an object Kibana
 * stored under another id (destinationId) is a warning, since our references use the id.
 */
export async function importSavedObjects(
  config: KibanaConfig,
  objects: LoadedObject[],
  options?: KibanaCallOptions,
): Promise<ImportResult> {
  const ndjson = `${objects.map((o) => JSON.stringify(o.object)).join('\n')}\n`;
  const answer = await callKibana<ImportAnswer>(
    config,
    {
      method: 'POST',
      path: '/api/saved_objects/_import?overwrite=true',
      // A FormData body can be sent again as it is: a retry re-reads it.
      form: formWith(ndjson),
    },
    options,
  );
  const where = new Map(objects.map((o) => [`${o.object.type}/${o.object.id}`, o]));
  const errors = answer.errors ?? [];
  if (answer.success !== true || errors.length > 0) {
    const listed = errors.map((e) => {
      const loaded = where.get(`${e.type}/${e.id}`);
      const title = e.meta?.title ?? e.title ?? loaded?.title;
      return `${e.type} ${e.id}${title ? ` "${title}"` : ''}${loaded ? ` (${loaded.file}:${loaded.line})` : ''}: ${whyRefused(e)}`;
    });
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `Kibana refused the import (success: ${String(answer.success)}, ${answer.successCount ?? 0} of ${objects.length} imported)` +
        (listed.length > 0 ? `: ${listed.join('; ')}` : ' without saying which object'),
    );
  }
  const results = answer.successResults ?? [];
  return {
    created: results.filter((r) => !r.overwrite).length,
    overwritten: results.filter((r) => r.overwrite).length,
    warnings: results
      .filter((r) => r.destinationId && r.destinationId !== r.id)
      .map(
        (r) =>
          `${r.type} ${r.id} was stored as ${r.destinationId}: an object of another space or origin has that id`,
      ),
  };
}

function formWith(ndjson: string): FormData {
  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), 'nova-dashboards.ndjson');
  return form;
}

/** The default data view's id in the default space, or null when none is set. */
export async function readDefaultDataView(
  config: KibanaConfig,
  options?: KibanaCallOptions,
): Promise<string | null> {
  const answer = await callKibana<{ data_view_id?: string | null }>(
    config,
    { method: 'GET', path: '/api/data_views/default' },
    options,
  );
  return answer.data_view_id || null;
}

/** Points the default data view at `id`, replacing any other (force). */
export async function setDefaultDataView(
  config: KibanaConfig,
  id: string,
  options?: KibanaCallOptions,
): Promise<void> {
  await callKibana(
    config,
    { method: 'POST', path: '/api/data_views/default', json: { data_view_id: id, force: true } },
    options,
  );
}
