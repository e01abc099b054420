/**
 * `npm run up`, `npm run down` and `npm run stack -- <pulumi args>`: the Pulumi commands of
 * the `local` stack, with no account and without touching the user's own `pulumi login`.
 *
 * - Backend: the state lives in .nova/pulumi (git-ignored), given to each pulumi process as
 *   PULUMI_BACKEND_URL=file://… rather than by `pulumi login`, which would switch the user's
 *   current backend for every other project too.
 * - Secrets: the passphrase provider. Unless PULUMI_CONFIG_PASSPHRASE(_FILE) is set, a random
 *   passphrase is generated once into .nova/pulumi-passphrase (mode 0600) and handed over as
 *   PULUMI_CONFIG_PASSPHRASE_FILE; it is never printed. Losing it loses the stack's secrets.
 * - `up` checks the prerequisites first (preflight.ts) and stops before Pulumi on any,
 *   installs the exact provider plugins the program names (plugins.ts), then selects or
 *   creates the stack and runs `pulumi up` with the policy pack (infra/policy) and its config,
 *   written from the stack's. Without a terminal, or under CI, `--yes` is required and
 *   `--non-interactive` is passed. Extra arguments go to pulumi: `npm run up -- --yes`.
 * - `down` first refuses containers attached by hand to the stack's network (down-guard.ts).
 * - `npm run stack -- up` (or `update`, `destroy`, `down`) is refused: it would skip all that.
 * - Output streams through; pulumi's exit code is ours. A terminal's Ctrl-C reaches pulumi
 *   directly (same process group): forwarding it too would make it a second ^C, which Pulumi
 *   takes as "terminate now", so SIGINT is forwarded only without a terminal; SIGTERM always.
 *
 * Lives in infra/ beside the program it drives and the preflight it runs, so the repository's
 * type check and tests cover it; run with `node --import tsx` (no build step).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { constants, hostname } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { foreignContainersProblem } from './down-guard.js';
import { ensurePlugins, requiredPlugins } from './plugins.js';
import type { PublicPortsConfig } from './policy/policies.js';
import {
  type CommandResult,
  formatReport,
  type PreflightNeeds,
  type Probes,
  preflight,
  readStackConfig,
  stackSettings,
} from './preflight.js';
import { checkProgress } from './progress.js';

export const STACK = 'local';

/** Where everything of the local stack lives under the repository root. */
export const paths = (root: string) => ({
  state: join(root, '.nova', 'pulumi'),
  stackConfig: join(root, '.nova', 'stacks', `Pulumi.${STACK}.yaml`),
  passphrase: join(root, '.nova', 'pulumi-passphrase'),
  policyConfig: join(root, '.nova', 'policy-config.json'),
  policyPack: join(root, 'infra', 'policy'),
});

type Env = Record<string, string | undefined>;

/**
 * The environment of every pulumi process: the local backend and the passphrase. Creates the
 * passphrase file on first use (exclusively, mode 0600) and tightens a looser one.
 */
