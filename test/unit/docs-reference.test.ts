/**
 * The references that must not drift from the code: every error code has its section in
 * docs/troubleshooting.md (and every section there is a code), the generated parts of the docs
 * (configuration tables, command reference, .env.example) are current, every command `nova help` lists is in
 * docs/operations.md, and every stack setting is in infra/README.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KUBERNETES_SETTING_KEYS } from '../../infra/k8s/settings.js';
import { SETTING_KEYS } from '../../infra/settings.js';
import { generatedDocs, splice } from '../../scripts/docs/generated.js';
import { COMMANDS } from '../../src/cli/help.js';
import { VARIABLES } from '../../src/config-variables.js';
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

describe('the generated docs', () => {
  it.each(generatedDocs().map((doc) => [doc.file, doc] as const))(
    '%s is what the code makes of it (npm run docs:generate)',
    (_file, { current, wanted }) => {
      expect(current).toBe(wanted);
    },
  );

  it('replaces only the marked section, and refuses a file without one', () => {
    const text =
      'intro\n<!-- generated: x (npm run docs:generate) -->\nold\n<!-- end: x -->\nafter\n';
    expect(splice(text, 'x', 'new', 'f.md')).toBe(
      'intro\n<!-- generated: x (npm run docs:generate) -->\n\nnew\n\n<!-- end: x -->\nafter\n',
    );
    expect(() => splice('no markers', 'x', 'new', 'f.md')).toThrow(/f\.md has no/);
  });

  it('lists every variable in docs/configuration.md and .env.example', () => {
    const docs = read('docs/configuration.md');
    const example = read('.env.example');
    for (const name of Object.keys(VARIABLES)) {
      expect(docs).toContain(`| \`${name}\``);
      expect(example).toMatch(new RegExp(`^# ${name}=`, 'm'));
    }
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
