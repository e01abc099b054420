/**
 * The replica set's initiate step, as the mongosh script a one-shot container runs against
 * the first member (as root): idempotent, and converging on the configured members.
 *
 * - never initiated (NotYetInitialized, code 94): `rs.initiate` with every member;
 * - initiated with other members (the stack went from 1 to 3, or back): `rs.add` / `rs.remove`
 *   one member at a time (MongoDB accepts one voting-member change per reconfig), each retried
 *   while the previous configuration is still being committed;
 * - initiated as configured: nothing;
 * then it waits, bounded, until every member is PRIMARY or SECONDARY, and exits 0; past the
 * bound it prints the members' states and exits 1, which fails `pulumi up` with that log.
 */
import type * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { mongoMemberName } from './names.js';
import type { StackSettings } from './settings.js';

export function replicaSetScript({ mongo }: StackSettings, timeoutSeconds = 180): string {
  const hosts = Array.from({ length: mongo.members }, (_, i) => `${mongoMemberName(i + 1)}:27017`);
  const wanted = {
    _id: mongo.replicaSet,
    members: hosts.map((host, i) => ({ _id: i, host })),
  };
  return `
const wanted = ${JSON.stringify(wanted)};
const deadline = Date.now() + ${timeoutSeconds * 1000};
function status() {
  try {
    return rs.status();
  } catch (error) {
    if (error.code === 94 || error.codeName === 'NotYetInitialized') return null;
    throw error;
  }
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
  const current = status();
  const states = current ? current.members.map((m) => m.name + ' ' + m.stateStr) : [];
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

export const MONGO_INIT_CONTAINER = 'nova-mongodb-init';

/**
 * The one-shot container that runs the script: the pinned mongo image's mongosh, as root,
 * straight to the first member (`directConnection`: the set may not exist yet). Attached, so
 * `pulumi up` waits for it; its log is kept for the failure message. It runs again only when
 * its inputs change: a different member count, a new image.
 */
export function mongoInitArgs(
  settings: StackSettings,
  {
    image,
    network,
    rootPassword,
  }: {
    image: pulumi.Input<string>;
    network: pulumi.Input<string>;
    rootPassword: pulumi.Input<string>;
  },
): docker.ContainerArgs {
  const first = `${mongoMemberName(1)}:27017`;
  return {
    name: MONGO_INIT_CONTAINER,
    image,
    restart: 'no',
    mustRun: false,
    attach: true,
    logs: true,
    networksAdvanced: [{ name: network }],
    envs: [
      pulumi.secret(pulumi.interpolate`MONGO_ROOT_PASSWORD=${rootPassword}`),
      `NOVA_RS_SCRIPT=${replicaSetScript(settings)}`,
    ],
    command: [
      'sh',
      '-c',
      `exec mongosh --quiet "mongodb://${first}/admin?directConnection=true" -u root -p "$MONGO_ROOT_PASSWORD" --authenticationDatabase admin --eval "$NOVA_RS_SCRIPT"`,
    ],
  };
}

/** True when the initiate step exited 0; otherwise an error carrying what mongosh said. */
export function initiated(exitCode: number, logs: string): true {
  if (exitCode !== 0) {
    throw new Error(`the replica set was not initiated (exit ${exitCode}):\n${logs.trim()}`);
  }
  return true;
}
