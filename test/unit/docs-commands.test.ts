/**
 * Every `nova` command line in the documentation's code blocks is one the CLI takes: a known
 * command, known options, each with its value where it needs one (parsed by the CLI's own
 * option table, strictly, as `nova` parses its argv). A renamed option or a typo in a
 * documented command fails here. (The commands themselves run in test/cli.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { COMMANDS, EXAMPLES, PARSE_OPTIONS } from '../../src/cli/help.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = [
  'README.md',
  'SECURITY.md',
  'infra/README.md',
  'k8s/README.md',
  'dashboards/README.md',
  ...readdirSync(join(ROOT, 'docs')).map((file) => `docs/${file}`),
];

const KNOWN = new Set(COMMANDS);

/** A shell line's words, quotes removed (enough for documentation lines, not a shell). */
const words = (line: string) =>
  [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');

/** The `nova …` invocations of the fenced code blocks: `npm run nova -- …` or `nova …`. */
function invocations(markdown: string): string[][] {
  const blocks = [...markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)].map((m) => m[1] ?? '');
  return blocks
    .flatMap((block) => block.replace(/\\\n\s*/g, ' ').split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .flatMap((line) => {
      const all = words(line).filter((word) => !/^[A-Z_][A-Z0-9_]*=/.test(word)); // VAR=… first
      const at = all[0] === 'nova' ? 1 : all.slice(0, 4).join(' ') === 'npm run nova --' ? 4 : -1;
      return at < 0 ? [] : [all.slice(at)];
    });
}

describe('nova commands in the documentation', () => {
  const found = [
    ...DOCS.flatMap((file) =>
      invocations(readFileSync(join(ROOT, file), 'utf8')).map((argv) => ({ file, argv })),
    ),
    // The examples `nova COMMAND --help` prints are documentation too.
    ...Object.values(EXAMPLES)
      .flat()
      .flatMap((line) => invocations(`\`\`\`\n${line}\n\`\`\`\n`))
      .map((argv) => ({ file: 'src/cli/help.ts', argv })),
  ];

  it('finds them', () => {
    expect(found.length).toBeGreaterThan(15);
  });

  it('are commands and options the CLI takes', () => {
    const refused: string[] = [];
    for (const { file, argv } of found) {
      const where = `${relative(ROOT, join(ROOT, file))}: nova ${argv.join(' ')}`;
      if (!KNOWN.has(argv[0] ?? '')) {
        refused.push(`${where}: no command ${argv[0]}`);
        continue;
      }
      try {
        parseArgs({ args: argv, options: PARSE_OPTIONS, allowPositionals: true, strict: true });
      } catch (error) {
        refused.push(`${where}: ${(error as Error).message}`);
      }
    }
    expect(refused).toEqual([]);
  });
});
