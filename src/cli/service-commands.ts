/**
 * The service's commands: `nova serve` and `nova token` (`nova smoke` is in smoke.ts).
 */

import { loginRisks } from '../bootstrap/postgres/app-role.js';
import { formatBootstrapReport } from '../bootstrap/postgres/index.js';
import { loadConfig } from '../config.js';
import { settleBy } from '../lib/deadline.js';
import { NovaError } from '../lib/errors.js';
import { type RunningService, shutdown, startService } from '../service/server.js';
import { telemetry } from '../telemetry/state.js';
import { cliActor } from './actor.js';
import { databaseLine, openSession, prepareDatabase, type Session } from './database.js';
import { printJson } from './output.js';
import { stopSignal } from './signals.js';

/** How long past its shutdown bound `nova serve` waits before it exits anyway. */
export const HARD_EXIT_MARGIN_MS = 5000;

/**
 * `nova serve`: with no database configured, an embedded PostgreSQL (migrated, seeded with
 * demo data once, and a fresh demo token for the demo admin printed); otherwise the
 * configured one as it is (readiness reports pending migrations). Serves until SIGINT or
 * SIGTERM; exit 0 after an orderly stop, 1 when it did not finish in time.
 */
export async function runServe() {
  const config = loadConfig();
  const session = await openSession({ allowEmbedded: true });
  const timeoutMs = config.service.shutdownTimeoutMs;
  let service: RunningService | undefined;
  let stop: ReturnType<typeof stopSignal> | undefined;
  let clean = false;
  try {
    // From the start: a signal during start-up stops the service as soon as it is up.
    stop = stopSignal();
    if (session.embedded) {
      const { report } = await prepareDatabase(session);
      process.stderr.write(`${databaseLine(session)}\n${formatBootstrapReport(report)}\n`);
      const token = await demoToken(session.db);
      if (token) {
        process.stderr.write(
          `demo token (${DEMO_ADMIN}, read-only, this run only, ${DEMO_TOKEN_HOURS} h at most): ${token}\n`,
        );
      }
    }
    await checkLogin(session, config.production);
    service = await startService(session.db, {
      postgresUrl: session.url,
      config: config.service,
      kibana: config.kibana,
      app: { serviceName: config.telemetry.serviceName },
    });
    process.stderr.write(`nova: serving on ${service.url}; Ctrl-C to stop\n`);
    await stop.stopped;
    // Past the bound (a connection pool waiting on a hung query, say) the process ends anyway.
    setTimeout(() => {
      process.stderr.write('nova: shutdown did not finish in time, exiting\n');
      process.exit(1);
    }, timeoutMs + HARD_EXIT_MARGIN_MS).unref();
  } finally {
    stop?.dispose();
    const warn = (message: string) => process.stderr.write(`nova: ${message}\n`);
    clean = await shutdown(service, {
      closeStores: async () => {
        // "This run only": the demo token ends with the run (after a crash, at the next
        // start), within a second of its own so the stores still close and flush.
        if (session.embedded) {
          const revoked = await settleBy(
            Date.now() + 1000,
            revokeDemoToken(session.db).then(
              () => true,
              () => false,
            ),
          );
          if (!revoked) warn('the demo token could not be revoked; the next start replaces it');
        }
        await session.close();
      },
      flushTelemetry: () => telemetry.shutdown?.() ?? Promise.resolve(),
      timeoutMs,
      warn,
    });
  }
  if (!clean) process.stderr.write('nova: shutdown did not finish in time\n');
  return clean ? 0 : 1;
}

/**
 * The service as a superuser or the tables' owner could rewrite the audit trail: refused in
 * production, a warning elsewhere (a developer's own database).
 */
async function checkLogin(session: Session, production: boolean) {
  const risks = await loginRisks(session.db.postgres.pool);
  if (risks.length === 0) return;
  const message = `DATABASE_URL logs in with more than the service needs (${risks.join('; ')}): give the service an application role and run the bootstrap as the owner (DATABASE_OWNER_URL)`;
  if (production) throw new NovaError('CONFIG_INVALID', message, { field: 'DATABASE_URL' });
  process.stderr.write(`nova: warning: ${message}\n`);
}

const DEMO_ADMIN = 'admin@nova.example';

/** Revokes the demo admin's `local` token, if there is one; the admin, if there is one. */
async function revokeDemoToken(db: Session['db']) {
  const admin = await db.postgres.findUserByEmail(DEMO_ADMIN);
  if (!admin) return undefined;
  await db.postgres.revokeApiToken({ userId: admin.id, name: 'local' }).catch((error: unknown) => {
    if (!(error instanceof NovaError && error.code === 'NOT_FOUND')) throw error;
  });
  return admin;
}

/** How long the demo token works, if the run lasts that long. */
export const DEMO_TOKEN_HOURS = 8;

/**
 * Embedded databases only: the demo admin's `local` token, replaced on every start, expiring
 * within DEMO_TOKEN_HOURS, and scoped to what reads (the `:read` and `:search` permissions
 * and health details): it can look at everything and change nothing.
 */
async function demoToken(db: Session['db']) {
  const admin = await revokeDemoToken(db);
  if (!admin) return undefined;
  const scopes = (await db.postgres.listUserPermissions(admin.id)).filter(
    (name) => /:(read|search)$/.test(name) || name === 'health:details',
  );
  const created = await db.postgres.createApiToken(
    admin.id,
    { name: 'local', expiresInHours: DEMO_TOKEN_HOURS, scopes },
    cliActor(),
  );
  return created.token;
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
  scopes,
  json,
}: {
  action: 'create' | 'list' | 'revoke';
  id: string | undefined;
  user: string | undefined;
  name: string | undefined;
  expiresDays: number | undefined;
  scopes: string[] | undefined;
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
    const actor = cliActor();
    if (action === 'create') {
      const created = await store.createApiToken(
        (await owner()).id,
        {
          name: name ?? '',
          ...(expiresDays === undefined ? {} : { expiresInDays: expiresDays }),
          ...(scopes === undefined ? {} : { scopes }),
        },
        actor,
      );
      if (json) printJson(created);
      else {
        process.stdout.write(`${created.token}\n`);
        process.stderr.write(
          `token ${created.name} (${created.id}) for ${user}${created.expiresAt ? `, expires ${created.expiresAt.toISOString()}` : ''}${created.scopes.length ? `, scopes ${created.scopes.join(', ')}` : ''}: shown once, store it now\n`,
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
            `${t.id}  ${t.name.padEnd(20)} ${state.padEnd(8)} last used ${t.lastUsedAt?.toISOString() ?? 'never'}${t.scopes.length ? `  scopes ${t.scopes.join(',')}` : ''}\n`,
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
