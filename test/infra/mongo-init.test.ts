/**
 * The replica set's initiate script, run in a VM against a scripted `rs` (the mongosh
 * helpers it calls) and a clock the fake `sleep` moves: first run, second run, a change of
 * member count either way, a reconfig refused while the previous one commits, and members
 * that never become healthy. The real server is the live environment's (#6 run book).
 */
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { replicaSetScript } from '../../infra/mongo-init.js';
import { readSettings } from '../../infra/settings.js';

interface Replica {
  initiated: boolean;
  hosts: string[];
  /** Reconfigs refused (the previous one is not committed yet) before one is accepted. */
  refuseChanges?: number;
  /** Status polls before the members report PRIMARY/SECONDARY; Infinity: never. */
  readyAfterPolls?: number;
  /** Which member is primary once ready (default the first, the one the script runs in). */
  primary?: number;
}

const HOSTS = ['nova-mongodb-1:27017', 'nova-mongodb-2:27018', 'nova-mongodb-3:27019'];

function run(script: string, replica: Replica) {
  const calls: string[] = [];
  const printed: string[] = [];
  let now = 0;
  let polls = 0;
  const change = (what: string, apply: () => void) => {
    if ((replica.refuseChanges ?? 0) > 0) {
      replica.refuseChanges = (replica.refuseChanges ?? 0) - 1;
      throw Object.assign(new Error('config not committed yet'), { code: 308 });
    }
    apply();
    calls.push(what);
  };
  const rs = {
    status: () => {
      if (!replica.initiated) {
        throw Object.assign(new Error('no replset config has been received'), {
          code: 94,
          codeName: 'NotYetInitialized',
        });
      }
      polls++;
      const ready = polls > (replica.readyAfterPolls ?? 0);
      const primary = replica.primary ?? 0;
      return {
        members: replica.hosts.map((name, i) => ({
          name,
          self: i === 0,
          stateStr: ready ? (i === primary ? 'PRIMARY' : 'SECONDARY') : 'STARTUP2',
        })),
      };
    },
    initiate: (config: { _id: string; members: { host: string }[] }) =>
      change(`initiate ${config._id} ${config.members.map((m) => m.host).join(',')}`, () => {
        replica.initiated = true;
        replica.hosts = config.members.map((m) => m.host);
      }),
    conf: () => ({ members: replica.hosts.map((host) => ({ host })) }),
    add: (host: string) => change(`add ${host}`, () => replica.hosts.push(host)),
    remove: (host: string) =>
      change(`remove ${host}`, () => {
        replica.hosts = replica.hosts.filter((h) => h !== host);
      }),
  };
  const auth = (user: string, password: string) => {
    calls.push(`auth ${user} ${password}`);
    return { ok: 1 };
  };
  let exitCode: number | undefined;
  try {
    vm.runInNewContext(script, {
      rs,
      process: { env: { MONGO_INITDB_ROOT_PASSWORD: 'root-secret' } },
      db: { getSiblingDB: () => ({ auth }) },
      connect: (url: string) => {
        calls.push(`connect ${url}`);
        return { auth };
      },
      print: (line: string) => printed.push(line),
      sleep: (ms: number) => {
        now += ms;
      },
      quit: (code: number) => {
        throw { quit: code };
      },
      Date: { now: () => now },
    });
  } catch (error) {
    if (typeof (error as { quit?: number }).quit !== 'number') throw error;
    exitCode = (error as { quit: number }).quit;
  }
  return { calls, printed, exitCode, seconds: now / 1000 };
}

const three = replicaSetScript(readSettings({}));
const one = replicaSetScript(readSettings({ mongoMembers: '1' }));

describe('the replica-set initiate script', () => {
  it('initiates a new set with every member, then waits until all are healthy', () => {
    const result = run(three, { initiated: false, hosts: [], readyAfterPolls: 5 });
    expect(result.calls).toEqual(['auth root root-secret', `initiate rs0 ${HOSTS.join(',')}`]);
    expect(result.exitCode).toBe(0);
    expect(result.printed.at(-1)).toBe(
      'ready: nova-mongodb-1:27017 PRIMARY, nova-mongodb-2:27018 SECONDARY, nova-mongodb-3:27019 SECONDARY',
    );
    expect(result.seconds).toBe(5);
  });

  it('changes nothing on a set initiated as configured (the second run)', () => {
    const result = run(three, { initiated: true, hosts: [...HOSTS] });
    expect(result.calls).toEqual(['auth root root-secret']);
    expect(result.exitCode).toBe(0);
  });

  it('grows from 1 to 3 members one at a time, retrying while a reconfig commits', () => {
    const replica: Replica = { initiated: true, hosts: [HOSTS[0] as string], refuseChanges: 2 };
    const result = run(three, replica);
    expect(result.calls).toEqual(['auth root root-secret', `add ${HOSTS[1]}`, `add ${HOSTS[2]}`]);
    expect(replica.hosts).toEqual(HOSTS);
    expect(result.exitCode).toBe(0);
  });

  it('shrinks from 3 to 1 member, never removing the first', () => {
    const replica: Replica = { initiated: true, hosts: [...HOSTS] };
    const result = run(one, replica);
    expect(result.calls).toEqual([
      'auth root root-secret',
      `remove ${HOSTS[1]}`,
      `remove ${HOSTS[2]}`,
    ]);
    expect(replica.hosts).toEqual([HOSTS[0]]);
    expect(result.exitCode).toBe(0);
  });

  it('changes membership on the primary when the first member is not it', () => {
    const replica: Replica = {
      initiated: true,
      hosts: [HOSTS[0] as string, HOSTS[1] as string],
      primary: 1,
    };
    const result = run(three, replica);
    expect(result.calls).toEqual([
      'auth root root-secret',
      `connect mongodb://${HOSTS[1]}/admin?directConnection=true`,
      'auth root root-secret',
      `add ${HOSTS[2]}`,
    ]);
    expect(result.exitCode).toBe(0);
  });

  it('gives up after its bound, exiting 1 with the members it saw', () => {
    const result = run(replicaSetScript(readSettings({}), 30), {
      initiated: false,
      hosts: [],
      readyAfterPolls: Number.POSITIVE_INFINITY,
    });
    expect(result.exitCode).toBe(1);
    expect(result.printed.at(-1)).toMatch(
      /^not ready within 30 s: nova-mongodb-1:27017 STARTUP2, .*nova-mongodb-3:27019 STARTUP2$/,
    );
    expect(result.seconds).toBeLessThanOrEqual(31);
  });
});
