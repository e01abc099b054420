/**
 * The replica set's initiate step: a mongosh script run inside the first member (`docker
 * exec`, as root), idempotent and converging on the configured members.
 *
 * - never initiated (NotYetInitialized, code 94): `rs.initiate` with every member;
 * - initiated with other members (the stack went from 1 to 3, or back): `rs.add` / `rs.remove`
 *   one member at a time (MongoDB accepts one voting-member change per reconfig), on the
 *   primary wherever it is, each retried while the previous configuration is still being
 *   committed;
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
import { MONGO_ROOT_USER, mongoMemberHost, mongoMemberName, mongoMemberPort } from './names.js';
import type { StackSettings } from './settings.js';

export function replicaSetScript({ mongo }: StackSettings, timeoutSeconds = 180): string {
  const hosts = Array.from({ length: mongo.members }, (_, i) => mongoMemberHost(i + 1));
  const wanted = {
    _id: mongo.replicaSet,
    members: hosts.map((host, i) => ({ _id: i, host })),
  };
  return `
const wanted = ${JSON.stringify(wanted)};
const deadline = Date.now() + ${timeoutSeconds * 1000};
const password = process.env.MONGO_INITDB_ROOT_PASSWORD;
db.getSiblingDB('admin').auth('${MONGO_ROOT_USER}', password);
function status() {
  try {
    return rs.status();
  } catch (error) {
    if (error.code === 94 || error.codeName === 'NotYetInitialized') return null;
    throw error;
  }
}
function onPrimary() {
  const primary = (status()?.members ?? []).find((m) => m.stateStr === 'PRIMARY');
  if (primary && !primary.self) {
    db = connect('mongodb://' + primary.name + '/admin?directConnection=true');
    db.auth('${MONGO_ROOT_USER}', password);
  }
}
function retried(what, change) {
  for (;;) {
    try {
      onPrimary();
      change();
      print(what);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      sleep(1000);
    }
  }
}
if (status() === null) {
  rs.initiate(wanted);
  print('initiated ' + wanted._id + ' with ' + wanted.members.length + ' member(s)');
} else {
  const want = wanted.members.map((m) => m.host);
  const have = () => rs.conf().members.map((m) => m.host);
  for (const host of want.filter((h) => !have().includes(h))) retried('added ' + host, () => rs.add(host));
  for (const host of have().filter((h) => !want.includes(h))) retried('removed ' + host, () => rs.remove(host));
}
for (;;) {
  let states = [];
  try {
    const current = status();
    states = current ? current.members.map((m) => m.name + ' ' + m.stateStr) : [];
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

/**
 * The command: the script on mongosh's standard input, inside the first member, over its own
 * loopback (no port is published). `members` (their container ids) and the script are the
 * triggers: it runs again when a member is replaced or the member count changes.
 */
export function mongoInitCommandArgs(
  settings: StackSettings,
  members: pulumi.Input<string>[],
): command.local.CommandArgs {
  const script = replicaSetScript(settings);
  return {
    create: `docker exec -i ${mongoMemberName(1)} mongosh --quiet "mongodb://127.0.0.1:${mongoMemberPort(1)}/admin?directConnection=true"`,
    stdin: script,
    triggers: [script, ...members],
    addPreviousOutputInEnv: false,
  };
}