export function pulumiEnv(root: string, env: Env): { env: Env; passphrase: string } {
  const where = paths(root);
  mkdirSync(join(root, '.nova'), { recursive: true, mode: 0o700 });
  mkdirSync(where.state, { recursive: true });
  mkdirSync(join(root, '.nova', 'stacks'), { recursive: true });
  const backend = `file://${where.state.split(sep).join('/')}`;
  const base = { ...env, PULUMI_BACKEND_URL: backend };
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined || env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    return { env: base, passphrase: 'from your PULUMI_CONFIG_PASSPHRASE(_FILE)' };
  }
  let made = false;
  if (existsSync(where.passphrase)) {
    if ((statSync(where.passphrase).mode & 0o077) !== 0) chmodSync(where.passphrase, 0o600);
  } else {
    writeFileSync(where.passphrase, `${randomBytes(32).toString('base64url')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    made = true;
  }
  return {
    env: { ...base, PULUMI_CONFIG_PASSPHRASE_FILE: where.passphrase },
    passphrase: `${made ? 'generated into' : 'from'} ${relative(root, where.passphrase)}`,
  };
}

/** The policy pack's config, from the stack's `nova:allowPublicBind`. */
export const policyConfig = (raw: Record<string, string | undefined>) => ({
  'nova-no-public-ports': {
    allowPublicBind: raw.allowPublicBind === 'true',
  } satisfies PublicPortsConfig,
});

const isCI = (env: Env) => Boolean(env.CI) && !/^(false|0)$/i.test(env.CI ?? '');
const approves = (args: string[], command: string) =>
  args.some((a) =>
    ['--yes', '-y', '--yes=true', '--skip-preview', '-f']
      .concat(command === 'down' ? ['--preview-only'] : [])
      .includes(a),
  );

const selectStack = ['stack', 'select', '--create', STACK, '--secrets-provider', 'passphrase'];

/** The pulumi invocations of a command, in order; each must succeed before the next. */
export function plan(command: string, args: string[], root: string, interactive: boolean) {
  const where = paths(root);
  const unattended = interactive ? [] : ['--non-interactive'];
  switch (command) {
    case 'up':
      return [
        selectStack,
        [
          'up',
          '--stack',
          STACK,
          '--policy-pack',
          where.policyPack,
          '--policy-pack-config',
          where.policyConfig,
          ...unattended,
          ...args,
        ],
      ];
    case 'down':
      return [['destroy', '--stack', STACK, ...unattended, ...args]];
    case 'stack':
      return [selectStack, args];
    default:
      return undefined;
  }
}

/** Runs pulumi with inherited stdio; resolves to its exit code (128+n when killed by signal n). */
function runPulumi(args: string[], root: string, env: Env, interactive: boolean): Promise<number> {
  console.log(`▸ pulumi ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child: ChildProcess = spawn('pulumi', args, { cwd: root, env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => () => {
      if (signal !== 'SIGINT' || !interactive) child.kill(signal);
    };
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, handler] of handlers) process.on(s, handler);
    const done = (code: number) => {
      for (const [s, handler] of handlers) process.off(s, handler);
      resolve(code);
    };
    child.on('error', (error) => {
      console.error(`Could not run pulumi: ${error.message}`);
      done(127);
    });
    child.on('exit', (code, signal) =>
      done(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
    );
  });
}

/** The probes preflight.ts asks for, on this machine; output captured, never shown as is. */
export const localProbes = (env: Env): Probes => ({
  run: (command, args, own = env) =>
    new Promise<CommandResult>((resolve) => {
      // `docker pull` and `docker run` may pull an image, and a plugin install downloads the
      // provider: minutes on a slow line.
      const timeout =
        ['run', 'pull'].includes(args[0] ?? '') || args[1] === 'install' ? 900_000 : 60_000;
      const child = spawn(command, args, { env: own, timeout, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ code: null, stdout, stderr: error.message, missing: error.code === 'ENOENT' }),
      );
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    }),
  readFile: (path) => readFile(path, 'utf8').catch(() => undefined),
  platform: process.platform,
  hostname: hostname(),
  lookup: (host) =>
    lookup(host, { all: true }).then(
      (found) => found.map(({ address }) => address),
      () => [],
    ),
});

export interface CliOptions {
  root: string;
  env: Env;
  interactive: boolean;
  probes: Probes;
}

/**
 * The pulumi commands `npm run stack` refuses because `npm run up` / `down` wrap them with
 * checks (`update` is `up`'s alias; `down` is `destroy`'s).
 */
const BYPASSES = new Map<string, 'up' | 'down'>([
  ['up', 'up'],
  ['update', 'up'],
  ['destroy', 'down'],
  ['down', 'down'],
]);

const USAGE = `usage: npm run up [-- <pulumi up args>]
       npm run down [-- <pulumi destroy args>]
       npm run stack -- <pulumi args>      e.g. npm run stack -- stack output --show-secrets`;

