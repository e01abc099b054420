/**
 * The runner behind `npm run up|down|stack`: its command plan, and the script end to end
 * against stub `docker` and `pulumi` executables (shell scripts first on PATH that record
 * their arguments and the environment they got). A unit test of our script, not of Pulumi or
 * Docker: no engine runs. Each run works in a temporary repository root.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installArgs, requiredPlugins } from '../../infra/plugins.js';
import { plan, policyConfig } from '../../infra/stack-cli.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const requireHere = createRequire(import.meta.url);
const sdkVersion = (requireHere('@pulumi/pulumi/package.json') as { version: string }).version;
const tsx = pathToFileURL(requireHere.resolve('tsx')).href;
/** `pulumi plugin ls --json` on a machine that has every plugin the program needs. */
const allInstalled = JSON.stringify(
  requiredPlugins().map(({ name, version }) => ({ name, kind: 'resource', version, size: 1 })),
);

describe('the command plan', () => {
  const root = '/repo';

  it('up: select or create the stack, then up with the policy pack and its config', () => {
    expect(plan('up', ['--yes'], root, false)).toEqual([
      ['stack', 'select', '--create', 'local', '--secrets-provider', 'passphrase'],
      [
        'up',
        '--stack',
        'local',
        '--policy-pack',
        '/repo/infra/policy',
        '--policy-pack-config',
        '/repo/.nova/policy-config.json',
        '--non-interactive',
        '--yes',
      ],
    ]);
    expect(plan('up', [], root, true)?.[1]).not.toContain('--non-interactive');
  });

  it('down destroys the stack; stack passes any pulumi command through', () => {
    expect(plan('down', [], root, true)).toEqual([['destroy', '--stack', 'local']]);
    expect(plan('stack', ['stack', 'output', '--show-secrets'], root, true)).toEqual([
      ['stack', 'select', '--create', 'local', '--secrets-provider', 'passphrase'],
      ['stack', 'output', '--show-secrets'],
    ]);
    expect(plan('deploy', [], root, true)).toBeUndefined();
  });

  it('the policy config follows nova:allowPublicBind', () => {
    expect(policyConfig({})).toEqual({ 'nova-no-public-ports': { allowPublicBind: false } });
    expect(policyConfig({ allowPublicBind: 'true' })).toEqual({
      'nova-no-public-ports': { allowPublicBind: true },
    });
  });

  it('matches Pulumi.yaml: the stack settings file is looked for where Pulumi keeps it; tsx runs the program', () => {
    const project = readFileSync(join(repo, 'Pulumi.yaml'), 'utf8');
    expect(project).toMatch(/^stackConfigDir: \.nova\/stacks$/m);
    expect(project).toMatch(/^main: infra\/index\.ts$/m);
    expect(project).toMatch(/^ {4}typescript: false\n {4}nodeargs: --import tsx$/m);
  });
});

const PULUMI_STUB = `#!/bin/sh
echo "pulumi $*" >> "$STUB_LOG"
echo "  backend=$PULUMI_BACKEND_URL file=\${PULUMI_CONFIG_PASSPHRASE_FILE:-none} passphrase=\${PULUMI_CONFIG_PASSPHRASE+set}" >> "$STUB_LOG"
echo "  docker_host=\${DOCKER_HOST:-none}" >> "$STUB_LOG"
case "$1" in
  version) echo "v${sdkVersion}" ;;
  plugin)
    if [ "$2" = ls ]; then echo "$STUB_PLUGINS"; fi
    if [ "$2" = install ] && [ -n "$STUB_INSTALL_FAILS" ]; then
      echo "error: [resource plugin $4-$5] downloading from : 404 HTTP error fetching plugin" >&2
      exit 1
    fi ;;
  stack) if [ "$2" = export ]; then echo "$STUB_EXPORT"; fi ;;
  up)
    if [ -n "$STUB_WAIT" ]; then
      trap 'echo "  got SIGINT" >> "$STUB_LOG"; exit 130' INT
      echo "  waiting" >> "$STUB_LOG"
      while :; do sleep 0.1; done
    fi
    exit "\${STUB_UP_EXIT:-0}" ;;
esac
`;

