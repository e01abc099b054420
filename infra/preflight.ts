/**
 * The prerequisites `npm run up` checks before it touches Pulumi: Docker reachable, with the
 * memory the stack's containers may use and every pinned image (engine-checks.ts), the Pulumi
 * CLI present and recent enough, and vm.max_map_count >= 262144 where Docker's kernel runs
 * when Elasticsearch has more than one node (its bootstrap checks refuse less). Every missing
 * one is reported at once, each with what is wrong and how to fix it.
 *
 * Pure but for the probes it is handed (run a command, read a file), so tests inject them.
 */
import { memoryProblem, pullImages } from './engine-checks.js';
import { SettingsError } from './errors.js';
import { mongoMemberName } from './names.js';
import { PLAIN, type Progress } from './progress.js';
import { type RawSettings, readSettings, type StackSettings } from './settings.js';

/** What a probed command did; `missing` when it is not installed (ENOENT). */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  missing?: boolean;
}

export interface Probes {
  /** Runs a command, output captured; `env` replaces the probes' own environment. */
  run(
    command: string,
    args: string[],
    env?: Record<string, string | undefined>,
  ): Promise<CommandResult>;
  /** The file's text, or undefined when it cannot be read. */
  readFile(path: string): Promise<string | undefined>;
  platform: NodeJS.Platform;
  hostname: string;
  /** The addresses a host name resolves to on this machine ([] when it does not). */
  lookup?(host: string): Promise<string[]>;
}

/** One prerequisite not met: what is wrong, and the commands or steps that fix it. */
export interface Problem {
  what: string;
  fix: string[];
}

export interface PreflightReport {
  failures: Problem[];
  warnings: Problem[];
}

export interface PreflightNeeds {
  docker: boolean;
  pulumi: boolean;
  /** The stack's settings when vm.max_map_count matters (`npm run up`); else undefined. */
  settings?: StackSettings;
  /** The oldest Pulumi CLI accepted, e.g. '3.270.0'. */
  minimumPulumi: string;
}

export const MIN_MAX_MAP_COUNT = 262_144;
const ELASTIC_DOCS =
  'https://www.elastic.co/docs/deploy-manage/deploy/self-managed/install-elasticsearch-docker-prod';

/**
 * The `nova:*` values of a stack settings file (Pulumi.<stack>.yaml), keys without `nova:`.
 * `pulumi config set` writes each as a top-level scalar under `config:`, the only shape read
 * here; secure and structured values are left out (no `nova:*` setting is either).
 */
export function readStackConfig(yaml: string | undefined): RawSettings {
  const raw: RawSettings = {};
  let inConfig = false;
  for (const line of (yaml ?? '').split(/\r?\n/)) {
    if (/^\S/.test(line)) inConfig = /^config:\s*$/.test(line);
    const entry = inConfig ? /^ {2}nova:([A-Za-z0-9_]+):\s*(.*?)\s*$/.exec(line) : null;
    if (!entry?.[1]) continue;
    const value = scalar(entry[2] ?? '');
    if (value !== undefined) raw[entry[1]] = value;
  }
  return raw;
}

