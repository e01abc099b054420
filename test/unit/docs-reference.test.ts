/**
 * The references that must not drift from the code: every error code has its section in
 * docs/troubleshooting.md (and every section there is a code), every environment variable
 * src/config.ts reads is in docs/configuration.md, every command `nova help` lists is in
 * docs/operations.md, and every stack setting is in infra/README.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KUBERNETES_SETTING_KEYS } from '../../infra/k8s/settings.js';
import { SETTING_KEYS } from '../../infra/settings.js';
import { COMMANDS } from '../../src/cli/help.js';
import { ERROR_CODES } from '../../src/lib/errors.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('docs/troubleshooting.md', () => {
  it('has a section for every error code, and none for a code that is gone', () => {
    const sections = [...read('docs/troubleshooting.md').matchAll(/^## ([A-Z_]+)$/gm)].map(
      (m) => m[1],
    );
    // NODE_UNSUPPORTED is the CLI's own, raised before anything loads.
    expect(sections.sort()).toEqual([...Object.keys(ERROR_CODES), 'NODE_UNSUPPORTED'].sort());
  });
});

describe('docs/configuration.md', () => {
  it('names every environment variable src/config.ts reads', () => {
    const code = read('src/config.ts');
    const variables = new Set(
      [
        ...code.matchAll(
          /\b(?:read|credentials|apiBaseUrl|[a-zA-Z]+)\(\s*env,\s*'([A-Z][A-Z0-9_]+)'/g,
        ),
      ]
        .map((m) => m[1])
        .concat([...code.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1])),
    );
    expect(variables.size).toBeGreaterThan(30);
    const docs = read('docs/configuration.md');
    const missing = [...variables].filter(
      (name) => !docs.includes(`\`${name}\``) && !docs.includes(name as string),
    );
    expect(missing).toEqual([]);
  });
});

describe('docs/operations.md', () => {
  it('documents every command nova help lists', () => {
    expect(COMMANDS.length).toBeGreaterThan(10);
    const docs = read('docs/operations.md');
    const missing = COMMANDS.filter((command) => !docs.includes(`nova ${command}`));
    expect(missing).toEqual([]);
  });
});

describe('infra/README.md', () => {
  it('documents every stack setting of both targets', () => {
    const docs = read('infra/README.md');
    const keys = [...new Set([...SETTING_KEYS, ...KUBERNETES_SETTING_KEYS, 'platform'])];
    expect(keys.filter((key) => !docs.includes(`\`${key}\``))).toEqual([]);
  });
});
