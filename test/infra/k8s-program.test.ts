/**
 * The Kubernetes program under Pulumi's mocks: what it registers for the 1-member and the
 * 3-member configurations, what waits for what, where the passwords are (Secrets, as
 * secrets) and where they are not (outputs, the objects), and that the operators are
 * installed unless the cluster has them.
 */
import type * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { registered, resolved, secretValue, useMocks } from './mocks.js';

await useMocks();
const { NovaKubernetes, READY_WHEN } = await import('../../infra/k8s/program.js');
const { readKubernetesSettings } = await import('../../infra/k8s/settings.js');
const { USER_SECRETS } = await import('../../infra/k8s/names.js');
const { OPERATOR_CHARTS } = await import('../../infra/k8s/operators.js');

const IMAGE = 'registry.example/nova:1.2.3';

/** Each resource's explicit dependencies, by name, as the SDK hands them to the engine. */
const dependsOn = new Map<string, pulumi.Resource[]>();
/** Each resource's custom timeouts. */
const timeouts = new Map<string, pulumi.CustomTimeouts | undefined>();
const recordDependencies: pulumi.ResourceTransformation = ({ name, opts }) => {
  timeouts.set(name, opts.customTimeouts);
  const deps = opts.dependsOn;
  if (deps) dependsOn.set(name, (Array.isArray(deps) ? deps : [deps]) as pulumi.Resource[]);
  return undefined;
};
const dependencyNames = (name: string) =>
  Promise.all(
    (dependsOn.get(name) ?? []).map(async (r) => (await resolved(r.urn)).split('::').at(-1)),
  );

let small: InstanceType<typeof NovaKubernetes>;

beforeAll(async () => {
  small = new NovaKubernetes(
    'small',
    {
      settings: readKubernetesSettings({
        serviceImage: IMAGE,
        namespace: 'nova-small',
        postgresInstances: '1',
        mongoMembers: '1',
        elasticNodes: '1',
      }),
    },
    { transformations: [recordDependencies] },
  );
  new NovaKubernetes(
    'big',
    { settings: readKubernetesSettings({ serviceImage: IMAGE, operators: 'preinstalled' }) },
    { transformations: [recordDependencies] },
  );
  await resolved(small.serviceUrl);
  // Let every registration land.
  await new Promise((resolve) => setTimeout(resolve, 100));
});

/** The inputs of the resource `program` registered of `type` and `name` (after its prefix). */
function inputsOf(program: 'small' | 'big', type: string, name: string) {
  const found = registered.filter((r) => r.type === type && r.name === `${program}-${name}`);
  expect(found, `${program} ${type} ${name}`).toHaveLength(1);
  // biome-ignore lint/suspicious/noExplicitAny: reading the registered inputs
  return found[0]?.inputs as any;
}

/** The one name `program` gave a resource whose name (after the prefix) starts so. */
function nameOf(program: 'small' | 'big', start: string) {
  const found = [...dependsOn.keys()].filter((n) => n.startsWith(`${program}-${start}`));
  expect(found, start).toHaveLength(1);
  return found[0] as string;
}

const CRS = {
  Cluster: ['kubernetes:postgresql.cnpg.io/v1:Cluster', 'cluster-nova-postgres'],
  MongoDBCommunity: [
    'kubernetes:mongodbcommunity.mongodb.com/v1:MongoDBCommunity',
    'mongodbcommunity-nova-mongodb',
  ],
  Elasticsearch: [
    'kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch',
    'elasticsearch-nova-elasticsearch',
  ],
  Kibana: ['kubernetes:kibana.k8s.elastic.co/v1:Kibana', 'kibana-nova-kibana'],
} as const;

