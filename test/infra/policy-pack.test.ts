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
  it('describes its four policies, the secrets one at level remediate', async () => {
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
});
