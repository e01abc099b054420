/** NovaMongoReplicaSet's members under Pulumi's mocks, with one member and with three. */
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { registered, resolved, resource, secretValue, useMocks } from './mocks.js';

await useMocks();
const { MONGO_KEYFILE, mongoHosts, mongoMemberArgs, NovaMongoReplicaSet } = await import(
  '../../infra/mongo.js'
);
const { readSettings } = await import('../../infra/settings.js');

const CONTAINER = 'docker:index/container:Container';
let three: InstanceType<typeof NovaMongoReplicaSet>;
let one: InstanceType<typeof NovaMongoReplicaSet>;

beforeAll(async () => {
  three = new NovaMongoReplicaSet('mongo', { settings: readSettings({}), network: 'nova' });
  one = new NovaMongoReplicaSet('solo', {
    settings: readSettings({ mongoMembers: '1' }),
    network: 'nova',
  });
  await Promise.all([...three.members, ...one.members].map((m) => resolved(m.id)));
});

const members = (prefix: string) =>
  registered.filter((r) => r.type === CONTAINER && new RegExp(`^${prefix}-\\d+$`).test(r.name));

describe('NovaMongoReplicaSet', () => {
  it('makes 3 members by default and 1 when asked, named as the design names them', () => {
    expect(members('mongo').map((m) => m.inputs.name)).toEqual([
      'nova-mongodb-1',
      'nova-mongodb-2',
      'nova-mongodb-3',
    ]);
    expect(members('solo').map((m) => m.inputs.name)).toEqual(['nova-mongodb-1']);
    expect(three.hosts).toBe('nova-mongodb-1:27017,nova-mongodb-2:27018,nova-mongodb-3:27019');
    expect(mongoHosts(readSettings({ mongoMembers: '1' }))).toBe('nova-mongodb-1:27017');
  });

  it('starts every member with --replSet, --auth and the keyFile, reachable by its own name', () => {
    for (const [i, { inputs }] of members('mongo').entries()) {
      expect(inputs.command).toEqual([
        'mongod',
        '--replSet',
        'rs0',
        '--port',
        String(27_017 + i),
        '--bind_ip_all',
        '--auth',
        '--keyFile',
        MONGO_KEYFILE,
      ]);
      expect(inputs.networksAdvanced).toEqual([{ name: 'nova', aliases: [inputs.name] }]);
      expect(inputs).not.toHaveProperty('ports');
      expect(inputs).toMatchObject({ restart: 'unless-stopped', memory: 1024, wait: true });
    }
  });

  it('publishes each member on its own port, on the bind address, only with nova:mongoHostAccess', () => {
    const settings = readSettings({ mongoHostAccess: 'true' });
    const args = [1, 2, 3].map((n) =>
      mongoMemberArgs(settings, n, {
        image: 'img',
        network: 'nova',
        volume: 'v',
        keyFile: 'k',
        rootPassword: 'p',
      }),
    );
    expect(args.map((a) => a.ports)).toEqual([
      [{ internal: 27_017, external: 27_017, ip: '127.0.0.1' }],
      [{ internal: 27_018, external: 27_018, ip: '127.0.0.1' }],
      [{ internal: 27_019, external: 27_019, ip: '127.0.0.1' }],
    ]);
    // The healthcheck asks the member on its own port.
    expect(JSON.stringify(args[2]?.healthcheck)).toContain('$(hostname):27019');
  });

  it('uploads one keyFile, byte-identical and secret, owned by mongod (999) with mode 0400', () => {
    // The uploads travel to the engine as a secret (they hold one).
    const uploads = members('mongo').map(
      ({ inputs }) => (secretValue(inputs.uploads) as object[])[0],
    );
    const keys = new Set(uploads.map((u) => (u as { content: unknown }).content));
    expect(keys).toEqual(new Set(['generated-mongo-keyfile']));
    for (const upload of uploads) {
      expect(upload).toMatchObject({
        file: MONGO_KEYFILE,
        owner: '999',
        group: '999',
        permissions: '0400',
      });
    }
    expect(
      resource('random:index/randomPassword:RandomPassword', 'mongo-keyfile').inputs,
    ).toMatchObject({
      length: 756,
      special: false,
    });
  });

  it("sets the keyFile's owner and mode again before the image's entrypoint, whatever the upload did", () => {
    // The provider release's schema has the fields (owner, group in ContainerUpload) …
    const types = readFileSync('node_modules/@pulumi/docker/types/input.d.ts', 'utf8');
    const upload = types.slice(types.indexOf('interface ContainerUpload {'));
    const fields = upload.slice(0, upload.indexOf('\n}'));
    expect(fields).toMatch(/^ {4}owner\?: pulumi\.Input<string/m);
    expect(fields).toMatch(/^ {4}group\?: pulumi\.Input<string/m);
    // … but how it writes them is not ours to see: the member fixes them as root, then hands
    // over to docker-entrypoint.sh with mongod's arguments ("$@" after $0).
    for (const { inputs } of members('mongo')) {
      const [shell, flag, script, zero] = inputs.entrypoints as string[];
      expect([shell, flag, zero]).toEqual(['sh', '-c', 'docker-entrypoint.sh']);
      expect(script).toBe(
        `chown 999:999 ${MONGO_KEYFILE} && chmod 0400 ${MONGO_KEYFILE} && exec docker-entrypoint.sh "$@"`,
      );
      expect((inputs.command as string[])[0]).toBe('mongod');
    }
  });

  it('initiates the set inside the first member, re-run when a member or the count changes', async () => {
    const { inputs } = resource('command:local:Command', 'mongo-init');
    expect(inputs.create).toMatch(
      /\ndocker exec nova-mongodb-1 mongosh --quiet "mongodb:\/\/127\.0\.0\.1:27017\/admin\?directConnection=true" --file \/tmp\/nova-replica-set\.js$/,
    );
    expect(inputs.stdin).toContain('"members":[{"_id":0,"host":"nova-mongodb-1:27017"}');
    expect(inputs.stdin).toContain('process.env.MONGO_INITDB_ROOT_PASSWORD');
    // No secret in the command, its input or its environment.
    expect(JSON.stringify(inputs)).not.toContain('generated-mongo-root-password');
    expect(inputs.triggers).toEqual([inputs.stdin, 'mongo-1-id', 'mongo-2-id', 'mongo-3-id']);
    expect(await resolved(three.ready)).toBe('ready: nova-mongodb-1:27017 PRIMARY');
  });

  it('keeps the root password secret, and checks health with it', async () => {
    const { inputs } = resource(CONTAINER, 'mongo-1');
    expect(secretValue(inputs.envs)).toEqual([
      'MONGO_INITDB_ROOT_USERNAME=root',
      'MONGO_INITDB_ROOT_PASSWORD=generated-mongo-root-password',
    ]);
    const [, check] = (inputs.healthcheck as { tests: string[] }).tests;
    expect(check).toContain('mongodb://$(hostname):27017/admin');
    expect(check).toContain('db.auth("root", process.env.MONGO_INITDB_ROOT_PASSWORD)');
    expect(check).not.toMatch(/ -p /);
    expect(await pulumi.isSecret(three.rootPassword)).toBe(true);
    expect(await pulumi.isSecret(one.rootPassword)).toBe(true);
  });
});
