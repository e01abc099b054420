/**
 * The replica set's initiate script, run in a VM against scripted servers (the mongosh
 * helpers and commands it calls, each on the connection it is called through) and a clock
 * the fake `sleep` moves: first run, second run, a change of member count either way with
 * any member primary, a reconfig refused while the previous one commits, and members that
 * never become healthy. The real server is the live environment's (infra/README.md).
 *
 * The scripted servers refuse what mongod refuses (mongodb/mongo):
 * - a reconfig on a member that is not primary: NotWritablePrimary, "Safe reconfig is only
 *   allowed on a writable PRIMARY" (replication_coordinator_impl.cpp, _doReplSetReconfig);
 * - a configuration that leaves out the member applying it: NodeNotFound, "No host described
 *   in new configuration … maps to this node" (repl_set_config_checks.cpp, findSelfInConfig);
 * - a reconfig while the previous one is not committed (CurrentConfigNotCommittedYet);
 * and `replSetStepUp` makes the member asked primary, after the refusals scripted
 * ("Election failed.", repl_set_commands.cpp CmdReplSetStepUp).
 */
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  KEYFILE_STAT,
  mongoInitCommandArgs,
  replicaSetScript,
  SCRIPT_PATH,
} from '../../infra/mongo-init.js';
import { readSettings } from '../../infra/settings.js';

interface Replica {
  initiated: boolean;
  hosts: string[];
  /** Reconfigs refused (the previous one is not committed yet) before one is accepted. */
  refuseChanges?: number;
  /** Status polls before the members report PRIMARY/SECONDARY; Infinity: never. */
  readyAfterPolls?: number;
  /** Which member (index in HOSTS) is primary once ready (default the first). */
  primary?: number;
  /** replSetStepUp attempts that lose their election before one wins. */
  lostElections?: number;
}

const HOSTS = ['nova-mongodb-1:27017', 'nova-mongodb-2:27018', 'nova-mongodb-3:27019'];

const refusal = (code: number, codeName: string, message: string) =>
  Object.assign(new Error(message), { code, codeName });