export async function main(argv: string[], options: CliOptions): Promise<number> {
  const [command = '', ...args] = argv;
  const { root, interactive } = options;
  const steps = plan(command, args, root, interactive);
  if (!steps) {
    console.error(USAGE);
    return 2;
  }
  const bypass = command === 'stack' ? BYPASSES.get(args[0] ?? '') : undefined;
  if (bypass) {
    console.error(
      `npm run stack -- ${args[0]} would skip the prerequisite checks${bypass === 'up' ? ', the plugin installs and the policy pack' : ' and the check for containers in the way'}: run npm run ${bypass}${args.length > 1 ? ` -- ${args.slice(1).join(' ')}` : ''} instead.`,
    );
    return 2;
  }
  if (!existsSync(join(root, 'Pulumi.yaml'))) {
    console.error(`No Pulumi.yaml in ${root}: run npm run ${command} from the repository root.`);
    return 2;
  }
  const raw = readStackConfig(await options.probes.readFile(paths(root).stackConfig));
  const settings = command === 'up' ? stackSettings(raw) : undefined;
  const needs: PreflightNeeds = {
    docker: command !== 'stack',
    pulumi: true,
    minimumPulumi: sdkVersion(),
    ...(settings && !('what' in settings) ? { settings } : {}),
  };
  if (needs.settings) {
    console.log(
      `Checking prerequisites (Docker, Pulumi CLI, vm.max_map_count for ${needs.settings.elastic.nodes} Elasticsearch node(s))…`,
    );
  }
  const progress = checkProgress();
  const report = await preflight(options.probes, needs, progress);
  progress.finish();
  if (settings && 'what' in settings) report.failures.unshift(settings);
  if (command !== 'stack' && !interactive && !approves(args, command)) {
    report.failures.push({
      what: 'Without a terminal, or with CI set, pulumi cannot ask you to confirm the changes.',
      fix: [`Confirm them up front: npm run ${command} -- --yes`],
    });
  }
  if (report.failures.length > 0 || report.warnings.length > 0) {
    console.error(formatReport(report));
  }
  if (report.failures.length === 0 && command !== 'stack') {
    report.failures.push(...(await ensurePlugins(options.probes, requiredPlugins(), progress)));
    if (report.failures.length > 0) console.error(formatReport({ ...report, warnings: [] }));
  }
  const checked = progress.finish();
  if (report.failures.length > 0) {
    console.error(`\nNothing was changed. Fix the above, then run npm run ${command} again.`);
    return 1;
  }
  if (command !== 'stack') console.log(`Prerequisites met: ${checked}.`);
  const { env, passphrase } = pulumiEnv(root, options.env);
  // The Docker CLI follows `docker context use`; the Pulumi Docker provider reads only
  // DOCKER_HOST (or its own config). Without this, on colima, Rancher Desktop or a Docker
  // Desktop context, preflight and the CLI steps would see one daemon and the provider another.
  if (!env.DOCKER_HOST) {
    const host = await dockerContextHost(options.probes);
    if (host) env.DOCKER_HOST = host;
  }
  console.log(`Stack ${STACK}: state in ${env.PULUMI_BACKEND_URL}, passphrase ${passphrase}`);
  if (command === 'up') {
    writeFileSync(paths(root).policyConfig, `${JSON.stringify(policyConfig(raw), null, 2)}\n`);
  }
  if (command === 'down') {
    const problem = await foreignContainersProblem(options.probes, async () => {
      const exported = await options.probes.run(
        'pulumi',
        ['stack', 'export', '--stack', STACK],
        env,
      );
      return exported.code === 0 ? exported.stdout : undefined;
    });
    if (problem) {
      console.error(
        `${formatReport({ failures: [problem], warnings: [] })}\n\nNothing was changed.`,
      );
      return 1;
    }
  }
  for (const step of steps) {
    const code = await runPulumi(step, root, env, interactive);
    if (code !== 0) return code;
  }
  return 0;
}

/** The current Docker context's endpoint (`unix:///…`, `tcp://…`), when the CLI names one. */
async function dockerContextHost(probes: Probes): Promise<string | undefined> {
  const result = await probes.run('docker', [
    'context',
    'inspect',
    '--format',
    '{{.Endpoints.docker.Host}}',
  ]);
  const host = result.code === 0 ? result.stdout.trim() : '';
  return host || undefined;
}

/** The @pulumi/pulumi SDK version the program runs with: the oldest CLI accepted. */
function sdkVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('@pulumi/pulumi/package.json') as { version: string }).version;
}

const invoked = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invoked) {
  const env = process.env;
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !isCI(env);
  main(process.argv.slice(2), {
    root: process.cwd(),
    env,
    interactive,
    probes: localProbes(env),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
