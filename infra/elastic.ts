/**
 * NovaElasticCluster: Elasticsearch 8 (pinned) in `nova-elasticsearch-<n>` (3 nodes, or 1),
 * security on with TLS on HTTP and transport from one stack CA (elastic-certs.ts), never
 * published on the host: clients reach `https://nova-elasticsearch-<n>:9200` on the stack
 * network and trust `caCert`.
 *
 * Settings follow Elastic's multi-node compose example
 * (https://www.elastic.co/docs/deploy-manage/deploy/self-managed/install-elasticsearch-docker-compose),
 * passed in the image's `ES_SETTING_` form (see settingEnvName). Differences, each explained
 * where it is made: certificates from @pulumi/tls instead of a certutil container, the heap in
 * a jvm.options.d file, `cluster.initial_master_nodes` only until a node has seen the cluster
 * formed, a healthcheck that authenticates, and one node with single-node discovery.
 *
 * The `elastic` superuser's password is generated here (@pulumi/random) and seeds the cluster
 * at first start (ELASTIC_PASSWORD, ignored once the security index holds the user); only the
 * nodes get it. kibana_system and the application user are set later by `nova bootstrap
 * elastic` through the security API, as `elastic`.
 *
 * The arguments are pure functions (tested directly); the component makes the password, the
 * certificates, the image, the volumes and the containers from them.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { generatedPassword, goDuration, pulledImage, runtimeLimits } from './common.js';
import { elasticCertificates } from './elastic-certs.js';
import { ELASTIC_ADMIN_USER, elasticNodeName } from './names.js';
import type { StackSettings } from './settings.js';

export { ELASTIC_ADMIN_USER, elasticNodeName };

export const ELASTIC_CLUSTER_NAME = 'nova-universe';
export const ELASTIC_HTTP_PORT = 9200;

const HOME = '/usr/share/elasticsearch';
const CONFIG_DIR = `${HOME}/config`;
const DATA_DIR = `${HOME}/data`;
/** Where each node finds the CA, its certificate and its key. */
export const ELASTIC_CERTS_DIR = `${CONFIG_DIR}/certs`;
/** The heap, as Elastic recommends setting it by hand: a file in jvm.options.d. */
export const HEAP_OPTIONS_FILE = `${CONFIG_DIR}/jvm.options.d/nova-heap.options`;
/**
 * Written by the healthcheck once the node has answered for a formed cluster; kept in the
 * data volume, so it lives and dies with the node's data. While it is absent the node starts
 * with `cluster.initial_master_nodes`, once it exists never again.
 */
export const CLUSTER_FORMED_MARKER = `${DATA_DIR}/.nova-cluster-formed`;
/** The image's entrypoint script, run by its tini (`ENTRYPOINT`, kept). */
const IMAGE_ENTRYPOINT = '/usr/local/bin/docker-entrypoint.sh';

/** The image runs Elasticsearch as uid 1000 in group 0: root-owned files with mode 0640 are
 * readable to it and to no other user, as in Elastic's compose example. */
const ROOT = '0';

/** `nova-elasticsearch-1`, … as many as the stack runs. */
export function elasticNodeNames({ elastic }: StackSettings): string[] {
  return Array.from({ length: elastic.nodes }, (_, i) => elasticNodeName(i + 1));
}

/**
 * Node n's data volume, named for the cluster's size: a cluster's membership lives in its data
 * (the voting configuration), so a node of a 3-node cluster cannot restart as a single node
 * (it waits for a quorum that is gone), and a single-node cluster's data taken into 3 nodes
 * races two new nodes into a second cluster. A new size is a new, empty cluster; the
 * reindex step (bootstrap.ts) rebuilds its search indices from PostgreSQL.
 */
export const elasticVolumeName = ({ elastic }: StackSettings, n: number) =>
  `${elasticNodeName(n)}-of-${elastic.nodes}-data`;

