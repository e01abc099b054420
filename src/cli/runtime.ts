/**
 * The Node that `nova` runs on: which releases it accepts, and the line `nova --version`
 * prints. Pure functions, given the version and platform, so tests need no other Node.
 */
import { readFileSync } from 'node:fs';

/**
 * The oldest Node major the CLI runs on: package.json `engines.node` (test/unit/
 * node-version.test.ts keeps the two, .nvmrc and the Dockerfile in step).
 */
export const MIN_NODE_MAJOR = 24;

/**
 * Why Node `version` (as in `process.versions.node`, e.g. '20.20.2') cannot run nova, or
 * undefined when it can.
 *
 * @example checkNodeVersion('20.20.2') // 'Node 20.20.2 is not supported; use Node 24 or newer (…)'
 */
export function checkNodeVersion(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return (
    `Node ${version} is not supported; use Node ${MIN_NODE_MAJOR} or newer ` +
    '(npm scripts use the pinned Node from node_modules/.bin; elsewhere see .nvmrc)'
  );
}

export interface Runtime {
  /** `process.versions.node`, e.g. '24.22.3'. */
  node: string;
  /** `process.platform`, e.g. 'linux'. */
  platform: string;
  /** `process.arch`, e.g. 'x64'. */
  arch: string;
}

/**
 * `nova 0.1.0 (Node 24.22.3, linux-x64)`: what a bug report needs to say which build ran where.
 */
export function versionLine(packageVersion: string, runtime: Runtime): string {
  return `nova ${packageVersion} (Node ${runtime.node}, ${runtime.platform}-${runtime.arch})`;
}

/** The `version` field of the package.json at `url`. */
export function packageVersion(url: URL): string {
  const { version } = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
  if (typeof version !== 'string') throw new Error(`${url.pathname} has no version`);
  return version;
}
