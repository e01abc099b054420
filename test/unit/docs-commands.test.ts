/**
 * Every `nova` command line in the documentation's code blocks is one the CLI takes: a known
 * command, known options, each with its value where it needs one (parsed by the CLI's own
 * option table, strictly, as `nova` parses its argv). A renamed option or a typo in a
 * documented command fails here. (Those that can run here run in test/docs-run.test.ts.)
 */
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { COMMANDS, PARSE_OPTIONS } from '../../src/cli/help.js';
import { novaInvocations, ROOT } from '../support/doc-commands.js';

const KNOWN = new Set(COMMANDS);

describe('nova commands in the documentation', () => {
  const found = novaInvocations();

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