/** Every node's HTTPS address, comma-separated: ELASTIC_URL for the service and bootstrap. */
export function elasticUrl(settings: StackSettings): string {
  return elasticNodeNames(settings)
    .map((node) => `https://${node}:${ELASTIC_HTTP_PORT}`)
    .join(',');
}

/**
 * A setting's name in the image's `ES_SETTING_` form: upper case, `_` doubled, `.` as `_`
 * (`bootstrap.memory_lock` → `ES_SETTING_BOOTSTRAP_MEMORY__LOCK`). Dotted variable names are
 * dropped by /bin/sh (dash) in the Ubuntu 24.04-based 8.17+ images (elastic/elasticsearch#142676),
 * which would silently lose every setting; this form is a plain shell name. Elasticsearch
 * decodes it itself (EnvironmentAwareCommand, Docker builds).
 */
export function settingEnvName(setting: string): string {
  return `ES_SETTING_${setting.replaceAll('_', '__').replaceAll('.', '_').toUpperCase()}`;
}

/** TLS for one layer (`http` or `transport`) with the files uploadedFiles puts in place. */
const tlsSettings = (layer: 'http' | 'transport') => ({
  [`xpack.security.${layer}.ssl.enabled`]: 'true',
  // Relative to the config directory, as in Elastic's example.
  [`xpack.security.${layer}.ssl.key`]: 'certs/node.key',
  [`xpack.security.${layer}.ssl.certificate`]: 'certs/node.crt',
  [`xpack.security.${layer}.ssl.certificate_authorities`]: 'certs/ca.crt',
  // The peer's certificate must be signed by the stack's CA; its name is not checked, because
  // nodes dial each other's published IP address, which Docker assigns and no certificate can
  // list (Elastic's example does the same). Only this stack holds the CA's key.
  [`xpack.security.${layer}.ssl.verification_mode`]: 'certificate',
});

/**
 * Node n's Elasticsearch settings (readable names; the environment carries them encoded).
 * `cluster.initial_master_nodes` is not here: see initialMasterNodesCommand.
 */
export function elasticNodeSettings(settings: StackSettings, n: number): Record<string, string> {
  const names = elasticNodeNames(settings);
  const self = elasticNodeName(n);
  const discovery: Record<string, string> =
    settings.elastic.nodes === 1
      ? // One node forms its own cluster: no seed hosts, no bootstrapping list, and the
        // node is in development mode: failed bootstrap checks (vm.max_map_count, a host
        // sysctl no container can set) are warnings, not a refusal to start.
        { 'discovery.type': 'single-node' }
      : { 'discovery.seed_hosts': names.filter((name) => name !== self).join(',') };
  return {
    'node.name': self,
    'cluster.name': ELASTIC_CLUSTER_NAME,
    ...discovery,
    // As Elastic's example: the heap stays in RAM (the container gets the memlock ulimit).
    'bootstrap.memory_lock': 'true',
    'xpack.security.enabled': 'true',
    ...tlsSettings('http'),
    ...tlsSettings('transport'),
  };
}

/** Node n's environment: its settings, and the `elastic` password (a secret) it seeds. */
export function elasticNodeEnv(
  settings: StackSettings,
  n: number,
  elasticPassword: pulumi.Input<string>,
): pulumi.Input<string>[] {
  return [
    pulumi.secret(pulumi.interpolate`ELASTIC_PASSWORD=${elasticPassword}`),
    ...Object.entries(elasticNodeSettings(settings, n)).map(
      ([setting, value]) => `${settingEnvName(setting)}=${value}`,
    ),
  ];
}

