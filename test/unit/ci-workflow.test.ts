/**
 * Offline checks of .github/workflows/live-stack.yml, the workflow users run against real
 * PostgreSQL, MongoDB and Elasticsearch servers. It cannot run here, so these tests catch what
 * would break it without a runner: floating or out-of-range images, an `npm run` script or a
 * `nova` command that does not exist, live suites that would skip silently, a smoke check that
 * no longer requires every store, and a MongoDB that is not a replica set.
 *
 * `yaml` is not a dependency of this package: it comes with vitest (vite) and the OpenTelemetry
 * SDK, and is only read here.
 */

import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BOOTSTRAP_TARGETS } from '../../src/cli/commands.js';
import { OPTIONS } from '../../src/cli/help.js';
import { SMOKE_DEPENDENCIES } from '../../src/cli/smoke.js';

type Env = Record<string, string>;
interface Step {
  name?: string;
  uses?: string;
  with?: Record<string, unknown>;
  run?: string;
  if?: string;
  env?: Env;
  'continue-on-error'?: unknown;
}
interface Service {
  image: string;
  env?: Env;
  ports?: string[];
  options?: string;
}
interface Job {
  name?: string;
  'timeout-minutes'?: number;
  strategy?: {
    'fail-fast'?: boolean;
    matrix?: Record<string, unknown[]> & { include?: Record<string, unknown>[] };
  };
  services?: Record<string, Service>;
  env?: Env;
  steps: Step[];
}
interface Workflow {
  permissions?: unknown;
  concurrency?: { group?: string };
  env?: Env;
  jobs: Record<string, Job>;
}

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const workflow = parse(read('.github/workflows/live-stack.yml')) as Workflow;
const scripts = (JSON.parse(read('package.json')) as { scripts: Env }).scripts;

/** What the CLI dispatches on (`case '...'` in main's switch) and the flags parseArgs accepts. */
const cliSource = read('src/cli.ts');
const CLI_COMMANDS = new Set(
  [...(cliSource.split('switch (command)')[1] ?? '').matchAll(/case '([\w-]+)':/g)].map(
    (m) => m[1],
  ),
);
const CLI_OPTIONS = new Set(Object.keys(OPTIONS));

const steps = Object.entries(workflow.jobs).flatMap(([id, job]) =>
  job.steps.map((step, index) => ({ id, job, step, index })),
);
const runSteps = steps.filter((s) => s.step.run !== undefined);
/** The environment a step's commands see: workflow, then job, then step. */
const envOf = (job: Job, step: Step): Env => ({ ...workflow.env, ...job.env, ...step.env });
/** A step's script with backslash line continuations joined. */
const script = (step: Step) => (step.run ?? '').replace(/\\\n\s*/g, ' ');
const substitute = (text: string, env: Env) =>
  text.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => env[name] ?? whole);
