/**
 * MongoDB health: a ping (latency), `hello` (replica-set name, primary, members) and the
 * driver's own server monitoring for each member's state.
 *
 * Member state comes from the driver's SDAM heartbeats rather than replSetGetStatus, which
 * needs the clusterMonitor role: the application user keeps readWrite on the logs database
 * only, and the driver's view is also the one that matters to this client (a member the
 * service cannot reach is down for it, whatever the set thinks).
 */
import type { Document } from 'mongodb';

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
  /** 1 reachable, 0 not, as replSetGetStatus spells it. */
  health: 0 | 1;
  pingMs: number | null;
  error: string | null;
}

export interface ReplicaSetView {
  name: string | null;
  primary: string | null;
  members: ReplicaSetMember[];
}

export interface MongoHealth {
  status: 'up' | 'degraded' | 'down';
  latencyMs: number;
  /** Only when reachable. */
  serverVersion?: string;
  replicaSet?: ReplicaSetView;
  error?: string;
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

/**
 * Members are the union of what `hello` lists (hosts, passives, arbiters) and what the driver
 * monitors, so a member the driver has never reached still shows, as UNKNOWN.
 */
export function replicaSetView(
  hello: Document,
  servers: ReadonlyMap<string, ServerView>,
): ReplicaSetView {
  const listed: string[] = [
    ...(hello.hosts ?? []),
    ...(hello.passives ?? []),
    ...(hello.arbiters ?? []),
  ].map(String);
  const hosts = [...new Set([...listed, ...servers.keys()])].sort();
  return {
    name: typeof hello.setName === 'string' ? hello.setName : null,
    primary: typeof hello.primary === 'string' ? hello.primary : null,
    members: hosts.map((host) => {
      const server = servers.get(host);
      const state = (server && STATES[server.type]) ?? 'UNKNOWN';
      return {
        host,
        state,
        health: state === 'UNKNOWN' ? 0 : 1,
        pingMs:
          server && state !== 'UNKNOWN' && Number.isFinite(server.roundTripTime)
            ? Math.round(server.roundTripTime)
            : null,
        error: server?.error?.message ?? null,
      };
    }),
  };
}

/** up: every member healthy; degraded: writable but some member down; down: no primary. */
export function healthStatus(view: ReplicaSetView | undefined): MongoHealth['status'] {
  if (!view || view.name === null) return 'up'; // standalone or mongos: the ping decided
  if (view.primary === null) return 'down';
  return view.members.every((m) => m.health === 1) ? 'up' : 'degraded';
}
