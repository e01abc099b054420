/**
 * docs/configuration.md's tables and .env.example, from src/config-variables.ts: the names,
 * defaults and ranges the parser itself uses.
 */
import type { z } from 'zod';
import { wrap } from '../../src/cli/help.js';
import { GROUPS, type Group, VARIABLES, type Variable } from '../../src/config-variables.js';
import { cell } from './markdown.js';

const entries = Object.entries(VARIABLES) as [string, Variable][];

/** What a schema accepts, read from the schema itself. */
function accepted(variable: Variable): string {
  const schema = variable.schema as
    | (z.ZodType & { type?: string; minValue?: number; maxValue?: number; minLength?: number })
    | undefined;
  if (schema?.type === 'number') return `${schema.minValue}–${schema.maxValue}`;
  if (schema?.type === 'string') return `at least ${schema.minLength} characters`;
  return variable.accepts ?? 'text';
}

function defaultOf(variable: Variable): string {
  if (variable.default !== undefined) return `\`${variable.default}\``;
  return variable.defaultText ?? '—';
}

/** One table per group: variable, accepted values, default, meaning. */
export function configurationTables(): string {
  return (Object.keys(GROUPS) as Group[])
    .map((group) => {
      const rows = entries
        .filter(([, v]) => v.group === group)
        .map(
          ([name, v]) =>
            `| \`${name}\`${v.secret ? ' (secret)' : ''} | ${cell(accepted(v))} | ${cell(defaultOf(v))} | ${cell(v.meaning)} |`,
        );
      return [
        `### ${GROUPS[group]}`,
        '',
        '| variable | accepts | default | meaning |',
        '| --- | --- | --- | --- |',
        ...rows,
      ].join('\n');
    })
    .join('\n\n');
}

/** Markdown to the plain text of a comment: no backticks, links as their text. */
const plain = (text: string) => text.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').replace(/`/g, '');

/** `text` as comment lines of at most `width` characters. */
const comment = (text: string, width = 92) => wrap(text, width - 2).map((line) => `# ${line}`);

/** .env.example: every variable, commented out, with its meaning and a sample or its default. */
export function envExample(): string {
  const head = [
    '# Nova Universe data platform: every environment variable nova reads, generated from',
    '# src/config-variables.ts (npm run docs:generate); docs/configuration.md has the same list.',
    '# Copy to .env, uncomment what you use, and load it with',
    '# `node --env-file=.env dist/cli.js ...` or `set -a; . ./.env; set +a`.',
    '# .env is git-ignored: never commit real credentials. Unset variables take their defaults.',
  ];
  const groups = (Object.keys(GROUPS) as Group[]).map((group) => {
    const title = `# --- ${plain(GROUPS[group])} `;
    return [
      '',
      title.padEnd(92, '-'),
      ...entries
        .filter(([, v]) => v.group === group)
        .flatMap(([name, v]) => [
          ...comment(plain(v.meaning)),
          `# ${name}=${v.example ?? v.default ?? ''}`,
        ]),
    ];
  });
  return `${[...head, ...groups.flat()].join('\n')}\n`;
}
