/**
 * `nova smoke --url URL [--token T] [--require postgres,mongodb,...] [--timeout 60s] [--json]`:
 * what a CI pipeline asks of a deployed service. It polls, once a second until healthy or
 * the timeout: /livez must answer 200, /readyz 200, /api/health 200 with status ok or
 * degraded, and every `--require`d dependency must be up (with `--token`, a token holding
 * health:details, the report shows versions and errors too). Each request has 5 s.
 *
 * Exit 0 healthy; 1 unhealthy (it answered, but not well enough); 2 unreachable (nothing
 * answered on the last attempt).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { printJson } from './output.js';

export const SMOKE_DEPENDENCIES = [
  'postgres',
  'mongodb',
  'telemetry',
  'elasticsearch',
  'indexer',
  'kibana',
] as const;

interface Check {
  path: string;
  status: number | null;
  ok: boolean;
  latencyMs: number;
  detail: string;
}

interface HealthBody {
  status?: string;
  checks?: Record<string, { status: string; latencyMs?: number; details?: { error?: string } }>;
}

export interface SmokeOptions {
  url: string;
  token: string | undefined;
  require: readonly string[];
  timeoutMs: number;
  json: boolean;
}

export async function runSmoke({ url, token, require, timeoutMs, json }: SmokeOptions) {
  const base = url.replace(/\/+$/, '');
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let last: { checks: Check[]; health: HealthBody | null };
  for (;;) {
    attempts++;
    last = await attempt(base, headers, require);
    if (last.checks.every((check) => check.ok) || Date.now() + 1000 > deadline) break;
    await sleep(1000);
  }
  const { checks, health } = last;
  const result = checks.every((check) => check.ok)
    ? 'healthy'
    : checks.every((check) => check.status === null)
      ? 'unreachable'
      : 'unhealthy';
  if (json)
    printJson({ url: base, result, passed: result === 'healthy', attempts, checks, health });
  else {
    for (const check of checks) {
      process.stdout.write(
        `${check.ok ? 'ok  ' : 'FAIL'} ${check.path.padEnd(12)} ${String(check.status ?? '-').padEnd(4)} ${`${check.latencyMs} ms`.padStart(8)}  ${check.detail}\n`,
      );
    }
    for (const [name, dependency] of Object.entries(health?.checks ?? {})) {
      const required = require.includes(name) ? 'required' : '';
      const latency = dependency.latencyMs === undefined ? '' : `${dependency.latencyMs} ms`;
      process.stdout.write(
        `     ${name.padEnd(14)} ${dependency.status.padEnd(15)} ${latency.padStart(9)}  ${required}${dependency.details?.error ? ` ${dependency.details.error}` : ''}\n`,
      );
    }
    process.stdout.write(
      `smoke ${result === 'healthy' ? 'passed' : 'failed'}: ${base} ${result} after ${attempts} attempt${attempts === 1 ? '' : 's'}\n`,
    );
  }
  return result === 'healthy' ? 0 : result === 'unreachable' ? 2 : 1;
}

async function attempt(
  base: string,
  headers: Record<string, string>,
  require: readonly string[],
): Promise<{ checks: Check[]; health: HealthBody | null }> {
  let health: HealthBody | null = null;
  const get = async (path: string, judge: (status: number, body: unknown) => string | null) => {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    try {
      const response = await fetch(`${base}${path}`, {
        headers,
        signal: AbortSignal.timeout(5000),
      });
      const body: unknown = await response.json().catch(() => null);
      if (path === '/api/health') health = body as HealthBody;
      const problem = judge(response.status, body);
      return {
        path,
        status: response.status,
        ok: problem === null,
        latencyMs: latency(),
        detail: problem ?? 'ok',
      };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return {
        path,
        status: null,
        ok: false,
        latencyMs: latency(),
        detail: cause ?? (error as Error).message,
      };
    }
  };
  const checks = [
    await get('/livez', (status) => (status === 200 ? null : `HTTP ${status}`)),
    await get('/readyz', (status, body) =>
      status === 200
        ? null
        : `HTTP ${status}: ${((body as { reasons?: string[] } | null)?.reasons ?? []).join('; ')}`,
    ),
    await get('/api/health', (status, body) => {
      const report = body as HealthBody | null;
      if (status === 401) return 'HTTP 401: the token is invalid, expired or revoked';
      if (!report?.status) return `HTTP ${status}`;
      if (report.status === 'down') return `HTTP ${status}: down`;
      const missing = require.filter((name) => report.checks?.[name]?.status !== 'up');
      return missing.length === 0
        ? null
        : `required, not up: ${missing.map((name) => `${name} ${report.checks?.[name]?.status ?? 'not reported'}`).join(', ')}`;
    }),
  ];
  return { checks, health };
}
