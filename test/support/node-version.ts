/**
 * Where the project states which Node it runs on, and whether those places agree. Pure
 * functions of the files' texts (no file system), so test/unit/node-version.test.ts can show
 * every check failing on a made-up inconsistent input as well as passing on the real files.
 *
 * The reference is .nvmrc's exact release: the version managers install it, and package.json
 * pins the same release as the Node that npm scripts run on (node-linux-* optional
 * dependencies, which put it at node_modules/.bin/node).
 *
 * `yaml` comes with vitest (vite); only tests read workflows.
 */
import { parse } from 'yaml';

/** The texts (and two values) that state a Node version. */
export interface NodeVersionSources {
  /** The Dockerfile: its `ARG NODE_IMAGE=node:<version>…` default. */
  dockerfile: string;
  /** .nvmrc: one exact release, e.g. `24.22.3` (a leading `v` is allowed). */
  nvmrc: string;
  /** .node-version: the same, for the version managers that read this file. */
  nodeVersion: string;
  /** package.json: engines.node, @types/node, the node-linux-* optional dependencies. */
  packageJson: string;
  /** GitHub Actions workflows by path: what each setup-node step installs. */
  workflows: Record<string, string>;
  /** The oldest major the CLI accepts (src/cli/runtime.ts MIN_NODE_MAJOR). */
  cliMinimum: number;
  /** The Node running the check: `process.versions.node`. */
  running: string;
  /**
   * The major this run is meant to test instead of the pinned one (NOVA_NODE_UNDER_TEST: the
   * users' workflow's Node 26 leg, which takes node_modules/.bin/node away on purpose).
   */
  underTest?: number;
}

/** `24.22.3` from `24.22.3` or `v24.22.3` (surrounding white space ignored); else undefined. */
export function exactVersion(text: string): string | undefined {
  return /^v?(\d+\.\d+\.\d+)$/.exec(text.trim())?.[1];
}

/** The major of a version or of a range's first number (`^24.1.0`, `>=24`, `24.x`). */
export function majorOf(version: string): number | undefined {
  const major = /^\s*(?:>=|\^|~|=)?\s*v?(\d+)/.exec(version)?.[1];
  return major === undefined ? undefined : Number(major);
}

/** The lowest major an npm range admits: `>=24`, `^24.1.0 || ^26`; undefined for `*` and kin. */
export function rangeMinimumMajor(range: string): number | undefined {
  const majors = range.split('||').map((alternative) => {
    const first = alternative.trim().split(/\s+/)[0] ?? '';
    // `<26` or `<=26` alone sets no minimum: anything below is admitted.
    return /^</.test(first) ? undefined : majorOf(first);
  });
  if (majors.some((major) => major === undefined)) return undefined;
  return Math.min(...(majors as number[]));
}

/** The `ARG NODE_IMAGE=…` default of a Dockerfile, e.g. `node:24.22.3-bookworm-slim`. */
export function dockerfileNodeImage(text: string): string | undefined {
  return /^\s*ARG\s+NODE_IMAGE\s*=\s*(\S+)/m.exec(text)?.[1];
}

/** Node versions that a workflow's setup-node steps install, with the job that does it. */
export function workflowNodeVersions(text: string): { job: string; version: string }[] {
  const workflow = parse(text) as {
    jobs?: Record<
      string,
      {
        strategy?: { matrix?: Record<string, unknown> };
        steps?: { uses?: string; with?: Record<string, unknown> }[];
      }
    >;
  };
  return Object.entries(workflow.jobs ?? {}).flatMap(([job, { strategy, steps = [] }]) =>
    steps
      .filter((step) => step.uses?.startsWith('actions/setup-node@'))
      .flatMap((step) => {
        const value = String(step.with?.['node-version'] ?? '');
        // `${{ matrix.node }}`: every value of that matrix key.
        const key = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(value)?.[1];
        const values = key === undefined ? [value] : strategy?.matrix?.[key];
        return (Array.isArray(values) ? values : []).map((v) => ({ job, version: String(v) }));
      }),
  );
}

/** The release .nvmrc pins, and how every problem names it. */
interface Pin {
  version: string;
  major: number;
  /** e.g. `.nvmrc pins Node 24 (24.22.3)`. */
  reference: string;
}

function versionFileProblems({ nodeVersion }: NodeVersionSources, pin: Pin): string[] {
  // Both files are read by version managers to install an exact release: one release, then.
  if (exactVersion(nodeVersion) === pin.version) return [];
  return [`.node-version holds '${nodeVersion.trim()}', ${pin.reference}`];
}

