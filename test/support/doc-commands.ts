/**
 * The commands the documentation shows: each line of its shell code blocks (```sh, ```bash),
 * and each `nova …` invocation in any code block, with the file it is in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXAMPLES } from '../../src/cli/help.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const DOCS = [
  'README.md',
  'SECURITY.md',
  'infra/README.md',
  'k8s/README.md',
  'dashboards/README.md',
  ...readdirSync(join(ROOT, 'docs')).map((file) => `docs/${file}`),
];

/** A shell line's words, quotes removed (enough for documentation lines, not a shell). */
export const words = (line: string) =>
  [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');

/** A code block's lines, continuations joined and comments dropped. */
function blockLines(markdown: string, languages: RegExp): string[] {
  return [...markdown.matchAll(/^```([a-z]*)\n([\s\S]*?)^```/gm)]
    .filter((m) => languages.test(m[1] ?? ''))
    .flatMap((m) => (m[2] ?? '').replace(/\\\n\s*/g, ' ').split('\n'))
    .map((line) => line.replace(/(^|\s+)#.*$/, '').trim())
    .filter(Boolean);
}

export interface NovaInvocation {
  file: string;
  /** The variables the line sets before the command (`NOVA_HTTP_PORT=8080 nova serve`). */
  env: Record<string, string>;
  argv: string[];
}

/** `nova …` or `npm run nova -- …`, after any VAR=value words; undefined for other lines. */
export function novaInvocation(line: string, file: string): NovaInvocation | undefined {
  const all = words(line);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(all[0] ?? '')) {
    const [name = '', ...value] = (all.shift() ?? '').split('=');
    env[name] = value.join('=');
  }
  const at = all[0] === 'nova' ? 1 : all.slice(0, 4).join(' ') === 'npm run nova --' ? 4 : -1;
  return at < 0 ? undefined : { file, env, argv: all.slice(at) };
}

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Every `nova` invocation in the docs' code blocks and in the help's examples. */
export function novaInvocations(): NovaInvocation[] {
  return [
    ...DOCS.flatMap((file) =>
      blockLines(read(file), /.*/).flatMap((line) => novaInvocation(line, file) ?? []),
    ),
    // The examples `nova COMMAND --help` prints are documentation too.
    ...Object.values(EXAMPLES)
      .flat()
      .flatMap((line) => novaInvocation(line, 'src/cli/help.ts') ?? []),
  ];
}

/** Every line of the docs' shell code blocks. */
export function shellLines(): { file: string; line: string }[] {
  return DOCS.flatMap((file) =>
    blockLines(read(file), /^(sh|bash|shell)$/).map((line) => ({ file, line })),
  );
}
