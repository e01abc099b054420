/**
 * The policy pack as the Pulumi CLI runs it, minus the CLI (not installable here): started by
 * @pulumi/pulumi's run-policy-pack from infra/policy, exactly as the CLI's
 * pulumi-analyzer-policy shim starts it (so package.json, pack.cjs and tsx are what load it),
 * then driven over its gRPC analyzer interface on 127.0.0.1 the way the engine drives it:
 * Configure with the policy config, then per resource Remediate and Analyze with the inputs
 * marshalled as the engine marshals them (secrets marked). A unit test of the pack over its
 * wire interface, not of the engine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packDir = join(dirname(fileURLToPath(import.meta.url)), '../../infra/policy');
const requireHere = createRequire(import.meta.url);
// The generated gRPC code and its runtime, from @pulumi/pulumi's own dependencies.
const requireProto = createRequire(requireHere.resolve('@pulumi/pulumi/proto/analyzer_pb.js'));
const proto = requireProto('./analyzer_pb.js');
const services = requireProto('./analyzer_grpc_pb.js');
const grpc = requireProto('@grpc/grpc-js');
const { Struct } = requireProto('google-protobuf/google/protobuf/struct_pb.js');
const { Empty } = requireProto('google-protobuf/google/protobuf/empty_pb.js');

interface Diagnostic {
  policy: string;
  level: number;
  message: string;
}

let pack: ChildProcess;
// biome-ignore lint/suspicious/noExplicitAny: generated gRPC client without typings
let client: any;

beforeAll(async () => {
  const runner = requireHere.resolve('@pulumi/pulumi/cmd/run-policy-pack');
  pack = spawn(process.execPath, [runner, '127.0.0.1:1', '.'], {
    cwd: packDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  pack.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  // The pack prints the port its analyzer listens on, as the engine expects.
  const port = await new Promise<string>((resolve, reject) => {
    pack.stdout?.once('data', (chunk) => resolve(String(chunk).trim()));
    pack.once('exit', (code) => reject(new Error(`the pack exited (${code}): ${stderr}`)));
  });
  expect(port).toMatch(/^\d+$/);
  client = new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 120_000);

afterAll(() => {
  client?.close();
  pack?.kill();
});

const call = <T>(method: string, request: unknown) =>
  new Promise<T>((resolve, reject) =>
    client[method](request, (error: Error | null, response: T) =>
      error ? reject(error) : resolve(response),
    ),
  );

/** Configure, as the engine does with the reconciled policy config. */
async function configure(allowPublicBind: boolean) {
  const request = new proto.ConfigureAnalyzerRequest();
  const config = new proto.PolicyConfig();
  config.setEnforcementlevel(proto.EnforcementLevel.MANDATORY);
  config.setProperties(Struct.fromJavaScript({ allowPublicBind }));
  request.getPolicyconfigMap().set('nova-no-public-ports', config);
  await call('configure', request);
}

/** The engine's two passes on one docker.Container: Remediate, then Analyze. */
async function analyzeContainer(inputs: Record<string, unknown>, { remediate = true } = {}) {
  const request = new proto.AnalyzeRequest();
  request.setType('docker:index/container:Container');
  request.setName(String(inputs.name));
  request.setUrn(
    `urn:pulumi:local::nova-universe::docker:index/container:Container::${inputs.name}`,
  );
  request.setProperties(Struct.fromJavaScript(inputs));
  request.setOptions(new proto.AnalyzerResourceOptions());
  if (remediate) {
    // biome-ignore lint/suspicious/noExplicitAny: generated message
    const remediations: any = await call('remediate', request);
    expect(remediations.getRemediationsList()).toEqual([]); // it changes nothing
  }
  // biome-ignore lint/suspicious/noExplicitAny: generated message
  const response: any = await call('analyze', request);
  // biome-ignore lint/suspicious/noExplicitAny: generated message
  return response.getDiagnosticsList().map((d: any) => ({
    policy: d.getPolicyname(),
    level: d.getEnforcementlevel(),
    message: d.getMessage(),
  })) as Diagnostic[];
}

/** One Kubernetes object as the engine hands it over: its type token and its inputs. */
function kubernetesResource(object: {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
}) {
  const group = object.apiVersion.includes('/') ? object.apiVersion : `core/${object.apiVersion}`;
  const type = `kubernetes:${group}:${object.kind}`;
  return {
    type,
    name: object.metadata.name,
    urn: `urn:pulumi:local::nova-universe::${type}::${object.metadata.name}`,
    object,
  };
}

const diagnostics = (response: { getDiagnosticsList(): unknown[] }) =>
  // biome-ignore lint/suspicious/noExplicitAny: generated message
  response.getDiagnosticsList().map((d: any) => ({
    policy: d.getPolicyname(),
    level: d.getEnforcementlevel(),
    message: d.getMessage(),
  })) as Diagnostic[];

/** The engine's per-resource Analyze of one Kubernetes object. */
async function analyzeObject(object: Parameters<typeof kubernetesResource>[0]) {
  const { type, name, urn } = kubernetesResource(object);
  const request = new proto.AnalyzeRequest();
  request.setType(type);
  request.setName(name);
  request.setUrn(urn);
  request.setProperties(Struct.fromJavaScript(object));
  request.setOptions(new proto.AnalyzerResourceOptions());
  return diagnostics(await call('analyze', request));
}

