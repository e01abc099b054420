/**
 * The checks every state folder and secret file goes through before it is trusted: each
 * attack a local user could mount on a shared machine, refused.
 */
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertOwnedDirOrAbsent,
  assertTrustedAncestors,
  currentUser,
  ensurePrivateDir,
  reachableByOthers,
  readPrivateFile,
  writePrivateFile,
} from '../../src/lib/private-path.js';
import { expectNovaError } from '../support/nova-error.js';
import { scratchFolders } from '../support/scratch.js';

const isRoot = process.getuid?.() === 0;
/** Another user's uid: `nobody` on Debian. Only root can give a file to it. */
const OTHER = { uid: 65534, gid: 65534 };
const me = currentUser();

const scratch = scratchFolders('nova-private-');
const refusal = (fn: () => unknown) => expectNovaError(fn, { code: 'UNSAFE_PATH' });

describe('ensurePrivateDir', () => {
  it('makes a missing folder 0700, owned by the given user', () => {
    const path = join(scratch(), 'state');
    ensurePrivateDir(path, me);
    const stat = lstatSync(path);
    expect(stat.mode & 0o777).toBe(0o700);
    expect(stat.uid).toBe(me.uid);
  });

  it('tightens a folder of ours that others could only read (0755) to 0700', () => {
    const path = join(scratch(), 'state');
    mkdirSync(path, { mode: 0o755 });
    chmodSync(path, 0o755);
    ensurePrivateDir(path, me);
    expect(lstatSync(path).mode & 0o777).toBe(0o700);
  });

  it('refuses a world-writable folder, whatever it holds, and changes nothing', () => {
    const path = join(scratch(), 'state');
    mkdirSync(path);
    chmodSync(path, 0o777);
    const error = refusal(() => ensurePrivateDir(path, me));
    expect(error.code).toBe('UNSAFE_PATH');
    expect(error.field).toBe(path);
    expect(error.message).toMatch(/writable by others \(mode 0777\).*rm -rf/);
    expect(lstatSync(path).mode & 0o777).toBe(0o777);
  });

  it('refuses a group-writable folder', () => {
    const path = join(scratch(), 'state');
    mkdirSync(path);
    chmodSync(path, 0o770);
    expect(refusal(() => ensurePrivateDir(path, me)).code).toBe('UNSAFE_PATH');
  });

  it('refuses a symlink, even to a folder of ours', () => {
    const base = scratch();
    mkdirSync(join(base, 'real'), { mode: 0o700 });
    symlinkSync(join(base, 'real'), join(base, 'state'));
    expect(refusal(() => ensurePrivateDir(join(base, 'state'), me)).message).toMatch(/symlink/);
  });

  it.runIf(isRoot)('refuses a folder a third user owns (and does not take it over)', () => {
    const path = join(scratch(), 'state');
    mkdirSync(path, { mode: 0o700 });
    chownSync(path, OTHER.uid, OTHER.gid);
    const server = { uid: 101, gid: 104 };
    expect(refusal(() => ensurePrivateDir(path, server)).message).toMatch(/belongs to uid 65534/);
    expect(lstatSync(path).uid).toBe(OTHER.uid);
  });

  it.runIf(isRoot)('hands a fresh folder of ours to the server user', () => {
    const path = join(scratch(), 'state');
    mkdirSync(path, { mode: 0o700 });
    ensurePrivateDir(path, OTHER);
    expect(lstatSync(path).uid).toBe(OTHER.uid);
    // Now the server user's: accepted as it is on the next start.
    ensurePrivateDir(path, OTHER);
  });
});

describe('assertTrustedAncestors', () => {
  it('accepts a folder under /tmp (sticky) in a folder of ours', () => {
    expect(() => assertTrustedAncestors(join(scratch(), 'a', 'b'))).not.toThrow();
  });

  it('refuses a folder under one others may write to (not sticky)', () => {
    const open = join(scratch(), 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const error = refusal(() => assertTrustedAncestors(join(open, 'state', 'x')));
    expect(error.message).toMatch(/open above it is writable by others/);
  });

  it.runIf(isRoot)("refuses a folder under another user's", () => {
    const theirs = join(scratch(), 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, OTHER.uid, OTHER.gid);
    expect(refusal(() => assertTrustedAncestors(join(theirs, 'state'))).message).toMatch(
      /belongs to uid 65534/,
    );
  });
});

describe('reachableByOthers', () => {
  it('is false under a private (0700) folder and for a folder yet to be made', () => {
    const base = scratch(); // mkdtemp: 0700
    expect(reachableByOthers(join(base, 'x'))).toBe(false);
    chmodSync(base, 0o755);
    expect(reachableByOthers(join(base, 'x'))).toBe(true);
    expect(reachableByOthers(join(base, 'missing', 'x'))).toBe(false);
  });
});

describe('assertOwnedDirOrAbsent (the data folder)', () => {
  it('refuses a symlinked data folder, and the folder it points to stays untouched', () => {
    const base = scratch();
    const victim = join(base, 'victim');
    mkdirSync(victim, { mode: 0o755 });
    symlinkSync(victim, join(base, 'data'));
    expect(refusal(() => assertOwnedDirOrAbsent(join(base, 'data'), me)).message).toMatch(
      /symlink/,
    );
    expect(lstatSync(victim).uid).toBe(me.uid);
  });

  it('accepts an absent folder and one of the expected owner', () => {
    const base = scratch();
    expect(() => assertOwnedDirOrAbsent(join(base, 'data'), me)).not.toThrow();
    mkdirSync(join(base, 'data'), { mode: 0o700 });
    expect(() => assertOwnedDirOrAbsent(join(base, 'data'), me)).not.toThrow();
  });
});

describe('secret files', () => {
  it('are created 0600 and read back', () => {
    const file = join(scratch(), 'secret');
    writePrivateFile(file, 'hunter2');
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    expect(readPrivateFile(file)).toBe('hunter2');
    expect(readPrivateFile(join(scratch(), 'none'))).toBeUndefined();
  });

  it('are never written through a symlink or over an existing file', () => {
    const base = scratch();
    const target = join(base, 'target');
    writeFileSync(target, 'theirs');
    symlinkSync(target, join(base, 'secret'));
    expect(() => writePrivateFile(join(base, 'secret'), 'hunter2')).toThrow(/EEXIST/);
    expect(() => writePrivateFile(target, 'hunter2')).toThrow(/EEXIST/);
    expect(readFileSync(target, 'utf8')).toBe('theirs');
  });

  it('are refused when planted: a symlink, readable or writable by others', () => {
    const base = scratch();
    const real = join(base, 'real');
    writeFileSync(real, '{"password":"planted"}', { mode: 0o600 });
    symlinkSync(real, join(base, 'link'));
    expect(refusal(() => readPrivateFile(join(base, 'link'))).message).toMatch(/symlink/);
    chmodSync(real, 0o620);
    expect(refusal(() => readPrivateFile(real)).code).toBe('UNSAFE_PATH');
    chmodSync(real, 0o644);
    expect(refusal(() => readPrivateFile(real)).message).toMatch(/mode 0644/);
  });

  it.runIf(isRoot)("are refused when another user's", () => {
    const file = join(scratch(), 'credentials.json');
    writeFileSync(file, '{"password":"planted"}', { mode: 0o600 });
    chownSync(file, OTHER.uid, OTHER.gid);
    expect(refusal(() => readPrivateFile(file)).message).toMatch(/found uid 65534/);
  });
});
