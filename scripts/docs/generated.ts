/**
 * The generated parts of the docs: each file, or each marked section of one, and what the code
 * makes of it. `npm run docs:generate` writes them; `-- --check` and the tests compare.
 */
import { readFileSync } from 'node:fs';
import { commandReference } from './cli-reference.js';
import { configurationTables, envExample } from './config-reference.js';

const ROOT = new URL('../../', import.meta.url);

/** A section between `<!-- generated: NAME -->` and `<!-- end: NAME -->`, markers kept. */
export function splice(text: string, name: string, body: string, file: string): string {
  const begin = `<!-- generated: ${name} (npm run docs:generate) -->`;
  const end = `<!-- end: ${name} -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${begin} … ${end} section`);
  return `${text.slice(0, from + begin.length)}\n\n${body.trimEnd()}\n\n${text.slice(to)}`;
}

export interface Generated {
  file: string;
  current: string | undefined;
  wanted: string;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(new URL(file, ROOT), 'utf8');
  } catch {
    return undefined;
  }
}

function section(file: string, name: string, body: string): Generated {
  const current = read(file);
  return { file, current, wanted: splice(current ?? '', name, body, file) };
}

/** Every generated file as it is and as the code makes it. */
export function generatedDocs(): Generated[] {
  return [
    section('docs/configuration.md', 'variables', configurationTables()),
    section('docs/operations.md', 'commands', commandReference()),
    { file: '.env.example', current: read('.env.example'), wanted: envExample() },
  ];
}

export const rootUrl = ROOT;