describe('the Kubernetes program', () => {
  it('makes one custom resource per store, sized by the settings', () => {
    const spec = (program: 'small' | 'big', kind: keyof typeof CRS) =>
      inputsOf(program, ...(CRS[kind] as readonly [string, string])).spec;
    expect(spec('small', 'Cluster').instances).toBe(1);
    expect(spec('big', 'Cluster').instances).toBe(3);
    expect(spec('small', 'MongoDBCommunity').members).toBe(1);
    expect(spec('big', 'MongoDBCommunity').members).toBe(3);
    expect(spec('small', 'Elasticsearch').nodeSets[0].count).toBe(1);
    expect(spec('big', 'Elasticsearch').nodeSets[0].count).toBe(3);
    // A single instance's PodDisruptionBudget would block drains: CloudNativePG's is off then.
    expect(spec('small', 'Cluster').enablePDB).toBe(false);
    expect(spec('big', 'Cluster').enablePDB).toBe(true);
  });

  it('puts every object in the chosen namespace', () => {
    for (const [program, namespace] of [
      ['small', 'nova-small'],
      ['big', 'nova'],
    ] as const) {
      const objects = registered.filter(
        (r) =>
          r.name.startsWith(`${program}-`) &&
          r.type.startsWith('kubernetes:') &&
          !r.type.endsWith(':Namespace') &&
          !r.type.startsWith('kubernetes:helm'),
      );
      expect(objects.length).toBeGreaterThan(20);
      // biome-ignore lint/suspicious/noExplicitAny: reading the registered inputs
      expect(new Set(objects.map((r) => (r.inputs as any).metadata?.namespace))).toEqual(
        new Set([namespace]),
      );
    }
  });

  it('awaits each store as its operator reports it ready', () => {
    for (const [kind, condition] of Object.entries(READY_WHEN)) {
      const inputs = inputsOf('small', ...(CRS[kind as keyof typeof CRS] as [string, string]));
      expect(inputs.metadata.annotations['pulumi.com/waitFor']).toBe(condition);
    }
  });

  it('orders: operators, Secrets and policies, then the stores, bootstrap, the service and the dashboards', async () => {
    expect(await dependencyNames('small-cluster-nova-postgres')).toEqual(
      expect.arrayContaining([
        'small-namespace',
        'small-postgres-operator',
        'small-mongo-operator',
        'small-elastic-operator',
        `small-secret-${USER_SECRETS.postgresApp}`,
        'small-networkpolicy-nova-default-deny',
      ]),
    );
    // The MongoDB chart writes its database pods' ServiceAccount into the namespace.
    for (const operator of ['postgres', 'mongo', 'elastic']) {
      expect(await dependencyNames(`small-${operator}-operator`)).toEqual(['small-namespace']);
    }
    // Preinstalled operators: nothing to wait for but the namespace, Secrets and policies.
    expect(
      (await dependencyNames('big-cluster-nova-postgres')).filter((n) => n?.endsWith('-operator')),
    ).toEqual([]);
    const bootstrap = nameOf('small', 'job-nova-bootstrap-');
    expect(await dependencyNames(bootstrap)).toEqual([
      'small-cluster-nova-postgres',
      'small-mongodbcommunity-nova-mongodb',
      'small-elasticsearch-nova-elasticsearch',
    ]);
    for (const object of [
      'serviceaccount-nova-api',
      'deployment-nova-api',
      'service-nova-api',
      'poddisruptionbudget-nova-api',
      'horizontalpodautoscaler-nova-api',
    ]) {
      expect(await dependencyNames(`small-${object}`)).toEqual([bootstrap]);
    }
    expect(await dependencyNames(nameOf('small', 'job-nova-dashboards-'))).toEqual([
      bootstrap,
      'small-kibana-nova-kibana',
    ]);
  });

  it('gives a store\u2019s first start and the bootstrap Job 30 minutes, not the provider\u2019s 10', () => {
    for (const name of ['small-cluster-nova-postgres', nameOf('small', 'job-nova-bootstrap-')]) {
      expect(timeouts.get(name)).toEqual({ create: '30m', update: '30m' });
    }
  });

  it('installs the three operators from their pinned charts, unless they are preinstalled', () => {
    const releases = registered.filter((r) => r.type === 'kubernetes:helm.sh/v3:Release');
    expect(releases.map((r) => r.name).sort()).toEqual([
      'small-elastic-operator',
      'small-mongo-operator',
      'small-postgres-operator',
    ]);
    for (const release of releases) {
      const chart = Object.values(OPERATOR_CHARTS).find((c) => c.chart === release.inputs.chart);
      expect(chart, String(release.inputs.chart)).toBeDefined();
      expect(release.inputs.version).toBe(chart?.version);
      expect(release.inputs.repositoryOpts).toEqual({ repo: chart?.repo });
      expect(release.inputs.namespace).toBe(chart?.namespace);
    }
    // The MongoDB operator watches the data tier's namespace, ECK manages only it.
    expect(releases.find((r) => r.name === 'small-mongo-operator')?.inputs.values).toEqual({
      operator: { watchNamespace: 'nova-small' },
    });
    expect(releases.find((r) => r.name === 'small-elastic-operator')?.inputs.values).toEqual({
      managedNamespaces: ['nova-small'],
    });
  });

  it('keeps the generated passwords in Secrets, as secrets, and nowhere else', () => {
    const secrets = registered.filter(
      (r) => r.type === 'kubernetes:core/v1:Secret' && r.name.startsWith('small-'),
    );
    expect(secrets.map((r) => r.name).sort()).toEqual(
      Object.values(USER_SECRETS)
        .map((name) => `small-secret-${name}`)
        .sort(),
    );
    // The provider's Secret makes the whole of stringData a secret.
    const data = (r: (typeof secrets)[number]) =>
      secretValue(r.inputs.stringData) as Record<string, unknown>;
    const passwords = secrets.map((r) => String(data(r).password));
    for (const password of passwords) expect(password).toMatch(/^generated-small-nova-/);
    expect(new Set(passwords).size).toBe(passwords.length);
    // CloudNativePG reads the login as a basic-auth Secret whose username is the role's.
    const login = secrets.find((r) => r.name === `small-secret-${USER_SECRETS.postgresApp}`);
    expect(login?.inputs.type).toBe('kubernetes.io/basic-auth');
    expect(login && data(login).username).toBe('nova_app');
    const elsewhere = JSON.stringify(
      registered.filter(
        (r) => r.type !== 'kubernetes:core/v1:Secret' && !r.type.startsWith('random:'),
      ),
    );
    for (const password of passwords) expect(elsewhere).not.toContain(password);
  });

  it('outputs in-cluster URLs and no credential', async () => {
    expect(await resolved(small.serviceUrl)).toBe('http://nova-api.nova-small.svc:3000');
    expect(await resolved(small.kibanaUrl)).toBe('https://nova-kibana-kb-http.nova-small.svc:5601');
  });
});
