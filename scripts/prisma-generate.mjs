#!/usr/bin/env node
// Runs `prisma generate` without network access.
// Prisma 7's generator runs in-process (WASM), but the CLI still tries to download the native
// schema engine first unless PRISMA_SCHEMA_ENGINE_BINARY names an existing file. generate never
// executes that binary, so pointing it at this script is enough to keep the CLI offline.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
const result = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
