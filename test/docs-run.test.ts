/**
 * Every command the documentation shows, run here when it can be: each `nova` line of the
 * docs' code blocks and of the help's examples, as a child process on real PostgreSQL, and
 * each other line of their shell blocks, named with why it cannot run here (it needs Docker,
 * a cluster, the Pulumi CLI, MongoDB or Elasticsearch). A documented command this file does
 * not know fails it: new documentation is either run or says why not.
 *
 * The lines run as written, but for what only the reader has: the database URLs and port
 * they name become this test's, /srv/nova/log.sqlite a small legacy file, legacy-map.json a
 * map. `serve` and `local --keep-running` run in the background until signalled; the smoke
 * lines check the documented server.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/bootstrap/postgres/embedded.js';
import { type Background, background, run } from './support/cli.js';
import { useTestDatabase } from './support/database.js';
import {
  type NovaInvocation,
  novaInvocation,
  novaInvocations,
  shellLines,
} from './support/doc-commands.js';

/** Shell lines that are not `nova` and cannot run here, each with why. */
const ELSEWHERE: [RegExp, string][] = [
  [
    /^npm ci && npm start$/,
    'the quick start: .ci/run runs it, and test/cli-service.test.ts its main job',
  ],
  [/^npm test$/, 'this test suite'],
  [/^npm run (up|down|stack)\b/, 'needs the Pulumi CLI and Docker'],
  [/^(docker|kind|k3d|minikube)\b/, 'needs Docker'],
  [/^(kubectl|helm)\b/, 'needs a Kubernetes cluster'],
  [/^pulumi\b/, 'needs the Pulumi CLI and a cluster'],
  [/^pw\(\) \{/, 'a shell function for the kubectl lines'],
  [/\| sudo tee -a \/etc\/hosts$/, "changes the machine's /etc/hosts"],
];

/** Why a `nova` line cannot run here, or undefined when it can. */
function novaElsewhere({ argv }: NovaInvocation): string | undefined {
  const [command, sub] = argv;
  if (command === 'indexer' || command === 'reindex') return 'needs Elasticsearch';
  if (command === 'bootstrap' && ['mongo', 'elastic', 'kibana'].includes(sub ?? '')) {
    return `needs ${sub === 'mongo' ? 'MongoDB' : sub === 'elastic' ? 'Elasticsearch' : 'Kibana'}`;
  }
  const required = argv[argv.indexOf('--require') + 1] ?? '';
  if (argv.includes('--require') && required !== 'postgres') return `needs ${required}`;
  return undefined;
}

const t = await useTestDatabase();
const cwd = mkdtempSync(join(tmpdir(), 'nova-docs-'));
const port = String(await freePort());
const started: Background[] = [];
afterAll(() => {
  for (const { child } of started) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(cwd, { recursive: true, force: true });
});

/** A legacy Nova file with a user and a ticket, for the migrate-sqlite lines. */
function legacyFile(): string {
  const path = join(cwd, 'log.sqlite');
  if (existsSync(path)) return path;
  const db = new DatabaseSync(path);
  db.exec(`CREATE TABLE logs (id INTEGER PRIMARY KEY, ticket_id TEXT, name TEXT, email TEXT,
             title TEXT, system TEXT, urgency TEXT, timestamp TEXT)`);
  db.exec(`INSERT INTO logs VALUES (1, 'INC-1', 'Ada Lovelace', 'ada@example.com', 'Printer',
             'Printers', 'High', '2023-03-04 05:06:07')`);
  db.close();
  writeFileSync(join(cwd, 'legacy-map.json'), JSON.stringify({ priority: { High: 'high' } }));
  return path;
}

/** The line as it runs here: this test's database, port and files for the reader's. */
function localize({ env, argv }: NovaInvocation): { env: Record<string, string>; argv: string[] } {
  const ours: Record<string, string> = { DATABASE_URL: t.url };
  // The bootstrap (that of `local` too) runs as the schema owner, as an operator's would.
  if (argv[0] === 'bootstrap' || argv[0] === 'local') ours.DATABASE_OWNER_URL = t.ownerUrl;
  for (const name of Object.keys(env)) {
    if (name === 'DATABASE_OWNER_URL') ours[name] = t.ownerUrl;
    else if (name === 'NOVA_HTTP_PORT') ours[name] = port;
    else if (name !== 'DATABASE_URL') ours[name] = env[name] ?? '';
  }
  return {
    env: ours,
    argv: argv.map((arg) =>
      arg === '/srv/nova/log.sqlite'
        ? legacyFile()
        : arg.replace(/^http:\/\/127\.0\.0\.1:\d+$/, `http://127.0.0.1:${port}`),
    ),
  };
}

const key = ({ env, argv }: NovaInvocation) => JSON.stringify([env, argv]);
const documented = [...new Map(novaInvocations().map((i) => [key(i), i])).values()];
const runnable = documented.filter((i) => novaElsewhere(i) === undefined);
const isServe = (i: NovaInvocation) => i.argv[0] === 'serve';
const isKeepRunning = (i: NovaInvocation) => i.argv.includes('--keep-running');

describe('the commands the documentation shows', { timeout: 300_000 }, () => {
  it('are each run here or named with why not', () => {
    const unknown = shellLines().filter(
      ({ line, file }) =>
        novaInvocation(line, file) === undefined && !ELSEWHERE.some(([rule]) => rule.test(line)),
    );
    expect(unknown).toEqual([]);
    const skipped = [
      ...documented.flatMap((i) => {
        const why = novaElsewhere(i);
        return why ? [`${i.file}: nova ${i.argv.join(' ')}: ${why}`] : [];
      }),
      ...shellLines().flatMap(({ file, line }) => {
        const why = ELSEWHERE.find(([rule]) => rule.test(line))?.[1];
        return why && novaInvocation(line, file) === undefined ? [`${file}: ${line}: ${why}`] : [];
      }),
    ];
    console.warn(
      `documented commands not run here (${skipped.length}):\n  ${skipped.join('\n  ')}`,
    );
    expect(runnable.length).toBeGreaterThan(10);
  });

  it('run: each exits 0 on real PostgreSQL', async () => {
    // What the token and role lines act on: the user they name, with a role holding the scope.
    const admin = await t.db.createUser({
      email: 'admin@example.com',
      firstName: 'A',
      lastName: 'D',
    });
    await t.db.postgres.assignRole(admin.id, 'admin');

    const server = runnable.find(isServe);
    expect(server, 'the docs show nova serve').toBeDefined();
    const served = server && localize(server);
    const service = served && (await background(served.argv, served.env, 'serving on', { cwd }));
    if (service) started.push(service);

    const failed: string[] = [];
    for (const invocation of runnable.filter((i) => !isServe(i) && !isKeepRunning(i))) {
      const { env, argv } = localize(invocation);
      const result = await run(argv, env, cwd);
      const shown = `${invocation.file}: nova ${invocation.argv.join(' ')}`;
      if (result.code !== 0) failed.push(`${shown}: exit ${result.code}: ${result.stderr.trim()}`);
      else if (argv.includes('--json')) {
        try {
          JSON.parse(result.stdout);
        } catch {
          failed.push(`${shown}: --json printed no JSON`);
        }
      }
    }
    expect(failed).toEqual([]);
    expect(readFileSync(join(cwd, 'nova.ndjson'), 'utf8')).toContain('"type":"user"');

    if (service) {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
  });

  it('run: nova local --keep-running serves until Ctrl-C, then exits 130', async () => {
    const line = runnable.find(isKeepRunning);
    expect(line, 'the docs show nova local --keep-running').toBeDefined();
    if (!line) return;
    const { env, argv } = localize(line);
    const local = await background(argv, env, 'press Ctrl-C to stop', { cwd });
    started.push(local);
    expect(local.stdout()).toMatch(/^DATABASE_URL=postgresql:\/\//m);
    local.child.kill('SIGINT');
    expect(await local.exited).toBe(130);
  });
});
