/**
 * Folders and files that hold a database or a secret, checked before they are trusted.
 *
 * A private folder is trusted only when it is a real folder (not a symlink), its owner is the
 * expected user and nobody else can write to it; and only when no folder above it lets
 * another user swap it out: every ancestor is owned by root or by us and is not writable by
 * others, unless sticky like /tmp (where others cannot rename what they do not own). A secret
 * file is opened without following symlinks and must be ours and readable by us alone. Each
 * refusal is an UNSAFE_PATH error naming the path, what is wrong and the fix.
 */

import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  writeFileSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { NovaError } from './errors.js';

/** The user a private folder belongs to. */
export interface Owner {
  uid: number;
  gid: number;
}

const GROUP_OR_OTHER_WRITE = 0o022;
const GROUP_OR_OTHER_ANY = 0o077;
const STICKY = 0o1000;

export const currentUser = (): Owner => ({
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
});

const unsafe = (path: string, problem: string, fix: string) =>
  new NovaError('UNSAFE_PATH', `refusing ${path}: ${problem}; ${fix}`, { field: path });

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The nearest folder at or above `path` that exists. */
function nearestExisting(path: string): string {
  let dir = resolve(path);
  while (!lstatOrUndefined(dir) && dir !== dirname(dir)) dir = dirname(dir);
  return dir;
}

/**
 * `mkdir -p` whose new folders get exactly `mode`, whatever the umask (root's umask 077 would
 * make a folder the server user must enter private).
 */
export function makeFolders(path: string, mode: number): void {
  const first = mkdirSync(path, { recursive: true, mode });
  if (first === undefined) return;
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    chmodSync(dir, mode);
    if (dir === resolve(first) || dir === dirname(dir)) return;
  }
}

/**
 * Throws unless nobody but root (or us) may add, remove or rename entries in the folder that
 * holds `path`: sticky folders such as /tmp do not count, since the owner of an entry may
 * still rename it there. Needed when `path` belongs to another user (the server user owns its
 * folder), who could otherwise swap it for a link to a folder of their choosing.
 */
export function assertParentUnshared(path: string, user: Owner = currentUser()): void {
  const parent = dirname(resolve(path));
  const stat = lstatSync(parent);
  if ((stat.uid !== 0 && stat.uid !== user.uid) || (stat.mode & GROUP_OR_OTHER_WRITE) !== 0) {
    throw unsafe(
      path,
      `${parent} may be changed by others (uid ${stat.uid}, mode ${octal(stat.mode)}), so its owner could swap it for a link`,
      `use a folder inside one of yours (mktemp -d, then a folder in it)`,
    );
  }
}

/**
 * Throws unless every existing folder above `path` (symlinks resolved) is owned by root or
 * the current user and is not writable by group or others (sticky folders excepted).
 */
