/**
 * The program as Pulumi runs it (infra/index.ts), under the mocks, from stack config: a
 * configuration that cannot work stops before any resource is registered; one that can
 * exports the stack's outputs.
 */
import * as pulumi from '@pulumi/pulumi';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { registered, resolved, useMocks } from './mocks.js';

await useMocks();

/** Whether an output is a secret; an absent output is not. */
const isSecret = (output: pulumi.Output<unknown> | undefined) =>
  output ? pulumi.isSecret(output) : Promise.resolve(false);

beforeEach(() => {
  vi.resetModules();
  registered.length = 0;
});

/** Runs the program with these `nova:*` settings. */
async function program(settings: Record<string, string>) {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(settings).map(([key, value]) => [`nova:${key}`, value])),
  );
  return import('../../infra/index.js');
}

describe('the program (infra/index.ts)', () => {
  it.each([
    [{ mongoMembers: '2' }, 'nova:mongoMembers'],
    [{ elasticNodes: '2' }, 'nova:elasticNodes'],
    [{ elasticMemoryMb: '2048', elasticHeapMb: '1536' }, 'nova:elasticHeapMb'],
    [{ bindAddress: '0.0.0.0' }, 'nova:bindAddress'],
    [{ kibanaImage: 'docker.elastic.co/kibana/kibana:latest' }, 'nova:kibanaImage'],
    [{ platform: 'nomad' }, 'nova:platform'],
    // The Kubernetes target: its settings are checked the same way, before any resource.
    [{ platform: 'kubernetes' }, 'nova:serviceImage'],
    [{ platform: 'kubernetes', serviceImage: 'registry.example/nova:latest' }, 'nova:serviceImage'],
    [
      { platform: 'kubernetes', serviceImage: 'r/nova:1.0.0', mongoMembers: '2' },
      'nova:mongoMembers',
    ],
    [
      { platform: 'kubernetes', serviceImage: 'r/nova:1.0.0', postgresInstances: '2' },
      'nova:postgresInstances',
    ],
    [
      { platform: 'kubernetes', serviceImage: 'r/nova:1.0.0', servicePort: '3100' },
      'nova:servicePort',
    ],
    [
      { platform: 'kubernetes', serviceImage: 'r/nova:1.0.0', namespace: 'Nova_Data' },
      'nova:namespace',
    ],
    [{ platform: 'kubernetes', serviceImage: 'r/nova:1.0.0', operators: 'some' }, 'nova:operators'],
    [
      { platform: 'kubernetes', serviceImage: 'r/nova:1.0.0', mongoVersion: '6.0' },
      'nova:mongoVersion',
    ],
    [
      {
        platform: 'kubernetes',
        serviceImage: 'r/nova:1.0.0',
        serviceReplicas: '4',
        serviceMaxReplicas: '3',
      },
      'nova:serviceMaxReplicas',
    ],
  ])('refuses %j naming %s, before any resource is made', async (settings, key) => {
    await expect(program(settings)).rejects.toMatchObject({ name: 'SettingsError', key });
    expect(registered).toEqual([]);
  });

  it('exports the URLs, and the connection strings as secrets', async () => {
    const outputs = await program({ mongoMembers: '1', elasticNodes: '1', servicePort: '3100' });
    expect(outputs.serviceUrl).toBe('http://127.0.0.1:3100');
    expect(outputs.kibanaUrl).toBe('http://127.0.0.1:5601');
    expect(await isSecret(outputs.databaseUrl)).toBe(true);
    expect(await isSecret(outputs.mongoUrl)).toBe(true);
    expect(await isSecret(outputs.elasticPassword)).toBe(true);
    expect(await isSecret(outputs.databaseOwnerUrl)).toBe(true);
    expect(await resolved(outputs.databaseUrl)).toMatch(/^postgresql:\/\/nova_app:/);
    expect(await resolved(outputs.databaseOwnerUrl)).toMatch(/^postgresql:\/\/nova:/);
    expect(registered.length).toBeGreaterThan(0);
    expect(outputs.pgAdminUrl).toBeUndefined();
    expect(outputs.mongoHostUrl).toBeUndefined();
  });

  it('on Kubernetes, exports the namespace and in-cluster URLs, and no credential', async () => {
    const outputs = await program({ platform: 'kubernetes', serviceImage: 'r/nova:1.0.0' });
    expect(await resolved(outputs.namespace)).toBe('nova');
    expect(await resolved(outputs.serviceUrl as pulumi.Output<string>)).toBe(
      'http://nova-api.nova.svc:3000',
    );
    for (const credential of [
      outputs.databaseUrl,
      outputs.databaseOwnerUrl,
      outputs.mongoUrl,
      outputs.elasticPassword,
      outputs.mongoRootPassword,
    ]) {
      expect(credential).toBeUndefined();
    }
    // Registrations land as their inputs resolve.
    await vi.waitFor(() =>
      expect(registered.some((r) => r.type === 'kubernetes:postgresql.cnpg.io/v1:Cluster')).toBe(
        true,
      ),
    );
  });

  it('exports the seed list for clients on this machine with nova:mongoHostAccess', async () => {
    const outputs = await program({ mongoHostAccess: 'true' });
    expect(outputs.mongoHostUrl).toBe(
      'mongodb://nova-mongodb-1:27017,nova-mongodb-2:27018,nova-mongodb-3:27019/?replicaSet=rs0',
    );
  });

  it('exports the enabled UIs and their logins, the passwords as secrets', async () => {
    const outputs = await program({ pgAdmin: 'true', mongoExpress: 'true' });
    expect(outputs.pgAdminUrl).toBe('http://127.0.0.1:8080');
    expect(outputs.mongoExpressUrl).toBe('http://127.0.0.1:8081');
    expect(await isSecret(outputs.pgAdminPassword as pulumi.Output<string>)).toBe(true);
    expect(await isSecret(outputs.mongoExpressPassword as pulumi.Output<string>)).toBe(true);
  });
});
