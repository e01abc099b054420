/**
 * NovaService: the repository's own image (the Dockerfile at its root: multi-stage, non-root,
 * production dependencies, the OpenTelemetry hook in its entrypoint), built locally, and the
 * `nova-api` container serving from it, published on the stack's bind address, healthy when
 * /livez answers. Its environment holds the application's credentials only (environment.ts).
 *
 * The container refers to the build by `repoDigest` (the local image id when nothing is
 * pushed): a rebuild that changes nothing keeps the id, so nothing is replaced; a changed
 * image replaces the container.
 */
import { readFileSync } from 'node:fs';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { goDuration, runtimeLimits } from './common.js';
import { ELASTIC_CA_PATH, type Environment } from './environment.js';
import { publishedUrl } from './network.js';
import type { StackSettings } from './settings.js';

export const SERVICE_CONTAINER = 'nova-api';
const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** The local image's name: the package version, never `latest`. */
export const SERVICE_IMAGE = `nova-api:${VERSION}`;

/**
 * Paths relative to the project (Pulumi.yaml's folder, where Pulumi runs the program and its
 * providers): an absolute path is an input like any other, so moving the checkout would show
 * as a change and rebuild the image. What is rebuilt for is the context's content, which the
 * provider hashes.
 */
export const serviceImageArgs = (): docker.ImageArgs => ({
  imageName: SERVICE_IMAGE,
  build: { context: '.', dockerfile: 'Dockerfile' },
  skipPush: true,
});

/** `NAME=value` entries, secrets kept secret (the provider sees the list as one secret). */
export const envList = (environment: Environment): pulumi.Input<string>[] =>
  Object.entries(environment).map(([name, value]) =>
    typeof value === 'string' ? `${name}=${value}` : pulumi.interpolate`${name}=${value}`,
  );

export interface ServiceContainerInputs {
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  environment: Environment;
  /** The Elasticsearch CA certificate (PEM; public). */
  caCert: pulumi.Input<string>;
}

export function serviceContainerArgs(
  settings: StackSettings,
  { image, network, environment, caCert }: ServiceContainerInputs,
): docker.ContainerArgs {
  return {
    name: SERVICE_CONTAINER,
    image,
    command: ['serve'],
    restart: 'unless-stopped',
    // Past `nova serve`'s own bound (NOVA_SHUTDOWN_TIMEOUT_MS, then its hard exit), so the
    // service always ends by itself before Docker kills it.
    ...runtimeLimits(settings.service.memoryMb, 30),
    envs: envList(environment),
    uploads: [{ file: ELASTIC_CA_PATH, content: caCert, permissions: '0444' }],
    ports: [{ internal: 3000, external: settings.service.port, ip: settings.bindAddress }],
    networksAdvanced: [{ name: network, aliases: [SERVICE_CONTAINER] }],
    // Node itself: the slim base image has no curl. /livez answers while the process serves;
    // the stores' state is /readyz's and /api/health's business, not a restart reason.
    healthcheck: {
      tests: [
        'CMD',
        'node',
        '-e',
        "fetch('http://127.0.0.1:3000/livez').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))",
      ],
      interval: goDuration(10),
      timeout: goDuration(5),
      retries: 6,
      startPeriod: goDuration(20),
    },
    wait: true,
    waitTimeout: 120,
  };
}

export interface NovaServiceArgs {
  settings: StackSettings;
  network: pulumi.Input<string>;
  /** serviceEnvironment(…, 'service'). */
  environment: Environment;
  caCert: pulumi.Input<string>;
  /** The built image (serviceImageArgs), by its `repoDigest`. */
  image: pulumi.Input<string>;
}

export class NovaService extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** The URL the operator's machine reaches the service on. */
  readonly url: string;

  constructor(name: string, args: NovaServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('nova:index:NovaService', name, {}, opts);
    const { settings, network, environment, caCert, image } = args;
    this.container = new docker.Container(
      name,
      serviceContainerArgs(settings, { image, network, environment, caCert }),
      // A component's dependsOn does not hold back its children: the container waits itself.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.url = publishedUrl(settings.bindAddress, settings.service.port);
    this.registerOutputs({ url: this.url });
  }
}