export function assertTrustedAncestors(path: string, user: Owner = currentUser()): void {
  const start = realpathSync(nearestExisting(dirname(resolve(path))));
  for (let dir = start; ; dir = dirname(dir)) {
    const stat = lstatSync(dir);
    if (stat.uid !== 0 && stat.uid !== user.uid) {
      throw unsafe(path, `${dir} above it belongs to uid ${stat.uid}`, 'use a folder of yours');
    }
    if ((stat.mode & GROUP_OR_OTHER_WRITE) !== 0 && (stat.mode & STICKY) === 0) {
      throw unsafe(
        path,
        `${dir} above it is writable by others (mode ${octal(stat.mode)})`,
        `run chmod go-w ${dir}, or use another folder`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}

/**
 * True when every folder above `path` exists and lets other users pass (o+x): what the
 * `postgres` OS user needs to reach a folder when we are root. A missing folder counts as
 * unreachable, since it would be created private.
 */
export function reachableByOthers(path: string): boolean {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const stat = lstatOrUndefined(dir);
    if (!stat) return false;
    if ((stat.mode & 0o001) === 0 && !stat.isSymbolicLink()) return false;
    if (dir === dirname(dir)) return true;
  }
}

/**
 * Makes `path` (mode 0700, owned by `owner`) or checks the one that is there. A folder we own
 * ourselves and nobody else can write (a fresh mkdtemp) is handed to `owner`; anything a
 * third user owns, anything group- or world-writable, and a symlink are refused. The parent
 * must exist.
 */
export function ensurePrivateDir(path: string, owner: Owner): void {
  const me = currentUser();
  const found = lstatOrUndefined(path);
  if (!found) mkdirSync(path, { mode: 0o700 });
  const stat = found ?? lstatSync(path);
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw unsafe(path, 'it is a symlink or not a folder', `remove it (rm ${path})`);
  }
  if (stat.uid !== owner.uid && stat.uid !== me.uid) {
    throw unsafe(
      path,
      `it belongs to uid ${stat.uid}, not uid ${owner.uid}`,
      `remove it (rm -rf ${path}) if you do not know who made it`,
    );
  }
  if ((stat.mode & GROUP_OR_OTHER_WRITE) !== 0) {
    throw unsafe(
      path,
      `it is writable by others (mode ${octal(stat.mode)}), so anything in it may have been planted`,
      `remove it (rm -rf ${path}) to start afresh`,
    );
  }
  // Opened without following symlinks: what we chown and chmod is what we just checked.
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const opened = fstatSync(fd);
    if (opened.ino !== stat.ino || opened.dev !== stat.dev) {
      throw unsafe(path, 'it changed while being checked', 'try again');
    }
    if (opened.uid !== owner.uid || opened.gid !== owner.gid) fchownSync(fd, owner.uid, owner.gid);
    if ((opened.mode & GROUP_OR_OTHER_ANY) !== 0) fchmodSync(fd, 0o700);
  } finally {
    closeSync(fd);
  }
}

/**
 * Throws unless `path` is absent or a real folder owned by `owner` and not writable by others
 * (a symlinked `data` would have us act on a folder of someone else's choosing).
 */
export function assertOwnedDirOrAbsent(path: string, owner: Owner): void {
  const stat = lstatOrUndefined(path);
  if (!stat) return;
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw unsafe(path, 'it is a symlink or not a folder', `remove it (rm ${path})`);
  }
  if (stat.uid !== owner.uid || (stat.mode & GROUP_OR_OTHER_WRITE) !== 0) {
    throw unsafe(
      path,
      `it belongs to uid ${stat.uid} with mode ${octal(stat.mode)}, not to uid ${owner.uid} alone`,
      `remove it (rm -rf ${path}) if you do not know who made it`,
    );
  }
}

/**
 * The content of a secret file of ours, or undefined when there is none. Refused: a symlink,
 * a file of another user's, a file others may read or write.
 */
export function readPrivateFile(path: string): string | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted in its place must not hang the start (it is refused below).
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw unsafe(path, 'it is a symlink', `remove it (rm ${path})`);
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    const me = currentUser();
    // One link only: a hard link to another private file of ours is not this secret.
    const foreign = stat.uid !== me.uid || (stat.mode & GROUP_OR_OTHER_ANY) !== 0;
    if (!stat.isFile() || stat.nlink !== 1 || foreign) {
      throw unsafe(
        path,
        `a secret file must be a file of yours, private and with one link (found uid ${stat.uid}, mode ${octal(stat.mode)}, ${stat.nlink} links)`,
        `remove it (rm ${path}) if you do not know who made it`,
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates a secret file, whole or not at all: written (mode 0600 from the start, never
 * readable by others even briefly) under a random name beside it, then linked into place,
 * which fails if anything, a symlink included, is already at `path`. `owner` hands it to
 * another user (the server that must read it). `replace`: renamed into place instead, over
 * what is there (a symlink is replaced, never followed): for a file of ours being rewritten,
 * in a private folder.
 */
export function writePrivateFile(
  path: string,
  content: string,
  owner?: Owner,
  { replace = false } = {},
): void {
  const staging = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(
    staging,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    try {
      if (owner) fchownSync(fd, owner.uid, owner.gid);
      writeFileSync(fd, content);
    } finally {
      closeSync(fd);
    }
    if (replace) renameSync(staging, path);
    else linkSync(staging, path);
  } finally {
    rmSync(staging, { force: true });
  }
}
