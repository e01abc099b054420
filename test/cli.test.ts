/**
 * The `nova` command as a user runs it: a child process, real PostgreSQL, exit codes and
 * output checked. Covers every command the README documents.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { embeddedRootFor, freePort } from '../src/bootstrap/postgres/embedded.js';
import { readMigrations } from '../src/bootstrap/postgres/migrations.js';
import { CLI, cleanEnv, run, TSX } from './support/cli.js';
import { createEmptyDatabase } from './support/database.js';

// Child processes (tsx compiles on each start): minutes, not seconds, on a loaded 2-core machine.
describe('nova CLI', { timeout: 90_000 }, () => {
  it('prints usage, and exits 2 on usage errors', async () => {
    expect((await run(['help'])).stdout).toMatch(/Usage: nova <command>/);
    // One command's help: its forms and defaults, and an example; the same both ways.
    const smoke = await run(['smoke', '--help']);
    expect(smoke.code).toBe(0);
    expect(smoke.stdout).toMatch(/^Usage: nova smoke/);
    expect(smoke.stdout).toContain('[--timeout 60s]');
    expect(smoke.stdout).toContain('Example:\n  nova smoke --url');
    expect((await run(['help', 'smoke'])).stdout).toBe(smoke.stdout);
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command: frobnicate/);
    expect((await run(['bootstrap', 'everything'])).code).toBe(2);
    expect((await run(['export', '--bogus'])).code).toBe(2);
  });

  it('--version and -v: the package version, the Node it runs on and the platform', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const line = `nova ${version} (Node ${process.versions.node}, ${process.platform}-${process.arch})\n`;
    for (const flag of ['--version', '-v']) {
      expect(await run([flag]), flag).toEqual({ code: 0, stdout: line, stderr: '' });
    }
    expect((await run(['help'])).stdout).toMatch(/--version, -v/);
  });

  it('refuses a Node older than 24 before doing anything else: one line, exit 2', async () => {
    // This Node made to report 20.20.2 before the CLI loads. `serve` without a database in
    // production would fail with CONFIG_INVALID: the guard must answer first, and alone.
    const old = `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.20.2' } });`;
    const args = ['--import', `data:text/javascript,${encodeURIComponent(old)}`, '--import', TSX];
    const result = await promisify(execFile)(process.execPath, [...args, CLI, 'serve'], {
      env: { ...cleanEnv(), NODE_ENV: 'production' },
    }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'nova: error NODE_UNSUPPORTED: Node 20.20.2 is not supported; use Node 24 or newer ' +
        '(npm scripts use the pinned Node from node_modules/.bin; elsewhere see .nvmrc)\n',
    );
  });

  it('serves from no embedded database in production (the image): DATABASE_URL is required', async () => {
    const result = await run(['serve'], { NODE_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error CONFIG_INVALID: DATABASE_URL is required/);
  });

  it('fails with one clear error naming the variable when PostgreSQL is not configured', async () => {
    const result = await run(['bootstrap', 'postgres']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /error CONFIG_INVALID: DATABASE_URL is required.*\(field: DATABASE_URL\)/,
    );
    // A server that is not there: retried with backoff, then one UNAVAILABLE line, no stack.
    const port = await freePort();
    const down = await run(['bootstrap', 'postgres'], {
      DATABASE_URL: `postgresql://u:hunter2@127.0.0.1:${port}/d`,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^nova: error UNAVAILABLE: postgres bootstrap: database unavailable/,
    );
    expect(down.stderr).not.toMatch(/\n\s+at /);
    expect(down.stderr).not.toContain('hunter2');
    const malformed = await run(['health'], {
      DATABASE_URL: 'postgresql://u:hunter2@h/d',
      POSTGRES_POOL_SIZE: 'lots',
    });
    expect(malformed.stderr).toMatch(/POSTGRES_POOL_SIZE is malformed/);
    expect(malformed.stderr).not.toContain('hunter2');
  });

  it('migrate-sqlite: the plan, the summary, refused rows with exit 1, JSON, and usage errors', async () => {
    const env = { DATABASE_URL: await createEmptyDatabase() };
    expect((await run(['bootstrap', 'postgres'], env)).code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'nova-cli-legacy-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'log.sqlite');
    const legacy = new DatabaseSync(file);
    legacy.exec(`CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT,
      title TEXT, system TEXT, urgency TEXT, timestamp TEXT)`);
    legacy.exec(`INSERT INTO logs VALUES (1, 'C-1', 'Cy Li', 'cy@example.com', 'Mouse', 'HW', 'low', '2023-01-01 00:00:00'),
      (2, 'C-2', 'No One', NULL, 'No email', 'HW', 'low', '2023-01-01 00:00:00')`);
    legacy.close();

    const text = await run(['migrate-sqlite', file], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^table\s+rows\s+becomes/m);
    expect(text.stdout).toMatch(/^logs\s+2\s+support tickets/m);
    expect(text.stdout).toMatch(/^logs\s+1\s+0\s+1$/m);
    expect(text.stdout).toContain('logs, 2: no email');
    // Not a terminal: no progress line.
    expect(text.stderr).toBe('');

    const again = await run(['migrate-sqlite', file, '--json'], env);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({
      summary: [{ table: 'logs', imported: 0, skipped: 1, refused: 1 }],
      refused: [{ table: 'logs', id: '2', reason: 'no email' }],
    });
    expect((await run(['migrate-sqlite'], env)).code).toBe(2);
    const missing = await run(['migrate-sqlite', join(dir, 'nope.sqlite')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error VALIDATION_FAILED: file: no such file .*\(field: file\)/);
  });

  it('bootstrap: --dry-run plans without writing, the first run applies, the second changes nothing', async () => {
    const env = { DATABASE_URL: await createEmptyDatabase() };
    const plan = await run(['bootstrap', 'postgres', '--dry-run', '--json'], env);
    expect(plan.code).toBe(0);
    const report = JSON.parse(plan.stdout) as {
      migrations: { pending: string[] };
      seed: { roles: string[] };
      changed: boolean;
    };
    const migrations = readMigrations().map((m) => m.name);
    expect(migrations[0]).toMatch(/_init$/);
    expect(report.migrations.pending).toEqual(migrations);
    expect(report.seed.roles).toEqual(['admin', 'agent', 'viewer']);
    expect((await run(['migrate', 'status'], env)).code).toBe(1);

    const first = await run(['bootstrap', 'postgres'], env);
    expect(first.stdout).toContain(`${migrations.length} applied (${migrations.join(', ')})`);
    expect(first.stdout).toMatch(/16 permissions, 3 roles, 28 grants added/);
    const second = await run(['bootstrap', 'postgres'], env);
    expect(second.stdout).toMatch(/up to date, nothing to do/);
    const dry = JSON.parse(
      (await run(['bootstrap', 'postgres', '--dry-run', '--json'], env)).stdout,
    ) as { changed: boolean };
    expect(dry.changed).toBe(false);

    const local = await run(['local'], env);
    expect(local.stdout).toMatch(
      /demo data: skipped \(configured database; pass --demo to add it\)/,
    );

    const status = await run(['migrate', 'status', '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ upToDate: true, pending: [] });
    const health = await run(['health', '--json'], env);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({
      status: 'ok',
      checks: { postgres: { status: 'up' } },
    });

    const exported = await run(['export'], env);
    expect(exported.code).toBe(0);
    const types = exported.stdout
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { type: string }).type);
    expect(new Set(types)).toEqual(new Set(['permission', 'role']));
    const exportDir = mkdtempSync(join(tmpdir(), 'nova-cli-export-'));
    onTestFinished(() => rmSync(exportDir, { recursive: true, force: true }));
    const file = join(exportDir, 'all.ndjson');
    const toFile = await run(['export', '--include-users', '--out', file], env);
    expect(toFile.code).toBe(0);
    expect(toFile.stdout).toBe('');
    expect(readFileSync(file, 'utf8')).toMatch(/"type":"role"/);
    expect(toFile.stderr).toMatch(/exported 16 permission, 3 role, 0 user, 0 ticket/);
    const badOut = await run(['export', '--out', '/nonexistent-dir/x.ndjson'], env);
    expect(badOut.code).toBe(1);
    expect(badOut.stderr).toMatch(
      /error VALIDATION_FAILED: output: cannot write .*\(field: output\)/,
    );
    expect(exported.stderr).toMatch(
      /exported 16 permission, 3 role, 0 ticket, 0 kb_article, 0 system_config/,
    );
  });

  it('local: starts an embedded PostgreSQL, bootstraps it with demo data and prints health; idempotent', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'nova-local-'));
    // As root, outside the (private, 0700) checkout: where the postgres OS user can reach.
    const dataRoot = embeddedRootFor(join(cwd, '.nova/postgres'));
    try {
      const first = await run(['local'], {}, cwd);
      expect(first.code).toBe(0);
      expect(first.stdout).toContain(`(embedded, data in ${dataRoot})`);
      expect(first.stdout).toMatch(/demo data: created/);
      expect(first.stdout).toMatch(/postgres\s+up\s+[\d.]+ ms\s+PostgreSQL 15\./);
      // The service's login is the application role the bootstrap made, not the superuser.
      expect(first.stdout).toMatch(/postgresql:\/\/nova_app:\*\*\*@127\.0\.0\.1/);
      expect(first.stdout).toMatch(/application role nova_app: created, \d+ privileges granted/);
      const second = await run(['local', '--json'], {}, cwd);
      const report = JSON.parse(second.stdout) as {
        demoDataCreated: boolean;
        bootstrap: { changed: boolean };
        health: { status: string };
      };
      expect(report).toMatchObject({
        demoDataCreated: false,
        bootstrap: { changed: false },
        health: { status: 'ok' },
      });
      expect((report.bootstrap as { appRole?: unknown }).appRole).toEqual({
        name: 'nova_app',
        created: false,
        passwordSet: false,
        attributes: [],
        granted: [],
        revoked: [],
      });

      // --keep-running: prints the URL and serves until Ctrl-C, which stops the embedded server
      // and exits 130 (128 + SIGINT, as shells report an interrupted command).
      const child = spawn(process.execPath, ['--import', TSX, CLI, 'local', '--keep-running'], {
        cwd,
        env: cleanEnv(),
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('press Ctrl-C')) child.kill('SIGINT');
      });
      const [code] = (await once(child, 'exit')) as [number];
      const url = /^DATABASE_URL=(postgresql:\/\/nova_app:\S+@127\.0\.0\.1:\d+\/postgres)$/m.exec(
        output,
      )?.[1];
      expect(url).toBeDefined();
      expect(code).toBe(130);
      const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      await expect(probe.connect()).rejects.toThrow(/ECONNREFUSED|terminat|shut/);
    } finally {
      rmSync(dataRoot, { recursive: true, force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
