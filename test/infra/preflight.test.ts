/**
 * The prerequisites of `npm run up` with injected probes: each missing one reported with a
 * fix, all at once; the stack settings file read the way `pulumi config set` writes it.
 */
import { describe, expect, it } from 'vitest';
import { memoryProblem, stackImages, stackMemoryMb } from '../../infra/engine-checks.js';
import {
  type CommandResult,
  formatReport,
  type PreflightNeeds,
  type Probes,
  preflight,
  readStackConfig,
  stackSettings,
} from '../../infra/preflight.js';
import { checkProgress } from '../../infra/progress.js';
import { readSettings } from '../../infra/settings.js';

const ok = (stdout: string): CommandResult => ({ code: 0, stdout, stderr: '' });
const missing: CommandResult = { code: null, stdout: '', stderr: 'spawn ENOENT', missing: true };
const engine = (os = 'Debian GNU/Linux 12 (bookworm)', name = 'devbox') =>
  ok(JSON.stringify({ ServerVersion: '28.2.2', OperatingSystem: os, Name: name }));
const daemonDown: CommandResult = {
  code: 1,
  stdout: JSON.stringify({ ServerVersion: '', ClientInfo: { Version: '28.2.2' } }),
  stderr:
    'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
};

interface Machine {
  /** What `docker pull` says of an image not present; present unless listed. */
  missingImages?: Record<string, CommandResult>;
  docker?: CommandResult;
  pulumi?: CommandResult;
  dockerRun?: CommandResult;
  maxMapCount?: string;
  platform?: NodeJS.Platform;
}

/** Probes answering like a machine; records the commands they were asked to run. */
function probes(machine: Machine = {}) {
  const ran: string[] = [];
  const value: Probes = {
    run: async (command, args) => {
      ran.push([command, ...args].join(' '));
      if (command === 'pulumi') return machine.pulumi ?? ok('v3.270.0\n');
      if (args[0] === 'run') return machine.dockerRun ?? ok('262144\n');
      const image = args.at(-1) ?? '';
      const missingImage = machine.missingImages?.[image];
      if (args[0] === 'image') {
        return missingImage
          ? { code: 1, stdout: '', stderr: `No such image: ${image}` }
          : ok('sha256:1');
      }
      if (args[0] === 'pull') return missingImage ?? ok('');
      return machine.docker ?? engine();
    },
    readFile: async (path) =>
      path === '/proc/sys/vm/max_map_count' ? machine.maxMapCount : undefined,
    platform: machine.platform ?? 'linux',
    hostname: 'devbox',
  };
  return { probes: value, ran };
}

const up = (raw: Record<string, string> = {}): PreflightNeeds => ({
  docker: true,
  pulumi: true,
  minimumPulumi: '3.270.0',
  settings: readSettings(raw),
});

describe('MongoDB from this machine (nova:mongoHostAccess)', () => {
  const hosts = (table: Record<string, string[]>) => {
    const { probes: value } = probes();
    return { ...value, lookup: async (host: string) => table[host] ?? [] };
  };

  it('needs every member name to resolve to the bind address, and says which line to add', async () => {
    const report = await preflight(
      hosts({ 'nova-mongodb-1': ['127.0.0.1'], 'nova-mongodb-2': ['10.0.0.7'] }),
      up({ mongoHostAccess: 'true', elasticNodes: '1' }),
    );
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]?.what).toMatch(
      /nova-mongodb-2, nova-mongodb-3 do\(es\) not resolve to 127\.0\.0\.1/,
    );
    expect(report.failures[0]?.fix[0]).toBe(
      'echo "127.0.0.1 nova-mongodb-1 nova-mongodb-2 nova-mongodb-3" | sudo tee -a /etc/hosts',
    );
  });

  it('passes when they resolve, and does not ask when host access is off', async () => {
    const all = {
      'nova-mongodb-1': ['127.0.0.1'],
      'nova-mongodb-2': ['127.0.0.1'],
      'nova-mongodb-3': ['::1', '127.0.0.1'],
    };
    expect(
      (await preflight(hosts(all), up({ mongoHostAccess: 'true', elasticNodes: '1' }))).failures,
    ).toEqual([]);
    expect((await preflight(hosts({}), up({ elasticNodes: '1' }))).failures).toEqual([]);
  });
});

