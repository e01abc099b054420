/**
 * Kibana's HTTP API: its health, from the status API (GET /api/status, Kibana 8), and the one
 * request helper every other call (`nova bootstrap kibana`) goes through.
 *
 * What /api/status says (elastic/kibana core-status-server-internal, routes/status.ts):
 * `status.overall` is the worst level of core (elasticsearch, savedObjects) and of every
 * plugin, so one degraded plugin keeps it from `available` while Kibana works; the HTTP status
 * is 503 only when core itself is unavailable or critical. A caller it does not authenticate
 * (with anonymous status off, the default) gets `status.overall` alone, and that is core's
 * level. So: down when core is down; up when everything is available; degraded otherwise,
 * naming the degraded plugins; and `ready` (what the saved-objects import needs) when the
 * saved objects service is available (core not down, when only core's level is shown).
 * Credentials it refuses (401/403) mean Kibana runs but cannot be checked: degraded, with the
 * reason. One request, bounded, never retried: health must answer fast and honestly.
 */
import type { KibanaConfig } from '../config.js';
import { NovaError } from './errors.js';

export interface KibanaHealth {
  status: 'up' | 'degraded' | 'down';
  latencyMs: number;
  /** Kibana's own overall level, when it said one. */
  level?: string;
  /** The saved objects service can take an import (Kibana may still be degraded elsewhere). */
  ready?: boolean;
  /** Plugins below available, when Kibana named them (an authenticated caller). */
  degradedPlugins?: string[];
  /** It answered 401/403: running, but not to these credentials. */
  refused?: true;
  version?: string;
  error?: string;
}

interface ServiceStatus {
  level?: string;
  summary?: string;
}

interface StatusBody {
  version?: { number?: string };
  status?: {
    overall?: ServiceStatus;
    core?: Record<string, ServiceStatus>;
    plugins?: Record<string, ServiceStatus>;
  };
}

const LEVELS: Record<string, KibanaHealth['status']> = {
  available: 'up',
  degraded: 'degraded',
  unavailable: 'down',
  critical: 'down',
};

/** What an answer's levels mean for us (see the module comment). */
function judge(status: NonNullable<StatusBody['status']>): Omit<KibanaHealth, 'latencyMs'> {
  const overall = status.overall?.level;
  const coreLevels = Object.values(status.core ?? {}).map((s) => s.level);
  const core = status.core ? worst(coreLevels) : overall;
  if (!overall || !LEVELS[overall] || !core || !LEVELS[core]) return { status: 'down' };
  const coreDown = LEVELS[core] === 'down';
  const degradedPlugins = Object.entries(status.plugins ?? {})
    .filter(([, plugin]) => plugin.level !== 'available')
    .map(([name, plugin]) => `${name}${plugin.summary ? ` (${plugin.summary})` : ''}`);
  const savedObjects = status.core?.savedObjects?.level;
  const ready = savedObjects === undefined ? !coreDown : savedObjects === 'available';
  const result: Omit<KibanaHealth, 'latencyMs'> = {
    status: coreDown ? 'down' : LEVELS[overall] === 'up' ? 'up' : 'degraded',
    level: overall,
    ready,
  };
  if (degradedPlugins.length > 0) result.degradedPlugins = degradedPlugins;
  const why =
    degradedPlugins.length > 0 && !coreDown
      ? `degraded plugins: ${degradedPlugins.join(', ')}`
      : status.overall?.summary;
  if (result.status !== 'up' && why) result.error = why;
  return result;
}

/** Kibana's levels, best first (LEVELS lists them in that order). */
const ORDER = Object.keys(LEVELS);
const worst = (levels: (string | undefined)[]) =>
  levels.reduce<string | undefined>(
    (a, b) => (a === undefined || ORDER.indexOf(b ?? '') > ORDER.indexOf(a) ? b : a),
    undefined,
  );

/** The Authorization header for the configured credentials, if any. */
export function kibanaAuthorization(config: KibanaConfig): string | undefined {
  if (config.apiKey) return `ApiKey ${config.apiKey}`;
  if (config.username && config.password) {
    return `Basic ${Buffer.from(`${config.username}:${config.password}`).toString('base64')}`;
  }
  return undefined;
}

export async function kibanaHealth(
  config: KibanaConfig,
  timeoutMs = config.requestTimeoutMs,
): Promise<KibanaHealth> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  let reply: KibanaReply;
  try {
    reply = await kibanaRequest(config, { method: 'GET', path: '/api/status', timeoutMs });
  } catch (error) {
    const cause = error instanceof NovaError ? error.cause : error;
    return { status: 'down', latencyMs: elapsed(), error: fetchFailure(cause, timeoutMs) };
  }
  if (reply.status === 401 || reply.status === 403) {
    return {
      status: 'degraded',
      latencyMs: elapsed(),
      refused: true,
      error: `Kibana refused the credentials (HTTP ${reply.status}): set KIBANA_USERNAME/KIBANA_PASSWORD or KIBANA_API_KEY`,
    };
  }
  let body: StatusBody | undefined;
  try {
    body = JSON.parse(reply.body) as StatusBody;
  } catch {
    body = undefined; // Not JSON: reported below as an unexpected answer.
  }
  const version = body?.version?.number ? { version: body.version.number } : {};
  const judged = body?.status ? judge(body.status) : undefined;
  if (!judged?.level) {
    return {
      status: 'down',
      latencyMs: elapsed(),
      ...version,
      error: `unexpected answer from /api/status: HTTP ${reply.status}`,
    };
  }
  return { ...judged, latencyMs: elapsed(), ...version };
}

/** Kibana running but refusing our credentials (401/403 on /api/status). */
export const credentialsRefused = (health: KibanaHealth): boolean => health.refused === true;

/** A Kibana answer: its HTTP status and body text, whatever the status. */
export interface KibanaReply {
  status: number;
  body: string;
}

export interface KibanaRequest {
  method: 'GET' | 'POST';
  /** From the base URL, e.g. `/api/saved_objects/_import?overwrite=true`. */
  path: string;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as multipart/form-data (the saved objects import). */
  form?: FormData;
  timeoutMs?: number;
}

/**
 * One request to Kibana's HTTP API with the configured credentials; the answer comes back
 * whatever its status, for the caller to judge. Writes carry `kbn-xsrf`, which Kibana requires
 * on every request that is not a GET. Redirects are returned, not followed (the credentials
 * go nowhere else). Only a failure to get an answer throws: UNAVAILABLE, without the URL.
 */
export async function kibanaRequest(
  config: KibanaConfig,
  { method, path, json, form, timeoutMs = config.requestTimeoutMs }: KibanaRequest,
): Promise<KibanaReply> {
  const authorization = kibanaAuthorization(config);
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...(authorization ? { authorization } : {}),
    ...(method === 'GET' ? {} : { 'kbn-xsrf': 'true' }),
    ...(json === undefined ? {} : { 'content-type': 'application/json' }),
  };
  try {
    const response = await fetch(`${config.url}${path}`, {
      method,
      headers,
      // fetch writes the multipart boundary into content-type itself.
      body: form ?? (json === undefined ? undefined : JSON.stringify(json)),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    throw new NovaError(
      'UNAVAILABLE',
      `Kibana ${method} ${path.split('?')[0]}: ${fetchFailure(error, timeoutMs)}`,
      { cause: error },
    );
  }
}

/** What went wrong reaching Kibana, without the URL's credentials (there are none in it). */
function fetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
