/** The CLI's Node guard and its `--version` line (src/cli/runtime.ts), without another Node. */
import { describe, expect, it } from 'vitest';
import { checkNodeVersion, MIN_NODE_MAJOR, versionLine } from '../../src/cli/runtime.js';

describe('checkNodeVersion', () => {
  it('refuses a Node older than 24, naming it and where the supported one comes from', () => {
    expect(checkNodeVersion('20.20.2')).toBe(
      'Node 20.20.2 is not supported; use Node 24 or newer ' +
        '(npm scripts use the pinned Node from node_modules/.bin; elsewhere see .nvmrc)',
    );
    expect(checkNodeVersion('23.11.1')).toMatch(/^Node 23\.11\.1 is not supported/);
    expect(checkNodeVersion('v22.0.0')).toMatch(/is not supported/);
    // Not a version at all: refused rather than let through.
    expect(checkNodeVersion('')).toMatch(/is not supported/);
  });

  it('accepts Node 24 and every newer major', () => {
    expect(MIN_NODE_MAJOR).toBe(24);
    for (const version of ['24.0.0', '24.22.3', 'v24.1.0', '26.1.0', '100.0.0']) {
      expect(checkNodeVersion(version), version).toBeUndefined();
    }
  });
});

describe('versionLine', () => {
  it('names the package version, the Node and the platform', () => {
    expect(versionLine('0.1.0', { node: '24.22.3', platform: 'linux', arch: 'x64' })).toBe(
      'nova 0.1.0 (Node 24.22.3, linux-x64)',
    );
  });
});