describe('preflight', () => {
  it('passes a machine that has everything', async () => {
    const { probes: machine } = probes({ maxMapCount: '262144\n' });
    expect(await preflight(machine, up())).toEqual({ failures: [], warnings: [] });
  });

  it('docker missing: says so and how to install it', async () => {
    const { failures } = await preflight(
      probes({ docker: missing, maxMapCount: '262144' }).probes,
      up(),
    );
    expect(failures).toEqual([
      {
        what: expect.stringContaining('Docker is not installed'),
        fix: [expect.stringContaining('https://docs.docker.com/get-docker/')],
      },
    ]);
  });

  it('daemon down: quotes Docker and says how to start it', async () => {
    const { failures } = await preflight(
      probes({ docker: daemonDown, maxMapCount: '262144' }).probes,
      up(),
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]?.what).toContain('Cannot connect to the Docker daemon');
    expect(failures[0]?.fix.join('\n')).toContain('sudo systemctl start docker');
  });

  it('daemon refusing this user: says how to join the docker group', async () => {
    const denied = {
      ...daemonDown,
      stderr: 'permission denied while trying to connect to the Docker daemon socket',
    };
    const { failures } = await preflight(
      probes({ docker: denied, maxMapCount: '262144' }).probes,
      up(),
    );
    expect(failures[0]?.fix.join('\n')).toContain('usermod -aG docker');
  });

  it('pulumi missing, or older than the SDK: says how to install or upgrade it', async () => {
    const absent = await preflight(probes({ pulumi: missing, maxMapCount: '262144' }).probes, up());
    expect(absent.failures[0]?.what).toContain('Pulumi CLI is not installed');
    expect(absent.failures[0]?.fix.join('\n')).toContain('curl -fsSL https://get.pulumi.com | sh');
    const old = await preflight(
      probes({ pulumi: ok('v3.269.9\n'), maxMapCount: '262144' }).probes,
      up(),
    );
    expect(old.failures[0]?.what).toBe(
      'The Pulumi CLI is v3.269.9, older than the Pulumi SDK this repository uses (3.270.0).',
    );
    const newer = await preflight(
      probes({ pulumi: ok('v3.301.0\n'), maxMapCount: '262144' }).probes,
      up(),
    );
    expect(newer.failures).toEqual([]);
  });

  it('vm.max_map_count too low with 3 nodes: fails with the sysctl fix; fine with 1 node', async () => {
    const low = probes({ maxMapCount: '65530\n' });
    const three = await preflight(low.probes, up());
    expect(three.failures).toEqual([
      {
        what: 'vm.max_map_count is 65530 on this machine; Elasticsearch with 3 nodes needs at least 262144.',
        fix: [
          'Now: sudo sysctl -w vm.max_map_count=262144',
          expect.stringContaining('/etc/sysctl.d/'),
          'Or run one Elasticsearch node: npm run stack -- config set nova:elasticNodes 1',
        ],
      },
    ]);
    const one = probes({ maxMapCount: '65530\n' });
    expect(await preflight(one.probes, up({ elasticNodes: '1' }))).toEqual({
      failures: [],
      warnings: [],
    });
  });

  it("Docker Desktop: reads the value in Docker's VM with the pinned Elasticsearch image", async () => {
    const desktop = probes({
      platform: 'darwin',
      docker: engine('Docker Desktop', 'docker-desktop'),
      dockerRun: ok('65530\n'),
    });
    const { failures } = await preflight(desktop.probes, up());
    expect(desktop.ran).toContain(
      'docker run --rm --entrypoint cat docker.elastic.co/elasticsearch/elasticsearch:8.19.26 /proc/sys/vm/max_map_count',
    );
    expect(failures[0]?.what).toContain("on Docker's virtual machine");
    expect(failures[0]?.fix.join('\n')).toContain('wsl -d docker-desktop');
    // Docker Desktop on Linux runs a VM too.
    const linuxDesktop = probes({
      docker: engine('Docker Desktop', 'docker-desktop'),
      maxMapCount: '262144',
    });
    await preflight(linuxDesktop.probes, up());
    expect(linuxDesktop.ran.some((c) => c.startsWith('docker run'))).toBe(true);
  });

  it('an unreadable value is a warning with how to check, not a failure', async () => {
    const report = await preflight(probes({ maxMapCount: undefined }).probes, up());
    expect(report.failures).toEqual([]);
    expect(report.warnings[0]?.fix[0]).toBe('Check it: sysctl vm.max_map_count');
  });

  it('lists every missing prerequisite at once', async () => {
    const report = await preflight(
      probes({ docker: daemonDown, pulumi: missing, maxMapCount: '65530' }).probes,
      up(),
    );
    expect(report.failures.map((f) => f.what.slice(0, 20))).toEqual([
      'Docker is installed ',
      'The Pulumi CLI is no',
      'vm.max_map_count is ',
    ]);
    const text = formatReport(report);
    expect(text).toMatch(/^3 prerequisites are missing:/);
    expect(text).toContain('✗ vm.max_map_count is 65530');
    expect(text).toContain('    Now: sudo sysctl -w vm.max_map_count=262144');
  });

  it('`npm run down` and `npm run stack` need only what they use', async () => {
    const stack = probes({ docker: missing });
    const report = await preflight(stack.probes, {
      docker: false,
      pulumi: true,
      minimumPulumi: '3.270.0',
    });
    expect(report.failures).toEqual([]);
    expect(stack.ran).toEqual(['pulumi version']);
  });
});