const DOCKER_STUB = `#!/bin/sh
echo "docker $*" >> "$STUB_LOG"
if [ -n "$STUB_DOCKER_DOWN" ]; then
  echo '{"ServerVersion":""}'
  echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2
  exit 1
fi
if [ "$1" = network ]; then
  [ -n "$STUB_NET_CONTAINERS" ] || { echo "Error response from daemon: network nova-net not found" >&2; exit 1; }
  echo "$STUB_NET_CONTAINERS"
  exit 0
fi
if [ "$1" = context ]; then
  echo "unix:///home/stub/.colima/default/docker.sock"
  exit 0
fi
echo '{"ServerVersion":"28.2.2","OperatingSystem":"Debian GNU/Linux 12","Name":"stub"}'
`;

let root: string;
let log: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nova-stack-cli-'));
  const bin = join(root, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'pulumi'), PULUMI_STUB, { mode: 0o755 });
  writeFileSync(join(bin, 'docker'), DOCKER_STUB, { mode: 0o755 });
  copyFileSync(join(repo, 'Pulumi.yaml'), join(root, 'Pulumi.yaml'));
  // One Elasticsearch node: vm.max_map_count is preflight.test.ts's business, not this machine's.
  stackConfig('  nova:elasticNodes: "1"');
  log = join(root, 'stub.log');
  writeFileSync(log, '');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function stackConfig(...lines: string[]) {
  mkdirSync(join(root, '.nova', 'stacks'), { recursive: true });
  writeFileSync(
    join(root, '.nova', 'stacks', 'Pulumi.local.yaml'),
    ['config:', ...lines].join('\n'),
  );
}

interface Run {
  code: number | null;
  out: string;
  child: ChildProcess;
}

/** Runs infra/stack-cli.ts as npm does (cwd the root), without a terminal, stubs on PATH. */
function cli(
  args: string[],
  env: Record<string, string> = {},
  onStart?: (c: ChildProcess) => void,
) {
  const child = spawn(
    process.execPath,
    ['--import', tsx, join(repo, 'infra/stack-cli.ts'), ...args],
    {
      cwd: root,
      env: {
        PATH: `${join(root, 'bin')}:/usr/bin:/bin`,
        HOME: root,
        STUB_LOG: log,
        STUB_PLUGINS: allInstalled,
        CI: 'true',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    out += chunk;
  });
  onStart?.(child);
  return new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, out, child })));
}

const calls = () =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('pulumi ') && !['pulumi version', 'pulumi plugin ls --json'].includes(line),
    );

