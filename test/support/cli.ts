/**
 * Runs the `nova` command as a user does: a child process with a clean environment (no
 * database variables unless the test passes them), exit code and output captured.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
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

export interface Background {
  child: ChildProcess;
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

/**
 * `nova ARGS` in the background; resolves once `ready` shows on stdout or stderr (else kills it
 * and fails by a deadline).
 */
export async function background(
  args: string[],
  env: Record<string, string>,
  ready: string,
  { preload = [] as string[], cwd = process.cwd(), ownProcessGroup = false } = {},
): Promise<Background> {
  const imports = preload.flatMap((module) => ['--import', module]);
  const child = spawn(process.execPath, ['--import', TSX, ...imports, CLI, ...args], {
    env: { ...cleanEnv(), ...env },
    cwd,
    // As a terminal runs it: the leader of its own process group, which Ctrl-C signals whole.
    detached: ownProcessGroup,
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const seen = () => stderr.includes(ready) || stdout.includes(ready);
  const deadline = Date.now() + 30_000;
  while (!seen() && child.exitCode === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!seen()) {
    child.kill('SIGKILL');
    throw new Error(`nova ${args.join(' ')} did not start:\n${stderr}`);
  }
  return { child, exited, stderr: () => stderr, stdout: () => stdout };
}
