/**
 * The policy pack's rules, each against a compliant and a violating resource, and the pack's
 * policies run the way the engine runs them (validateResource with a resource's type, inputs
 * and policy config; for the secrets policy, its remediation first, on inputs deserialized by
 * @pulumi/policy's own code with their secret markers), so a rule not wired into its policy
 * fails here too. test/infra/policy-pack.test.ts drives the loaded pack over gRPC.
 */
import { createRequire } from 'node:module';
import * as docker from '@pulumi/docker';
import type { ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { novaPolicies } from '../../infra/policy/policies.js';
import {
  credentialVariable,
  imageViolations,
  longRunningViolations,
  plainTextSecretViolations,
  portViolations,
} from '../../infra/policy/rules.js';
import { envEntries } from '../../infra/policy/secretness.js';

// @pulumi/policy's deserializer and proxies, as its Remediate and Analyze handlers use them.
const requirePolicy = createRequire(createRequire(import.meta.url).resolve('@pulumi/policy'));
const { deserializeProperties } = requirePolicy('./deserialize.js') as {
  deserializeProperties: (struct: unknown, keepSecrets: boolean) => Record<string, unknown>;
};
const { unknownCheckingProxy } = requirePolicy('./proxy.js') as {
  unknownCheckingProxy: <T>(props: T) => T;
};
const { Struct } = requirePolicy('google-protobuf/google/protobuf/struct_pb.js') as {
  Struct: { fromJavaScript: (value: unknown) => unknown };
};

/** A value as the engine sends a secret (the SDK's wire marker). */
const secret = (value: unknown) => ({
  [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
  value,
});
/** An unknown string as the engine sends it during a preview. */
const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

/** Inputs as @pulumi/policy hands them to a remediation (secrets kept) or a validation. */
const sdkProps = (wire: Record<string, unknown>, keepSecrets: boolean) =>
  unknownCheckingProxy(deserializeProperties(Struct.fromJavaScript(wire), keepSecrets));

const service = {
  name: 'nova-api',
  restart: 'unless-stopped',
  memory: 512,
  healthcheck: { tests: ['CMD', 'node', 'dist/cli.js', 'smoke', '--timeout', '5s'] },
  ports: [{ internal: 3000, external: 3000, ip: '127.0.0.1' }],
};

describe('rules', () => {
  it('no floating image', () => {
    expect(imageViolations('docker.elastic.co/kibana/kibana:8.19.24')).toEqual([]);
    expect(imageViolations('mongo:latest')).toEqual([
      expect.stringContaining("floats (tag 'latest')"),
    ]);
    expect(imageViolations('mongo')).toEqual([expect.stringContaining('is not pinned')]);
  });

  it('no port on every interface unless allowed', () => {
    expect(portViolations(service, { allowPublicBind: false })).toEqual([]);
    const open = { ...service, ports: [{ internal: 5601, external: 5601, ip: '0.0.0.0' }] };
    const implicit = { ...service, ports: [{ internal: 3000, external: 8080 }] };
    expect(portViolations(open, { allowPublicBind: false })).toEqual([
      'nova-api publishes 5601 on 0.0.0.0: bind it to 127.0.0.1, or set nova:allowPublicBind',
    ]);
    expect(portViolations(implicit, { allowPublicBind: false })).toEqual([
      'nova-api publishes 8080 on every interface: bind it to 127.0.0.1, or set nova:allowPublicBind',
    ]);
    expect(portViolations(open, { allowPublicBind: true })).toEqual([]);
  });

  it('a healthcheck and a memory limit on every long-running container, not on one-shot ones', () => {
    expect(longRunningViolations(service)).toEqual([]);
    expect(longRunningViolations({ name: 'bare', restart: 'unless-stopped' })).toEqual([
      'bare has no healthcheck',
      'bare has no memory limit',
    ]);
    expect(longRunningViolations({ ...service, healthcheck: { tests: [] } })).toEqual([
      'nova-api has no healthcheck',
    ]);
    expect(longRunningViolations({ name: 'nova-bootstrap', restart: 'no', attach: true })).toEqual(
      [],
    );
  });

  it('tells a credential by its name or by a password in a URL, never by a path to one', () => {
    for (const entry of [
      'POSTGRES_PASSWORD=s3cret',
      'MONGO_INITDB_ROOT_PASSWORD=s3cret',
      'ELASTIC_PASSWORD=s3cret',
      'XPACK_SECURITY_ENCRYPTIONKEY=0123456789abcdef0123456789abcdef',
      'ELASTICSEARCH_SERVICEACCOUNTTOKEN=AAEAAWVsYXN0aWM',
      'xpack.security.http.ssl.keystore.secure_password=s3cret',
      'NOVA_API_KEY=abc',
      'PULUMI_CONFIG_PASSPHRASE=abc',
      'DATABASE_URL=postgresql://nova:s3cret@nova-postgres:5432/nova_universe',
    ]) {
      expect(credentialVariable(entry), entry).toBe(entry.slice(0, entry.indexOf('=')));
    }
    for (const entry of [
      'POSTGRES_USER=nova',
      'POSTGRES_DB=nova_universe',
      'POSTGRES_PASSWORD_FILE=/run/secrets/postgres',
      'xpack.security.http.ssl.key=certs/es01/es01.key',
      'ELASTICSEARCH_HOSTS=https://nova-es-1:9200',
      'MONGO_URL=mongodb://nova-mongodb-1:27017/?replicaSet=rs0',
      'POSTGRES_PASSWORD=',
      'ES_JAVA_OPTS=-Xms1g -Xmx1g',
      'no-equals-sign',
    ]) {
      expect(credentialVariable(entry), entry).toBeUndefined();
    }
  });

  it('no credential in plain text in a container environment; secret ones and others pass', () => {
    const compliant = [
      { text: 'POSTGRES_USER=nova', secret: false },
      { text: 'POSTGRES_PASSWORD=generated', secret: true },
    ];
    expect(plainTextSecretViolations('nova-postgres', compliant)).toEqual([]);
    const violating = [...compliant, { text: 'PGADMIN_DEFAULT_PASSWORD=hunter2', secret: false }];
    const found = plainTextSecretViolations('nova-pgadmin', violating);
    expect(found).toEqual([
      expect.stringMatching(/^nova-pgadmin has PGADMIN_DEFAULT_PASSWORD in plain text/),
    ]);
    expect(found.join('')).not.toContain('hunter2');
  });
});

describe('secretness as @pulumi/policy hands it over', () => {
  const wire = {
    name: 'nova-postgres',
    envs: ['POSTGRES_USER=nova', secret('POSTGRES_PASSWORD=generated'), UNKNOWN],
  };

  it('a remediation sees which entries are secrets; unknown entries are left out', () => {
    expect(envEntries(sdkProps(wire, true))).toEqual([
      { text: 'POSTGRES_USER=nova', secret: false },
      { text: 'POSTGRES_PASSWORD=generated', secret: true },
    ]);
    expect(envEntries(sdkProps({ envs: secret(['A_PASSWORD=x', 'B=y']) }, true))).toEqual([
      { text: 'A_PASSWORD=x', secret: true },
      { text: 'B=y', secret: true },
    ]);
    expect(envEntries(sdkProps({ name: 'x' }, true))).toEqual([]);
  });

  it('a validation cannot: its inputs come unwrapped (why the check runs while remediating)', () => {
    expect(envEntries(sdkProps(wire, false))).toContainEqual({
      text: 'POSTGRES_PASSWORD=generated',
      secret: false,
    });
  });
});

const URN = 'urn:pulumi:local::nova-universe::docker:index/container:Container::t';

/** The argument bag @pulumi/policy builds for a resource: its type, inputs and policy config. */
function argsFor(
  resourceClass: unknown,
  props: Record<string, unknown>,
  config: Record<string, unknown> = {},
) {
  return {
    type: 'test',
    props,
    urn: URN,
    name: 't',
    opts: {},
    isType: (type: unknown) => type === resourceClass,
    asType: () => props,
    getConfig: () => config,
  } as unknown as ResourceValidationArgs;
}

/** Runs `policy` on a resource as the engine would: its type, its inputs, the policy's config. */
function violations(
  policy: ResourceValidationPolicy,
  resourceClass: unknown,
  props: Record<string, unknown>,
  config: Record<string, unknown> = {},
): string[] {
  const found: string[] = [];
  const args = argsFor(resourceClass, props, config);
  const validate = policy.validateResource;
  for (const fn of Array.isArray(validate) ? validate : validate ? [validate] : []) {
    void fn(args, (message: string) => found.push(message));
  }
  return found;
}

/** The engine's two passes on one resource: remediate (secrets kept), then validate. */
async function remediatedViolations(
  policy: ResourceValidationPolicy,
  wire: Record<string, unknown>,
) {
  const remediation = await policy.remediateResource?.(
    argsFor(docker.Container, sdkProps(wire, true)),
  );
  expect(remediation).toBeUndefined(); // it changes nothing
  return violations(policy, docker.Container, sdkProps(wire, false));
}

describe('the nova-universe policy pack', () => {
  const policies = Object.fromEntries(novaPolicies().map((p) => [p.name, p]));
  const policy = (name: string) => policies[name] as ResourceValidationPolicy;

  it('is mandatory, all of it (the secrets policy by way of remediate: see policies.ts)', () => {
    expect(Object.keys(policies)).toEqual([
      'nova-pinned-images',
      'nova-no-public-ports',
      'nova-healthcheck-and-memory',
      'nova-kubernetes-workloads',
      'nova-kubernetes-disruption-budgets',
      'nova-no-plaintext-secrets',
    ]);
    expect(Object.values(policies).map((p) => p.enforcementLevel)).toEqual([
      'mandatory',
      'mandatory',
      'mandatory',
      'mandatory',
      'mandatory',
      'remediate',
    ]);
  });

  it('refuses a floating image and passes a pinned one', () => {
    expect(
      violations(policy('nova-pinned-images'), docker.RemoteImage, { name: 'postgres:latest' }),
    ).toHaveLength(1);
    expect(
      violations(policy('nova-pinned-images'), docker.RemoteImage, { name: 'postgres:15.19' }),
    ).toEqual([]);
  });

  it('refuses a public port and a container without healthcheck or memory limit', () => {
    const open = { ...service, ports: [{ internal: 5601, external: 5601, ip: '0.0.0.0' }] };
    expect(violations(policy('nova-no-public-ports'), docker.Container, open)).toHaveLength(1);
    expect(violations(policy('nova-no-public-ports'), docker.Container, service)).toEqual([]);
    expect(
      violations(policy('nova-healthcheck-and-memory'), docker.Container, {
        name: 'x',
        restart: 'always',
      }),
    ).toHaveLength(2);
    expect(violations(policy('nova-healthcheck-and-memory'), docker.Container, service)).toEqual(
      [],
    );
  });

  it('allows public ports only when its config (from nova:allowPublicBind) says so', () => {
    const open = { ...service, ports: [{ internal: 5601, external: 5601, ip: '0.0.0.0' }] };
    const ports = policy('nova-no-public-ports');
    expect(ports.configSchema?.properties.allowPublicBind).toMatchObject({ type: 'boolean' });
    expect(violations(ports, docker.Container, open, { allowPublicBind: true })).toEqual([]);
    expect(violations(ports, docker.Container, open, { allowPublicBind: false })).toHaveLength(1);
  });

  it('refuses a plain-text credential in a container environment and passes a secret one', async () => {
    const secrets = novaPolicies().find(
      (p) => p.name === 'nova-no-plaintext-secrets',
    ) as ResourceValidationPolicy;
    const compliant = {
      name: 'nova-postgres',
      envs: ['POSTGRES_USER=nova', secret('POSTGRES_PASSWORD=generated')],
    };
    expect(await remediatedViolations(secrets, compliant)).toEqual([]);
    const violating = { name: 'nova-postgres', envs: ['POSTGRES_PASSWORD=hunter2'] };
    const found = await remediatedViolations(secrets, violating);
    expect(found).toEqual([
      expect.stringContaining('nova-postgres has POSTGRES_PASSWORD in plain text'),
    ]);
    expect(found.join('')).not.toContain('hunter2');
  });

  it('fails closed: a container its remediation never saw is reported unchecked', () => {
    const secrets = novaPolicies().find(
      (p) => p.name === 'nova-no-plaintext-secrets',
    ) as ResourceValidationPolicy;
    expect(violations(secrets, docker.Container, { name: 'nova-postgres', envs: [] })).toEqual([
      expect.stringContaining('nova-postgres was not checked for plain-text secrets'),
    ]);
  });
});