/** A YAML scalar as written by Pulumi: double-quoted, single-quoted or plain. */
function scalar(text: string): string | undefined {
  if (text === '') return undefined;
  if (text.startsWith('"')) {
    try {
      return String(JSON.parse(text));
    } catch {
      return undefined;
    }
  }
  if (text.startsWith("'")) return text.replace(/^'(.*)'$/, '$1').replaceAll("''", "'");
  return text.replace(/\s+#.*$/, '');
}

/** The stack's settings, or the problem with them (a SettingsError names its key). */
export function stackSettings(raw: RawSettings): StackSettings | Problem {
  try {
    return readSettings(raw);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    return {
      what: `The stack's configuration is invalid: ${error.message}`,
      fix: [`npm run stack -- config set ${error.key} <value>   (see infra/settings.ts)`],
    };
  }
}

export async function preflight(
  probes: Probes,
  needs: PreflightNeeds,
  progress: Progress = PLAIN,
): Promise<PreflightReport> {
  const report: PreflightReport = { failures: [], warnings: [] };
  const asksDocker = needs.docker || needs.settings !== undefined;
  if (asksDocker) progress.step('Docker engine');
  if (needs.pulumi) progress.step('Pulumi CLI');
  const [docker, pulumi] = await Promise.all([
    asksDocker ? dockerEngine(probes) : undefined,
    needs.pulumi ? probes.run('pulumi', ['version']) : undefined,
  ]);
  if (needs.docker && docker && 'what' in docker) report.failures.push(docker);
  if (pulumi) {
    const problem = pulumiProblem(pulumi, needs.minimumPulumi);
    if (problem) report.failures.push(problem);
  }
  const engine = docker && !('what' in docker) ? docker : undefined;
  if (needs.settings && engine) {
    const { failure, warning } = memoryProblem(needs.settings, engine.memTotal);
    if (failure) report.failures.push(failure);
    if (warning) report.warnings.push(warning);
    // Before the max_map_count probe, which runs the Elasticsearch image.
    await pullImages(probes, needs.settings, report, progress);
  }
  if (needs.settings && needs.settings.elastic.nodes > 1) {
    progress.step('vm.max_map_count');
    await checkMaxMapCount(probes, needs.settings, engine, report);
  }
  if (needs.settings?.mongo.hostAccess) {
    progress.step('MongoDB member names');
    const problem = await memberNamesProblem(probes, needs.settings);
    if (problem) report.failures.push(problem);
  }
  return report;
}

/**
 * With nova:mongoHostAccess, clients on this machine connect to the names the replica set
 * announces (rs.conf()), so each must resolve here to where the members are published.
 */
async function memberNamesProblem(
  probes: Probes,
  { mongo, bindAddress }: StackSettings,
): Promise<Problem | undefined> {
  if (!probes.lookup) return undefined;
  const address = bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress;
  const names = Array.from({ length: mongo.members }, (_, i) => mongoMemberName(i + 1));
  const lookup = probes.lookup.bind(probes);
  const resolved = await Promise.all(
    names.map(async (name) => (await lookup(name)).includes(address)),
  );
  const missing = names.filter((_, i) => !resolved[i]);
  if (missing.length === 0) return undefined;
  return {
    what: `nova:mongoHostAccess is on, but ${missing.join(', ')} do(es) not resolve to ${address} on this machine: clients here could not follow the replica set's member names.`,
    fix: [
      `echo "${address} ${names.join(' ')}" | sudo tee -a /etc/hosts`,
      'Windows: add the same line to C:\\Windows\\System32\\drivers\\etc\\hosts',
      'Or turn it off: npm run stack -- config set nova:mongoHostAccess false',
    ],
  };
}

interface DockerEngine {
  operatingSystem: string;
  name: string;
  /** The memory the engine's containers share, in bytes (its VM's, on Docker Desktop). */
  memTotal?: number;
}

async function dockerEngine(probes: Probes): Promise<DockerEngine | Problem> {
  const info = await probes.run('docker', ['info', '--format', '{{json .}}']);
  if (info.missing) {
    return {
      what: 'Docker is not installed (no `docker` command on the PATH).',
      fix: [
        'Install Docker Engine (Linux) or Docker Desktop (macOS, Windows): https://docs.docker.com/get-docker/',
      ],
    };
  }
  let parsed: {
    ServerVersion?: string;
    ServerErrors?: string[];
    OperatingSystem?: string;
    Name?: string;
    MemTotal?: number;
  } = {};
  try {
    parsed = JSON.parse(info.stdout);
  } catch {
    // No JSON: the daemon answered nothing usable; the error below quotes stderr.
  }
  const serverError = parsed.ServerErrors?.[0] ?? firstLine(info.stderr);
  if (info.code !== 0 || !parsed.ServerVersion) {
    const denied = /permission denied/i.test(serverError);
    return {
      what: `Docker is installed but its daemon is not reachable: ${serverError || `docker info exited with ${info.code}`}`,
      fix: denied
        ? [
            'Let your user talk to the daemon: sudo usermod -aG docker "$USER", then log out and in again',
          ]
        : [
            probes.platform === 'linux'
              ? 'Start it: sudo systemctl start docker (or start Docker Desktop)'
              : 'Start Docker Desktop and wait until it reports that it is running',
            'If Docker runs elsewhere, point DOCKER_HOST or `docker context use` at it; `docker info` must succeed',
          ],
    };
  }
  return {
    operatingSystem: parsed.OperatingSystem ?? '',
    name: parsed.Name ?? '',
    ...(typeof parsed.MemTotal === 'number' ? { memTotal: parsed.MemTotal } : {}),
  };
}

const firstLine = (text: string) => text.trim().split('\n')[0]?.trim() ?? '';

const semver = (text: string) => /(\d+)\.(\d+)\.(\d+)/.exec(text)?.slice(1, 4).map(Number);

function pulumiProblem(result: CommandResult, minimum: string): Problem | undefined {
  const install = [
    'Linux, macOS: curl -fsSL https://get.pulumi.com | sh',
    'macOS (Homebrew): brew install pulumi/tap/pulumi',
    'Windows, other ways: https://www.pulumi.com/docs/install/',
  ];
  if (result.missing) {
    return {
      what: 'The Pulumi CLI is not installed (no `pulumi` command on the PATH).',
      fix: [...install, 'No Pulumi account is needed: the stack keeps its state in .nova/'],
    };
  }
  const version = semver(result.stdout);
  if (result.code !== 0 || !version) {
    return {
      what: `\`pulumi version\` failed: ${firstLine(result.stderr) || firstLine(result.stdout) || `exit ${result.code}`}`,
      fix: install,
    };
  }
  const wanted = semver(minimum) ?? [0, 0, 0];
  const older = version.findIndex((part, i) => part !== wanted[i]);
  if (older >= 0 && (version[older] ?? 0) < (wanted[older] ?? 0)) {
    return {
      what: `The Pulumi CLI is v${version.join('.')}, older than the Pulumi SDK this repository uses (${minimum}).`,
      fix: [
        'Upgrade it the way it was installed: curl -fsSL https://get.pulumi.com | sh, or brew upgrade pulumi',
      ],
    };
  }
  return undefined;
}

async function checkMaxMapCount(
  probes: Probes,
  settings: StackSettings,
  /** The reachable engine; undefined when Docker could not be asked. */
  engine: DockerEngine | undefined,
  report: PreflightReport,
) {
  const image = settings.images.elasticsearch;
  const nodes = settings.elastic.nodes;
  const single = 'Or run one Elasticsearch node: npm run stack -- config set nova:elasticNodes 1';
  // Docker Desktop and remote engines run containers in another kernel, whose setting counts;
  // a local Linux engine shares this machine's.
  const local =
    probes.platform === 'linux' &&
    (!engine ||
      (!/docker desktop/i.test(engine.operatingSystem) && engine.name === probes.hostname));
  if (!local && !engine) return; // Docker's kernel cannot be asked; its failure is reported.
  const read = local
    ? await probes.readFile('/proc/sys/vm/max_map_count')
    : await dockerKernelValue(probes, image);
  const where = local ? 'this machine' : "Docker's virtual machine";
  const value = read === undefined ? Number.NaN : Number.parseInt(read.trim(), 10);
  if (Number.isNaN(value)) {
    report.warnings.push({
      what: `Could not read vm.max_map_count on ${where}; Elasticsearch with ${nodes} nodes needs at least ${MIN_MAX_MAP_COUNT}.`,
      fix: [
        local
          ? 'Check it: sysctl vm.max_map_count'
          : `Check it: docker run --rm --entrypoint cat ${image} /proc/sys/vm/max_map_count`,
        single,
      ],
    });
    return;
  }
  if (value >= MIN_MAX_MAP_COUNT) return;
  report.failures.push({
    what: `vm.max_map_count is ${value} on ${where}; Elasticsearch with ${nodes} nodes needs at least ${MIN_MAX_MAP_COUNT}.`,
    fix: local
      ? [
          `Now: sudo sysctl -w vm.max_map_count=${MIN_MAX_MAP_COUNT}`,
          `For good: echo vm.max_map_count=${MIN_MAX_MAP_COUNT} | sudo tee /etc/sysctl.d/99-elasticsearch.conf && sudo sysctl --system`,
          single,
        ]
      : [
          `Docker Desktop, until it restarts: docker run --rm --privileged --entrypoint sh ${image} -c 'echo ${MIN_MAX_MAP_COUNT} > /proc/sys/vm/max_map_count'`,
          `Windows (WSL 2): wsl -d docker-desktop -u root sysctl -w vm.max_map_count=${MIN_MAX_MAP_COUNT}; other platforms: ${ELASTIC_DOCS}`,
          single,
        ],
  });
}

/** The value as a container sees it: the kernel of Docker's VM or remote host. */
async function dockerKernelValue(probes: Probes, image: string): Promise<string | undefined> {
  const result = await probes.run('docker', [
    'run',
    '--rm',
    '--entrypoint',
    'cat',
    image,
    '/proc/sys/vm/max_map_count',
  ]);
  return result.code === 0 ? result.stdout : undefined;
}

/** The report as the terminal shows it: one block per problem, failures first. */
export function formatReport({ failures, warnings }: PreflightReport): string {
  const block = (mark: string, { what, fix }: Problem) =>
    [`${mark} ${what}`, ...fix.map((line) => `    ${line}`)].join('\n');
  const parts: string[] = [];
  if (failures.length > 0) {
    parts.push(
      `${failures.length} prerequisite${failures.length === 1 ? ' is' : 's are'} missing:`,
      ...failures.map((problem) => block('✗', problem)),
    );
  }
  parts.push(...warnings.map((problem) => block('!', problem)));
  return parts.join('\n\n');
}
