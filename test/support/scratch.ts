/** Throwaway folders under the temp dir for one test file, removed after each test. */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** A maker of fresh folders (mode 0700, as mkdtemp makes them, or `mode`). */
export function scratchFolders(prefix: string): (mode?: number) => string {
  const folders: string[] = [];
  afterEach(() => {
    for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (mode) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    if (mode !== undefined) chmodSync(dir, mode);
    folders.push(dir);
    return dir;
  };
}
