/**
 * scripts/prune-runtime.mjs, which the image's prod-deps stage runs: on a copy of the real
 * @prisma scope it must keep every runtime file the generated client imports (each one is
 * imported from the pruned copy), and remove the other databases' query compilers, source
 * maps and declarations.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const scratch = mkdtempSync(join(tmpdir(), 'nova-prune-'));
const modules = join(scratch, 'node_modules');
cpSync('node_modules/@prisma', join(modules, '@prisma'), { recursive: true });
const printed = execFileSync(process.execPath, ['scripts/prune-runtime.mjs', modules], {
  encoding: 'utf8',
});
const runtime = join(modules, '@prisma/client/runtime');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The @prisma/client/runtime/* modules the generated client imports. */
function importedRuntime(dir = 'src/generated'): Set<string> {
  const found = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/@prisma\/client\/runtime\/([\w.-]+)/g)) found.add(m[1] ?? '');
  }
  return found;
}

it('keeps every runtime module the generated client imports, and each one loads', async () => {
  const imported = importedRuntime();
  expect(imported).toContain('query_compiler_fast_bg.postgresql.mjs');
  for (const name of imported) {
    const file = [name, `${name}.mjs`, `${name}.js`].map((n) => join(runtime, n)).find(existsSync);
    expect(file, `${name} was pruned`).toBeDefined();
    // index-browser is the browser entry: present, not loaded by node.
    if (name !== 'index-browser') await import(pathToFileURL(file as string).href);
  }
});

it("removes the other databases' compilers, source maps and declarations", () => {
  expect(printed).toMatch(/^prune-runtime: removed \d+ files, \d+\.\d MB, from /);
  const left = readdirSync(runtime);
  expect(left.filter((f) => f.startsWith('query_compiler_'))).toEqual(
    expect.arrayContaining(['query_compiler_fast_bg.postgresql.mjs']),
  );
  for (const file of left.filter((f) => f.startsWith('query_compiler_'))) {
    expect(file).toMatch(/^query_compiler_fast_bg\.postgresql\./);
  }
  const all = readdirSync(modules, { recursive: true }) as string[];
  expect(all.filter((f) => /\.(map|d\.ts|d\.mts|d\.cts)$/.test(f))).toEqual([]);
});

it('refuses a folder without the Prisma runtime, rather than pruning nothing quietly', () => {
  expect(() =>
    execFileSync(process.execPath, ['scripts/prune-runtime.mjs', scratch], { stdio: 'pipe' }),
  ).toThrow(/ENOENT/);
});
