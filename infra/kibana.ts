/**
 * NovaKibana: Kibana pinned to the Elasticsearch version, in `nova-kibana`, published on the
 * stack's bind address only. It logs in to Elasticsearch as kibana_system (Kibana 8 refuses
 * the `elastic` superuser), whose password is generated here and set by the bootstrap step
 * through the security API (ELASTIC_PASSWORD seeds only `elastic`, and only once); so the
 * container is made after that step, and reports healthy only once /api/status says its core
 * is available, which needs that login to work.
 *
 * Saved objects (alerts, actions, reporting) are encrypted with keys generated once per
 * stack: without fixed keys, Kibana makes new ones at every start and cannot read what it
 * stored before.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { generatedPassword, goDuration, pulledImage, runtimeLimits } from './common.js';
import { KIBANA_CONTAINER } from './names.js';
import { publishedUrl } from './network.js';
import type { StackSettings } from './settings.js';

export { KIBANA_CONTAINER };

/** The container's healthcheck: Kibana's core is up (curl -f fails on the 503). */
export const KIBANA_HEALTHCHECK = 'curl -sf -o /dev/null http://127.0.0.1:5601/api/status';
export const KIBANA_CA_FILE = '/usr/share/kibana/config/certs/ca.crt';
/** Kibana's own user in Elasticsearch. */
export const KIBANA_SYSTEM_USER = 'kibana_system';

export interface KibanaContainerInputs {
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  /** Elasticsearch as Kibana reaches it: https URLs, comma-separated. */
  elasticUrl: pulumi.Input<string>;
  /** The cluster's CA certificate (PEM; public). */
  caCert: pulumi.Input<string>;
  /** Secrets: kibana_system's password and the three saved-object encryption keys. */
  systemPassword: pulumi.Input<string>;
  encryptionKeys: {
    security: pulumi.Input<string>;
    savedObjects: pulumi.Input<string>;
    reporting: pulumi.Input<string>;
  };
}

/** The URL browsers on the operator's machine open. */
export const kibanaPublicUrl = ({ bindAddress, kibana }: StackSettings) =>
  publishedUrl(bindAddress, kibana.port);

export function kibanaContainerArgs(
  settings: StackSettings,
  inputs: KibanaContainerInputs,
): docker.ContainerArgs {
  const { image, network, elasticUrl, caCert, systemPassword, encryptionKeys } = inputs;
  // The Kibana image maps upper-case variables to settings (ELASTICSEARCH_HOSTS is
  // elasticsearch.hosts). Several hosts go as a JSON array with no spaces: Kibana parses
  // it as JSON and fails on a space (elastic/kibana#144774); a comma list is one bad URL.
  const hosts = pulumi
    .output(elasticUrl)
    .apply((url) => `ELASTICSEARCH_HOSTS=${JSON.stringify(url.split(','))}`);
  return {
    name: KIBANA_CONTAINER,
    image,
    restart: 'unless-stopped',
    ...runtimeLimits(settings.kibana.memoryMb, 30),
    envs: [
      hosts,
      `ELASTICSEARCH_USERNAME=${KIBANA_SYSTEM_USER}`,
      pulumi.secret(pulumi.interpolate`ELASTICSEARCH_PASSWORD=${systemPassword}`),
      `ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES=${KIBANA_CA_FILE}`,
      'ELASTICSEARCH_SSL_VERIFICATIONMODE=full',
      pulumi.secret(pulumi.interpolate`XPACK_SECURITY_ENCRYPTIONKEY=${encryptionKeys.security}`),
      pulumi.secret(
        pulumi.interpolate`XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY=${encryptionKeys.savedObjects}`,
      ),
      pulumi.secret(pulumi.interpolate`XPACK_REPORTING_ENCRYPTIONKEY=${encryptionKeys.reporting}`),
      `SERVER_PUBLICBASEURL=${kibanaPublicUrl(settings)}`,
    ],
    uploads: [{ file: KIBANA_CA_FILE, content: caCert, permissions: '0444' }],
    ports: [{ internal: 5601, external: settings.kibana.port, ip: settings.bindAddress }],
    networksAdvanced: [{ name: network, aliases: [KIBANA_CONTAINER] }],
    // /api/status answers 503 until Kibana's core (its Elasticsearch login, its saved-objects
    // migrations) is available, and 200 from then on, whatever its plugins say: one degraded
    // plugin holds the overall level at `degraded` while Kibana works, so waiting for
    // `available` could time out on a usable Kibana (elastic/kibana routes/status.ts).
    healthcheck: {
      tests: ['CMD-SHELL', KIBANA_HEALTHCHECK],
      interval: goDuration(10),
      timeout: goDuration(10),
      retries: 30,
      startPeriod: goDuration(60),
    },
    wait: true,
    waitTimeout: 420,
  };
}

export interface NovaKibanaArgs {
  settings: StackSettings;
  network: pulumi.Input<string>;
  elasticUrl: pulumi.Input<string>;
  caCert: pulumi.Input<string>;
  /** kibana_system's password: made by the stack, set in Elasticsearch by bootstrap. */
  systemPassword: pulumi.Input<string>;
}

export class NovaKibana extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** The URL a browser on the operator's machine opens. */
  readonly url: string;

  constructor(name: string, args: NovaKibanaArgs, opts?: pulumi.ComponentResourceOptions) {
    super('nova:index:NovaKibana', name, {}, opts);
    const { settings, network, elasticUrl, caCert, systemPassword } = args;
    // At least 32 characters, as Kibana requires of each key.
    const key = (purpose: string) => generatedPassword(`${name}-${purpose}-key`, this, 48);
    const image = pulledImage(`${name}-image`, settings.images.kibana, this);
    this.container = new docker.Container(
      name,
      kibanaContainerArgs(settings, {
        image: image.imageId,
        network,
        elasticUrl,
        caCert,
        systemPassword,
        encryptionKeys: {
          security: key('security'),
          savedObjects: key('saved-objects'),
          reporting: key('reporting'),
        },
      }),
      // A component's dependsOn does not hold back its children: the container waits itself.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.url = kibanaPublicUrl(settings);
    this.registerOutputs({ url: this.url });
  }
}
