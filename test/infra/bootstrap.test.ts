/**
 * The bootstrap step's shell script, run by a real /bin/sh against a stand-in `docker` on
 * PATH that records what it is asked to do (a unit test of our script: no Docker here).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oneShotContainer, oneShotScript, type Step } from '../../infra/bootstrap.js';

const BOOTSTRAP_CONTAINER = oneShotContainer('bootstrap');

import { ELASTIC_CA_PATH } from '../../infra/environment.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
const SECRET = 'p4ssw0rd-never-on-a-command-line';

/** Records argv; `cp` keeps the copied file and its mode; `start` exits with $STUB_EXIT. */
const STUB = `#!/bin/sh
echo "$*" >> "$STUB_DIR/calls"
case "$1" in
  cp) cp "$2" "$STUB_DIR/copied"; stat -c %a "$2" > "$STUB_DIR/copied-mode"; echo "$2" > "$STUB_DIR/copied-from" ;;
  start) echo "bootstrap report"; exit "\${STUB_EXIT:-0}" ;;
esac
`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nova-bootstrap-'));
  await writeFile(join(dir, 'docker'), STUB);
  await chmod(join(dir, 'docker'), 0o755);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function run(exit: number, step: Step = 'bootstrap') {
  const script = oneShotScript(step, 'sha256:abc', 'nova-net', [
    'DATABASE_URL',
    'ELASTIC_PASSWORD',
  ]);
  return new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', script],
      {
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          STUB_DIR: dir,
          STUB_EXIT: String(exit),
          DATABASE_URL: `postgresql://nova:${SECRET}@nova-postgres:5432/nova`,
          ELASTIC_PASSWORD: SECRET,
          NOVA_ELASTIC_CA: CA,
        },
      },
      (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }),
    );
  });
}

const calls = async () => (await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n');

describe('oneShotScript', () => {
  it('creates the container with the variables by name, copies the CA in, starts it attached, removes it', async () => {
    const { code, stdout } = await run(0);
    expect(code).toBe(0);
    expect(stdout).toContain('bootstrap report');
    expect(await calls()).toEqual([
      `rm -f ${BOOTSTRAP_CONTAINER}`,
      `create --name ${BOOTSTRAP_CONTAINER} --network nova-net --memory 512m --no-healthcheck -e DATABASE_URL -e ELASTIC_PASSWORD sha256:abc bootstrap all`,
      expect.stringMatching(new RegExp(`^cp \\S+ ${BOOTSTRAP_CONTAINER}:${ELASTIC_CA_PATH}$`)),
      `start --attach ${BOOTSTRAP_CONTAINER}`,
      `rm -f ${BOOTSTRAP_CONTAINER}`,
    ]);
    expect(await readFile(join(dir, 'copied'), 'utf8')).toBe(`${CA}\n`);
    // Readable by the image's non-root user; the host's temporary copy is gone.
    expect((await readFile(join(dir, 'copied-mode'), 'utf8')).trim()).toBe('444');
    const from = (await readFile(join(dir, 'copied-from'), 'utf8')).trim();
    await expect(readFile(from)).rejects.toThrow(/ENOENT/);
  });

  it('never puts a secret on a command line', async () => {
    await run(0);
    expect((await calls()).join('\n')).not.toContain(SECRET);
  });

  it('runs the reindex commands one container after the other', async () => {
    const { code } = await run(0, 'reindex');
    expect(code).toBe(0);
    const created = (await calls()).filter((call) => call.startsWith('create '));
    expect(created.map((call) => call.split(' sha256:abc ')[1])).toEqual([
      'reindex tickets',
      'reindex kb',
    ]);
  });

  it('names each step its own container, so steps running at once never touch each other', async () => {
    await run(0, 'dashboards');
    const created = (await calls()).filter((call) => call.startsWith('create '));
    expect(created).toEqual([
      expect.stringMatching(/^create --name nova-dashboards .* bootstrap kibana$/),
    ]);
    expect(await calls()).not.toContain(`rm -f ${BOOTSTRAP_CONTAINER}`);
  });

  it('stops at the first command that fails', async () => {
    const { code } = await run(4, 'reindex');
    expect(code).toBe(4);
    expect((await calls()).filter((call) => call.startsWith('create '))).toHaveLength(1);
  });

  it("fails with the bootstrap's exit code, and still removes the container", async () => {
    const { code } = await run(3);
    expect(code).toBe(3);
    expect((await calls()).at(-1)).toBe(`rm -f ${BOOTSTRAP_CONTAINER}`);
  });
});
