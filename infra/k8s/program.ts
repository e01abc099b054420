/**
 * NovaKubernetes: the data tier on a cluster, from the objects objects.ts makes (the same
 * that `npm run k8s:render` writes to k8s/), in the order they can start in:
 *
 *   namespace, operators (unless preinstalled), the application's Secrets
 *     -> the stores' custom resources, each awaited until its operator reports it ready
 *        -> bootstrap Job (migrations, roles, users, templates, then the reindex)
 *             -> the service (Deployment, Service, PodDisruptionBudget, autoscaler)
 *             -> dashboards Job (once Kibana is ready too)
 *
 * The passwords the operators cannot make are generated here, once per stack, and kept in
 * Secrets (Pulumi keeps them secret in its state); the PostgreSQL owner's and `elastic`'s
 * are the operators' own. No output carries a credential.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { generatedPassword } from '../common.js';
import { APP_USER } from '../names.js';
import type { K8sObject } from './meta.js';
import { kibanaHost, PART_OF, SERVICE_NAME, SERVICE_PORT, USER_SECRETS } from './names.js';
import { dataTier } from './objects.js';
import { installOperators } from './operators.js';
import type { KubernetesSettings } from './settings.js';

/**
 * What the provider waits for before a store counts as ready (`pulumi.com/waitFor`, @pulumi/
 * kubernetes 4.18 and later): each operator's own word for it.
 */
export const READY_WHEN = {
  Cluster: 'condition=Ready',
  MongoDBCommunity: 'jsonpath={.status.phase}=Running',
  Elasticsearch: 'jsonpath={.status.phase}=Ready',
  Kibana: 'jsonpath={.status.health}=green',
} as const;

/**
 * How long the provider waits for an object to become ready. Its default (10 minutes) is
 * short for a store's first start (volumes provisioned, images pulled, three members joined)
 * and for the bootstrap Job, which waits up to 10 minutes for the stores itself.
 */
const AWAIT_TIMEOUTS = { create: '30m', update: '30m' };

/** The built-in kinds the tier uses, by `apiVersion/kind`: each its typed resource. */
const BUILT_IN = {
  'v1/ServiceAccount': k8s.core.v1.ServiceAccount,
  'v1/Service': k8s.core.v1.Service,
  'apps/v1/Deployment': k8s.apps.v1.Deployment,
  'policy/v1/PodDisruptionBudget': k8s.policy.v1.PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': k8s.autoscaling.v2.HorizontalPodAutoscaler,
  'batch/v1/Job': k8s.batch.v1.Job,
  'networking.k8s.io/v1/NetworkPolicy': k8s.networking.v1.NetworkPolicy,
} as const;

export class NovaKubernetes extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  /** The service inside the cluster (expose it with an Ingress or a port-forward). */
  readonly serviceUrl: pulumi.Output<string>;
  readonly kibanaUrl: pulumi.Output<string>;

  constructor(
    name: string,
    args: { settings: KubernetesSettings },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('nova:kubernetes:DataTier', name, {}, opts);
    const { settings } = args;
    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: settings.namespace,
          labels: {
            ...PART_OF,
            // Pod Security admission: refuse privileged pods, warn about what `restricted`
            // would refuse.
            'pod-security.kubernetes.io/enforce': 'baseline',
            'pod-security.kubernetes.io/warn': 'restricted',
          },
        },
      },
      { parent: this },
    );
    const ns = namespace.metadata.name;
    const operators =
      settings.operators === 'install'
        ? Object.values(
            installOperators(name, settings.namespace, { parent: this, dependsOn: [namespace] }),
          )
        : [];
    const secrets = this.applicationSecrets(name, ns, namespace);
    const tier = dataTier(settings);

    const make = (
      object: K8sObject,
      dependsOn: pulumi.Resource[],
      extra: Record<string, string> = {},
    ) => {
      const metadata = {
        ...object.metadata,
        namespace: ns,
        ...(Object.keys(extra).length
          ? { annotations: { ...object.metadata.annotations, ...extra } }
          : {}),
      };
      const Kind = BUILT_IN[`${object.apiVersion}/${object.kind}` as keyof typeof BUILT_IN];
      const resourceName = `${name}-${object.kind.toLowerCase()}-${object.metadata.name}`;
      const options = { parent: this, dependsOn, customTimeouts: AWAIT_TIMEOUTS };
      // biome-ignore lint/suspicious/noExplicitAny: each typed constructor takes its own kind's object
      const inputs = { ...object, metadata } as any;
      return Kind
        ? new Kind(resourceName, inputs, options)
        : new k8s.apiextensions.CustomResource(resourceName, inputs, options);
    };

    const network = tier.network.map((policy) => make(policy, [namespace]));
    const store = (object: K8sObject) =>
      make(object, [namespace, ...operators, ...secrets, ...network], {
        'pulumi.com/waitFor': READY_WHEN[object.kind as keyof typeof READY_WHEN],
      });
    const stores = {
      postgres: store(tier.stores.postgres),
      mongo: store(tier.stores.mongo),
      elastic: store(tier.stores.elastic),
      kibana: store(tier.stores.kibana),
    };
    const bootstrap = make(tier.jobs.bootstrap, [stores.postgres, stores.mongo, stores.elastic]);
    for (const object of tier.service) make(object, [bootstrap]);
    make(tier.jobs.dashboards, [bootstrap, stores.kibana]);

    this.namespace = ns;
    this.serviceUrl = pulumi.interpolate`http://${SERVICE_NAME}.${ns}.svc:${SERVICE_PORT}`;
    this.kibanaUrl = pulumi.interpolate`https://${kibanaHost}.${ns}.svc:5601`;
    this.registerOutputs({ serviceUrl: this.serviceUrl, kibanaUrl: this.kibanaUrl });
  }

  /**
   * The Secrets names.ts lists, with passwords generated once per stack. The PostgreSQL login
   * is a basic-auth Secret whose username is the role's (CloudNativePG checks it), labelled so
   * CloudNativePG applies a changed password at once.
   */
  private applicationSecrets(
    prefix: string,
    ns: pulumi.Output<string>,
    namespace: k8s.core.v1.Namespace,
  ) {
    const secret = (
      name: string,
      stringData: Record<string, pulumi.Input<string>>,
      { type = 'Opaque', labels = {} }: { type?: string; labels?: Record<string, string> } = {},
    ) =>
      new k8s.core.v1.Secret(
        `${prefix}-secret-${name}`,
        { metadata: { name, namespace: ns, labels: { ...PART_OF, ...labels } }, type, stringData },
        { parent: this, dependsOn: [namespace] },
      );
    const password = (name: string) => ({
      password: generatedPassword(`${prefix}-${name}-password`, this),
    });
    return [
      secret(
        USER_SECRETS.postgresApp,
        { username: APP_USER, ...password(USER_SECRETS.postgresApp) },
        { type: 'kubernetes.io/basic-auth', labels: { 'cnpg.io/reload': 'true' } },
      ),
      secret(USER_SECRETS.mongoAdmin, password(USER_SECRETS.mongoAdmin)),
      secret(USER_SECRETS.mongoApp, password(USER_SECRETS.mongoApp)),
      secret(USER_SECRETS.elasticApp, password(USER_SECRETS.elasticApp)),
    ];
  }
}
