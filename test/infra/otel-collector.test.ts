/**
 * NovaOtelCollector under Pulumi's mocks: its configuration (OTLP on 4317/4318, the
 * endpoint the service is given), its healthcheck through the probe volume, the policy rules.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { resolved, resource, useMocks } from './mocks.js';

await useMocks();
const {
  collectorConfig,
  NovaOtelCollector,
  OTEL_COLLECTOR_CONTAINER,
  OTEL_CONFIG_FILE,
  OTEL_PROBE_CONTAINER,
  OTEL_PROBE_VOLUME,
} = await import('../../infra/otel-collector.js');
const { COLLECTOR_ENDPOINT } = await import('../../infra/environment.js');
const { readSettings } = await import('../../infra/settings.js');
const { longRunningViolations, portViolations } = await import('../../infra/policy/rules.js');

const CONTAINER = 'docker:index/container:Container';
let collector: InstanceType<typeof NovaOtelCollector>;

interface Config {
  extensions: { health_check: { endpoint: string } };
  receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
  processors: { memory_limiter: { limit_mib: number; spike_limit_mib: number } };
  exporters: Record<string, unknown>;
  service: {
    extensions: string[];
    pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>;
  };
}

/** The uploaded config.yaml, parsed: JSON, which YAML 1.2 reads as it is. */
const uploadedConfig = (): Config => {
  const [upload] = resource(CONTAINER, 'otel').inputs.uploads as {
    file: string;
    content: string;
  }[];
  expect(upload?.file).toBe(OTEL_CONFIG_FILE);
  return JSON.parse(upload?.content ?? '') as Config;
};

beforeAll(async () => {
  collector = new NovaOtelCollector('otel', {
    settings: readSettings({ otelCollector: 'true' }),
    network: 'nova',
  });
  await resolved(collector.container.id);
});

describe('NovaOtelCollector', () => {
  it('runs the pinned contrib image by its id as nova-otel-collector, publishing nothing', () => {
    const { inputs } = resource(CONTAINER, 'otel');
    expect(inputs).toMatchObject({
      name: OTEL_COLLECTOR_CONTAINER,
      image: 'sha256:otel-image',
      command: ['--config=/etc/otelcol-contrib/config.yaml'],
      restart: 'unless-stopped',
      memory: 256,
      envs: ['GOMEMLIMIT=204MiB'],
      networksAdvanced: [{ name: 'nova', aliases: ['nova-otel-collector'] }],
      wait: true,
    });
    expect(inputs).not.toHaveProperty('ports');
    expect(resource('docker:index/remoteImage:RemoteImage', 'otel-image').inputs).toMatchObject({
      name: 'otel/opentelemetry-collector-contrib:0.160.0',
    });
  });

  it('is the endpoint the service is given: OTLP/HTTP on nova-otel-collector:4318', () => {
    const endpoint = new URL(COLLECTOR_ENDPOINT);
    expect(collector.endpoint).toBe(COLLECTOR_ENDPOINT);
    expect(endpoint.hostname).toBe(OTEL_COLLECTOR_CONTAINER);
    expect(uploadedConfig().receivers.otlp.protocols.http.endpoint).toBe(
      `0.0.0.0:${endpoint.port}`,
    );
  });

  it('receives OTLP on 4317 and 4318, limits memory first, batches, and logs everything', () => {
    const config = uploadedConfig();
    expect(config.receivers.otlp.protocols).toEqual({
      grpc: { endpoint: '0.0.0.0:4317' },
      http: { endpoint: '0.0.0.0:4318' },
    });
    expect(Object.keys(config.service.pipelines).sort()).toEqual(['logs', 'metrics', 'traces']);
    for (const pipeline of Object.values(config.service.pipelines)) {
      expect(pipeline).toEqual({
        receivers: ['otlp'],
        processors: ['memory_limiter', 'batch'],
        exporters: ['debug'],
      });
    }
    // 80% of the container's 256 MB, a fifth of that for spikes.
    expect(config.processors.memory_limiter).toMatchObject({ limit_mib: 204, spike_limit_mib: 40 });
    expect(Object.keys(config.exporters)).toEqual(['debug']);
    expect(config.service.extensions).toEqual(['health_check']);
  });

  it('checks health with the probe volume’s BusyBox against the health_check extension', () => {
    const { inputs } = resource(CONTAINER, 'otel');
    const { tests } = inputs.healthcheck as { tests: string[] };
    expect(tests.slice(0, 3)).toEqual(['CMD', '/probe/busybox', 'wget']);
    const { endpoint } = uploadedConfig().extensions.health_check;
    expect(endpoint).toBe('127.0.0.1:13133');
    expect(tests.at(-1)).toBe(`http://${endpoint}/`);
    expect(inputs.volumes).toEqual([
      { volumeName: OTEL_PROBE_VOLUME, containerPath: '/probe', readOnly: true },
    ]);
  });

  it('fills the probe volume once, from the pinned musl BusyBox, in a one-shot container', () => {
    const { inputs } = resource(CONTAINER, 'otel-probe');
    expect(inputs).toMatchObject({
      name: OTEL_PROBE_CONTAINER,
      image: 'sha256:otel-probe-image',
      volumes: [{ volumeName: OTEL_PROBE_VOLUME, containerPath: '/probe' }],
      networkMode: 'none',
      restart: 'no',
      attach: true,
      mustRun: false,
    });
    expect((inputs.command as string[]).join(' ')).toContain(
      'cp -p /bin/busybox /probe/busybox.new && mv /probe/busybox.new /probe/busybox',
    );
    expect(
      resource('docker:index/remoteImage:RemoteImage', 'otel-probe-image').inputs,
    ).toMatchObject({ name: 'busybox:1.37.0-musl' });
    expect(resource('docker:index/volume:Volume', 'otel-probe').inputs).toMatchObject({
      name: OTEL_PROBE_VOLUME,
    });
  });

  it('passes the policy rules: the collector long-running, the probe one-shot', () => {
    const collectorInputs = resource(CONTAINER, 'otel').inputs;
    const probeInputs = resource(CONTAINER, 'otel-probe').inputs;
    expect(longRunningViolations(collectorInputs)).toEqual([]);
    expect(longRunningViolations(probeInputs)).toEqual([]);
    expect(longRunningViolations({ ...probeInputs, attach: false })).toEqual([
      `${OTEL_PROBE_CONTAINER} has no healthcheck`,
    ]);
    expect(portViolations(collectorInputs, { allowPublicBind: false })).toEqual([]);
  });
});

describe('collectorConfig', () => {
  it('sizes the memory limiter from nova:otelCollectorMemoryMb', () => {
    const config = collectorConfig(readSettings({ otelCollectorMemoryMb: '1000' }));
    expect(config.processors.memory_limiter).toEqual({
      check_interval: '1s',
      limit_mib: 800,
      spike_limit_mib: 160,
    });
  });
});
