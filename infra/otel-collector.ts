/**
 * NovaOtelCollector (optional, `nova:otelCollector true`): the OpenTelemetry Collector
 * (contrib distribution, pinned) in `nova-otel-collector`, receiving OTLP on the stack
 * network only (gRPC 4317, HTTP 4318; nothing published), through memory_limiter and batch,
 * to the `debug` exporter (`docker logs nova-otel-collector`). The service sends to it when
 * it is on (environment.ts, COLLECTOR_ENDPOINT).
 *
 * Its healthcheck: the collector's image is `FROM scratch` (no shell, no wget, no curl; see
 * open-telemetry/opentelemetry-collector-releases#866), so nothing in it can ask the
 * health_check extension whether the pipelines are up. A one-shot container copies the
 * static binary of BusyBox's musl build (pinned, TOOL_IMAGES) into a volume, once; the
 * collector mounts it read-only at /probe and the healthcheck runs `/probe/busybox wget`
 * against the extension on 127.0.0.1:13133. The collector's image stays the released one
 * (no local build), and the check reports what the extension reports: 200 once every
 * pipeline has started, 503 otherwise.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { goDuration, pulledImage, runtimeLimits } from './common.js';
import { COLLECTOR_ENDPOINT } from './environment.js';
import { TOOL_IMAGES } from './images.js';
import { OTEL_COLLECTOR_CONTAINER } from './names.js';
import type { StackSettings } from './settings.js';

export { OTEL_COLLECTOR_CONTAINER };
/** The one-shot container that puts the healthcheck's binary in place, and its volume. */
export const OTEL_PROBE_CONTAINER = 'nova-otel-collector-probe';
export const OTEL_PROBE_VOLUME = 'nova-otel-collector-probe';
/** The contrib image's own config path, given explicitly all the same. */
export const OTEL_CONFIG_FILE = '/etc/otelcol-contrib/config.yaml';
const PROBE_DIR = '/probe';
const HEALTH_ENDPOINT = '127.0.0.1:13133';

/** The memory_limiter's hard limit: 80% of the container's memory, the rest for spikes. */
const limitMib = ({ otelCollector }: StackSettings) => Math.floor(otelCollector.memoryMb * 0.8);

/**
 * The collector's configuration (https://opentelemetry.io/docs/collector/configuration/).
 * Receivers listen on 0.0.0.0 inside the container: the stack network is the only way in.
 * The health_check extension listens on loopback: only the container's own check calls it.
 */
export function collectorConfig(settings: StackSettings) {
  const limit = limitMib(settings);
  const pipeline = {
    receivers: ['otlp'],
    // memory_limiter first: it refuses data before anything else holds it.
    processors: ['memory_limiter', 'batch'],
    exporters: ['debug'],
  };
  return {
    extensions: { health_check: { endpoint: HEALTH_ENDPOINT } },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: '0.0.0.0:4317' },
          http: { endpoint: '0.0.0.0:4318' },
        },
      },
    },
    processors: {
      // The spike limit at 20% of the hard limit: the processor's own default, made explicit.
      memory_limiter: {
        check_interval: '1s',
        limit_mib: limit,
        spike_limit_mib: Math.floor(limit / 5),
      },
      batch: {},
    },
    exporters: { debug: { verbosity: 'basic' } },
    service: {
      extensions: ['health_check'],
      pipelines: { traces: pipeline, metrics: pipeline, logs: pipeline },
    },
  };
}

/** config.yaml: JSON, which is YAML (1.2), so no YAML library is needed to write it. */
export const collectorConfigFile = (settings: StackSettings) =>
  `${JSON.stringify(collectorConfig(settings), null, 2)}\n`;

export interface OtelProbeInputs {
  /** BusyBox's musl image, by id. */
  image: pulumi.Input<string>;
  volume: pulumi.Input<string>;
}

/**
 * The one-shot copy (attached, `restart: no`: it runs once and is not a service). Copied
 * then renamed, so a healthcheck running the old binary never sees a half-written file.
 */