/**
 * For 3 nodes, the container's command: the image's own start, with
 * `cluster.initial_master_nodes` (all three names, the same list on each, as Elastic requires)
 * only while the node's volume has no CLUSTER_FORMED_MARKER. Elastic: "After the cluster has
 * formed, remove the cluster.initial_master_nodes setting from each node's configuration and
 * never set it again for this cluster" (modules-discovery-bootstrap-cluster); 8.x logs a
 * warning on every start of a node that still has it.
 *
 * A Pulumi-side removal would change the containers' inputs and replace every node on the
 * next `up`; an "empty data directory" test would drop the setting from a node that restarted
 * before the cluster ever formed. The marker says what Elastic's rule means: this node has
 * seen the cluster formed. A volume wiped on its own gets the list again and joins the running
 * cluster it discovers (the list only matters when no master is found).
 *
 * For 1 node: undefined (the image's default command; single-node discovery needs no list).
 */
export function initialMasterNodesCommand(settings: StackSettings): string[] | undefined {
  if (settings.elastic.nodes === 1) return undefined;
  const masters = elasticNodeNames(settings).join(',');
  const script = [
    `if [ ! -e ${CLUSTER_FORMED_MARKER} ]; then`,
    `export ${settingEnvName('cluster.initial_master_nodes')}=${masters};`,
    'fi;',
    // The image's entrypoint runs any command other than `eswrapper` as is (this script);
    // called again with `eswrapper`, it starts Elasticsearch as it always does.
    `exec ${IMAGE_ENTRYPOINT} eswrapper`,
  ].join(' ');
  return ['bash', '-c', script];
}

/**
 * Healthy once the node answers, over TLS checked against the CA and authenticated as
 * `elastic`, for a cluster at least yellow: an elected master and every primary shard
 * assigned. A wrong password answers 401 and a red cluster 408 after the 5 s wait (`--fail`
 * makes each a failure); a node with no elected master does not answer within `--max-time`.
 * Only then does it record CLUSTER_FORMED_MARKER (see initialMasterNodesCommand).
 *
 * The password is read from the container's own environment by the shell and handed to curl
 * on stdin as a config line (`--config -`), never on a command line `ps` shows; this
 * definition, which sits in plain state, holds only the variable's name.
 */
export function elasticHealthcheck(): docker.types.input.ContainerHealthcheck {
  const url = `https://localhost:${ELASTIC_HTTP_PORT}/_cluster/health?wait_for_status=yellow&timeout=5s`;
  return {
    tests: [
      'CMD-SHELL',
      `printf 'user = "${ELASTIC_ADMIN_USER}:%s"\\n' "$ELASTIC_PASSWORD" | curl --silent --fail --max-time 8 --config - --cacert ${ELASTIC_CERTS_DIR}/ca.crt --output /dev/null '${url}' && touch ${CLUSTER_FORMED_MARKER}`,
    ],
    interval: goDuration(10),
    timeout: goDuration(10),
    retries: 12,
    // A 3-node cluster's first start (security index, elections) on a laptop.
    startPeriod: goDuration(120),
  };
}

export interface ElasticNodeInputs {
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  volume: pulumi.Input<string>;
  /** Secrets; they stay secrets in the container's environment and uploads. */
  elasticPassword: pulumi.Input<string>;
  keyPem: pulumi.Input<string>;
  /** Public. */
  certPem: pulumi.Input<string>;
  caCertPem: pulumi.Input<string>;
}

/** Node n's files: the CA, its certificate and key (0640, root-owned), and its heap. */
export function elasticNodeUploads(
  { elastic }: StackSettings,
  { keyPem, certPem, caCertPem }: Pick<ElasticNodeInputs, 'keyPem' | 'certPem' | 'caCertPem'>,
): docker.types.input.ContainerUpload[] {
  const file = (name: string, content: pulumi.Input<string>) => ({
    file: `${ELASTIC_CERTS_DIR}/${name}`,
    content,
    owner: ROOT,
    group: ROOT,
    permissions: '0640',
  });
  return [
    file('ca.crt', caCertPem),
    file('node.crt', certPem),
    file('node.key', pulumi.secret(keyPem)),
    {
      // Elastic recommends a jvm.options.d file over ES_JAVA_OPTS ("We do not recommend
      // using ES_JAVA_OPTS in production"); initial and maximum equal (the heap size
      // bootstrap check: with memory_lock, a heap that grows would not all be locked).
      file: HEAP_OPTIONS_FILE,
      content: `-Xms${elastic.heapMb}m\n-Xmx${elastic.heapMb}m\n`,
      owner: ROOT,
      group: ROOT,
      permissions: '0644',
    },
  ];
}