/** The engine's AnalyzeStack over these objects, after the update's resources are known. */
async function analyzeStack(objects: Parameters<typeof kubernetesResource>[0][]) {
  const request = new proto.AnalyzeStackRequest();
  request.setResourcesList(
    objects.map((object) => {
      const { type, name, urn } = kubernetesResource(object);
      const resource = new proto.AnalyzerResource();
      resource.setType(type);
      resource.setName(name);
      resource.setUrn(urn);
      resource.setProperties(Struct.fromJavaScript(object));
      resource.setOptions(new proto.AnalyzerResourceOptions());
      return resource;
    }),
  );
  return diagnostics(await call('analyzeStack', request));
}

const secret = (value: unknown) => ({
  [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
  value,
});

const postgres = {
  name: 'nova-postgres',
  image: 'sha256:0123',
  restart: 'unless-stopped',
  memory: 1024,
  healthcheck: { tests: ['CMD', 'pg_isready', '-h', '127.0.0.1'] },
  envs: ['POSTGRES_USER=nova', secret('POSTGRES_PASSWORD=generated')],
};

describe('the nova-universe policy pack, loaded as Pulumi loads it', () => {
  it('describes its six policies, the secrets one at level remediate', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: generated message
    const info: any = await call('getAnalyzerInfo', new Empty());
    expect(info.getName()).toBe('nova-universe');
    expect(info.getVersion()).toBe('0.1.0');
    // biome-ignore lint/suspicious/noExplicitAny: generated message
    const levels = info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]);
    expect(levels).toEqual([
      ['nova-pinned-images', proto.EnforcementLevel.MANDATORY],
      ['nova-no-public-ports', proto.EnforcementLevel.MANDATORY],
      ['nova-healthcheck-and-memory', proto.EnforcementLevel.MANDATORY],
      ['nova-kubernetes-workloads', proto.EnforcementLevel.MANDATORY],
      ['nova-kubernetes-disruption-budgets', proto.EnforcementLevel.MANDATORY],
      ['nova-no-plaintext-secrets', proto.EnforcementLevel.REMEDIATE],
    ]);
  });

  it('passes a compliant container', async () => {
    await configure(false);
    expect(await analyzeContainer(postgres)).toEqual([]);
  });

  it('stops a plain-text credential, as a mandatory violation that names it but not its value', async () => {
    const leaky = { ...postgres, envs: ['POSTGRES_USER=nova', 'POSTGRES_PASSWORD=hunter2'] };
    const found = await analyzeContainer(leaky);
    expect(found).toEqual([
      {
        policy: 'nova-no-plaintext-secrets',
        level: proto.EnforcementLevel.MANDATORY,
        message: expect.stringContaining('nova-postgres has POSTGRES_PASSWORD in plain text'),
      },
    ]);
    expect(found[0]?.message).not.toContain('hunter2');
  });

  it('reports a container it could not check (no remediation pass) instead of passing it', async () => {
    const found = await analyzeContainer(postgres, { remediate: false });
    expect(found.map((d) => [d.policy, d.level])).toEqual([
      ['nova-no-plaintext-secrets', proto.EnforcementLevel.MANDATORY],
    ]);
  });

  it('refuses a port on 0.0.0.0 unless the policy config allows it', async () => {
    const kibana = {
      ...postgres,
      name: 'nova-kibana',
      envs: [],
      ports: [{ internal: 5601, external: 5601, ip: '0.0.0.0' }],
    };
    await configure(false);
    expect((await analyzeContainer(kibana)).map((d) => d.policy)).toEqual(['nova-no-public-ports']);
    await configure(true);
    expect(await analyzeContainer(kibana)).toEqual([]);
  });

  it("passes the Kubernetes program's objects, and stops a pod that floats, runs unprobed and as root", async () => {
    const { allObjects, dataTier } = await import('../../infra/k8s/objects.js');
    const { readKubernetesSettings } = await import('../../infra/k8s/settings.js');
    const objects = allObjects(
      dataTier(readKubernetesSettings({ serviceImage: 'registry.example/nova:1.2.3' })),
    );
    for (const object of objects) expect(await analyzeObject(object)).toEqual([]);
    expect(await analyzeStack(objects)).toEqual([]);

    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment'));
    if (!deployment) throw new Error('no Deployment');
    // biome-ignore lint/suspicious/noExplicitAny: the test edits the object in place
    const pod = (deployment.spec as any).template.spec;
    pod.containers[0].image = 'registry.example/nova:latest';
    delete pod.containers[0].readinessProbe;
    delete pod.securityContext.runAsNonRoot;
    const found = await analyzeObject(deployment);
    expect(found.map((d) => d.policy)).toEqual(Array(3).fill('nova-kubernetes-workloads'));
    expect(found.map((d) => d.message).join('\n')).toMatch(/floats[\s\S]*readiness[\s\S]*root/);
  });

  it('stops a PodDisruptionBudget that would block every drain, over the whole stack', async () => {
    const { allObjects, dataTier } = await import('../../infra/k8s/objects.js');
    const { readKubernetesSettings } = await import('../../infra/k8s/settings.js');
    const objects = allObjects(
      dataTier(
        readKubernetesSettings({
          serviceImage: 'registry.example/nova:1.2.3',
          serviceReplicas: '1',
        }),
      ),
    ).map((object) =>
      object.kind === 'PodDisruptionBudget'
        ? {
            ...object,
            spec: { ...(object.spec as object), maxUnavailable: undefined, minAvailable: 1 },
          }
        : object,
    );
    const found = await analyzeStack(JSON.parse(JSON.stringify(objects)));
    expect(found).toEqual([
      {
        policy: 'nova-kubernetes-disruption-budgets',
        level: proto.EnforcementLevel.MANDATORY,
        message: expect.stringContaining('would block every node drain'),
      },
    ]);
  });
});
