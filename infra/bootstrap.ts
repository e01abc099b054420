/**
 * NovaBootstrap: the one-shot steps of the service's image against the stack's stores.
 *
 * - bootstrap: `nova bootstrap all` (migrations and seed, MongoDB collections and users,
 *   Elasticsearch templates, users and kibana_system's password) once every store is
 *   healthy; Kibana and the service are made after it succeeds. It runs again whenever its
 *   inputs change (a new image, a rotated password, another member count); every bootstrap
 *   step is idempotent, so a run with nothing to do changes nothing.
 * - reindex: `nova reindex tickets` and `nova reindex kb` after it, again when its inputs
 *   change and whenever the Elasticsearch nodes are replaced: a new cluster size is a new,
 *   empty cluster (its volumes
 *   are named for its size), whose search indices PostgreSQL refills. A reindex swaps an alias
 *   atomically, so running it on a full index changes nothing a reader sees.
 *
 * - dashboards: `nova bootstrap kibana` once Kibana is healthy (made after bootstrap, which
 *   sets its password): the saved objects in dashboards/ (baked into the image) and the default
 *   data view; again when Kibana is replaced or the image changes. It writes only what differs.
 *
 * Each runs as a `command.local.Command` driving the Docker CLI (create, copy the CA in, start
 * attached): `docker start --attach` exits with the container's code, so a failing step fails
 * `pulumi up` with its log, and a failed create is not recorded, so the next `up` runs it
 * again. A docker.Container with `attach` would be recorded, exit code and all, and never
 * retried. The secrets reach the container as `-e NAME` (the value from the command's own
 * environment, which Pulumi keeps secret): none is on a command line or in the script.
 */
import * as command from '@pulumi/command';
import * as pulumi from '@pulumi/pulumi';
import { ELASTIC_CA_PATH, type Environment } from './environment.js';
import { ONE_SHOT_MEMORY_MB } from './settings.js';

/**
 * Each step's container, named for it: steps that may run at once (reindex, and dashboards
 * once Kibana is up) never remove or collide with each other's.
 */
export const oneShotContainer = (step: Step) => `nova-${step}`;
/** The command's own variable carrying the CA certificate (PEM) to copy in. */
const CA_VARIABLE = 'NOVA_ELASTIC_CA';

/** What each step runs: one `nova` command line per container, in order. */
export const STEPS = {
  bootstrap: [['bootstrap', 'all']],
  reindex: [
    ['reindex', 'tickets'],
    ['reindex', 'kb'],
  ],
  dashboards: [['bootstrap', 'kibana']],
} as const;

export type Step = keyof typeof STEPS;

/**
 * The step's shell script: one container per `nova` command line, each passed the variables
 * `names` and the CA, run attached, removed; the first that fails stops the script with its
 * code.
 */
export function oneShotScript(step: Step, image: string, network: string, names: string[]): string {
  const container = oneShotContainer(step);
  const passed = names.map((name) => `-e ${name}`).join(' ');
  const remove = `docker rm -f ${container} >/dev/null 2>&1 || true`;
  return [
    'set -eu',
    'ca=$(mktemp)',
    `cleanup() { rm -f "$ca"; ${remove}; }`,
    'trap cleanup EXIT',
    `printf '%s\\n' "$${CA_VARIABLE}" > "$ca"`,
    // docker cp keeps the mode; the container's non-root user must read the (public) CA.
    'chmod 0444 "$ca"',
    ...STEPS[step].flatMap((args) => [
      // A container left by an interrupted run (or the previous command) holds the name.
      remove,
      // The image's healthcheck is the service's (/livez): a one-shot run has nothing to probe.
      `docker create --name ${container} --network ${network} --memory ${ONE_SHOT_MEMORY_MB}m --no-healthcheck ${passed} ${image} ${args.join(' ')} >/dev/null`,
      `docker cp "$ca" ${container}:${ELASTIC_CA_PATH}`,
      `docker start --attach ${container}`,
    ]),
  ].join('\n');
}

export interface NovaBootstrapArgs {
  /** The service image's reference (its repoDigest). */
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  /** serviceEnvironment(…, step) for each step: each gets only its own. */
  environment: Record<Step, Environment>;
  caCert: pulumi.Input<string>;
  /** The Elasticsearch nodes' ids: replaced nodes run the reindex step again. */
  elasticNodes: pulumi.Input<string>[];
}

export function oneShotCommandArgs(
  { image, network, environment: environments, caCert }: NovaBootstrapArgs,
  step: Step,
): command.local.CommandArgs {
  const environment = environments[step];
  const names = Object.keys(environment);
  return {
    create: pulumi
      .all([image, network])
      .apply(([image, network]) => oneShotScript(step, image, network, names)),
    environment: { ...environment, [CA_VARIABLE]: caCert },
    // The provider otherwise hands the previous run's output to the next in PULUMI_COMMAND_*
    // variables: a report, nothing any step reads.
    addPreviousOutputInEnv: false,
  };
}

export class NovaBootstrap extends pulumi.ComponentResource {
  readonly command: command.local.Command;
  readonly reindex: command.local.Command;
  /** What `nova bootstrap all` printed: the report of every step. */
  readonly report: pulumi.Output<string>;

  constructor(name: string, args: NovaBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    super('nova:index:NovaBootstrap', name, {}, opts);
    // A component's dependsOn does not hold back its children: the command waits itself.
    this.command = new command.local.Command(name, oneShotCommandArgs(args, 'bootstrap'), {
      parent: this,
      dependsOn: opts?.dependsOn,
    });
    this.reindex = new command.local.Command(
      `${name}-reindex`,
      { ...oneShotCommandArgs(args, 'reindex'), triggers: args.elasticNodes },
      { parent: this, dependsOn: [this.command] },
    );
    this.report = this.command.stdout;
    this.registerOutputs({ report: this.report });
  }
}

/**
 * The dashboards step, once `kibana` (its container) is healthy; made by the stack after
 * Kibana, which itself waits for the bootstrap step.
 */
export const dashboardsStep = (
  name: string,
  args: NovaBootstrapArgs,
  kibana: pulumi.Resource & { id: pulumi.Output<string> },
  opts: pulumi.CustomResourceOptions,
) =>
  new command.local.Command(
    name,
    { ...oneShotCommandArgs(args, 'dashboards'), triggers: [kibana.id] },
    { ...opts, dependsOn: [kibana] },
  );