export function elasticNodeArgs(
  settings: StackSettings,
  n: number,
  inputs: ElasticNodeInputs,
): docker.ContainerArgs {
  const name = elasticNodeName(n);
  const command = initialMasterNodesCommand(settings);
  return {
    name,
    image: inputs.image,
    restart: 'unless-stopped',
    ...runtimeLimits(settings.elastic.memoryMb, 120),
    ...(command ? { command } : {}),
    envs: elasticNodeEnv(settings, n, inputs.elasticPassword),
    uploads: elasticNodeUploads(settings, inputs),
    ulimits: [
      // bootstrap.memory_lock needs an unlimited memlock (Elastic's compose example).
      { name: 'memlock', soft: -1, hard: -1 },
      // The file-descriptor bootstrap check wants 65535; Docker's default differs by
      // version and host, so it is set (Elastic's "Increase ulimits for nofile").
      { name: 'nofile', soft: 65_535, hard: 65_535 },
    ],
    volumes: [{ volumeName: inputs.volume, containerPath: DATA_DIR }],
    networksAdvanced: [{ name: inputs.network, aliases: [name] }],
    healthcheck: elasticHealthcheck(),
    wait: true,
    waitTimeout: 300,
  };
}

export interface NovaElasticArgs {
  settings: StackSettings;
  /** The stack's Docker network (its name). */
  network: pulumi.Input<string>;
}

export class NovaElasticCluster extends pulumi.ComponentResource {
  readonly nodes: docker.Container[];
  /** Every node's https URL, comma-separated (ELASTIC_URL); no credentials. */
  readonly url: string;
  /** The stack CA's certificate, PEM (ELASTIC_CA_FILE's content); public. */
  readonly caCert: pulumi.Output<string>;
  /** The `elastic` superuser's password; a secret (ELASTIC_ADMIN_PASSWORD). */
  readonly elasticPassword: pulumi.Output<string>;

  constructor(
    name: string,
    { settings, network }: NovaElasticArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('nova:index:NovaElasticCluster', name, {}, opts);
    const parent = { parent: this };
    const password = generatedPassword(`${name}-elastic-password`, this);
    const certificates = elasticCertificates(name, settings.elastic.nodes, this);
    const image = pulledImage(`${name}-image`, settings.images.elasticsearch, this);
    // The nodes start together, with no dependency between them: a 3-node cluster forms only
    // once two of them see each other, and `wait: true` holds each until then.
    this.nodes = certificates.nodes.map(({ keyPem, certPem }, i) => {
      const n = i + 1;
      // `pulumi destroy` deletes the data with the volume, as for PostgreSQL and MongoDB: the
      // `elastic` password lives in the stack's state, and a new stack's would not open it.
      const volume = new docker.Volume(
        `${name}-${n}-data`,
        { name: elasticVolumeName(settings, n) },
        parent,
      );
      return new docker.Container(
        `${name}-${n}`,
        elasticNodeArgs(settings, n, {
          image: image.imageId,
          network,
          volume: volume.name,
          elasticPassword: password,
          keyPem,
          certPem,
          caCertPem: certificates.caCertPem,
        }),
        parent,
      );
    });
    this.url = elasticUrl(settings);
    this.caCert = certificates.caCertPem;
    this.elasticPassword = password;
    this.registerOutputs({
      url: this.url,
      caCert: this.caCert,
      elasticPassword: this.elasticPassword,
    });
  }
}