function run(script: string, replica: Replica) {
  const calls: string[] = [];
  const printed: string[] = [];
  let now = 0;
  let polls = 0;
  const primaryHost = () => HOSTS[replica.primary ?? 0];
  /** A connection to one member, as `db` is in mongosh. */
  const connection = (host: string) => ({
    host,
    getSiblingDB: () => connection(host),
    auth: (user: string, password: string) => {
      calls.push(`auth ${user} ${password}`);
      return { ok: 1 };
    },
    hello: () => ({ isWritablePrimary: replica.initiated && host === primaryHost() }),
    adminCommand: (command: Record<string, unknown>) => {
      if (command.replSetStepUp !== 1) throw new Error(`unexpected ${JSON.stringify(command)}`);
      if ((replica.lostElections ?? 0) > 0) {
        replica.lostElections = (replica.lostElections ?? 0) - 1;
        throw refusal(125, 'CommandFailed', 'Election failed.');
      }
      calls.push(`stepUp ${host}`);
      replica.primary = HOSTS.indexOf(host);
      return { ok: 1 };
    },
  });
  const context: Record<string, unknown> = {};
  const on = () => (context.db as ReturnType<typeof connection>).host;
  const reconfig = (what: string, next: string[]) => {
    if (on() !== primaryHost()) {
      throw refusal(
        10107,
        'NotWritablePrimary',
        'Safe reconfig is only allowed on a writable PRIMARY',
      );
    }
    if (!next.includes(on())) {
      throw refusal(74, 'NodeNotFound', `No host described in new configuration maps to this node`);
    }
    if ((replica.refuseChanges ?? 0) > 0) {
      replica.refuseChanges = (replica.refuseChanges ?? 0) - 1;
      throw refusal(308, 'CurrentConfigNotCommittedYet', 'config not committed yet');
    }
    replica.hosts = next;
    calls.push(`${what} on ${on()}`);
  };
  const rs = {
    status: () => {
      if (!replica.initiated) {
        throw refusal(94, 'NotYetInitialized', 'no replset config has been received');
      }
      polls++;
      const ready = polls > (replica.readyAfterPolls ?? 0);
      return {
        members: replica.hosts.map((name) => ({
          name,
          self: name === on(),
          stateStr: ready ? (name === primaryHost() ? 'PRIMARY' : 'SECONDARY') : 'STARTUP2',
        })),
      };
    },
    initiate: (config: { _id: string; members: { host: string }[] }) => {
      replica.initiated = true;
      replica.hosts = config.members.map((m) => m.host);
      calls.push(`initiate ${config._id} ${replica.hosts.join(',')} on ${on()}`);
    },
    conf: () => ({ members: replica.hosts.map((host) => ({ host })) }),
    add: (host: string) => reconfig(`add ${host}`, [...replica.hosts, host]),
    remove: (host: string) =>
      reconfig(
        `remove ${host}`,
        replica.hosts.filter((h) => h !== host),
      ),
  };
  let exitCode: number | undefined;
  Object.assign(context, {
    rs,
    process: { env: { MONGO_INITDB_ROOT_PASSWORD: 'root-secret' } },
    // The script runs inside the first member: mongosh's db is a connection to it.
    db: connection(HOSTS[0] as string),
    connect: (url: string) => {
      calls.push(`connect ${url}`);
      return connection(/^mongodb:\/\/([^/]+)\//.exec(url)?.[1] ?? url);
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
  try {
    vm.runInNewContext(script, context);
  } catch (error) {
    if (typeof (error as { quit?: number }).quit !== 'number') throw error;
    exitCode = (error as { quit: number }).quit;
  }
  return { calls, printed, exitCode, seconds: now / 1000 };
}

const three = replicaSetScript(readSettings({}));
const one = replicaSetScript(readSettings({ mongoMembers: '1' }));

const M1 = HOSTS[0] as string;
const M2 = HOSTS[1] as string;
const M3 = HOSTS[2] as string;
const auth = 'auth root root-secret';

describe('the replica-set initiate script', () => {
  it('initiates a new set with every member, then waits until all are healthy', () => {
    const result = run(three, { initiated: false, hosts: [], readyAfterPolls: 5 });
    expect(result.calls).toEqual([auth, `initiate rs0 ${HOSTS.join(',')} on ${M1}`]);
    expect(result.exitCode).toBe(0);
    expect(result.printed.at(-1)).toBe(
      'ready: nova-mongodb-1:27017 PRIMARY, nova-mongodb-2:27018 SECONDARY, nova-mongodb-3:27019 SECONDARY',
    );
    expect(result.seconds).toBe(5);
  });

  it('changes nothing on a set initiated as configured (the second run)', () => {
    const result = run(three, { initiated: true, hosts: [...HOSTS] });
    expect(result.calls).toEqual([auth]);
    expect(result.exitCode).toBe(0);
  });

  it('grows from 1 to 3 members one at a time, retrying while a reconfig commits', () => {
    const replica: Replica = { initiated: true, hosts: [M1], refuseChanges: 2 };
    const result = run(three, replica);
    expect(result.calls).toEqual([auth, `add ${M2} on ${M1}`, `add ${M3} on ${M1}`]);
    expect(replica.hosts).toEqual(HOSTS);
    expect(result.exitCode).toBe(0);
  });

  it('shrinks from 3 to 1 member, never removing the first', () => {
    const replica: Replica = { initiated: true, hosts: [...HOSTS] };
    const result = run(one, replica);
    expect(result.calls).toEqual([auth, `remove ${M2} on ${M1}`, `remove ${M3} on ${M1}`]);
    expect(replica.hosts).toEqual([M1]);
    expect(result.exitCode).toBe(0);
  });

  it.each([1, 2])(
    'shrinks from 3 to 1 when member %i + 1 is primary: the first steps up, then removes the others',
    (primary) => {
      const replica: Replica = { initiated: true, hosts: [...HOSTS], primary, lostElections: 2 };
      const result = run(one, replica);
      expect(result.exitCode, result.printed.join('\n')).toBe(0);
      expect(result.calls).toEqual([
        auth,
        `stepUp ${M1}`,
        `remove ${M2} on ${M1}`,
        `remove ${M3} on ${M1}`,
      ]);
      expect(replica.hosts).toEqual([M1]);
    },
  );

  it('a first member that never wins an election fails the step, saying so, within its bound', () => {
    const replica: Replica = {
      initiated: true,
      hosts: [...HOSTS],
      primary: 2,
      lostElections: Number.POSITIVE_INFINITY,
    };
    expect(() => run(replicaSetScript(readSettings({ mongoMembers: '1' }), 30), replica)).toThrow(
      `${M1} did not become primary: Election failed.`,
    );
    expect(replica.hosts).toEqual(HOSTS);
  });

  it('adds members on the primary when the first member is not it', () => {
    const replica: Replica = { initiated: true, hosts: [M1, M2], primary: 1 };
    const result = run(three, replica);
    expect(result.calls).toEqual([
      auth,
      `connect mongodb://${M2}/admin?directConnection=true`,
      auth,
      `add ${M3} on ${M2}`,
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

describe('the command that runs it', () => {
  const args = mongoInitCommandArgs(readSettings({}), ['id-1', 'id-2', 'id-3']);
  const create = String(args.create);

  it("reads every member's keyFile owner and mode back first, and stops unless mongod can use it", () => {
    expect(create).toMatch(
      /^set -eu\nfor member in nova-mongodb-1 nova-mongodb-2 nova-mongodb-3; do\n/,
    );
    expect(create).toContain(`docker exec "$member" stat -c '%u:%g %a' /etc/mongo/keyfile`);
    expect(KEYFILE_STAT).toBe('999:999 400');
    expect(create.indexOf('stat -c')).toBeLessThan(create.indexOf('mongosh'));
  });

  it('runs the script as a file (an error ends it with exit 1), never from standard input', () => {
    expect(args.stdin).toBe(three);
    expect(create).toContain(
      `docker exec -i nova-mongodb-1 sh -c 'umask 077 && cat > ${SCRIPT_PATH}'`,
    );
    expect(create).toMatch(new RegExp(`mongosh --quiet "[^"]+" --file ${SCRIPT_PATH}$`));
    // Only the write reads standard input: mongosh would otherwise take it line by line.
    expect(create.match(/docker exec -i/g)).toHaveLength(1);
    expect(args.addPreviousOutputInEnv).toBe(false);
  });
});
