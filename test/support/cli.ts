/**
 * Runs the `nova` command as a user does: a child process with a clean environment (no
 * database variables unless the test passes them), exit code and output captured.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

export const CLI = resolve('src/cli.ts');
/** tsx's loader by absolute URL: the child may run in a folder without node_modules. */
export const TSX = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
/** The test's environment without any database configuration. */
export const cleanEnv = () =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(DATABASE_URL|POSTGRES_|MONGO_|ELASTIC_|KIBANA_|EMBEDDING_|OTEL_)/.test(k),
    ),
  );
export const run = async (
  args: string[],
  env: Record<string, string> = {},
  cwd = process.cwd(),
) => {
  const clean = cleanEnv();
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', TSX, CLI, ...args],
      {
        env: { ...clean, ...env },
        cwd,
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};
