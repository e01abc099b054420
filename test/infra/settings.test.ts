/** Stack settings: defaults, and every configuration that cannot work refused by its key. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGES, imageProblem, pinnedImage, TOOL_IMAGES } from '../../infra/images.js';
import { readSettings, SETTING_KEYS } from '../../infra/settings.js';

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
    for (const image of Object.values(settings.images)) {
      expect(image).toMatch(/:\d+\.\d+(\.\d+)?(@sha256:[a-f0-9]{64})?$/);
    }
    // MongoDB 8.0 by default, pinned to its digest too.
    expect(settings.images.mongo).toMatch(/^mongo:8\.0\.\d+@sha256:[a-f0-9]{64}$/);
  });

  it('samples a tenth of the traces by default; nova:traceSampleRatio from 0 to 1', () => {
    expect(readSettings({}).service.traceSampleRatio).toBe(0.1);
    expect(readSettings({ traceSampleRatio: '1' }).service.traceSampleRatio).toBe(1);
    expect(readSettings({ traceSampleRatio: '0' }).service.traceSampleRatio).toBe(0);
    expect(readSettings({ traceSampleRatio: '0.005' }).service.traceSampleRatio).toBe(0.005);
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
    [{ bindAddress: '0.0.0.0' }, 'nova:bindAddress', /not a loopback address.*without TLS/],
    [{ bindAddress: '10.1.2.3' }, 'nova:bindAddress', /not a loopback address/],
    [{ bindAddress: '0.0.0.0', allowPublicBind: 'true' }, 'nova:allowPublicBind', /without TLS/],
    [{ bindAddress: 'localhost' }, 'nova:bindAddress', /IPv4/],
    [{ bindAddress: '999.1.1.1' }, 'nova:bindAddress', /IPv4/],
    [{ postgresImage: 'postgres:latest' }, 'nova:postgresImage', /floats/],
    [{ postgresImage: 'postgres' }, 'nova:postgresImage', /not pinned/],
    [{ mongoImage: 'mongo:7' }, 'nova:mongoImage', /floats/],
    [{ pgAdmin: 'yes' }, 'nova:pgAdmin', /true or false/],
    [{ postgresUser: 'Robert"); DROP' }, 'nova:postgresUser', /lower-case/],
    [{ postgresUser: 'nova_app' }, 'nova:postgresUser', /the service's own login/],
    [{ traceSampleRatio: '10%' }, 'nova:traceSampleRatio', /decimal from 0 to 1/],
    [{ traceSampleRatio: '1.5' }, 'nova:traceSampleRatio', /decimal from 0 to 1/],
    [{ traceSampleRatio: '-0.1' }, 'nova:traceSampleRatio', /decimal from 0 to 1/],
  ])('refuses %j naming %s', (raw, key, message) => refused(raw, key, message));

  it('binds to any loopback address', () => {
    expect(readSettings({ bindAddress: '127.0.0.2' }).bindAddress).toBe('127.0.0.2');
    expect(readSettings({ allowPublicBind: 'false' }).bindAddress).toBe('127.0.0.1');
  });
});

describe('the setting keys', () => {
  it('refuses a key the program does not read, suggesting the one meant', () => {
    expect(() => readSettings({ mongomembers: '1' })).toThrow(
      expect.objectContaining({
        key: 'nova:mongomembers',
        message: expect.stringContaining('did you mean nova:mongoMembers?'),
      }),
    );
    expect(() => readSettings({ replicas: '3' })).toThrow(
      expect.objectContaining({ key: 'nova:replicas' }),
    );
  });

  // A listed key that nothing reads would be accepted and ignored: each must refuse nonsense.
  it.each(SETTING_KEYS.filter((key) => key !== 'allowPublicBind'))(
    'reads nova:%s (an invalid value is refused naming it)',
    (key) => {
      expect(() => readSettings({ [key]: 'not valid!' })).toThrow(
        expect.objectContaining({ key: `nova:${key}` }),
      );
    },
  );

  it('reads nova:allowPublicBind (and refuses true: the stack has no TLS to publish with)', () => {
    expect(() => readSettings({ allowPublicBind: 'yes' })).toThrow(
      expect.objectContaining({ key: 'nova:allowPublicBind' }),
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

describe('the extras (pgAdmin, Mongo Express, the OpenTelemetry Collector)', () => {
  it('size and publish them by default as the design names them: 8080 and 8081', () => {
    expect(readSettings({})).toMatchObject({
      pgAdmin: { memoryMb: 512, port: 8080 },
      mongoExpress: { memoryMb: 256, port: 8081 },
      otelCollector: { memoryMb: 256 },
      images: {
        pgAdmin: 'dpage/pgadmin4:9.18',
        mongoExpress: 'mongo-express:1.0.2',
        otelCollector: 'otel/opentelemetry-collector-contrib:0.160.0',
      },
    });
    expect(
      readSettings({
        pgAdminPort: '18080',
        mongoExpressMemoryMb: '512',
        pgAdminImage: 'dpage/pgadmin4:9.14',
      }),
    ).toMatchObject({
      pgAdmin: { port: 18080 },
      mongoExpress: { memoryMb: 512 },
      images: { pgAdmin: 'dpage/pgadmin4:9.14' },
    });
  });

  it.each([
    [{ pgAdminPort: '0' }, 'nova:pgAdminPort', /whole number/],
    [{ mongoExpressPort: '70000' }, 'nova:mongoExpressPort', /whole number/],
    [{ otelCollectorMemoryMb: '64' }, 'nova:otelCollectorMemoryMb', /whole number/],
    [{ pgAdminImage: 'dpage/pgadmin4:latest' }, 'nova:pgAdminImage', /floats/],
    [{ pgAdminImage: 'dpage/pgadmin4:9' }, 'nova:pgAdminImage', /floats/],
    [{ mongoExpressImage: 'mongo-express:1.0' }, 'nova:mongoExpressImage', /floats/],
    [
      { otelCollectorImage: 'otel/opentelemetry-collector-contrib:0.160' },
      'nova:otelCollectorImage',
      /floats/,
    ],
    [{ mongoExpress: 'on' }, 'nova:mongoExpress', /true or false/],
    [{ otelCollector: '1' }, 'nova:otelCollector', /true or false/],
  ])('refuses %j naming %s', (raw, key, message) => refused(raw, key, message));

  it('refuses a published port taken by another, naming the later key', () => {
    refused(
      { pgAdmin: 'true', pgAdminPort: '5601' },
      'nova:pgAdminPort',
      /5601 is also nova:kibanaPort/,
    );
    refused(
      { pgAdmin: 'true', servicePort: '8080' },
      'nova:pgAdminPort',
      /8080 \(its default\) is also nova:servicePort/,
    );
    refused(
      { pgAdmin: 'true', mongoExpress: 'true', mongoExpressPort: '8080' },
      'nova:mongoExpressPort',
      /is also nova:pgAdminPort/,
    );
    refused({ servicePort: '5601' }, 'nova:servicePort', /is also nova:kibanaPort/);
  });

  it("refuses a port taken by a MongoDB member's, when the members are published", () => {
    expect(() => readSettings({ mongoHostAccess: 'true', servicePort: '27018' })).toThrow(
      expect.objectContaining({
        key: 'nova:servicePort',
        message: expect.stringContaining('27018 is also nova:mongoHostAccess'),
      }),
    );
    expect(readSettings({ servicePort: '27018' }).service.port).toBe(27_018);
  });

  it('does not compare the ports of extras that are off: they publish nothing', () => {
    expect(readSettings({ pgAdminPort: '5601', mongoExpressPort: '3000' })).toMatchObject({
      extras: { pgAdmin: false, mongoExpress: false },
      pgAdmin: { port: 5601 },
    });
  });
});

describe('the images of the extras and tools', () => {
  it('accepts pgAdmin’s major.minor releases, as for PostgreSQL, and nothing shorter', () => {
    expect(imageProblem('dpage/pgadmin4:9.15')).toBeUndefined();
    expect(imageProblem(`dpage/pgadmin4:9.15@sha256:${'b'.repeat(64)}`)).toBeUndefined();
    expect(imageProblem('dpage/pgadmin4:9')).toMatch(/floats/);
    expect(imageProblem('dpage/pgadmin4:snapshot')).toMatch(/floats/);
    // Only pgAdmin's own repository: another image's major.minor still floats.
    expect(imageProblem('mongo-express:1.0')).toMatch(/floats/);
    expect(imageProblem('example/not-pgadmin4:9.15')).toMatch(/floats/);
  });

  it('pins every default and tool image', () => {
    for (const image of [...Object.values(DEFAULT_IMAGES), ...Object.values(TOOL_IMAGES)]) {
      expect(imageProblem(image)).toBeUndefined();
    }
    expect(TOOL_IMAGES.busybox).toMatch(/-musl$/);
  });
});
