/**
 * The rendered manifests in k8s/, read from disk as `kubectl apply -k` would read them:
 * up to date with the code; the prod overlay's patches, applied to the base by an RFC 6902
 * implementation other than the one that computed them, give exactly the prod rendering;
 * every object valid (built-in kinds against the Kubernetes schema, custom resources against
 * their CRDs, closed to unknown fields as the API server's strict field validation is); every
 * policy rule held; no Secret or secret value; every environment as src/config.ts reads it.
 *
 * First contact: the operators refuse or ignore some resources their CRDs accept. Those
 * rules are checked here, each with the operator source that enforces it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from '../../infra/k8s/meta.js';
import {
  ELASTIC_ADMIN_SECRET,
  ELASTIC_CA_SECRET,
  KIBANA_CA_SECRET,
  POSTGRES_CA_SECRET,
  POSTGRES_OWNER_SECRET,
  USER_SECRETS,
} from '../../infra/k8s/names.js';
import { allObjects, dataTier } from '../../infra/k8s/objects.js';
import { RENDERED_NAMESPACE, renderFiles, SIZES } from '../../infra/k8s/render.js';
import { readKubernetesSettings } from '../../infra/k8s/settings.js';
import { strictSchema, validationErrors } from '../../infra/k8s/validate.js';
import { APP_USER } from '../../infra/names.js';
import { disruptionViolations, kubernetesViolations } from '../../infra/policy/k8s-rules.js';
import { loadConfig } from '../../src/config.js';

const K8S = fileURLToPath(new URL('../../k8s/', import.meta.url));
const read = (path: string) => readFileSync(join(K8S, path), 'utf8');
const documents = (path: string) =>
  parseAllDocuments(read(path)).map((document) => document.toJS() as K8sObject);

interface Kustomization {
  namespace?: string;
  resources: string[];
  patches?: {
    target: { group: string; version: string; kind: string; name: string };
    patch: string;
    options?: { allowNameChange?: boolean };
  }[];
}
const kustomization = (dir: string) =>
  documents(`${dir}/kustomization.yaml`)[0] as unknown as Kustomization;

/** The base's objects, in its kustomization's order. */
const base = () => kustomization('base').resources.flatMap((file) => documents(`base/${file}`));

