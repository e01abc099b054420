/**
 * `nova token`, `nova smoke` and `nova serve` as a child process: a token is printed once on
 * stdout and authenticates, listing never shows it, revoking ends it; smoke fails against a
 * port with nothing behind it and passes against `nova serve`, which stops cleanly on SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  embeddedRootFor,
  freePort,
  startEmbeddedPostgres,
} from '../src/bootstrap/postgres/embedded.js';
import { withClient } from '../src/bootstrap/postgres/migrate.js';
import { createNovaDb, type NovaDb } from '../src/lib/db/index.js';
import { background, run } from './support/cli.js';
import { createEmptyDatabase, testConfig, uniqueEmail } from './support/database.js';
import { loginUrl } from './support/global-setup.js';

const TOKEN_LINE = /^nova_[A-Za-z0-9_-]{43}\n$/;

/** A bootstrapped database (through the CLI), its environment, and a NovaDb on it. */
async function bootstrapped() {
  const ownerUrl = await createEmptyDatabase();
  // As deployed: the bootstrap as the owner, everything else as the application role it makes.
  const login = { user: `nova_cli_${crypto.randomUUID().slice(0, 8)}`, password: 'cli-app-pw' };
  const url = loginUrl(ownerUrl, login);
  afterAll(() =>
    withClient(ownerUrl, (c) => c.query(`DROP OWNED BY ${login.user}; DROP ROLE ${login.user}`)),
  );
  const env = { DATABASE_OWNER_URL: ownerUrl, DATABASE_URL: url };
  const result = await run(['bootstrap', 'postgres'], env);
  if (result.code !== 0) throw new Error(`bootstrap failed: ${result.stderr}`);
  expect(result.stdout).toContain(`postgres application role ${login.user}: created`);
  return { url, ownerUrl, env };
}

