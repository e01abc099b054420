/**
 * The provider plugins the program needs, installed before `pulumi up` runs.
 *
 * Each `@pulumi/<provider>` package names its plugin in its package.json (`pulumi.name`,
 * `pulumi.version`); the engine downloads that exact version at the first preview, and an npm
 * release whose plugin was never published (as with @pulumi/command 4.5.0) installs fine
 * and then stops `up` halfway. Installing them first turns that into one clear error before
 * anything changes, and lets an offline machine whose plugins are already there go on:
 * `pulumi plugin ls --json` is asked first, and only the missing ones are installed, with
 * `--exact` (by default `plugin install` accepts any newer version, which the engine does not).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CommandResult, Probes, Problem } from './preflight.js';
import { PLAIN, type Progress } from './progress.js';

export interface Plugin {
  /** The npm package that names it, e.g. @pulumi/docker. */
  pkg: string;
  /** The plugin's name, e.g. docker (pulumi-resource-docker). */
  name: string;
  version: string;
}

interface PulumiPackageMeta {
  version: string;
  pulumi?: { resource?: boolean; name?: string; version?: string };
}

/**
 * The resource plugins of the repository's own dependencies: every @pulumi/* package that
 * says it is a resource provider. Read from the repository this file belongs to, so the
 * answer does not depend on the directory `npm run up` was started from.
 */
export function requiredPlugins(
  packageJson = new URL('../package.json', import.meta.url),
): Plugin[] {
  const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const resolve = createRequire(packageJson);
  const plugins: Plugin[] = [];
  for (const name of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).sort()) {
    if (!name.startsWith('@pulumi/')) continue;
    const meta = resolve(`${name}/package.json`) as PulumiPackageMeta;
    if (meta.pulumi?.resource !== true) continue;
    plugins.push({
      pkg: name,
      name: meta.pulumi.name ?? name.slice('@pulumi/'.length),
      version: meta.pulumi.version ?? meta.version,
    });
  }
  return plugins;
}

/** The resource plugins `pulumi plugin ls --json` lists, as `name@version`; undefined if unreadable. */
export function installedPlugins(result: CommandResult): Set<string> | undefined {
  if (result.code !== 0) return undefined;
  try {
    const listed = JSON.parse(result.stdout) as {
      name?: string;
      kind?: string;
      version?: string;
    }[];
    if (!Array.isArray(listed)) return undefined;
    return new Set(
      listed
        .filter((plugin) => plugin.kind === 'resource')
        .map((plugin) => `${plugin.name}@${plugin.version}`),
    );
  } catch {
    return undefined;
  }
}

export const installArgs = ({ name, version }: Plugin) => [
  'plugin',
  'install',
  'resource',
  name,
  version,
  '--exact',
];

/**
 * Installs the plugins not yet installed. Resolves to the problems, one per plugin that could
 * not be had, each with the command to retry and where its releases are listed.
 */
export async function ensurePlugins(
  probes: Pick<Probes, 'run'>,
  plugins: Plugin[],
  progress: Progress = PLAIN,
): Promise<Problem[]> {
  progress.step('Pulumi plugins');
  const installed = installedPlugins(await probes.run('pulumi', ['plugin', 'ls', '--json']));
  const missing = plugins.filter((p) => !installed?.has(`${p.name}@${p.version}`));
  const problems: Problem[] = [];
  for (const plugin of missing) {
    progress.log(`▸ pulumi ${installArgs(plugin).join(' ')}`);
    progress.busy('Pulumi plugins', `installing ${plugin.name} v${plugin.version}`);
    const result = await probes.run('pulumi', installArgs(plugin));
    if (result.code === 0) continue;
    const said = `${result.stderr}\n${result.stdout}`.trim().split('\n').at(-1)?.trim();
    problems.push({
      what: `The Pulumi plugin ${plugin.name} v${plugin.version} (named by ${plugin.pkg}) could not be installed: ${said || `exit ${result.code}`}`,
      fix: [
        `Retry it: pulumi plugin install ${installArgs(plugin).slice(2).join(' ')}`,
        `Offline: install it where there is a network, then copy ~/.pulumi/plugins/resource-${plugin.name}-v${plugin.version} here`,
        `Its releases: https://github.com/pulumi/pulumi-${plugin.name}/releases (a version missing there means ${plugin.pkg}@${plugin.version} cannot be used)`,
      ],
    });
  }
  return problems;
}