describe('the Docker engine: memory and images', () => {
  const GiB = 2 ** 30;
  const withMemory = (gib: number) =>
    ok(
      JSON.stringify({
        ServerVersion: '28.2.2',
        OperatingSystem: 'Docker Desktop',
        Name: 'docker-desktop',
        MemTotal: gib * GiB,
      }),
    );

  it('adds up the containers: the defaults need 12 GB with the one-shot step', () => {
    expect(stackMemoryMb(readSettings({}))).toBe(1024 + 3 * 1024 + 3 * 2048 + 1024 + 512 + 512);
    expect(stackMemoryMb(readSettings({ pgAdmin: 'true', otelCollector: 'true' }))).toBe(
      12_288 + 512 + 256,
    );
  });

  it('an 8 GB engine fails the defaults, suggesting 1 node and 1 member, which fit', async () => {
    const { failures } = await preflight(
      probes({ docker: withMemory(8), platform: 'darwin' }).probes,
      up(),
    );
    const memory = failures.find((f) => f.what.includes('may use'));
    expect(memory?.what).toBe(
      "The stack's containers may use 12288 MB, and the Docker engine has 8192 MB in all (docker info): members would be killed for want of memory.",
    );
    expect(memory?.fix.join('\n')).toContain('nova:elasticNodes 1');
    expect(memory?.fix.join('\n')).toContain('(6144 MB)');
    const small = await preflight(
      probes({ docker: withMemory(8), platform: 'darwin' }).probes,
      up({ elasticNodes: '1', mongoMembers: '1' }),
    );
    expect(small.failures).toEqual([]);
    expect(small.warnings).toEqual([]);
  });

  it('little to spare is a warning; an engine that does not say is not checked', async () => {
    const tight = await preflight(probes({ docker: withMemory(13) }).probes, up());
    expect(tight.failures).toEqual([]);
    expect(tight.warnings[0]?.what).toMatch(
      /may use 12288 MB.*13312 MB in all.*under 15 % to spare/,
    );
    expect(memoryProblem(readSettings({}), undefined)).toEqual({});
  });

  it('pulls what is not present, and an image that cannot be had names its setting', async () => {
    const mongo = readSettings({}).images.mongo;
    const machine = probes({
      missingImages: {
        [mongo]: {
          code: 1,
          stdout: '',
          stderr: `Error response from daemon: manifest for ${mongo} not found: manifest unknown\n`,
        },
        'postgres:15.19': ok(''),
      },
    });
    const { failures } = await preflight(machine.probes, up());
    expect(machine.ran).toContain('docker pull --quiet postgres:15.19');
    expect(failures).toHaveLength(1);
    expect(failures[0]?.what).toBe(
      `The image ${mongo} could not be pulled: Error response from daemon: manifest for ${mongo} not found: manifest unknown`,
    );
    expect(failures[0]?.fix.join('\n')).toContain(
      'npm run stack -- config set nova:mongoImage <repository:tag>',
    );
    // Only the images the stack runs: the extras' when they are on.
    expect(stackImages(readSettings({})).map((i) => i.key)).toEqual([
      'nova:postgresImage',
      'nova:mongoImage',
      'nova:elasticsearchImage',
      'nova:kibanaImage',
    ]);
    expect(stackImages(readSettings({ otelCollector: 'true' })).at(-1)).toEqual({
      image: 'busybox:1.37.0-musl',
    });
  });
});