/** `nova serve` in the background; resolves once it says it is serving (or fails by a deadline). */
function serve(
  env: Record<string, string>,
  preload: string[] = [],
  cwd = process.cwd(),
  { ownProcessGroup = false } = {},
) {
  return background(['serve'], env, 'serving on', { preload, cwd, ownProcessGroup });
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('nova token', { timeout: 90_000 }, () => {
  let env: Record<string, string>;
  let db: NovaDb;
  let email: string;
  let userId: string;

  beforeAll(async () => {
    const database = await bootstrapped();
    env = database.env;
    db = createNovaDb(testConfig(database.url));
    email = uniqueEmail('cli-token');
    userId = (await db.createUser({ email, firstName: 'C', lastName: 'I' })).id;
    await db.postgres.assignRole(userId, 'viewer');
  });
  afterAll(() => db.close());

  it('create prints the token alone on stdout, and it authenticates', async () => {
    const created = await run(['token', 'create', '--user', email, '--name', 'ci'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(TOKEN_LINE);
    expect(created.stderr).toMatch(
      /^token ci \([0-9a-f-]{36}\) for .*: shown once, store it now\n$/,
    );
    expect(created.stderr).not.toContain(created.stdout.trim());
    const principal = await db.postgres.authenticateApiToken(created.stdout.trim());
    expect(principal).toMatchObject({ userId, permissions: expect.arrayContaining(['kb:search']) });
  });

  it('list shows the tokens and their state, never the secret; revoke by name ends it', async () => {
    const created = await run(['token', 'create', '--user', email, '--name', 'laptop'], env);
    const token = created.stdout.trim();
    const [{ id } = { id: '' }] = (await db.postgres.listApiTokens(userId)).filter(
      (x) => x.name === 'laptop',
    );

    const listed = await run(['token', 'list', '--user', email], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${id}  laptop +active +last used never$`, 'm'));
    expect(listed.stdout).not.toContain(token);
    expect(listed.stdout).not.toContain(token.slice(5, 20));

    const revoked = await run(['token', 'revoke', '--user', email, '--name', 'laptop'], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`revoked token laptop (${id})\n`);
    expect(await db.postgres.authenticateApiToken(token)).toBeNull();
    expect((await run(['token', 'list', '--user', email], env)).stdout).toMatch(
      new RegExp(`^${id}  laptop +revoked `, 'm'),
    );

    const again = await run(['token', 'revoke', '--user', email, '--name', 'laptop'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^nova: error NOT_FOUND: /);
  });

  it('revokes by id, and creates with an expiry', async () => {
    const created = await run(
      ['token', 'create', '--user', email, '--name', 'month', '--expires-days', '30', '--json'],
      env,
    );
    expect(created.code).toBe(0);
    const body = JSON.parse(created.stdout) as { id: string; token: string; expiresAt: string };
    expect(body.token).toMatch(/^nova_/);
    const days = (Date.parse(body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    const revoked = await run(['token', 'revoke', body.id], env);
    expect(revoked.code).toBe(0);
    expect(await db.postgres.authenticateApiToken(body.token)).toBeNull();
  });

  it('fails with exit 1 for an unknown user, a missing name, a bad expiry or a duplicate name', async () => {
    const [unknown, nameless, zero] = await Promise.all([
      run(['token', 'create', '--user', uniqueEmail('nobody'), '--name', 'x'], env),
      run(['token', 'create', '--user', email], env),
      run(['token', 'create', '--user', email, '--name', 'z', '--expires-days', '0'], env),
      run(['token', 'create', '--user', email, '--name', 'twice'], env),
    ]);
    expect(unknown?.code).toBe(1);
    expect(unknown?.stderr).toMatch(/error NOT_FOUND: no user .*\(field: user\)/);
    expect(unknown?.stdout).toBe('');
    expect(nameless?.code).toBe(1);
    expect(nameless?.stderr).toMatch(/error VALIDATION_FAILED: .*\(field: name\)/);
    expect(zero?.code).toBe(1);
    expect(zero?.stderr).toContain('(field: expiresInDays)');
    const twice = await run(['token', 'create', '--user', email, '--name', 'twice'], env);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/error ALREADY_EXISTS: .*\(field: name\)/);
    expect(twice.stdout).toBe('');
  });

  it('role: grant, list and revoke, audited with the OS user; bootstrap leaves a revoked default out', async () => {
    const listed = async () =>
      JSON.parse((await run(['role', 'list', '--json'], env)).stdout) as {
        role: string;
        permissions: string[];
      }[];
    const viewer = async () => (await listed()).find((r) => r.role === 'viewer')?.permissions;
    expect(await viewer()).toContain('kb:read');
    const revoked = await run(['role', 'revoke', 'viewer', 'kb:read'], env);
    expect(revoked).toMatchObject({ code: 0, stdout: 'kb:read revoked from viewer\n' });
    expect((await run(['role', 'revoke', 'viewer', 'kb:read'], env)).stdout).toContain(
      'nothing to do',
    );
    expect((await run(['bootstrap', 'postgres'], env)).stdout).toContain('0 grants added');
    expect(await viewer()).not.toContain('kb:read');
    const granted = await run(['role', 'grant', 'viewer', 'kb:read'], env);
    expect(granted).toMatchObject({ code: 0, stdout: 'kb:read granted to viewer\n' });
    expect(await viewer()).toContain('kb:read');
    const [row] = await withClient(
      env.DATABASE_OWNER_URL as string,
      async (c) =>
        (
          await c.query<{ action: string; user_agent: string }>(
            `SELECT action, user_agent FROM audit_logs WHERE action LIKE 'role.permission_%' ORDER BY id LIMIT 1`,
          )
        ).rows,
    );
    expect(row).toEqual({
      action: 'role.permission_revoked',
      user_agent: `nova-cli; os-user=${userInfo().username}`,
    });
    const unknown = await run(['role', 'grant', 'viewer', 'no:such'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/NOT_FOUND.*no:such/);
    expect((await run(['role', 'grant', 'viewer'], env)).code).toBe(2);
  });

  it('refuses bad usage with exit 2 before touching a database', async () => {
    const usages = [
      ['token'],
      ['token', 'bogus'],
      ['token', 'create', '--user', 'a@example.com', '--name', 'x', '--expires-days', 'x'],
      ['token', 'create', '--user', 'a@example.com', '--name', 'x', '--expires-days', '-1'],
      ['token', 'create', 'extra', '--user', 'a@example.com', '--name', 'x'],
      ['token', 'list', '--user', 'a@example.com', '--bogus'],
    ];
    // No DATABASE_URL: a command that got as far as the database would fail with exit 1.
    const results = await Promise.all(usages.map((args) => run(args)));
    for (const [i, result] of results.entries()) {
      expect(result.code, usages[i]?.join(' ')).toBe(2);
      expect(result.stderr).toContain('Run `nova help` for usage.');
    }
    expect(results[2]?.stderr).toContain('--expires-days takes a whole number of days (got x)');
    expect(results[1]?.stderr).toContain('token takes create, list or revoke (got bogus)');
  });
});

describe('nova smoke and nova serve', { timeout: 90_000 }, () => {
  it('smoke says unreachable (exit 2) when nothing listens, after polling until --timeout', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const [result, json, polled] = await Promise.all([
      run(['smoke', '--url', url, '--timeout', '1s']),
      run(['smoke', '--url', `${url}/`, '--json', '--timeout', '1s']),
      run(['smoke', '--url', url, '--timeout', '3s', '--json']),
    ]);
    expect(result.code).toBe(2);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3).map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      ['FAIL', '/livez', '-'],
      ['FAIL', '/readyz', '-'],
      ['FAIL', '/api/health', '-'],
    ]);
    expect(lines[3]).toBe(`smoke failed: ${url} unreachable after 1 attempt`);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      url,
      result: 'unreachable',
      passed: false,
      checks: [
        { path: '/livez', status: null, ok: false },
        { path: '/readyz', status: null, ok: false },
        { path: '/api/health', status: null, ok: false },
      ],
    });
    // It kept asking, about once a second, until the timeout.
    expect(JSON.parse(polled.stdout).attempts).toBeGreaterThanOrEqual(2);
  });

  it('smoke refuses an unknown --require name or a malformed --timeout (exit 2)', async () => {
    const [bogus, timeout] = await Promise.all([
      run(['smoke', '--require', 'postgres,redis']),
      run(['smoke', '--timeout', 'soon']),
    ]);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain(
      '--require takes postgres, mongodb, telemetry, elasticsearch, indexer, kibana (got redis)',
    );
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('--timeout takes a duration');
  });

  it('serve answers smoke and bearer tokens, and exits 0 on SIGTERM', async () => {
    const { env } = await bootstrapped();
    const port = await freePort();
    const served = await serve({ ...env, NOVA_HTTP_PORT: String(port) });
    children.push(served.child);
    const base = `http://127.0.0.1:${port}`;
    expect(served.stderr()).toContain(`serving on ${base}`);

    // Without --url, smoke asks the port NOVA_HTTP_PORT names.
    const [smoke, byPort] = await Promise.all([
      run(['smoke', '--url', base]),
      run(['smoke'], { NOVA_HTTP_PORT: String(port) }),
    ]);
    expect(smoke.stdout).toMatch(/^ok {3}\/livez/m);
    expect(smoke.stdout).toContain(`smoke passed: ${base}`);
    expect(smoke.code).toBe(0);
    expect(byPort.code).toBe(0);
    // A required dependency that is not up makes it unhealthy (exit 1), and says which.
    const [needsPostgres, needsMongo] = await Promise.all([
      run(['smoke', '--url', base, '--require', 'postgres']),
      run(['smoke', '--url', base, '--require', 'postgres,mongodb', '--timeout', '1s']),
    ]);
    expect(needsPostgres.code).toBe(0);
    expect(needsPostgres.stdout).toMatch(/^ {5}postgres +up +[\d.]+ ms +required$/m);
    expect(needsMongo.code).toBe(1);
    expect(needsMongo.stdout).toMatch(
      /^FAIL \/api\/health +200 .*required, not up: mongodb not_configured$/m,
    );

    // A token made by `nova token` opens the API of the running service.
    const db = createNovaDb(testConfig(env.DATABASE_URL as string));
    try {
      const email = uniqueEmail('serve');
      await db.createUser({ email, firstName: 'S', lastName: 'E' });
      await db.postgres.assignRole((await db.postgres.findUserByEmail(email))?.id ?? '', 'agent');
      const token = (
        await run(['token', 'create', '--user', email, '--name', 'smoke'], env)
      ).stdout.trim();
      const anonymous = await fetch(`${base}/api/analytics/search`);
      expect(anonymous.status).toBe(401);
      const authorised = await fetch(`${base}/api/analytics/search`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(authorised.status).toBe(503);
      expect(await authorised.json()).toMatchObject({ error: { field: 'MONGO_URL' } });

      // smoke takes its token from a private file or NOVA_TOKEN too (out of process lists).
      const dir = mkdtempSync(join(tmpdir(), 'nova-smoke-'));
      try {
        const file = join(dir, 'token');
        writeFileSync(file, `${token}\n`, { mode: 0o600 });
        const [fromFile, fromEnv, bad] = await Promise.all([
          run(['smoke', '--url', base, '--token-file', file, '--require', 'postgres']),
          run(['smoke', '--url', base, '--require', 'postgres'], { NOVA_TOKEN: token }),
          run(['smoke', '--url', base, '--timeout', '1s'], { NOVA_TOKEN: `${token}x` }),
        ]);
        expect(fromFile.code).toBe(0);
        expect(fromEnv.code).toBe(0);
        expect(bad.stdout).toContain('HTTP 401');
        chmodSync(file, 0o644);
        const shared = await run(['smoke', '--url', base, '--token-file', file]);
        expect(shared.code).not.toBe(0);
        expect(shared.stderr).toContain(file);
        expect(shared.stderr).not.toContain(token);
        const both = await run(['smoke', '--url', base, '--token', token, '--token-file', file]);
        expect(both.code).toBe(2);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await db.close();
    }

    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    await expect(fetch(`${base}/livez`)).rejects.toThrow();
  });

  it('serve in production refuses a login that could rewrite the audit trail (superuser, owner)', async () => {
    const { ownerUrl, env } = await bootstrapped();
    const port = String(await freePort());
    const refused = await run(['serve'], {
      NODE_ENV: 'production',
      DATABASE_URL: ownerUrl,
      NOVA_HTTP_PORT: port,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/CONFIG_INVALID.*is a superuser; \S+ owns the schema's tables/);
    expect(refused.stderr).toContain('DATABASE_OWNER_URL');
    expect(refused.stderr).not.toContain(new URL(ownerUrl).password);
    // The application role passes the same check and serves.
    const served = await serve({ ...env, NODE_ENV: 'production', NOVA_HTTP_PORT: port });
    children.push(served.child);
    expect(served.stderr()).not.toContain('warning');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  });

  it('serve on a database that was never migrated is live but not ready, and smoke says why', async () => {
    const url = await createEmptyDatabase();
    const port = await freePort();
    const served = await serve({ DATABASE_URL: url, NOVA_HTTP_PORT: String(port) });
    children.push(served.child);
    const smoke = await run(['smoke', '--url', `http://127.0.0.1:${port}`, '--timeout', '1s']);
    expect(smoke.code).toBe(1);
    expect(smoke.stdout).toMatch(/^ok {3}\/livez +200 /m);
    expect(smoke.stdout).toMatch(
      /^FAIL \/readyz +503 .*migrations pending: .*\(run nova bootstrap postgres\)$/m,
    );
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  });
});

/** A stand-in OTLP/HTTP collector on 127.0.0.1: it records what was posted where. */
async function collector() {
  const received: { path: string; bytes: number; type: string; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const type = String(req.headers['content-type']);
      received.push({ path: req.url ?? '', bytes: body.length, type, body });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((done) => server.close(done)),
  };
}

const REGISTER = pathToFileURL(resolve('src/telemetry/register.ts')).href;

type Served = Awaited<ReturnType<typeof serve>>;
type Collector = Awaited<ReturnType<typeof collector>>;

/** `nova serve` with the preload on a bootstrapped database, exporting to a fresh collector. */
async function withCollector(
  extra: Record<string, string>,
  test: (served: Served, otlp: Collector, base: string) => Promise<void>,
) {
  const { env } = await bootstrapped();
  const otlp = await collector();
  try {
    const port = await freePort();
    const served = await serve(
      { ...env, NOVA_HTTP_PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, ...extra },
      [REGISTER],
    );
    children.push(served.child);
    await test(served, otlp, `http://127.0.0.1:${port}`);
  } finally {
    await otlp.close();
  }
}

describe('nova serve with no database configured (the quick start)', { timeout: 180_000 }, () => {
  it('starts an embedded PostgreSQL with demo data, and its demo token works for that run only', async () => {
    // A private folder (mkdtemp: 0700), as `git clone . "$(mktemp -d)/fresh"` makes: as root,
    // the embedded server (run as the postgres OS user) keeps its data where that user can reach.
    const cwd = mkdtempSync(join(tmpdir(), 'nova-serve-'));
    const dataRoot = embeddedRootFor(join(cwd, '.nova/postgres'));
    try {
      const port = await freePort();
      const served = await serve({ NOVA_HTTP_PORT: String(port) }, [], cwd, {
        ownProcessGroup: true,
      });
      children.push(served.child);
      expect(served.stderr()).toMatch(
        /^PostgreSQL: postgresql:\/\/nova_app:\*\*\*@127\.0\.0\.1:\d+\/postgres \(embedded, data in \S+\)$/m,
      );
      expect(served.stderr()).toContain(`data in ${dataRoot})`);
      if (process.getuid?.() === 0)
        expect(dataRoot).toMatch(/^\/var\/lib\/nova\/postgres\/[0-9a-f]{12}$/);
      const token =
        /^demo token \(admin@nova\.example, read-only, this run only, 8 h at most\): (nova_\S+)$/m.exec(
          served.stderr(),
        )?.[1];
      expect(token).toBeDefined();
      const detailed = await fetch(`http://127.0.0.1:${port}/api/health`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(detailed.status).toBe(200);
      expect(await detailed.json()).toMatchObject({
        checks: { postgres: { status: 'up', details: { serverVersion: expect.any(String) } } },
      });
      // Ctrl-C: SIGINT to the whole process group. It must reach the service alone (the
      // embedded server runs in a session of its own), or the server would stop under the
      // service's orderly stop and the token would stay valid.
      process.kill(-(served.child.pid as number), 'SIGINT');
      expect(await served.exited).toBe(0);
      expect(served.stderr()).not.toMatch(/could not be revoked/);

      // The stop revoked it: read the embedded database directly.
      const server = await startEmbeddedPostgres({ root: dataRoot });
      const client = new pg.Client({ connectionString: server.url });
      try {
        await client.connect();
        const { rows } = await client.query<{ revoked: boolean; hours: number; scopes: string[] }>(
          `SELECT t.revoked_at IS NOT NULL AS revoked, t.scopes,
                  extract(epoch FROM t.expires_at - t.created_at) / 3600 AS hours
             FROM api_tokens t
             JOIN users u ON u.id = t.user_id WHERE u.email = 'admin@nova.example' AND t.name = 'local'`,
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ revoked: true });
        // Short-lived, and able to read but not administer.
        expect(Number(rows[0]?.hours)).toBeCloseTo(8, 1);
        expect(rows[0]?.scopes).toContain('health:details');
        expect(rows[0]?.scopes).toContain('tickets:read');
        expect(rows[0]?.scopes.filter((p) => !/:(read|search)$|^health:details$/.test(p))).toEqual(
          [],
        );
      } finally {
        await client.end();
        await server.stop();
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
      rmSync(dataRoot, { recursive: true, force: true });
    }
  });
});

describe('OpenTelemetry in nova serve (the --import preload)', { timeout: 90_000 }, () => {
  it('exports traces and metrics over OTLP, and flushes them on SIGTERM', async () => {
    await withCollector({}, async (served, otlp, base) => {
      // An incoming traceparent is continued: the request's log lines carry its trace id.
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const continued = await fetch(`${base}/api/health`, {
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(continued.status).toBe(200);
      expect((await fetch(`${base}/api/health`)).status).toBe(200);
      // The SDK's instrumentations are in: PostgreSQL metrics appear next to the service's own.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(
        /^http_server_request_duration_count\{[^}]*http_route="\/api\/health"/m,
      );
      expect(metrics).toContain('otel_scope_name="@opentelemetry/instrumentation-pg"');
      // The SDK's resource (host, process owner, command line) is not on the open endpoint.
      expect(metrics).not.toContain('target_info');
      expect(metrics).not.toContain('process_command_args');
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
      // Lines written inside the request's span (its completion) carry the trace id.
      const completed = served
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"msg":"request completed"'))
        .map(
          (line) =>
            JSON.parse(line) as {
              trace_id?: string;
              req?: { method: string; path: string };
              res?: { statusCode: number };
            },
        );
      expect(completed.length).toBeGreaterThanOrEqual(3);
      // One access-log line per request, at its end, saying what it was.
      expect(served.stdout()).not.toContain('"msg":"incoming request"');
      expect(completed[0]).toMatchObject({
        req: { method: 'GET', path: '/api/health' },
        res: { statusCode: 200 },
      });
      expect(completed.map((line) => line.trace_id)).toContain(traceId);
      // Every request gets a trace, continued or new (/livez, /readyz, /metrics none: untraced).
      const traced = completed.filter((line) => line.trace_id !== undefined);
      expect(traced.length).toBeGreaterThanOrEqual(2);
      for (const line of traced) expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
      const paths = otlp.received.map((r) => r.path);
      expect(paths).toContain('/v1/traces');
      expect(paths).toContain('/v1/metrics');
      for (const post of otlp.received) {
        expect(post.type).toBe('application/x-protobuf');
        expect(post.bytes).toBeGreaterThan(0);
      }
    });
  });

  it('OTEL_EXPORTER_OTLP_PROTOCOL=http/json exports JSON; a setting it does not know is named', async () => {
    const protocol = {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_EXPORTER: 'otlp,zipkin',
    };
    await withCollector(protocol, async (served, otlp, base) => {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const response = await fetch(`${base}/api/health`, {
        headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      });
      expect(response.status).toBe(200);
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
      expect(served.stderr()).toContain(
        "nova: telemetry: OTEL_TRACES_EXPORTER: 'zipkin' is not supported (otlp, none); ignored",
      );
      const traces = otlp.received.filter((post) => post.path === '/v1/traces');
      expect(traces.length).toBeGreaterThan(0);
      for (const post of otlp.received) expect(post.type).toBe('application/json');
      const exported = traces.map((post) => post.body.toString('utf8')).join('\n');
      // OTLP/JSON writes trace ids as hex strings.
      expect(exported).toContain(`"traceId":"${traceId}"`);
      // Metrics come from the aggregation /metrics reads (shared-export.ts), flushed at SIGTERM.
      const metrics = otlp.received
        .filter((post) => post.path === '/v1/metrics')
        .map((post) => post.body.toString('utf8'))
        .join('\n');
      expect(metrics).toContain('"name":"http.server.request.duration"');
    });
  });

  it('OTEL_SDK_DISABLED=true sends nothing and patches nothing; /metrics still answers', async () => {
    await withCollector({ OTEL_SDK_DISABLED: 'true' }, async (served, otlp, base) => {
      expect((await fetch(`${base}/api/health`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(
        /^http_server_request_duration_count\{[^}]*http_route="\/api\/health"/m,
      );
      expect(metrics).not.toContain('instrumentation-pg');
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
      expect(otlp.received).toEqual([]);
    });
  });
});
