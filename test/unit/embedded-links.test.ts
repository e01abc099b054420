/**
 * The embedded PostgreSQL's library links, made by nova from the package's
 * native/pg-symlinks.json (no install script runs: .npmrc), on folders of the test's own.
 */
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hydrateLibraryLinks } from '../../src/bootstrap/postgres/embedded/binaries.js';
import { novaFailure } from '../support/nova-error.js';

let base: string;
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** <tmp>/pkg/native/lib with one library and the given link list. */
function packageWith(links: unknown): string {
  base = mkdtempSync(join(tmpdir(), 'nova-links-'));
  const native = join(base, 'pkg', 'native');
  mkdirSync(join(native, 'lib'), { recursive: true });
  writeFileSync(join(native, 'lib', 'libpq.so.5.15'), 'library');
  writeFileSync(join(native, 'pg-symlinks.json'), JSON.stringify(links));
  return native;
}

describe('hydrateLibraryLinks', () => {
  it('makes the missing links, relative, and leaves them alone the next time', () => {
    const native = packageWith([
      { source: 'native/lib/libpq.so.5.15', target: 'native/lib/libpq.so.5' },
      { source: 'native/lib/libpq.so.5.15', target: 'native/lib/libpq.so' },
    ]);
    hydrateLibraryLinks(native);
    expect(readlinkSync(join(native, 'lib', 'libpq.so.5'))).toBe('libpq.so.5.15');
    expect(readlinkSync(join(native, 'lib', 'libpq.so'))).toBe('libpq.so.5.15');
    hydrateLibraryLinks(native);
    expect(readlinkSync(join(native, 'lib', 'libpq.so'))).toBe('libpq.so.5.15');
  });

  it.each([
    [{ source: 'native/lib/libpq.so.5.15', target: 'native/../../evil' }],
    [{ source: '/etc/passwd', target: 'native/lib/libpq.so' }],
    [{ source: 'native/lib/libpq.so.5.15', target: 'native/bin/libpq.so' }],
  ])('refuses a list that links outside its own folder: %j', async (link) => {
    const native = packageWith([link]);
    const error = await novaFailure(async () => hydrateLibraryLinks(native));
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    expect(error.message).toContain('outside its own folder');
    expect(existsSync(join(base, 'evil'))).toBe(false);
  });

  it('refuses a list that is not one, and does nothing without a list', async () => {
    const native = packageWith({ not: 'a list' });
    expect((await novaFailure(async () => hydrateLibraryLinks(native))).message).toMatch(
      /is not a list of links/,
    );
    rmSync(join(native, 'pg-symlinks.json'));
    expect(() => hydrateLibraryLinks(native)).not.toThrow();
  });
});
