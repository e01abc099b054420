/** Stack settings: defaults, and every configuration that cannot work refused by its key. */
import { describe, expect, it } from 'vitest';
import { pinnedImage } from '../../infra/images.js';
import { readSettings } from '../../infra/settings.js';

const refused = (raw: Record<string, string>, key: string, message: RegExp) => {
  expect(() => readSettings(raw)).toThrow(
    expect.objectContaining({ key, message: expect.stringMatching(message) }),
  );
};

describe('readSettings', () => {
  it('defaults to three MongoDB members and Elasticsearch nodes, ports on 127.0.0.1, extras off', () => {
    const settings = readSettings({});
    expect(settings).toMatchObject({
      bindAddress: '127.0.0.1',
      mongo: { members: 3, replicaSet: 'rs0' },
      elastic: { nodes: 3, memoryMb: 2048, heapMb: 1024 },
      extras: { pgAdmin: false, mongoExpress: false, otelCollector: false },
    });
    for (const image of Object.values(settings.images)) expect(image).toMatch(/:\d+\.\d+(\.\d+)?$/);
  });

  it('takes one member and one node', () => {
    expect(readSettings({ mongoMembers: '1', elasticNodes: '1' })).toMatchObject({
      mongo: { members: 1 },
      elastic: { nodes: 1 },
    });
  });

  it.each([
    [{ mongoMembers: '2' }, 'nova:mongoMembers', /must be 1 or 3/],
    [{ elasticNodes: '4' }, 'nova:elasticNodes', /must be 1 or 3/],
    [{ mongoMembers: 'three' }, 'nova:mongoMembers', /whole number/],
    [{ elasticMemoryMb: '2048', elasticHeapMb: '1536' }, 'nova:elasticHeapMb', /more than half/],
    [{ bindAddress: '0.0.0.0' }, 'nova:bindAddress', /allowPublicBind/],
    [{ bindAddress: 'localhost' }, 'nova:bindAddress', /IPv4/],
    [{ bindAddress: '999.1.1.1' }, 'nova:bindAddress', /IPv4/],
    [{ postgresImage: 'postgres:latest' }, 'nova:postgresImage', /floats/],
    [{ postgresImage: 'postgres' }, 'nova:postgresImage', /not pinned/],
    [{ mongoImage: 'mongo:7' }, 'nova:mongoImage', /floats/],
    [{ pgAdmin: 'yes' }, 'nova:pgAdmin', /true or false/],
    [{ postgresUser: 'Robert"); DROP' }, 'nova:postgresUser', /lower-case/],
  ])('refuses %j naming %s', (raw, key, message) => refused(raw, key, message));

  it('binds on every interface only when told it is meant', () => {
    expect(readSettings({ bindAddress: '0.0.0.0', allowPublicBind: 'true' }).bindAddress).toBe(
      '0.0.0.0',
    );
  });
});

describe('pinnedImage', () => {
  it.each([
    'postgres:15.19',
    'docker.elastic.co/elasticsearch/elasticsearch:8.19.24',
    'registry.example:5000/nova/api:1.2.3',
    'postgres:15.19-bookworm',
    `mongo:7.0.40@sha256:${'a'.repeat(64)}`,
  ])('accepts %s', (reference) => {
    expect(pinnedImage(reference, 'k')).toBe(reference);
  });

  it.each([
    'mongo',
    'mongo:latest',
    'mongo:7',
    'mongo:7.0',
    'docker.elastic.co/elasticsearch/elasticsearch:8.19',
    'postgres:15',
    `mongo@sha256:${'a'.repeat(64)}`,
  ])('refuses %s', (reference) => {
    expect(() => pinnedImage(reference, 'nova:mongoImage')).toThrow(
      expect.objectContaining({ key: 'nova:mongoImage' }),
    );
  });
});
