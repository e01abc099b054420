/** NovaPgAdmin under Pulumi's mocks: its container, its login, and the policy rules. */
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolved, resource, secretValue, useMocks } from './mocks.js';

await useMocks();
const { NovaPgAdmin, PGADMIN_CONTAINER, PGADMIN_EMAIL, pgAdminContainerArgs, pgAdminUrl } =
  await import('../../infra/pgadmin.js');
const { readSettings } = await import('../../infra/settings.js');
const { longRunningViolations, plainTextSecretViolations, portViolations } = await import(
  '../../infra/policy/rules.js'
);

const CONTAINER = 'docker:index/container:Container';
const postgres = { host: 'nova-postgres', database: 'nova_universe', user: 'nova' };
let pgAdmin: InstanceType<typeof NovaPgAdmin>;

beforeAll(async () => {
  pgAdmin = new NovaPgAdmin('pgadmin', {
    settings: readSettings({ pgAdmin: 'true' }),
    network: 'nova',
    postgres,
  });
  await resolved(pgAdmin.container.id);
});

describe('NovaPgAdmin', () => {
  it('runs the pinned image by its id as nova-pgadmin, published on 127.0.0.1:8080 only', () => {
    const { inputs } = resource(CONTAINER, 'pgadmin');
    expect(inputs).toMatchObject({
      name: PGADMIN_CONTAINER,
      image: 'sha256:pgadmin-image',
      restart: 'unless-stopped',
      memory: 512,
      ports: [{ internal: 8080, external: 8080, ip: '127.0.0.1' }],
      networksAdvanced: [{ name: 'nova', aliases: ['nova-pgadmin'] }],
      wait: true,
    });
    expect(resource('docker:index/remoteImage:RemoteImage', 'pgadmin-image').inputs).toMatchObject({
      name: 'dpage/pgadmin4:9.18',
    });
    expect(pgAdmin.url).toBe('http://127.0.0.1:8080');
  });

  it('passes the policy rules: healthcheck, memory limit, no port on every interface', () => {
    const { inputs } = resource(CONTAINER, 'pgadmin');
    expect(longRunningViolations(inputs)).toEqual([]);
    expect(portViolations(inputs, { allowPublicBind: false })).toEqual([]);
  });

  it('is healthy when /misc/ping answers, with no password in the check', () => {
    const { inputs } = resource(CONTAINER, 'pgadmin');
    expect(inputs.healthcheck).toMatchObject({
      tests: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/misc/ping'],
    });
    expect(JSON.stringify(inputs.healthcheck)).not.toContain('generated-');
  });

  it('gets a generated login, secret in the environment and in its output', async () => {
    const { inputs } = resource(CONTAINER, 'pgadmin');
    // The whole environment travels to the engine as a secret (it holds one).
    expect(secretValue(inputs.envs)).toEqual(
      expect.arrayContaining([
        `PGADMIN_DEFAULT_EMAIL=${PGADMIN_EMAIL}`,
        'PGADMIN_DEFAULT_PASSWORD=generated-pgadmin-password',
        'PGADMIN_LISTEN_ADDRESS=0.0.0.0',
        'PGADMIN_LISTEN_PORT=8080',
        'PGADMIN_SERVER_JSON_FILE=/pgadmin4/servers.json',
      ]),
    );
    expect(
      resource('random:index/randomPassword:RandomPassword', 'pgadmin-password').inputs,
    ).toMatchObject({ length: 32, special: false });
    expect(pgAdmin.email).toBe('admin@example.com');
    expect(await pulumi.isSecret(pgAdmin.password)).toBe(true);
    expect(await resolved(pgAdmin.password)).toBe('generated-pgadmin-password');
  });

  it('registers nova-postgres from servers.json, without a password', () => {
    const { inputs } = resource(CONTAINER, 'pgadmin');
    const [upload] = inputs.uploads as { file: string; content: string; permissions: string }[];
    expect(upload).toMatchObject({ file: '/pgadmin4/servers.json', permissions: '0444' });
    const servers = JSON.parse(upload?.content ?? '') as { Servers: Record<string, object> };
    expect(Object.values(servers.Servers)).toEqual([
      expect.objectContaining({
        Host: 'nova-postgres',
        Port: 5432,
        MaintenanceDB: 'nova_universe',
        Username: 'nova',
        Group: expect.any(String),
        Name: expect.any(String),
        ConnectionParameters: expect.objectContaining({ sslmode: 'prefer' }),
      }),
    ]);
    expect(upload?.content).not.toMatch(/password/i);
  });
});

describe('pgAdminContainerArgs', () => {
  it('makes the password entry a secret even when handed a plain value', async () => {
    const args = pgAdminContainerArgs(readSettings({}), {
      image: 'i',
      network: 'n',
      postgres,
      password: 'plain',
    });
    const entries = await Promise.all(
      (args.envs as pulumi.Input<string>[]).map(async (entry) => ({
        text: await resolved(pulumi.output(entry)),
        secret: await pulumi.isSecret(pulumi.output(entry)),
      })),
    );
    expect(entries).toContainEqual({ text: 'PGADMIN_DEFAULT_PASSWORD=plain', secret: true });
    expect(plainTextSecretViolations(PGADMIN_CONTAINER, entries)).toEqual([]);
  });

  it('publishes on the configured address and port', () => {
    const settings = readSettings({
      pgAdmin: 'true',
      bindAddress: '127.0.0.3',
      pgAdminPort: '18080',
      pgAdminMemoryMb: '768',
    });
    const args = pgAdminContainerArgs(settings, {
      image: 'i',
      network: 'n',
      postgres,
      password: pulumi.secret('p'),
    });
    expect(args.ports).toEqual([{ internal: 8080, external: 18080, ip: '127.0.0.3' }]);
    expect(args.memory).toBe(768);
    expect(pgAdminUrl(settings)).toBe('http://127.0.0.3:18080');
  });
});
