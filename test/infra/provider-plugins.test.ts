/**
 * Every provider plugin the program needs is one that can be had. The engine downloads the
 * plugin each @pulumi/<provider> package names in its package.json (`pulumi.version`); an npm
 * release whose plugin was never published (@pulumi/command 4.5.0, marked deprecated on npm)
 * installs fine and then stops the first preview. The lockfile records npm's deprecation.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { requiredPlugins } from '../../infra/plugins.js';

const read = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const lock = read('package-lock.json') as {
  packages: Record<string, { version: string; deprecated?: string }>;
};
const providers = requiredPlugins().map((plugin) => plugin.pkg);

it('finds the providers the program uses', () => {
  expect(providers).toEqual(
    expect.arrayContaining(['@pulumi/command', '@pulumi/docker', '@pulumi/random', '@pulumi/tls']),
  );
});

it.each(providers)(
  '%s: a release npm does not mark deprecated, naming its own version as the plugin',
  (name) => {
    const locked = lock.packages[`node_modules/${name}`];
    expect(locked?.deprecated, `${name}@${locked?.version} is deprecated on npm`).toBeUndefined();
    const meta = read(`node_modules/${name}/package.json`) as {
      version: string;
      pulumi: { version?: string };
    };
    expect(meta.pulumi.version ?? meta.version).toBe(meta.version);
    expect(meta.version).toBe(locked?.version);
  },
);
