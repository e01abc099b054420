import { describe, expect, it } from 'vitest';
import {
  analyticsUnsupported,
  featureCompatibilityVersion,
  healthStatus,
  replicaSetView,
  type ServerView,
} from '../../../src/lib/db/mongo/health.js';

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
      ['b:27017', 'UNKNOWN', null],
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

  it('does not count members the client has not heard from yet as down', () => {
    const view = replicaSetView(
      hello,
      new Map([
        ['nova-mongodb-1:27017', server('RSPrimary')],
        ['nova-mongodb-2:27017', server('Unknown', -1)],
      ]),
    );
    expect(view.members.map((m) => [m.host, m.state, m.health])).toEqual([
      ['nova-mongodb-1:27017', 'PRIMARY', 1],
      ['nova-mongodb-2:27017', 'UNKNOWN', null],
      ['nova-mongodb-3:27017', 'UNKNOWN', null],
    ]);
    expect(healthStatus(view)).toBe('up');
  });

  it('with a direct connection, reports the answering server from hello and the others as not monitored', () => {
    // rs.initiate() in a container names the member by its host name; the client reached it
    // as localhost. Neither is down.
    const direct = {
      setName: 'rs0',
      hosts: ['3F2A9C1D:27017'],
      primary: '3F2A9C1D:27017',
      me: '3F2A9C1D:27017',
      isWritablePrimary: true,
    };
    const view = replicaSetView(
      direct,
      new Map([['localhost:27017', server('RSPrimary', 0.4)]]),
      'Single',
    );
    expect(view).toEqual({
      name: 'rs0',
      primary: '3f2a9c1d:27017',
      members: [{ host: '3f2a9c1d:27017', state: 'PRIMARY', health: 1, pingMs: 0, error: null }],
    });
    expect(healthStatus(view)).toBe('up');
    const secondary = replicaSetView(
      { ...hello, me: 'nova-mongodb-2:27017', isWritablePrimary: false, secondary: true },
      new Map([['nova-mongodb-2:27017', server('RSSecondary')]]),
      'Single',
    );
    expect(secondary.members.map((m) => [m.host, m.state, m.health])).toEqual([
      ['nova-mongodb-1:27017', 'UNKNOWN', null],
      ['nova-mongodb-2:27017', 'SECONDARY', 1],
      ['nova-mongodb-3:27017', 'UNKNOWN', null],
    ]);
    expect(healthStatus(secondary)).toBe('up');
  });

  it('compares host names in lower case, as the driver stores them', () => {
    const view = replicaSetView(
      { ...hello, hosts: ['Nova-MongoDB-1:27017'], primary: 'Nova-MongoDB-1:27017' },
      new Map([['nova-mongodb-1:27017', server('RSPrimary')]]),
    );
    expect(view.members).toHaveLength(1);
    expect(view.primary).toBe('nova-mongodb-1:27017');
  });

  it('treats a standalone server as up once it answered', () => {
    expect(healthStatus(undefined)).toBe('up');
  });
});

describe('analyticsUnsupported ($percentile: binary and featureCompatibilityVersion 7.0)', () => {
  it('accepts 7.0 and 8.0 at their own FCV, or an FCV it could not read', () => {
    expect(analyticsUnsupported('7.0.28', '7.0')).toBeUndefined();
    expect(analyticsUnsupported('8.0.16', '8.0')).toBeUndefined();
    expect(analyticsUnsupported('8.0.16', undefined)).toBeUndefined();
  });

  it('names a 7.0 binary still at FCV 6.0, and an older binary', () => {
    expect(analyticsUnsupported('7.0.28', '6.0')).toMatch(/^featureCompatibilityVersion 6\.0/);
    expect(analyticsUnsupported('6.0.20', '6.0')).toMatch(/^MongoDB 6\.0\.20/);
  });
});

describe('featureCompatibilityVersion', () => {
  const answering = (command: () => Promise<Record<string, unknown>>) => ({ command }) as never;

  it('reads getParameter’s answer', async () => {
    const admin = answering(async () => ({ featureCompatibilityVersion: { version: '7.0' } }));
    expect(await featureCompatibilityVersion(admin)).toBe('7.0');
  });

  it('is unknown when this client may not read it (Unauthorized) or the server does not say', async () => {
    const refused = Object.assign(new Error('not authorized'), { code: 13 });
    expect(
      await featureCompatibilityVersion(
        answering(async () => {
          throw refused;
        }),
      ),
    ).toBeUndefined();
    expect(await featureCompatibilityVersion(answering(async () => ({ ok: 1 })))).toBeUndefined();
  });

  it('lets any other failure through', async () => {
    const down = Object.assign(new Error('no primary'), { code: 189 });
    await expect(
      featureCompatibilityVersion(
        answering(async () => {
          throw down;
        }),
      ),
    ).rejects.toBe(down);
  });
});