/** The prod overlay applied to the base: each patch to the object its target names. */
function prodOverlay(): K8sObject[] {
  const objects = structuredClone(base());
  for (const { target, patch } of kustomization('overlays/prod').patches ?? []) {
    const object = objects.find(
      (o) =>
        o.kind === target.kind &&
        o.metadata.name === target.name &&
        o.apiVersion === (target.group ? `${target.group}/${target.version}` : target.version),
    );
    if (!object) throw new Error(`the patch targets no object: ${JSON.stringify(target)}`);
    const results = applyPatch(object, parseAllDocuments(patch)[0]?.toJS());
    expect(results.filter(Boolean), JSON.stringify(target)).toEqual([]);
  }
  return objects;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('k8s/, as rendered', () => {
  it('is what the code renders now (npm run k8s:render), and nothing else', () => {
    const rendered = renderFiles();
    for (const [file, content] of rendered) expect(read(file), file).toBe(content);
    const onDisk = filesUnder(K8S)
      .map((path) => relative(K8S, path))
      .filter((path) => path.endsWith('.yaml'));
    expect(onDisk.sort()).toEqual([...rendered.keys()].sort());
  });

  it('puts both overlays in one namespace over the base', () => {
    for (const overlay of ['overlays/small', 'overlays/prod']) {
      expect(kustomization(overlay)).toMatchObject({
        namespace: RENDERED_NAMESPACE,
        resources: ['../../base'],
      });
    }
    expect(kustomization('overlays/small').patches).toBeUndefined();
  });

  it('small is the small settings, and prod (base + its patches) is exactly the prod settings', () => {
    expect(base()).toEqual(allObjects(dataTier(readKubernetesSettings(SIZES.small))));
    expect(prodOverlay()).toEqual(allObjects(dataTier(readKubernetesSettings(SIZES.prod))));
  });

  it('lets kustomize rename only the objects whose name carries their spec hash (the Jobs)', () => {
    for (const { target, patch, options } of kustomization('overlays/prod').patches ?? []) {
      const renames = patch.includes('/metadata/name');
      expect(renames, target.name).toBe(target.kind === 'Job');
      expect(options?.allowNameChange === true, target.name).toBe(renames);
    }
  });

  it.each([
    ['small', base],
    ['prod', prodOverlay],
  ])('%s: every object is valid against its schema', async (_size, objects) => {
    for (const object of objects()) expect(await validationErrors(object)).toEqual([]);
  });

  it.each([
    ['small', base],
    ['prod', prodOverlay],
  ])('%s: every policy rule holds', (_size, objects) => {
    expect(kubernetesViolations(objects())).toEqual([]);
  });

  it('holds no Secret and no credential: every secret is a reference to a known Secret', () => {
    const text = filesUnder(K8S)
      .filter((path) => path.endsWith('.yaml'))
      .map((path) => readFileSync(path, 'utf8'))
      .join('\n');
    expect(text).not.toMatch(/^kind: Secret$/m);
    // No YAML anchors or aliases: each object reads on its own.
    expect(text).not.toMatch(/[&*]a\d+\b/);
    expect(text).not.toMatch(/stringData|password: /);
    const known = new Set<string>([
      ...Object.values(USER_SECRETS),
      POSTGRES_OWNER_SECRET,
      ELASTIC_ADMIN_SECRET,
    ]);
    const refs = [...text.matchAll(/secretKeyRef:\s+name: (\S+)/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) expect(known, ref).toContain(ref);
    const cas = [...text.matchAll(/secretName: (\S+)/g)].map((m) => m[1]);
    expect(new Set(cas)).toEqual(
      new Set([POSTGRES_CA_SECRET, ELASTIC_CA_SECRET, KIBANA_CA_SECRET]),
    );
  });
});

/** Every container of the tier's pods, with its pod's owner. */
function containers(objects: K8sObject[]) {
  return objects.flatMap((object) => {
    // biome-ignore lint/suspicious/noExplicitAny: walking rendered objects
    const pod = (object.spec as any)?.template?.spec;
    if (!pod) return [];
    return [...(pod.initContainers ?? []), ...pod.containers].map((container) => ({
      owner: object.metadata.name,
      container,
    }));
  });
}

/**
 * A container's environment as Kubernetes gives it to the process: each secretKeyRef by a
 * stand-in value, and `$(NAME)` expanded from the variables defined before it (Kubernetes
 * leaves a reference to a later or unknown variable as it is, which the test refuses).
 */
function expand(env: { name: string; value?: string; valueFrom?: unknown }[]) {
  const values: Record<string, string> = {};
  for (const { name, value, valueFrom } of env) {
    if (valueFrom) {
      values[name] = `secret-for-${name.toLowerCase().replaceAll('_', '-')}`;
      continue;
    }
    values[name] = (value ?? '').replace(/\$\(([A-Z0-9_]+)\)/g, (ref, variable: string) => {
      const defined = values[variable];
      if (defined === undefined) throw new Error(`${name} refers to ${ref}, not defined before it`);
      return defined;
    });
  }
  return values;
}

describe('the containers\u2019 environments', () => {
  const objects = allObjects(dataTier(readKubernetesSettings({ ...SIZES.prod, mongoTls: 'true' })));

  it('are read by src/config.ts as the roles they play', () => {
    const seen = new Set<string>();
    for (const { owner, container } of containers(objects)) {
      const env = expand(container.env);
      const config = loadConfig(env);
      seen.add(container.name);
      if (container.name === 'dashboards') {
        expect(config.kibana?.url).toBe('https://nova-kibana-kb-http:5601');
        continue;
      }
      // The application's login, verified against CloudNativePG's CA.
      const url = new URL(env.DATABASE_URL ?? '');
      expect(url.username, owner).toBe(APP_USER);
      expect(url.searchParams.get('sslmode')).toBe('verify-full');
      expect(url.password).toBe('secret-for-nova-postgres-app-password');
      if (container.name === 'bootstrap') {
        expect(new URL(env.DATABASE_OWNER_URL ?? '').username).toBe('nova');
        expect(env.MONGO_ADMIN_USER).toBe('nova-admin');
      }
      if (container.name !== 'reindex-tickets' && container.name !== 'reindex-kb') {
        expect(env.MONGO_URL).toBe(
          'mongodb://nova-mongodb-0.nova-mongodb-svc:27017,nova-mongodb-1.nova-mongodb-svc:27017,nova-mongodb-2.nova-mongodb-svc:27017/?replicaSet=nova-mongodb&tls=true',
        );
      }
    }
    expect([...seen].sort()).toEqual([
      'bootstrap',
      'dashboards',
      'nova-api',
      'reindex-kb',
      'reindex-tickets',
    ]);
  });

  it('give the service no administrator\u2019s credential', () => {
    const service = containers(objects).find(({ container }) => container.name === 'nova-api');
    const names = (service?.container.env ?? []).map((e: { name: string }) => e.name);
    expect(names).toContain('DATABASE_URL');
    for (const admin of ['DATABASE_OWNER_URL', 'MONGO_ADMIN_PASSWORD', 'ELASTIC_ADMIN_PASSWORD']) {
      expect(names).not.toContain(admin);
    }
  });

  it('mount every CA file they name', () => {
    for (const { container } of containers(objects)) {
      const files = container.env
        .map((e: { value?: string }) => e.value ?? '')
        .flatMap((value: string) => value.match(/\/etc\/nova\/ca\/[a-z]+\/ca\.crt/g) ?? []);
      for (const file of files) {
        const mounted = container.volumeMounts.some(
          (m: { mountPath: string }) => file === `${m.mountPath}/ca.crt`,
        );
        expect(mounted, `${container.name}: ${file}`).toBe(true);
      }
    }
  });
});

describe('custom resources, as the API server and the operators judge them', () => {
  const tier = dataTier(readKubernetesSettings(SIZES.prod));

  it('refuses a field the CRD does not declare, and a value of the wrong type', async () => {
    const typo = structuredClone(tier.stores.postgres);
    (typo.spec as Record<string, unknown>).instance = 3;
    expect(await validationErrors(typo)).toEqual([
      expect.stringContaining('must NOT have additional properties (instance)'),
    ]);
    const wrong = structuredClone(tier.stores.mongo);
    (wrong.spec as Record<string, unknown>).members = 'three';
    expect((await validationErrors(wrong)).join()).toMatch(/members must be integer/);
  });

  it('accepts both forms of an int-or-string quantity, and keeps preserve-unknown-fields open', async () => {
    const es = structuredClone(tier.stores.elastic);
    // biome-ignore lint/suspicious/noExplicitAny: editing a rendered resource
    const container = (es.spec as any).nodeSets[0].podTemplate.spec.containers[0];
    container.resources.limits.memory = 8 * 1024 ** 3;
    expect(await validationErrors(es)).toEqual([]);
    // nodeSets[].config is free-form (x-kubernetes-preserve-unknown-fields).
    // biome-ignore lint/suspicious/noExplicitAny: editing a rendered resource
    (es.spec as any).nodeSets[0].config['indices.memory.index_buffer_size'] = '20%';
    expect(await validationErrors(es)).toEqual([]);
    expect(
      strictSchema({
        type: 'object',
        properties: { a: {} },
        'x-kubernetes-preserve-unknown-fields': true,
      }),
    ).not.toHaveProperty('additionalProperties');
  });

  it('names what ECK requires: the container, the data claim, a short nodeSet name, an exact version', () => {
    // biome-ignore lint/suspicious/noExplicitAny: reading a rendered resource
    const es = tier.stores.elastic.spec as any;
    // elastic/cloud-on-k8s v3.5.0: pkg/apis/elasticsearch/v1/elasticsearch_types.go
    // (ElasticsearchContainerName), pkg/controller/elasticsearch/volume/names.go
    // (ElasticsearchDataVolumeName), validation/validations.go (nodeSet names, version).
    for (const set of es.nodeSets) {
      expect(set.name).toMatch(/^[a-zA-Z0-9-]{1,23}$/);
      expect(set.podTemplate.spec.containers.map((c: { name: string }) => c.name)).toEqual([
        'elasticsearch',
      ]);
      expect(
        set.volumeClaimTemplates.map((c: { metadata: { name: string } }) => c.metadata.name),
      ).toEqual(['elasticsearch-data']);
    }
    expect(es.version).toMatch(/^8\.\d+\.\d+$/);
    // A pod template that sets a security context replaces ECK's default one (fsGroup 1000,
    // seccomp RuntimeDefault: nodespec/podspec.go, kibana/securitycontext.go): it must keep
    // both, or uid 1000 cannot write a root-owned volume.
    for (const pod of [es.nodeSets[0].podTemplate.spec, tier.stores.kibana.spec]) {
      const context = (pod.podTemplate?.spec ?? pod).securityContext;
      expect(context).toMatchObject({ fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    }
    // biome-ignore lint/suspicious/noExplicitAny: reading a rendered resource
    const kibana = tier.stores.kibana.spec as any;
    expect(kibana.podTemplate.spec.containers.map((c: { name: string }) => c.name)).toEqual([
      'kibana',
    ]);
    expect(kibana.version).toBe(es.version);
  });

  it('names what the MongoDB operator requires: its containers, claims, a full version, SCRAM secrets', () => {
    // biome-ignore lint/suspicious/noExplicitAny: reading a rendered resource
    const mongo = tier.stores.mongo.spec as any;
    // mongodb/mongodb-kubernetes 1.10.0: mongodb-community-operator/controllers/construct/
    // mongodbstatefulset.go (container and volume names); controllers/validation/validation.go
    // (every SCRAM user names its password Secret and a scramCredentialsSecretName, distinct);
    // docs/mongodbcommunity/deploy-configure.md (the version is a full release).
    const template = mongo.statefulSet.spec;
    expect(template.template.spec.containers.map((c: { name: string }) => c.name)).toEqual([
      'mongod',
      'mongodb-agent',
    ]);
    expect(template.volumeClaimTemplates[0].metadata.name).toBe('data-volume');
    expect(template.replicas).toBeUndefined(); // it must equal members when set
    expect(mongo.version).toMatch(/^\d+\.\d+\.\d+$/);
    const scram = mongo.users.map(
      (u: { scramCredentialsSecretName: string }) => u.scramCredentialsSecretName,
    );
    expect(new Set(scram).size).toBe(scram.length);
    for (const user of mongo.users) {
      expect(user.passwordSecretRef.name).toBeTruthy();
      expect(user.scramCredentialsSecretName).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('keeps to what CloudNativePG allows: no fixed parameter, no reserved role, a PostgreSQL 15 image', () => {
    // biome-ignore lint/suspicious/noExplicitAny: reading a rendered resource
    const cluster = tier.stores.postgres.spec as any;
    // cloudnative-pg v1.30.0: internal/webhook/v1/cluster_webhook.go refuses fixed parameters
    // (pkg/postgres/configuration.go FixedConfigurationParameters, shared_preload_libraries
    // among them) and reserved role names; docs/src/container_images.md: the tag starts with
    // the major version.
    expect(Object.keys(cluster.postgresql.parameters)).not.toContain('shared_preload_libraries');
    expect(
      Object.keys(cluster.postgresql.parameters).some((p) => p.startsWith('pg_stat_statements.')),
    ).toBe(true);
    for (const role of cluster.managed.roles) {
      expect(['postgres', 'streaming_replica']).not.toContain(role.name);
    }
    expect(cluster.imageName).toMatch(/:15\.\d+-/);
    expect(cluster.enableSuperuserAccess).toBeUndefined(); // false by default: no superuser Secret
  });
});

describe('the disruption-budget rule', () => {
  const objects = (replicas: number, budget: Record<string, unknown>) => {
    const tier = allObjects(
      dataTier(
        readKubernetesSettings({ serviceImage: 'r/nova:1.0.0', serviceReplicas: String(replicas) }),
      ),
    );
    return tier.map((object) =>
      object.kind === 'PodDisruptionBudget'
        ? {
            ...object,
            spec: { selector: (object.spec as { selector: unknown }).selector, ...budget },
          }
        : object,
    );
  };

  it.each([
    [1, { minAvailable: 1 }, 1],
    [1, { minAvailable: '100%' }, 1],
    [2, { maxUnavailable: 0 }, 1],
    [2, { minAvailable: 2 }, 1],
    [2, { minAvailable: 1 }, 0],
    [1, { maxUnavailable: '100%' }, 0],
    [3, { maxUnavailable: '34%' }, 0],
  ])('%i replicas with %j: %i violation(s)', (replicas, budget, expected) => {
    expect(disruptionViolations(objects(replicas, budget))).toHaveLength(expected);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: the tests below break rendered objects on purpose
type Loose = any;

describe('each rule, shown failing on a broken object', () => {
  const fresh = () => dataTier(readKubernetesSettings(SIZES.small));
  type Edit = (tier: ReturnType<typeof fresh>, pod: Loose) => void;
  const deploymentPod = (tier: ReturnType<typeof fresh>) =>
    (tier.service.find((o) => o.kind === 'Deployment') as Loose).spec.template.spec;

  it.each<[string, Edit, RegExp]>([
    ['no memory limit', (_t, pod) => delete pod.containers[0].resources.limits, /no memory limit/],
    [
      'no requests',
      (_t, pod) => delete pod.containers[0].resources.requests,
      /requests no CPU or memory/,
    ],
    ['no liveness probe', (_t, pod) => delete pod.containers[0].livenessProbe, /no liveness probe/],
    [
      'a floating image',
      (_t, pod) => (pod.containers[0].image = 'r/nova:latest'),
      /floats|not pinned/,
    ],
    ['root allowed', (_t, pod) => delete pod.securityContext.runAsNonRoot, /may run as root/],
    [
      'a host path',
      (_t, pod) => pod.volumes.push({ name: 'docker', hostPath: { path: '/var/run/docker.sock' } }),
      /mounts the host path \/var\/run\/docker.sock/,
    ],
    ['host networking', (_t, pod) => (pod.hostNetwork = true), /sets hostNetwork/],
    [
      'a floating PostgreSQL image',
      (tier) =>
        ((tier.stores.postgres.spec as { imageName: string }).imageName =
          'ghcr.io/cloudnative-pg/postgresql:15'),
      /Cluster nova-postgres: .*floats/,
    ],
    [
      'Elasticsearch pods allowed to run as root',
      (tier) =>
        delete (tier.stores.elastic.spec as Loose).nodeSets[0].podTemplate.spec.securityContext,
      /Elasticsearch nova-elasticsearch nodeSet default may run as root/,
    ],
    [
      'a Kibana pod without a memory limit',
      (tier) =>
        delete (tier.stores.kibana.spec as Loose).podTemplate.spec.containers[0].resources.limits,
      /Kibana nova-kibana container kibana has no memory limit/,
    ],
  ])('%s', (_what, edit, message) => {
    const tier = fresh();
    edit(tier, deploymentPod(tier));
    const found = kubernetesViolations(allObjects(tier));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('a built-in object of the wrong shape fails the Kubernetes schema', async () => {
    const tier = fresh();
    const deployment = tier.service.find((o) => o.kind === 'Deployment') as K8sObject;
    (deployment.spec as Record<string, unknown>).replicas = 'two';
    expect((await validationErrors(deployment)).join()).toMatch(/replicas.*integer/);
  });
});
