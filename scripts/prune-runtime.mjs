#!/usr/bin/env node
// Removes from a production node_modules what the service never loads, for the image's
// runtime stage (Dockerfile, prod-deps):
// - the Prisma query compilers of other databases: @prisma/client ships one per database
//   and build (about 60 MB); the generated client imports the PostgreSQL one of the fast
//   build alone (src/generated/prisma, `query_compiler_fast_bg.postgresql.*`);
// - source maps and TypeScript declarations, read by editors and debuggers, never by node.
// Prints what it removed. Usage: node scripts/prune-runtime.mjs [node_modules] [provider]
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [root = 'node_modules', provider = 'postgresql'] = process.argv.slice(2);
const COMPILER = /^query_compiler_/;
const KEPT_COMPILER = `query_compiler_fast_bg.${provider}.`;
const NEVER_LOADED = /\.(map|d\.ts|d\.mts|d\.cts)$/;

/** Whether a file of the given directory is one the service never loads. */
function unused(directory, name) {
  if (NEVER_LOADED.test(name)) return true;
  const prismaRuntime = directory.split(/[\\/]/).slice(-3).join('/') === '@prisma/client/runtime';
  return prismaRuntime && COMPILER.test(name) && !name.startsWith(KEPT_COMPILER);
}

let files = 0;
let bytes = 0;
function prune(directory) {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) prune(path);
    else if (entry.isFile() && unused(directory, entry.name)) {
      bytes += statSync(path).size;
      files += 1;
      rmSync(path);
    }
  }
}

statSync(join(root, '@prisma/client/runtime')); // a clear ENOENT when pointed elsewhere
prune(root);
console.log(
  `prune-runtime: removed ${files} files, ${(bytes / 2 ** 20).toFixed(1)} MB, from ${root}`,
);