function dockerfileProblems({ dockerfile }: NodeVersionSources, pin: Pin): string[] {
  const image = dockerfileNodeImage(dockerfile);
  if (image === undefined) {
    return [`Dockerfile has no ARG NODE_IMAGE=node:<version> default; ${pin.reference}`];
  }
  // The major only: an image tag may follow a new release by some days.
  const major = majorOf(/^node:(.*)$/.exec(image)?.[1] ?? '');
  if (major === pin.major) return [];
  return [`Dockerfile NODE_IMAGE ${image} is Node ${major ?? '?'}, ${pin.reference}`];
}

function packageProblems({ packageJson }: NodeVersionSources, pin: Pin): string[] {
  const pkg = JSON.parse(packageJson) as {
    engines?: { node?: string };
    devDependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const problems: string[] = [];
  const binaries = Object.entries(pkg.optionalDependencies ?? {}).filter(([name]) =>
    name.startsWith('node-linux-'),
  );
  if (binaries.length === 0) {
    problems.push(
      `package.json has no node-linux-* optionalDependency: npm scripts would run whatever Node is on PATH; ${pin.reference}`,
    );
  }
  for (const [name, version] of binaries) {
    if (version !== pin.version) {
      problems.push(
        `package.json optionalDependencies ${name} is ${version}, ${pin.reference}: npm scripts would run another release`,
      );
    }
  }
  const engines = pkg.engines?.node ?? '';
  const minimum = rangeMinimumMajor(engines);
  if (minimum !== pin.major) {
    problems.push(
      `package.json engines.node '${engines}' admits Node ${minimum ?? 'of any major'} and up, ${pin.reference}`,
    );
  }
  const types = pkg.devDependencies?.['@types/node'] ?? '';
  if (majorOf(types) !== pin.major) {
    problems.push(
      `package.json @types/node ${types || '(missing)'} describes Node ${majorOf(types) ?? '?'}, ${pin.reference}`,
    );
  }
  return problems;
}

function workflowProblems({ workflows }: NodeVersionSources, pin: Pin): string[] {
  const problems: string[] = [];
  let setUp = 0;
  for (const [path, text] of Object.entries(workflows)) {
    const tested = workflowNodeVersions(text);
    setUp += tested.length;
    const unknown = tested.filter((t) => majorOf(t.version) === undefined);
    if (unknown.length > 0) {
      const named = unknown.map((t) => `'${t.version}' (job ${t.job})`).join(', ');
      problems.push(`${path}: setup-node version ${named} is not a Node version`);
      continue;
    }
    if (tested.length === 0) continue;
    // The oldest Node users are told works must be the one pinned, tested.
    const lowest = Math.min(...tested.map((t) => majorOf(t.version) as number));
    if (lowest !== pin.major) {
      const jobs = new Set(tested.filter((t) => majorOf(t.version) === lowest).map((t) => t.job));
      problems.push(
        `${path} tests Node ${lowest} at the lowest (job ${[...jobs].join(', ')}), ${pin.reference}`,
      );
    }
  }
  if (setUp === 0)
    problems.push(`no workflow sets up Node with actions/setup-node; ${pin.reference}`);
  return problems;
}

function runtimeProblems(
  { cliMinimum, running, underTest }: NodeVersionSources,
  pin: Pin,
): string[] {
  const problems: string[] = [];
  if (cliMinimum !== pin.major) {
    problems.push(
      `src/cli/runtime.ts MIN_NODE_MAJOR is ${cliMinimum}: the CLI accepts from Node ${cliMinimum}, ${pin.reference}`,
    );
  }
  if (underTest !== undefined) {
    if (majorOf(running) !== underTest) {
      problems.push(`this check runs on Node ${running}, not on Node ${underTest} under test`);
    }
  } else if (majorOf(running) !== pin.major) {
    problems.push(
      `this check runs on Node ${running}, ${pin.reference}: npm test is not on the pinned Node (node_modules/.bin/node missing? run npm ci)`,
    );
  }
  return problems;
}

/** What disagrees with .nvmrc, one sentence per source that names it; empty when all agree. */
export function nodeVersionProblems(sources: NodeVersionSources): string[] {
  const version = exactVersion(sources.nvmrc);
  if (version === undefined) {
    return [`.nvmrc holds '${sources.nvmrc.trim()}', not an exact release such as 24.22.3`];
  }
  const major = majorOf(version) as number;
  const pin = { version, major, reference: `.nvmrc pins Node ${major} (${version})` };
  return [
    versionFileProblems,
    dockerfileProblems,
    packageProblems,
    workflowProblems,
    runtimeProblems,
  ].flatMap((check) => check(sources, pin));
}