const unquote = (token: string) => token.replace(/^(["'])(.*)\1$/, '$2');

/**
 * Every combination of a job's matrix, so `${{ matrix.x }}` can be resolved. `include`, as
 * GitHub applies it: an entry's new keys join every combination its other keys match; an
 * entry matching none is a combination of its own.
 */
function matrixCombinations(job: Job): Env[] {
  const { include = [], ...axes } = job.strategy?.matrix ?? {};
  let combos: Env[] = [{}];
  for (const [key, values] of Object.entries(axes)) {
    combos = combos.flatMap((combo) =>
      (values as unknown[]).map((v) => ({ ...combo, [key]: String(v) })),
    );
  }
  for (const entry of include) {
    const pairs = Object.entries(entry).map(([k, v]) => [k, String(v)] as const);
    const matching = combos.filter((combo) =>
      pairs.every(([k, v]) => !(k in axes) || combo[k] === v),
    );
    if (matching.length === 0) combos.push(Object.fromEntries(pairs));
    for (const combo of matching) Object.assign(combo, Object.fromEntries(pairs));
  }
  return combos;
}
const resolveMatrix = (text: string, matrix: Env) =>
  text.replace(/\$\{\{\s*matrix\.(\w+)\s*\}\}/g, (whole, key: string) => matrix[key] ?? whole);

/** `nova` invocations: `npm run [--silent] nova -- ARGS` or `node [--import X] dist/cli.js ARGS`. */
function novaInvocations() {
  const pattern =
    /(?:npm run (?:--silent )?nova --|node (?:--[\w-]+(?:=\S+)? )*(?:--import \S+ )?dist\/cli\.js|docker run\b[^\n]*?\snova-api:ci)((?:[ \t]+(?:"[^"]*"|'[^']*'|[^\s;&|<>()]+))*)/g;
  return runSteps.flatMap(({ job, step }) =>
    [...script(step).matchAll(pattern)].map((m) => ({
      job,
      step,
      args: (m[1]?.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((t) =>
        substitute(unquote(t), envOf(job, step)),
      ),
    })),
  );
}
const flag = (args: string[], name: string) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? undefined : args[at + 1];
};

/** `name:tag`, optionally `@sha256:<digest>`. */
const IMAGE = /^[a-z0-9][\w./-]*:[\w.-]+(@sha256:[a-f0-9]{64})?$/;

/**
 * `docker run ... IMAGE ARGS`, once per matrix combination (`${{ matrix.x }}` resolved): the
 * image is the one token shaped like `name:tag`.
 */
function dockerRuns() {
  return runSteps.flatMap(({ job, step }) =>
    script(step)
      .split('\n')
      .filter((line) => /\bdocker run\b/.test(line))
      .flatMap((raw) => [...new Set(matrixCombinations(job).map((m) => resolveMatrix(raw, m)))])
      .map((line) => {
        const tokens = line.trim().split(/\s+/);
        const image = tokens.find((t) => IMAGE.test(t));
        return { line, image, args: image ? tokens.slice(tokens.indexOf(image) + 1) : [] };
      }),
  );
}

/** Runs the live step's report guard (`node -`) on a made-up vitest JSON report; its exit code. */
function runGuard(guard: string, env: Env, statuses: Record<string, string[]>) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'nova-ci-guard-')));
  try {
    mkdirSync(join(dir, 'reports'));
    const testResults = Object.entries(statuses).map(([suite, list]) => ({
      name: join(dir, suite),
      assertionResults: list.map((status, i) => ({ status, title: `test ${i}` })),
    }));
    writeFileSync(join(dir, 'reports/live-vitest.json'), JSON.stringify({ testResults }));
    const run = spawnSync(process.execPath, ['-'], {
      cwd: dir,
      input: guard,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    return run.status;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('.github/workflows/live-stack.yml', () => {
  it('parses, with the CLI dispatch read from src/cli.ts', () => {
    expect(Object.keys(workflow.jobs)).toEqual(expect.arrayContaining(['test', 'live']));
    expect([...CLI_COMMANDS]).toEqual(expect.arrayContaining(['bootstrap', 'serve', 'smoke']));
    expect([...CLI_OPTIONS]).toEqual(expect.arrayContaining(['require', 'timeout', 'url']));
  });

  it('pins every image to an exact release in the supported range, and every action to a version', () => {
    const images = Object.values(workflow.jobs).flatMap((job) =>
      Object.values(job.services ?? {}).flatMap((service) =>
        matrixCombinations(job).map((matrix) => resolveMatrix(service.image, matrix)),
      ),
    );
    for (const run of dockerRuns()) {
      expect(run.image, `no image in: ${run.line}`).toBeDefined();
      images.push(run.image as string);
    }
    const allowed: Record<string, RegExp> = {
      postgres: /^15\.\d+$/,
      // README: MongoDB 7.0 and 8.0.
      mongo: /^(7|8)\.0\.\d+$/,
      // README: servers 8.11 to 8.19 for the 8.11 client.
      'docker.elastic.co/elasticsearch/elasticsearch': /^8\.(1[1-9])\.\d+$/,
    };
    expect(images.length).toBeGreaterThanOrEqual(4);
    // Images the workflow builds itself (`docker build --tag NAME`) are not pulled.
    const built = new Set(
      runSteps.flatMap(({ step }) =>
        [...script(step).matchAll(/docker build --tag (\S+)/g)].map((m) => m[1]),
      ),
    );
    expect(built).toEqual(new Set(['nova-api:ci']));
    for (const image of images.filter((i) => !built.has(i))) {
      const [reference = '', digest] = image.split('@');
      const [name = '', tag = ''] = reference.split(':');
      expect(Object.keys(allowed), `unexpected image ${image}`).toContain(name);
      expect(tag, `${image} is not an exact release`).toMatch(allowed[name] as RegExp);
      // A tag can be pushed again; a digest cannot. Elastic publishes its images' digests
      // nowhere this project can read them from, so its tags (exact releases) stand alone.
      if (!name.startsWith('docker.elastic.co/')) {
        expect(digest, `${image} has no digest`).toMatch(/^sha256:[a-f0-9]{64}$/);
      }
    }
    // Actions by commit, not by a tag its owner can move; the release named beside it.
    const text = read('.github/workflows/live-stack.yml');
    for (const { step } of steps.filter((s) => s.step.uses)) {
      expect(step.uses).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/);
      expect(text).toContain(`uses: ${step.uses} # v`);
    }
  });

  it('uses only npm scripts that package.json defines', () => {
    const used = runSteps.flatMap(({ step }) => [
      ...[...script(step).matchAll(/\bnpm run(?:\s+--?[\w-]+)*\s+([\w:.-]+)/g)].map((m) => m[1]),
      ...[...script(step).matchAll(/\bnpm (test|start)\b/g)].map((m) => m[1]),
    ]);
    expect(used).toContain('build');
    for (const name of used) expect(Object.keys(scripts), `npm run ${name}`).toContain(name);
  });

  it('runs only nova commands, subcommands and flags that the CLI knows', () => {
    const invocations = novaInvocations();
    expect(invocations.map((i) => i.args[0])).toEqual(
      expect.arrayContaining(['bootstrap', 'serve', 'smoke']),
    );
    for (const { args } of invocations) {
      const [command = '', sub] = args;
      // `nova --help` has options only, each checked below.
      if (!command.startsWith('--')) {
        expect([...CLI_COMMANDS], `nova ${args.join(' ')}`).toContain(command);
      }
      for (const option of args.filter((a) => a.startsWith('--'))) {
        expect([...CLI_OPTIONS], `nova ${args.join(' ')}`).toContain(option.slice(2).split('=')[0]);
      }
      if (command === 'bootstrap') expect(BOOTSTRAP_TARGETS).toContain(sub);
    }
    // Every store is bootstrapped, each by its own target (`all` would skip an unset one).
    const targets = invocations.filter((i) => i.args[0] === 'bootstrap').map((i) => i.args[1]);
    expect(targets).toEqual(expect.arrayContaining(['postgres', 'mongo', 'elastic']));
  });

  it('runs the live suites against every store and fails when they skip', () => {
    const live = runSteps.filter(({ step }) => /\bvitest run test\/live\b/.test(script(step)));
    expect(live).toHaveLength(1);
    const { job, step } = live[0] as (typeof live)[number];
    const env = envOf(job, step);
    expect(env.MONGO_URL).toMatch(/^mongodb:\/\//);
    expect(env.ELASTIC_URL).toMatch(/^https?:\/\//);
    // Without DATABASE_URL the suites would use an embedded PostgreSQL, not the service.
    expect(env.DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
    // With the admin credentials, the least-privilege tests run instead of being skipped.
    for (const name of ['MONGO_ADMIN_USER', 'MONGO_ADMIN_PASSWORD', 'ELASTIC_ADMIN_USERNAME']) {
      expect(env[name], name).toBeTruthy();
    }
    expect(step['continue-on-error']).toBeUndefined();
    const required = (env.REQUIRED_LIVE_SUITES ?? '').split(' ');
    expect(required).toEqual(
      expect.arrayContaining(['test/live/mongo.test.ts', 'test/live/elastic.test.ts']),
    );
    for (const suite of required) expect(() => read(suite), suite).not.toThrow();
    // vitest passes when every test skipped: the step's guard reads vitest's JSON report and
    // must refuse a required suite with a test that did not pass. Run it on made-up reports.
    expect(script(step)).toMatch(/--reporter=json --outputFile\.json=reports\/live-vitest\.json/);
    const guard = script(step).match(/node - <<'EOF'\n([\s\S]*?)\nEOF/)?.[1] ?? '';
    const passed = ['passed', 'passed'];
    const verdict = (report: Record<string, string[]>) => runGuard(guard, env, report);
    expect(verdict(Object.fromEntries(required.map((s) => [s, passed])))).toBe(0);
    expect(
      verdict({
        ...Object.fromEntries(required.map((s) => [s, passed])),
        'test/live/other.test.ts': ['skipped'],
      }),
    ).toBe(0);
    for (const suite of required) {
      const others = Object.fromEntries(
        required.filter((s) => s !== suite).map((s) => [s, passed]),
      );
      expect(verdict({ ...others, [suite]: ['passed', 'skipped'] }), `${suite} skipped`).toBe(1);
      expect(verdict(others), `${suite} missing`).toBe(1);
    }
  });

  it('writes the live report where the guard reads it: real vitest, CI=true as on GitHub, the step’s own flags', () => {
    const { step } =
      runSteps.find(({ step }) => /npx vitest run test\/live/.test(script(step))) ?? {};
    const command = script(step as Step).match(/npx vitest run test\/live([^\n]*)/)?.[1] ?? '';
    const flags = command.trim().split(/\s+/);
    const reportFlag = flags.find((f) => f.startsWith('--outputFile.json='));
    expect(reportFlag).toBeDefined();
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'nova-ci-report-')));
    try {
      const report = join(dir, 'live-vitest.json');
      // One quick test file instead of test/live; every flag as the step gives it, the report
      // path moved out of the repository. The config's own json reporter (on with CI) must not
      // take the report elsewhere.
      const args = flags.map((f) => (f === reportFlag ? `--outputFile.json=${report}` : f));
      const run = spawnSync(
        process.execPath,
        [resolve('node_modules/vitest/vitest.mjs'), 'run', 'test/unit/retry.test.ts', ...args],
        { env: { ...process.env, CI: 'true' }, encoding: 'utf8', timeout: 120_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      const written = JSON.parse(readFileSync(report, 'utf8')) as { numPassedTests: number };
      expect(written.numPassedTests).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('smoke-tests the running service with every store required, then stops it with SIGTERM', () => {
    const invocations = novaInvocations().filter((i) => i.job === workflow.jobs.live);
    const serve = invocations.findIndex((i) => i.args[0] === 'serve');
    const smokes = invocations.filter((i) => i.args[0] === 'smoke');
    expect(serve).toBeGreaterThanOrEqual(0);
    expect(smokes).toHaveLength(1);
    const smoke = smokes[0] as (typeof smokes)[number];
    const required = (flag(smoke.args, 'require') ?? '').split(',');
    expect(required).toEqual(expect.arrayContaining(['postgres', 'mongodb', 'elasticsearch']));
    for (const name of required) expect(SMOKE_DEPENDENCIES).toContain(name);
    expect(flag(smoke.args, 'timeout')).toMatch(/^\d+(s|m)$/);
    const live = workflow.jobs.live as Job;
    const port = envOf(live, smoke.step).NOVA_HTTP_PORT ?? '3000';
    expect(new URL(flag(smoke.args, 'url') ?? '').port).toBe(port);
    const order = (step: Step) => live.steps.indexOf(step);
    expect(order((invocations[serve] as (typeof invocations)[number]).step)).toBeLessThan(
      order(smoke.step),
    );
    const stop = live.steps.find((s) => /\bkill -TERM\b/.test(s.run ?? ''));
    expect(stop?.if).toBe('always()');
    expect(order(stop as Step)).toBeGreaterThan(order(smoke.step));
  });

  it('starts MongoDB as the replica set MONGO_URL names, with a member the runner can reach', () => {
    const mongo = dockerRuns().filter((run) => run.image?.startsWith('mongo:'));
    // One docker run, once per MongoDB line the matrix tests.
    expect(mongo.map((run) => run.image?.replace(/\.\d+(@.*)?$/, ''))).toEqual([
      'mongo:7.0',
      'mongo:8.0',
    ]);
    const args = (mongo[0] as (typeof mongo)[number]).args;
    const name = flag(args, 'replSet');
    expect(name).toBeTruthy();
    const url = new URL((workflow.jobs.live as Job).env?.MONGO_URL ?? '');
    expect(url.searchParams.get('replicaSet')).toBe(name);
    // Replica-set discovery, as in production: a direct connection would hide a bad member host.
    expect(url.searchParams.get('directConnection')).toBeNull();
    const initiate = runSteps
      .map(({ step }) => script(step).match(/rs\.initiate\(\{ _id: "(\w+)", members: (.*?)\}\)/))
      .find(Boolean);
    expect(initiate?.[1]).toBe(name);
    const hosts = [...(initiate?.[2] ?? '').matchAll(/host: "([^"]+)"/g)].map((m) => m[1]);
    expect(hosts).toEqual([url.host]);
  });

  it('gives the servers the credentials and ports the job connects with', () => {
    const live = workflow.jobs.live as Job;
    const env = live.env ?? {};
    const { postgres } = live.services ?? {};
    const db = new URL(env.DATABASE_OWNER_URL ?? '');
    expect([db.username, db.password, db.pathname.slice(1)]).toEqual([
      postgres?.env?.POSTGRES_USER,
      postgres?.env?.POSTGRES_PASSWORD,
      postgres?.env?.POSTGRES_DB,
    ]);
    // The service's login is another: the application role, never the image's superuser.
    const app = new URL(env.DATABASE_URL ?? '');
    expect(app.username).not.toBe(db.username);
    expect([app.host, app.pathname]).toEqual([db.host, db.pathname]);
    expect(postgres?.ports).toContain(`${db.port}:5432`);
    expect(postgres?.options).toMatch(/--health-cmd "pg_isready/);
    expect(env.ELASTIC_ADMIN_USERNAME).toBe('elastic');
    expect(env.ELASTIC_USERNAME).not.toBe(env.ELASTIC_ADMIN_USERNAME);
    const [elastic] = dockerRuns().filter((r) => r.image?.startsWith('docker.elastic.co/'));
    // The `elastic` superuser's password is the one the job's steps use, and the node is
    // published on the runner's loopback at the URL's port.
    expect(elastic?.line).toContain('--env ELASTIC_PASSWORD="$ELASTIC_ADMIN_PASSWORD"');
    expect(elastic?.line).toContain(
      `--publish 127.0.0.1:${new URL(env.ELASTIC_URL ?? '').port}:9200`,
    );
    // Nothing runs before the node answers, over the URL and CA the service uses.
    const waits = runSteps.filter(({ step }) =>
      /_cluster\/health\?wait_for_status=yellow/.test(script(step)),
    );
    expect(waits).toHaveLength(1);
    const wait = script((waits[0] as (typeof waits)[number]).step);
    expect(wait).toContain('--cacert "$ELASTIC_CA_FILE"');
    expect(wait).toContain('"$ELASTIC_URL/_cluster/health');
    const order = (text: RegExp) => live.steps.findIndex((s) => text.test(s.run ?? ''));
    expect(order(/_cluster\/health/)).toBeLessThan(order(/bootstrap elastic/));
  });

  it('runs one leg with Elasticsearch over HTTPS, trusting a CA made by the job, the rest on HTTP', () => {
    const live = workflow.jobs.live as Job;
    const legs = matrixCombinations(live);
    const https = legs.filter((leg) => String(leg.https) === 'true');
    expect(https).toHaveLength(1);
    expect(https[0]).toMatchObject({ node: '24', elasticsearch: '8.19.26', mongodb: '8.0.32' });
    expect(legs.filter((leg) => String(leg.https) === 'false').length).toBe(4);
    const start = live.steps.find((s) => /docker run [^\n]*nova-elasticsearch/.test(s.run ?? ''));
    const run = start?.run ?? '';
    expect(run).toContain('.github/scripts/elastic-test-certs.sh "$certs"');
    expect(run).toContain('--env ES_SETTING_XPACK_SECURITY_HTTP_SSL_ENABLED=true');
    expect(run).toContain(
      '--env ES_SETTING_XPACK_SECURITY_HTTP_SSL_CERTIFICATE__AUTHORITIES=certs/ca.crt',
    );
    expect(run).toContain('echo "ELASTIC_URL=https://127.0.0.1:9200" >> "$GITHUB_ENV"');
    expect(run).toContain('echo "ELASTIC_CA_FILE=$certs/ca.crt" >> "$GITHUB_ENV"');
    expect(live.name).toMatch(/\$\{\{ matrix\.https && ' over HTTPS' \|\| '' \}\}/);
  });

  it("makes certificates that Node's TLS accepts for 127.0.0.1 with the CA file, and nothing else does", async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'nova-ci-certs-')));
    try {
      const made = spawnSync('bash', ['.github/scripts/elastic-test-certs.sh', dir], {
        encoding: 'utf8',
      });
      expect(made.status, made.stderr).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['ca.crt', 'http.crt', 'http.key']);
      expect(statSync(join(dir, 'http.key')).mode & 0o077).toBe(0);
      const server = createServer(
        { key: readFileSync(join(dir, 'http.key')), cert: readFileSync(join(dir, 'http.crt')) },
        (_req, res) => res.end('ok'),
      );
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      const { port } = server.address() as AddressInfo;
      const get = (ca?: Buffer) =>
        new Promise<string>((done, fail) =>
          httpsGet({ host: '127.0.0.1', port, ...(ca ? { ca } : {}) }, (res) => {
            res.resume();
            res.on('end', () => done(String(res.statusCode)));
          }).on('error', fail),
        );
      try {
        expect(await get(readFileSync(join(dir, 'ca.crt')))).toBe('200');
        await expect(get()).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
      } finally {
        server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs every job that sets up Node on Node 24 and 26, each named after its Node', () => {
    const withNode = Object.entries(workflow.jobs).filter(([, job]) =>
      job.steps.some((step) => step.uses?.startsWith('actions/setup-node@')),
    );
    expect(withNode.map(([id]) => id)).toEqual(expect.arrayContaining(['test', 'live']));
    for (const [id, job] of withNode) {
      // 24: the LTS line .nvmrc pins (test/unit/node-version.test.ts); 26: the newer LTS line.
      expect(job.strategy?.matrix?.node, id).toEqual(expect.arrayContaining([24, 26]));
      // One Node line failing must not cancel the other's run: both results are wanted.
      expect(job.strategy?.['fail-fast'], id).toBe(false);
      for (const step of job.steps.filter((s) => s.uses?.startsWith('actions/setup-node@'))) {
        expect(String(step.with?.['node-version']), id).toMatch(/^\$\{\{\s*matrix\.node\s*\}\}$/);
      }
      expect(job.name, id).toMatch(/\$\{\{\s*matrix\.node\s*\}\}/);
    }
  });

  it('gives every matrix combination its own artifact name (names are unique in a run)', () => {
    for (const [id, job] of Object.entries(workflow.jobs)) {
      for (const step of job.steps.filter((s) => s.uses?.startsWith('actions/upload-artifact@'))) {
        const names = matrixCombinations(job).map((matrix) =>
          resolveMatrix(String(step.with?.name ?? ''), matrix),
        );
        expect(new Set(names).size, `${id}: ${names.join(', ')}`).toBe(names.length);
      }
    }
  });

  it('runs with read-only contents, a concurrency group and a timeout on every job', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(workflow.concurrency?.group).toBeTruthy();
    for (const [id, job] of Object.entries(workflow.jobs)) {
      expect(job['timeout-minutes'], id).toBeGreaterThan(0);
      expect(job['timeout-minutes'], id).toBeLessThanOrEqual(60);
    }
  });
});
