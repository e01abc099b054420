/** NovaPostgres under Pulumi's mocks: what the container gets, and what stays secret. */
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolved, resource, secretValue, useMocks } from './mocks.js';

await useMocks();
const { NovaPostgres, POSTGRES_CONTAINER } = await import('../../infra/postgres.js');
const { readSettings } = await import('../../infra/settings.js');

const CONTAINER = 'docker:index/container:Container';
let postgres: InstanceType<typeof NovaPostgres>;

beforeAll(async () => {
  postgres = new NovaPostgres('postgres', { settings: readSettings({}), network: 'nova' });
  await resolved(postgres.container.id);
});

describe('NovaPostgres', () => {
  it('runs the pinned image by its id, named as the design names it, on the stack network only', () => {
    const { inputs } = resource(CONTAINER, 'postgres');
    expect(inputs).toMatchObject({
      name: POSTGRES_CONTAINER,
      image: 'sha256:postgres-image',
      restart: 'unless-stopped',
      memory: 1024,
      networksAdvanced: [{ name: 'nova', aliases: ['postgres'] }],
      volumes: [{ volumeName: 'nova-postgres-data', containerPath: '/var/lib/postgresql/data' }],
      wait: true,
    });
    expect(inputs).not.toHaveProperty('ports');
    expect(resource('docker:index/remoteImage:RemoteImage', 'postgres-image').inputs).toMatchObject(
      {
        name: 'postgres:15.19',
      },
    );
  });

  it('is healthy once the server accepts connections over TCP (not the first-start socket-only one)', () => {
    const { inputs } = resource(CONTAINER, 'postgres');
    expect(inputs.healthcheck).toMatchObject({
      tests: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', 'nova', '-d', 'nova_universe'],
      retries: 10,
    });
    expect(inputs.command).toContain('shared_preload_libraries=pg_stat_statements');
  });

  it('gets a generated password, kept secret in the environment and in its URL', async () => {
    const { inputs } = resource(CONTAINER, 'postgres');
    // The whole environment travels to the engine as a secret (it holds one).
    expect(secretValue(inputs.envs)).toEqual([
      'POSTGRES_DB=nova_universe',
      'POSTGRES_USER=nova',
      'POSTGRES_PASSWORD=generated-postgres-password',
    ]);
    expect(
      resource('random:index/randomPassword:RandomPassword', 'postgres-password').inputs,
    ).toMatchObject({
      length: 32,
    });
    expect(await pulumi.isSecret(postgres.ownerUrl)).toBe(true);
    expect(await resolved(postgres.ownerUrl)).toBe(
      'postgresql://nova:generated-postgres-password@nova-postgres:5432/nova_universe',
    );
  });

  it("gives the service's login its own generated password: the application role", async () => {
    expect(await pulumi.isSecret(postgres.url)).toBe(true);
    expect(await resolved(postgres.url)).toBe(
      'postgresql://nova_app:generated-postgres-app-password@nova-postgres:5432/nova_universe',
    );
    expect(
      resource('random:index/randomPassword:RandomPassword', 'postgres-app-password').inputs,
    ).toMatchObject({ length: 32 });
  });
});
