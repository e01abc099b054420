import { describe, expect, it } from 'vitest';
import { healthStatus, replicaSetView, type ServerView } from '../../../src/lib/db/mongo/health.js';

const server = (type: string, roundTripTime = 1.6, error: string | null = null): ServerView => ({
  type,
  roundTripTime,
  error: error ? { message: error } : null,
});

const hello = {
  setName: 'rs0',
  primary: 'nova-mongodb-1:27017',
  hosts: ['nova-mongodb-1:27017', 'nova-mongodb-2:27017', 'nova-mongodb-3:27017'],
  isWritablePrimary: true,
};

describe('replicaSetView', () => {
  it('reports every member with state, health and ping from the driver monitor', () => {
    const view = replicaSetView(
      hello,
      new Map([
        ['nova-mongodb-1:27017', server('RSPrimary', 0.7)],
        ['nova-mongodb-2:27017', server('RSSecondary', 2.2)],
        ['nova-mongodb-3:27017', server('Unknown', -1, 'connect ECONNREFUSED')],
      ]),
    );
    expect(view).toEqual({
      name: 'rs0',
      primary: 'nova-mongodb-1:27017',
      members: [
        { host: 'nova-mongodb-1:27017', state: 'PRIMARY', health: 1, pingMs: 1, error: null },
        { host: 'nova-mongodb-2:27017', state: 'SECONDARY', health: 1, pingMs: 2, error: null },
        {
          host: 'nova-mongodb-3:27017',
          state: 'UNKNOWN',
          health: 0,
          pingMs: null,
          error: 'connect ECONNREFUSED',
        },
      ],
    });
    expect(healthStatus(view)).toBe('degraded');
  });

  it('shows members the driver has not reached yet, and arbiters', () => {
    const view = replicaSetView(
      { ...hello, hosts: ['a:27017', 'b:27017'], arbiters: ['c:27017'], primary: 'a:27017' },
      new Map([
        ['a:27017', server('RSPrimary')],
        ['c:27017', server('RSArbiter')],
      ]),
    );
    expect(view.members.map((m) => [m.host, m.state, m.health])).toEqual([
      ['a:27017', 'PRIMARY', 1],
      ['b:27017', 'UNKNOWN', 0],
      ['c:27017', 'ARBITER', 1],
    ]);
  });

  it('is up when every member is healthy and down without a primary', () => {
    const servers = new Map([
      ['nova-mongodb-1:27017', server('RSPrimary')],
      ['nova-mongodb-2:27017', server('RSSecondary')],
      ['nova-mongodb-3:27017', server('RSSecondary')],
    ]);
    expect(healthStatus(replicaSetView(hello, servers))).toBe('up');
    const noPrimary = replicaSetView({ ...hello, primary: undefined }, servers);
    expect(noPrimary.primary).toBeNull();
    expect(healthStatus(noPrimary)).toBe('down');
  });

  it('treats a standalone server as up once it answered', () => {
    expect(healthStatus(undefined)).toBe('up');
  });
});