/** checkProgress on a stand-in stream (a terminal or not): what it drew and what it printed. */
function recorded(isTTY: boolean, now: () => number) {
  const written: string[] = [];
  const printed: string[] = [];
  const stream = { isTTY, write: (text: string) => written.push(text) };
  const progress = checkProgress(
    stream as unknown as NodeJS.WriteStream,
    (line) => printed.push(line),
    now,
  );
  return { progress, written, printed };
}

describe('what the checks say while they run', () => {
  it('names each step, and announces a pull as a line to keep', async () => {
    const settings = readSettings({});
    const steps: string[] = [];
    const lines: string[] = [];
    const recorder = {
      step: (check: string, subject?: string) =>
        steps.push(subject ? `${check}: ${subject}` : check),
      busy: (check: string, what: string) => steps.push(`${check}: (${what})`),
      log: (line: string) => lines.push(line),
    };
    const machine = probes({ missingImages: { [settings.images.mongo]: ok('') } });
    await preflight(machine.probes, up(), recorder);
    expect(steps).toEqual([
      'Docker engine',
      'Pulumi CLI',
      `images: ${settings.images.postgres}`,
      `images: ${settings.images.mongo}`,
      `images: (pulling ${settings.images.mongo})`,
      `images: ${settings.images.elasticsearch}`,
      `images: ${settings.images.kibana}`,
      'vm.max_map_count',
    ]);
    expect(lines).toEqual([`Pulling ${settings.images.mongo} …`]);
  });

  it('on a terminal: the step and its seconds on one line, cleared for kept lines and at the end', () => {
    let clock = 0;
    const { progress, written, printed } = recorded(true, () => clock);
    progress.step('Docker engine');
    progress.step('images', 'postgres:15');
    clock = 2500;
    progress.log('Pulling postgres:15 …');
    progress.busy('images', 'pulling postgres:15');
    clock = 3200;
    // A pull is part of its image's check, not another one.
    expect(progress.finish()).toBe('Docker engine, images (3s)');
    expect(written).toEqual([
      '\r\x1b[2KDocker engine … 0s',
      '\r\x1b[2Kimages: postgres:15 … 0s',
      '\r\x1b[2K',
      '\r\x1b[2Kimages: pulling postgres:15 … 0s',
      '\r\x1b[2K',
    ]);
    expect(printed).toEqual(['Pulling postgres:15 …']);
  });

  it('elsewhere (a pipe, CI): no step shows, kept lines and the summary do', () => {
    const { progress, written, printed } = recorded(false, () => 0);
    progress.step('Pulumi CLI');
    progress.log('▸ pulumi plugin install resource docker 4.9.0');
    expect(progress.finish()).toBe('Pulumi CLI (0s)');
    expect(written).toEqual([]);
    expect(printed).toEqual(['▸ pulumi plugin install resource docker 4.9.0']);
  });
});

describe('the stack settings file', () => {
  it('reads the nova:* scalars `pulumi config set` writes, and nothing else', () => {
    const yaml = [
      'secretsprovider: passphrase',
      'encryptionsalt: v1:abc=:v1:def:ghi==',
      'config:',
      '  nova:elasticNodes: "1"',
      "  nova:bindAddress: '0.0.0.0'",
      '  nova:allowPublicBind: true',
      '  nova:postgresPassword:',
      '    secure: v1:xyz',
      '  docker:host: unix:///var/run/docker.sock',
      'environment:',
      '  nova:elasticNodes: "3"',
    ].join('\n');
    expect(readStackConfig(yaml)).toEqual({
      elasticNodes: '1',
      bindAddress: '0.0.0.0',
      allowPublicBind: 'true',
    });
    expect(readStackConfig(undefined)).toEqual({});
  });

  it('an invalid setting is reported by its key before anything runs', () => {
    expect(stackSettings({ elasticNodes: '2' })).toEqual({
      what: expect.stringContaining('nova:elasticNodes'),
      fix: ['npm run stack -- config set nova:elasticNodes <value>   (see infra/settings.ts)'],
    });
    expect(stackSettings({})).toMatchObject({ elastic: { nodes: 3 } });
  });
});
