/**
 * The service's commands: `nova serve`, `nova smoke` and `nova token`.
 */

import { seedDemoData } from '../bootstrap/postgres/demo.js';
import { bootstrapPostgres, formatBootstrapReport } from '../bootstrap/postgres/index.js';
import { loadConfig } from '../config.js';
import { settleBy } from '../lib/deadline.js';
import { NovaError } from '../lib/errors.js';
import { startService } from '../service/server.js';
import { telemetry } from '../telemetry/state.js';
import { redactUrl } from './commands.js';
import { openSession } from './database.js';
import { printJson } from './output.js';
import { stopSignal } from './signals.js';

/**
 * `nova serve`: with no database configured, an embedded PostgreSQL (migrated, seeded with
 * demo data once, and a fresh demo token for the demo admin printed); otherwise the
 * configured one as it is (readiness reports pending migrations). Serves until SIGINT or
 * SIGTERM; exit 0 after an orderly stop, 1 when it did not finish in time.
 */
export async function runServe() {
  const config = loadConfig();
  const session = await openSession({ allowEmbedded: true });
  let stop: ReturnType<typeof stopSignal> | undefined;
  let deadline: number | undefined;
  try {
    if (session.embedded) {
      const report = await bootstrapPostgres(session.url, session.db.postgres);
      await seedDemoData(session.db.postgres);
      process.stderr.write(
        `PostgreSQL: ${redactUrl(session.url)} (embedded, data in ${session.dataDir})\n${formatBootstrapReport(report)}\n`,
      );
      const token = await demoToken(session.db);
      if (token) process.stderr.write(`demo token (admin@nova.example, this run only): ${token}\n`);
    }
    const service = await startService(session.db, {
      postgresUrl: session.url,
      config: config.service,
      app: { serviceName: config.telemetry.serviceName },
    });
    process.stderr.write(`nova: serving on ${service.url}; Ctrl-C to stop\n`);
    stop = stopSignal({ exclusive: true });
    await stop.stopped;
    // The whole stop has one bound: serving, the stores and the SDK's flush together; past
    // it (a connection pool waiting on a hung query, say) the process ends anyway.
    deadline = Date.now() + config.service.shutdownTimeoutMs;
    setTimeout(() => {
      process.stderr.write('nova: shutdown did not finish in time, exiting\n');
      process.exit(1);
    }, config.service.shutdownTimeoutMs + 5000).unref();
    const clean = await service.stop();
    if (!clean) process.stderr.write('nova: shutdown did not finish in time\n');
    return clean ? 0 : 1;
  } finally {
    stop?.dispose();
    // The stores first (the telemetry writer's last flush is traced), then the SDK's own
    // flush of spans and metrics, bounded: an unreachable collector must not hold the exit.
    // Closing the stores (and stopping an embedded PostgreSQL) gets a few seconds even after
    // a slow stop; the SDK's flush only what is left of the bound.
    const by = deadline ?? Date.now() + config.service.shutdownTimeoutMs;
    await settleBy(Math.max(by, Date.now() + 3000), session.close());
    await settleBy(by, telemetry.shutdown?.() ?? Promise.resolve());
  }
}

/** Embedded databases only: the demo admin's `local` token, replaced on every start. */
async function demoToken(db: Awaited<ReturnType<typeof openSession>>['db']) {
  const admin = await db.postgres.findUserByEmail('admin@nova.example');
  if (!admin) return undefined;
  await db.postgres.revokeApiToken({ userId: admin.id, name: 'local' }).catch((error: unknown) => {
    if (!(error instanceof NovaError && error.code === 'NOT_FOUND')) throw error;
  });
  return (await db.postgres.createApiToken(admin.id, { name: 'local' })).token;
}

interface Check {
  path: string;
  status: number | null;
  ok: boolean;
  latencyMs: number;
  detail: string;
}

/**
 * `nova smoke [--url URL]`: what CI asks of a deployed service. /livez must answer 200,
 * /readyz 200, /api/health 200 with status ok or degraded (degraded names what is not up).
 * Each request has 5 s. Exit 0 when every check passes.
 */
