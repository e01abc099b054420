/**
 * MongoDB health: a ping (latency), `hello` (replica-set name, primary, members) and the
 * driver's own server monitoring for each member's state.
 *
 * Member state comes from the driver's SDAM heartbeats rather than replSetGetStatus, which
 * needs the clusterMonitor role: the application user keeps readWrite on the logs database
 * only, and the driver's view is also the one that matters to this client (a member the
 * service cannot reach is down for it, whatever the set thinks).
 */
import type { Db, Document, RunCommandOptions } from 'mongodb';

export type MemberState =
  | 'PRIMARY'
  | 'SECONDARY'
  | 'ARBITER'
  | 'OTHER'
  | 'STANDALONE'
  | 'MONGOS'
  | 'UNKNOWN';

export interface ReplicaSetMember {
  host: string;
  state: MemberState;
  /**
   * 1 reachable, 0 not (as replSetGetStatus spells it); null when this client does not
   * monitor the member (a direct connection) or has not heard from it yet (a fresh client).
   */
  health: 0 | 1 | null;
  pingMs: number | null;
  error: string | null;
}

export interface ReplicaSetView {
  name: string | null;
  primary: string | null;
  members: ReplicaSetMember[];
}

/** The telemetry writer's counters, as health shows them. */
export interface WriterHealth {
  queued: number;
  written: number;
  dropped: number;
  rejected: number;
  invalid: number;
  failedFlushes: number;
  consecutiveFailures: number;
  depth: number;
  capacity: number;
  lastError: { message: string; at: string } | null;
}

export interface MongoHealth {
  /** degraded: a member is down, or the writer's last attempts failed while MongoDB answers. */
  status: 'up' | 'degraded' | 'down';
  latencyMs: number;
  writer: WriterHealth;
  /** Only when reachable. */
  serverVersion?: string;
  /** When this client may read it (the application user usually may not). */
  featureCompatibilityVersion?: string;
  replicaSet?: ReplicaSetView;
  error?: string;
}

const UNAUTHORIZED = 13;

/**
 * The server's featureCompatibilityVersion, or undefined when this client may not read it
 * (getParameter needs a privilege the application user usually lacks: Unauthorized, 13) or
 * the server does not say. Other failures propagate.
 */
export async function featureCompatibilityVersion(
  admin: Pick<Db, 'command'>,
  options: RunCommandOptions = {},
): Promise<string | undefined> {
  try {
    const reply = await admin.command({ getParameter: 1, featureCompatibilityVersion: 1 }, options);
    const version = reply.featureCompatibilityVersion?.version;
    return typeof version === 'string' ? version : undefined;
  } catch (error) {
    if ((error as { code?: unknown }).code === UNAUTHORIZED) return undefined;
    throw error;
  }
}

/**
 * Why the server cannot run the analytics ($percentile needs binary and
 * featureCompatibilityVersion 7.0 or later), or undefined.
 */
export function analyticsUnsupported(version: string, fcv: string | undefined): string | undefined {
  const major = (v: string) => Number(v.split('.')[0]);
  if (!(major(version) >= 7))
    return `MongoDB ${version}: analytics ($percentile) need 7.0 or later`;
  if (fcv !== undefined && !(major(fcv) >= 7)) {
    return `featureCompatibilityVersion ${fcv}: analytics ($percentile) need 7.0; raise it with setFeatureCompatibilityVersion`;
  }
  return undefined;
}

/** The subset of the driver's ServerDescription that health reads. */
export interface ServerView {
  type: string;
  roundTripTime: number;
  error: { message: string } | null;
}

const STATES: Record<string, MemberState> = {
  RSPrimary: 'PRIMARY',
  RSSecondary: 'SECONDARY',
  RSArbiter: 'ARBITER',
  RSOther: 'OTHER',
  RSGhost: 'OTHER',
  Standalone: 'STANDALONE',
  Mongos: 'MONGOS',
};

/** The state `hello` reports for the server that answered it. */
function helloState(hello: Document): MemberState {
  if (hello.isWritablePrimary || hello.ismaster) return 'PRIMARY';
  if (hello.secondary) return 'SECONDARY';
  if (hello.arbiterOnly) return 'ARBITER';
  return 'OTHER';
}

const lower = (host: unknown) => String(host).toLowerCase();
const ping = (server: ServerView | undefined) =>
  server && Number.isFinite(server.roundTripTime) && server.roundTripTime >= 0
    ? Math.round(server.roundTripTime)
    : null;

/**
 * Members are the union of what `hello` lists (hosts, passives, arbiters) and what the driver
 * monitors, so a member the driver has not reached still shows. Host names are compared in
 * lower case, as the driver stores them. With a direct connection (`topologyType` Single) the
 * driver monitors only the server it talks to, possibly under another name than the set's
 * config uses (localhost vs the container's host name): that one is `hello.me`, the others
 * are listed as not monitored rather than down.
 */
export function replicaSetView(
  hello: Document,
  servers: ReadonlyMap<string, ServerView>,
  topologyType = 'ReplicaSetWithPrimary',
): ReplicaSetView {
  const listed = [...(hello.hosts ?? []), ...(hello.passives ?? []), ...(hello.arbiters ?? [])].map(
    lower,
  );
  const name = typeof hello.setName === 'string' ? hello.setName : null;
  const primary = typeof hello.primary === 'string' ? lower(hello.primary) : null;
  if (topologyType === 'Single') {
    const me = lower(hello.me);
    const direct = [...servers.values()][0];
    return {
      name,
      primary,
      members: [...new Set([...listed, me])]
        .sort()
        .map((host) =>
          host === me
            ? { host, state: helloState(hello), health: 1, pingMs: ping(direct), error: null }
            : { host, state: 'UNKNOWN', health: null, pingMs: null, error: null },
        ),
    };
  }
  const hosts = [...new Set([...listed, ...[...servers.keys()].map(lower)])].sort();
  return {
    name,
    primary,
    members: hosts.map((host) => {
      const server = servers.get(host);
      const state = (server && STATES[server.type]) ?? 'UNKNOWN';
      const error = server?.error?.message ?? null;
      return {
        host,
        state,
        health: state !== 'UNKNOWN' ? 1 : error ? 0 : null,
        pingMs: state === 'UNKNOWN' ? null : ping(server),
        error,
      };
    }),
  };
}

/** up: no member known to be down; degraded: writable but some member down; down: no primary. */
export function healthStatus(view: ReplicaSetView | undefined): MongoHealth['status'] {
  if (!view || view.name === null) return 'up'; // standalone or mongos: the ping decided
  if (view.primary === null) return 'down';
  return view.members.some((m) => m.health === 0) ? 'degraded' : 'up';
}