describe('npm run up / down / stack, against stub executables', () => {
  it('up: preflight, stack select, up with the policy pack; local backend and a generated passphrase', async () => {
    const run = await cli(['up', '--yes']);
    expect(run.code, run.out).toBe(0);
    // No terminal: no step line (no escape codes), and a summary of what was checked.
    expect(run.out).toMatch(
      /^Prerequisites met: Docker engine, Pulumi CLI, images ×4, Pulumi plugins \(\d+s\)\.$/m,
    );
    expect(run.out).not.toContain('\x1b[');
    const state = join(root, '.nova', 'pulumi');
    const passphrase = join(root, '.nova', 'pulumi-passphrase');
    expect(readFileSync(log, 'utf8')).toContain('docker info --format {{json .}}');
    expect(calls()).toEqual([
      'pulumi stack select --create local --secrets-provider passphrase',
      `pulumi up --stack local --policy-pack ${root}/infra/policy --policy-pack-config ${root}/.nova/policy-config.json --non-interactive --yes`,
    ]);
    expect(readFileSync(log, 'utf8')).toContain(
      `  backend=file://${state} file=${passphrase} passphrase=`,
    );
    expect(existsSync(state)).toBe(true);
    expect(statSync(passphrase).mode & 0o777).toBe(0o600);
    const secret = readFileSync(passphrase, 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(40);
    expect(run.out).not.toContain(secret);
    expect(JSON.parse(readFileSync(join(root, '.nova', 'policy-config.json'), 'utf8'))).toEqual({
      'nova-no-public-ports': { allowPublicBind: false },
    });
  });

  it("hands pulumi the Docker CLI's current context as DOCKER_HOST, unless DOCKER_HOST is set", async () => {
    expect((await cli(['up', '--yes'])).code).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain(
      '  docker_host=unix:///home/stub/.colima/default/docker.sock',
    );
    writeFileSync(log, '');
    expect((await cli(['up', '--yes'], { DOCKER_HOST: 'tcp://127.0.0.1:2375' })).code).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain('  docker_host=tcp://127.0.0.1:2375');
    expect(readFileSync(log, 'utf8')).not.toContain('docker context');
  });

  it('keeps the passphrase: the second run reuses the file (and tightens its mode)', async () => {
    await cli(['up', '--yes']);
    const passphrase = join(root, '.nova', 'pulumi-passphrase');
    const first = readFileSync(passphrase, 'utf8');
    chmodSync(passphrase, 0o644);
    const again = await cli(['up', '--yes']);
    expect(again.code).toBe(0);
    expect(readFileSync(passphrase, 'utf8')).toBe(first);
    expect(statSync(passphrase).mode & 0o777).toBe(0o600);
    expect(again.out).not.toContain(first.trim());
  });

  it("uses the user's own PULUMI_CONFIG_PASSPHRASE and writes no file", async () => {
    const run = await cli(['up', '--yes'], { PULUMI_CONFIG_PASSPHRASE: 'correct horse battery' });
    expect(run.code).toBe(0);
    expect(existsSync(join(root, '.nova', 'pulumi-passphrase'))).toBe(false);
    expect(readFileSync(log, 'utf8')).toContain('file=none passphrase=set');
    expect(run.out).not.toContain('correct horse battery');
  });

  it('refuses to publish on every interface before anything runs: no TLS to publish with', async () => {
    stackConfig(
      '  nova:elasticNodes: "1"',
      '  nova:bindAddress: 0.0.0.0',
      '  nova:allowPublicBind: "true"',
    );
    const run = await cli(['up', '--yes']);
    expect(run.code).toBe(1);
    expect(run.out).toContain('nova:allowPublicBind');
    expect(run.out).toContain('without TLS');
    expect(calls()).toEqual([]);
  });

  it('stops before Pulumi, listing every problem at once, when prerequisites are missing', async () => {
    const run = await cli(['up'], { STUB_DOCKER_DOWN: '1' });
    expect(run.code).toBe(1);
    expect(run.out).toContain('2 prerequisites are missing');
    expect(run.out).toContain('Cannot connect to the Docker daemon');
    expect(run.out).toContain('npm run up -- --yes');
    expect(run.out).toContain('Nothing was changed.');
    expect(calls()).toEqual([]);
    expect(existsSync(join(root, '.nova', 'pulumi'))).toBe(false);
    expect(existsSync(join(root, '.nova', 'pulumi-passphrase'))).toBe(false);
  });

  it('refuses an invalid stack setting by its key before anything runs', async () => {
    stackConfig('  nova:elasticNodes: "2"');
    const run = await cli(['up', '--yes']);
    expect(run.code).toBe(1);
    expect(run.out).toContain('nova:elasticNodes');
    expect(calls()).toEqual([]);
  });

  it('installs the exact provider plugins that are missing before up, and only those', async () => {
    const [docker, ...others] = requiredPlugins();
    if (!docker) throw new Error('no plugins found');
    const listed = JSON.parse(allInstalled).filter((p: { name: string }) => p.name !== docker.name);
    // An older release of it does not count: the engine wants the exact version.
    listed.push({ name: docker.name, kind: 'resource', version: '0.0.1' });
    const run = await cli(['up', '--yes'], { STUB_PLUGINS: JSON.stringify(listed) });
    expect(run.code, run.out).toBe(0);
    expect(calls().slice(0, 2)).toEqual([
      `pulumi ${installArgs(docker).join(' ')}`,
      'pulumi stack select --create local --secrets-provider passphrase',
    ]);
    expect(installArgs(docker)).toContain('--exact');
    expect(calls().join('\n')).not.toContain(others[0]?.name ?? 'none');
  });

  it('a plugin that cannot be had stops up before Pulumi runs, saying which and how to retry', async () => {
    const run = await cli(['up', '--yes'], { STUB_PLUGINS: '[]', STUB_INSTALL_FAILS: '1' });
    expect(run.code).toBe(1);
    for (const { name, version, pkg } of requiredPlugins()) {
      expect(run.out).toContain(`The Pulumi plugin ${name} v${version} (named by ${pkg})`);
      expect(run.out).toContain(`pulumi plugin install resource ${name} ${version} --exact`);
    }
    expect(run.out).toContain('404 HTTP error fetching plugin');
    expect(run.out).toContain('Nothing was changed.');
    expect(calls().filter((c) => !c.startsWith('pulumi plugin install'))).toEqual([]);
  });

  it("propagates pulumi's exit code", async () => {
    const run = await cli(['up', '--yes'], { STUB_UP_EXIT: '3' });
    expect(run.code).toBe(3);
  });

  it('forwards SIGINT to pulumi when there is no terminal to deliver it, and exits with its code', async () => {
    const run = await cli(['up', '--yes'], { STUB_WAIT: '1' }, (child) => {
      const poll = setInterval(() => {
        if (readFileSync(log, 'utf8').includes('  waiting')) {
          clearInterval(poll);
          child.kill('SIGINT');
        }
      }, 50);
    });
    expect(readFileSync(log, 'utf8')).toContain('  got SIGINT');
    expect(run.code).toBe(130);
  });

  it('down destroys the stack with the same backend and passphrase; needs no max_map_count', async () => {
    stackConfig('  nova:elasticNodes: "3"');
    const run = await cli(['down', '--yes']);
    expect(run.code, run.out).toBe(0);
    expect(calls()).toEqual(['pulumi destroy --stack local --non-interactive --yes']);
    expect(readFileSync(log, 'utf8')).toContain(`backend=file://${root}/.nova/pulumi`);
  });

  it('down stops before destroy when a container attached by hand is on the network, naming it and the fix', async () => {
    const attached = {
      a1: { Name: 'nova-postgres' },
      b2: { Name: 'my-debug-shell' },
      c3: { Name: 'nova-mongodb-1' },
    };
    const exported = {
      version: 3,
      deployment: {
        resources: [
          { type: 'docker:index/network:Network', outputs: { name: 'nova-net' } },
          { type: 'docker:index/container:Container', outputs: { name: 'nova-postgres' } },
          { type: 'docker:index/container:Container', outputs: { name: 'nova-mongodb-1' } },
        ],
      },
    };
    const env = {
      STUB_NET_CONTAINERS: JSON.stringify(attached),
      STUB_EXPORT: JSON.stringify(exported),
    };
    const run = await cli(['down', '--yes'], env);
    expect(run.code, run.out).toBe(1);
    expect(run.out).toContain('my-debug-shell is attached to nova-net but not part of the stack');
    expect(run.out).toContain('docker network disconnect nova-net my-debug-shell');
    expect(run.out).not.toContain('disconnect nova-net nova-postgres');
    expect(calls()).toEqual(['pulumi stack export --stack local']);
    // The export ran with the stack's backend, not the user's current login.
    expect(readFileSync(log, 'utf8')).toContain(`backend=file://${root}/.nova/pulumi`);

    writeFileSync(log, '');
    const { b2: _, ...onlyOurs } = attached;
    const clean = await cli(['down', '--yes'], {
      ...env,
      STUB_NET_CONTAINERS: JSON.stringify(onlyOurs),
    });
    expect(clean.code, clean.out).toBe(0);
    expect(calls()).toContain('pulumi destroy --stack local --non-interactive --yes');
  });

  it.each([
    ['up', 'npm run up'],
    ['update', 'npm run up'],
    ['destroy', 'npm run down'],
    ['down', 'npm run down'],
  ])(
    'refuses npm run stack -- %s, which would skip the checks, and says what to run',
    async (verb, instead) => {
      const run = await cli(['stack', verb, '--yes']);
      expect(run.code).toBe(2);
      expect(run.out).toContain(`run ${instead} -- --yes instead`);
      expect(calls()).toEqual([]);
    },
  );

  it('stack runs any pulumi command with that environment, without Docker', async () => {
    const run = await cli(['stack', 'stack', 'output', '--show-secrets'], {
      STUB_DOCKER_DOWN: '1',
    });
    expect(run.code, run.out).toBe(0);
    expect(calls()).toEqual([
      'pulumi stack select --create local --secrets-provider passphrase',
      'pulumi stack output --show-secrets',
    ]);
  });

  it('prints its usage for an unknown command', async () => {
    const run = await cli(['deploy']);
    expect(run.code).toBe(2);
    expect(run.out).toContain('usage: npm run up');
  });
});