export function otelProbeArgs({ image, volume }: OtelProbeInputs): docker.ContainerArgs {
  return {
    name: OTEL_PROBE_CONTAINER,
    image,
    command: [
      'sh',
      '-c',
      `cp -p /bin/busybox ${PROBE_DIR}/busybox.new && mv ${PROBE_DIR}/busybox.new ${PROBE_DIR}/busybox`,
    ],
    volumes: [{ volumeName: volume, containerPath: PROBE_DIR }],
    networkMode: 'none',
    ...runtimeLimits(64, 30),
    restart: 'no',
    attach: true,
    logs: true,
    // It has exited, as it should: not a reason to start it again on the next `up`.
    mustRun: false,
  };
}

export interface OtelCollectorContainerInputs {
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  /** The volume the probe container filled. */
  probeVolume: pulumi.Input<string>;
}

export function otelCollectorContainerArgs(
  settings: StackSettings,
  { image, network, probeVolume }: OtelCollectorContainerInputs,
): docker.ContainerArgs {
  return {
    name: OTEL_COLLECTOR_CONTAINER,
    image,
    command: [`--config=${OTEL_CONFIG_FILE}`],
    restart: 'unless-stopped',
    ...runtimeLimits(settings.otelCollector.memoryMb, 30),
    // The Go runtime's soft limit, with the memory_limiter's: collect garbage before the
    // container's limit kills the process.
    envs: [`GOMEMLIMIT=${limitMib(settings)}MiB`],
    // Read by the image's user (uid 10001); no secret in it.
    uploads: [
      { file: OTEL_CONFIG_FILE, content: collectorConfigFile(settings), permissions: '0444' },
    ],
    volumes: [{ volumeName: probeVolume, containerPath: PROBE_DIR, readOnly: true }],
    networksAdvanced: [{ name: network, aliases: [OTEL_COLLECTOR_CONTAINER] }],
    healthcheck: {
      tests: [
        'CMD',
        `${PROBE_DIR}/busybox`,
        'wget',
        '-q',
        '-T',
        '3',
        '-O',
        '/dev/null',
        `http://${HEALTH_ENDPOINT}/`,
      ],
      interval: goDuration(10),
      timeout: goDuration(5),
      retries: 6,
      startPeriod: goDuration(10),
    },
    wait: true,
    waitTimeout: 120,
  };
}

export interface NovaOtelCollectorArgs {
  settings: StackSettings;
  /** The stack's Docker network (its name). */
  network: pulumi.Input<string>;
}

export class NovaOtelCollector extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** OTLP/HTTP as the service reaches it on the stack network (OTEL_EXPORTER_OTLP_ENDPOINT). */
  readonly endpoint: string;

  constructor(name: string, args: NovaOtelCollectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super('nova:index:NovaOtelCollector', name, {}, opts);
    const { settings, network } = args;
    const parent = { parent: this };
    const image = pulledImage(`${name}-image`, settings.images.otelCollector, this);
    const busybox = pulledImage(`${name}-probe-image`, TOOL_IMAGES.busybox, this);
    const volume = new docker.Volume(`${name}-probe`, { name: OTEL_PROBE_VOLUME }, parent);
    const probe = new docker.Container(
      `${name}-probe`,
      otelProbeArgs({ image: busybox.imageId, volume: volume.name }),
      parent,
    );
    // The volume's name once the probe has filled it: the collector waits for the copy.
    const probeVolume = pulumi.all([volume.name, probe.id]).apply(([volumeName]) => volumeName);
    // A component's dependsOn does not hold back its children: the container waits itself.
    this.container = new docker.Container(
      name,
      otelCollectorContainerArgs(settings, { image: image.imageId, network, probeVolume }),
      { ...parent, dependsOn: opts?.dependsOn },
    );
    this.endpoint = COLLECTOR_ENDPOINT;
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
