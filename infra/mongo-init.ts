/**
 * The replica set's initiate step: a mongosh script run inside the first member (`docker
 * exec`, as root), idempotent and converging on the configured members.
 *
 * - never initiated (NotYetInitialized, code 94): `rs.initiate` with every member;
 * - initiated with other members (the stack went from 1 to 3, or back): `rs.add` / `rs.remove`
 *   one member at a time (MongoDB accepts one voting-member change per reconfig), each
 *   retried while the previous configuration is still being committed. Only the primary may
 *   reconfigure ("Safe reconfig is only allowed on a writable PRIMARY"), and no node accepts
 *   a configuration that leaves itself out (NodeNotFound, "No host described in new
 *   configuration … maps to this node": mongodb/mongo replication_coordinator_impl.cpp,
 *   _doReplSetReconfig). So members are added on the primary wherever it is, and before a
 *   removal the first member, which always stays, is made primary (`replSetStepUp`, retried
 *   until it wins an election): going from 3 to 1 works whichever member led;
 * - initiated as configured: nothing;
 * then it waits, bounded, until every member is PRIMARY or SECONDARY, and exits 0; past the
 * bound it prints the members' states and exits 1.
 *
 * It runs as a `command.local.Command`: a failed create fails `pulumi up` with the script's
 * output and is not recorded, so the next `up` runs it again (a one-shot container would be
 * recorded, exit code and all, and never retried). The root password never leaves the member:
 * the script reads the member's own MONGO_INITDB_ROOT_PASSWORD (`docker exec` runs with the
 * container's environment), so neither the command line nor the state holds it.
 */
import type * as command from '@pulumi/command';
import type * as pulumi from '@pulumi/pulumi';
import {
  MONGO_KEYFILE,
  MONGO_ROOT_USER,
  MONGODB_UID,
  mongoMemberHost,
  mongoMemberName,
  mongoMemberPort,
} from './names.js';
import type { StackSettings } from './settings.js';

export function replicaSetScript({ mongo }: StackSettings, timeoutSeconds = 180): string {
  const hosts = Array.from({ length: mongo.members }, (_, i) => mongoMemberHost(i + 1));
  const wanted = {
    _id: mongo.replicaSet,
    members: hosts.map((host, i) => ({ _id: i, host })),
  };
  return `
const wanted = ${JSON.stringify(wanted)};
const first = wanted.members[0].host;
const deadline = Date.now() + ${timeoutSeconds * 1000};
const password = process.env.MONGO_INITDB_ROOT_PASSWORD;
db = db.getSiblingDB('admin');
db.auth('${MONGO_ROOT_USER}', password);
const self = db;
let current = first;
function status() {
  try {
    return rs.status();
  } catch (error) {
    if (error.code === 94 || error.codeName === 'NotYetInitialized') return null;
    throw error;
  }
}
function useMember(host) {
  if (host === current) return;
  if (host === first) {
    db = self;
  } else {
    db = connect('mongodb://' + host + '/admin?directConnection=true');
    db.auth('${MONGO_ROOT_USER}', password);
  }
  current = host;
}
function onPrimary() {
  const primary = (status()?.members ?? []).find((m) => m.stateStr === 'PRIMARY');
  if (!primary) throw new Error('no primary yet');
  useMember(primary.name);
}
function retried(what, change) {
  for (;;) {
    try {
      change();
      print(what);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      sleep(1000);
    }
  }
}
function firstIsPrimary() {
  useMember(first);
  for (;;) {
    if (db.hello().isWritablePrimary) return;
    let refusal = '';
    try {
      db.adminCommand({ replSetStepUp: 1 });
    } catch (error) {
      refusal = ': ' + error.message;
    }
    if (Date.now() > deadline) throw new Error(first + ' did not become primary' + refusal);
    sleep(1000);
  }
}
if (status() === null) {
  rs.initiate(wanted);
  print('initiated ' + wanted._id + ' with ' + wanted.members.length + ' member(s)');
} else {
  const want = wanted.members.map((m) => m.host);
  const have = () => rs.conf().members.map((m) => m.host);
  for (const host of want.filter((h) => !have().includes(h))) {
    retried('added ' + host, () => {
      onPrimary();
      rs.add(host);
    });
  }
  // A member cannot reconfigure itself out of the set (NodeNotFound), and only the primary
  // may reconfigure: the first member, which stays, is made primary before each removal.
  for (const host of have().filter((h) => !want.includes(h))) {
    retried('removed ' + host, () => {
      firstIsPrimary();
      rs.remove(host);
    });
  }
}
useMember(first);
for (;;) {
  let states = [];
  try {
    const seen = status();
    states = seen ? seen.members.map((m) => m.name + ' ' + m.stateStr) : [];
  } catch (error) {
    states = ['status: ' + error.message];
  }
  const healthy = states.filter((s) => / (PRIMARY|SECONDARY)$/.test(s));
  if (healthy.length === wanted.members.length && states.some((s) => s.endsWith(' PRIMARY'))) {
    print('ready: ' + states.join(', '));
    quit(0);
  }
  if (Date.now() > deadline) {
    print('not ready within ${timeoutSeconds} s: ' + (states.join(', ') || 'no status'));
    quit(1);
  }
  sleep(1000);
}
`;
}

/** Where the script is written inside the first member, and run from as a file. */
export const SCRIPT_PATH = '/tmp/nova-replica-set.js';
/** `stat -c '%u:%g %a'` of the keyFile as mongod needs it: the image's mongodb user, 0400. */
export const KEYFILE_STAT = `${MONGODB_UID}:${MONGODB_UID} 400`;

/**
 * The command, a shell script run by the Command provider:
 * 1. reads the keyFile's owner and mode back from every member and stops, naming the member,
 *    unless they are what mongod demands (a root-owned or readable key makes it exit at start);
 * 2. writes the script into the first member (on standard input, so it is never on a command
 *    line) and runs it as a file: mongosh evaluates standard input line by line, as a REPL,
 *    printing an error and going on with the next line, whereas an uncaught error in a file
 *    ends it with exit code 1 (mongodb-js/mongosh packages/cli-repl/src/cli-repl.ts,
 *    loadCommandLineFilesAndEval; run.ts);
 * over the member's own loopback (no port is published). `members` (their container ids) and
 * the script are the triggers: it runs again when a member is replaced or the count changes.
 */
export function mongoInitCommandArgs(
  settings: StackSettings,
  members: pulumi.Input<string>[],
): command.local.CommandArgs {
  const script = replicaSetScript(settings);
  const names = Array.from({ length: settings.mongo.members }, (_, i) => mongoMemberName(i + 1));
  const first = mongoMemberName(1);
  const create = [
    'set -eu',
    `for member in ${names.join(' ')}; do`,
    `  got=$(docker exec "$member" stat -c '%u:%g %a' ${MONGO_KEYFILE})`,
    `  if [ "$got" != '${KEYFILE_STAT}' ]; then`,
    `    echo "$member: ${MONGO_KEYFILE} is owner:group mode $got, but mongod needs ${KEYFILE_STAT} (the mongodb user, read-only to it alone)" >&2`,
    '    exit 1',
    '  fi',
    'done',
    `docker exec -i ${first} sh -c 'umask 077 && cat > ${SCRIPT_PATH}'`,
    `docker exec ${first} mongosh --quiet "mongodb://127.0.0.1:${mongoMemberPort(1)}/admin?directConnection=true" --file ${SCRIPT_PATH}`,
  ].join('\n');
  return {
    create,
    stdin: script,
    triggers: [script, ...members],
    addPreviousOutputInEnv: false,
  };
}
