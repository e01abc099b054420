/**
 * Which OS user runs the embedded PostgreSQL. PostgreSQL refuses to run as root, so as root
 * it runs as `postgres` (the name Debian's and the official images' packages use), created
 * as a system account without a home or login shell when missing; otherwise as ourselves.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NovaError } from '../../../lib/errors.js';
import { currentUser, type Owner } from '../../../lib/private-path.js';

const run = promisify(execFile);
// By absolute path: npm scripts put node_modules/.bin first on PATH, and we are root here.
const ID = '/usr/bin/id';
const USERADD = '/usr/sbin/useradd';

export interface ServerUser extends Owner {
  name: string;
  /** True when we are root and the server runs as another user. */
  dropsPrivileges: boolean;
}

export const SERVER_USER_NAME = 'postgres';

async function lookup(name: string): Promise<Owner | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      run(ID, ['-u', name]).then(({ stdout }) => Number.parseInt(stdout, 10)),
      run(ID, ['-g', name]).then(({ stdout }) => Number.parseInt(stdout, 10)),
    ]);
    return { uid, gid };
  } catch {
    return undefined;
  }
}

export async function serverUser(): Promise<ServerUser> {
  const me = currentUser();
  if (me.uid !== 0) return { ...me, name: 'the current user', dropsPrivileges: false };
  let found = await lookup(SERVER_USER_NAME);
  if (!found) {
    await run(USERADD, [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      SERVER_USER_NAME,
    ]).catch((error: unknown) => {
      throw new NovaError(
        'UNAVAILABLE',
        `PostgreSQL cannot run as root and the ${SERVER_USER_NAME} OS user could not be created (useradd: ${String((error as Error).message).trim()}); create it, run as a non-root user, or set DATABASE_URL`,
        { cause: error },
      );
    });
    found = await lookup(SERVER_USER_NAME);
  }
  if (!found || found.uid === 0 || found.gid === 0) {
    throw new NovaError(
      'UNAVAILABLE',
      `PostgreSQL cannot run as root and no unprivileged ${SERVER_USER_NAME} OS user is available; create one, run as a non-root user, or set DATABASE_URL`,
    );
  }
  return { ...found, name: SERVER_USER_NAME, dropsPrivileges: true };
}