export async function runSmoke({ url, json }: { url: string | undefined; json: boolean }) {
  const config = loadConfig();
  const base = (url ?? `http://127.0.0.1:${config.service.port}`).replace(/\/+$/, '');
  const get = async (path: string, judge: (status: number, body: unknown) => string | null) => {
    const started = performance.now();
    try {
      const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
      const body: unknown = await response.json().catch(() => null);
      const problem = judge(response.status, body);
      return {
        path,
        status: response.status,
        ok: problem === null,
        latencyMs: Math.round(performance.now() - started),
        detail: problem ?? 'ok',
      } satisfies Check;
    } catch (error) {
      return {
        path,
        status: null,
        ok: false,
        latencyMs: Math.round(performance.now() - started),
        detail: (error as Error).message,
      } satisfies Check;
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
      const report = body as { status?: string; checks?: Record<string, { status: string }> };
      if (status !== 200 || !report?.status) return `HTTP ${status}, status ${report?.status}`;
      const notUp = Object.entries(report.checks ?? {})
        .filter(([, check]) => check.status !== 'up' && check.status !== 'not_configured')
        .map(([name, check]) => `${name} ${check.status}`);
      return report.status === 'down' ? `down: ${notUp.join(', ')}` : null;
    }),
  ];
  const passed = checks.every((check) => check.ok);
  if (json) printJson({ url: base, passed, checks });
  else {
    for (const check of checks) {
      process.stdout.write(
        `${check.ok ? 'ok  ' : 'FAIL'} ${check.path.padEnd(12)} ${String(check.status ?? '-').padEnd(4)} ${`${check.latencyMs} ms`.padStart(8)}  ${check.detail}\n`,
      );
    }
    process.stdout.write(`smoke ${passed ? 'passed' : 'failed'}: ${base}\n`);
  }
  return passed ? 0 : 1;
}

/**
 * `nova token create --user EMAIL --name LABEL [--expires-days N]` prints the token once;
 * `nova token list --user EMAIL`; `nova token revoke --user EMAIL --name LABEL` (or an id).
 */
export async function runToken({
  action,
  id,
  user,
  name,
  expiresDays,
  json,
}: {
  action: 'create' | 'list' | 'revoke';
  id: string | undefined;
  user: string | undefined;
  name: string | undefined;
  expiresDays: number | undefined;
  json: boolean;
}) {
  const session = await openSession();
  try {
    const store = session.db.postgres;
    const owner = async () => {
      if (!user) throw new NovaError('VALIDATION_FAILED', '--user is required', { field: 'user' });
      const found = await store.findUserByEmail(user);
      if (!found) throw new NovaError('NOT_FOUND', `no user ${user}`, { field: 'user' });
      return found;
    };
    const actor = { userAgent: 'nova-cli' };
    if (action === 'create') {
      const created = await store.createApiToken(
        (await owner()).id,
        { name: name ?? '', ...(expiresDays === undefined ? {} : { expiresInDays: expiresDays }) },
        actor,
      );
      if (json) printJson(created);
      else {
        process.stdout.write(`${created.token}\n`);
        process.stderr.write(
          `token ${created.name} (${created.id}) for ${user}${created.expiresAt ? `, expires ${created.expiresAt.toISOString()}` : ''}: shown once, store it now\n`,
        );
      }
      return 0;
    }
    if (action === 'list') {
      const tokens = await store.listApiTokens((await owner()).id);
      if (json) printJson(tokens);
      else {
        for (const t of tokens) {
          const state = t.revokedAt
            ? 'revoked'
            : t.expiresAt && t.expiresAt < new Date()
              ? 'expired'
              : 'active';
          process.stdout.write(
            `${t.id}  ${t.name.padEnd(20)} ${state.padEnd(8)} last used ${t.lastUsedAt?.toISOString() ?? 'never'}\n`,
          );
        }
      }
      return 0;
    }
    const revoked = await store.revokeApiToken(
      id ? { id } : { userId: (await owner()).id, name: name ?? '' },
      actor,
    );
    if (json) printJson(revoked);
    else process.stdout.write(`revoked token ${revoked.name} (${revoked.id})\n`);
    return 0;
  } finally {
    await session.close();
  }
}
