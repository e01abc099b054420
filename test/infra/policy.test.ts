/**
 * The policy pack's rules, each against a compliant and a violating resource, and the pack's
 * policies run the way the engine runs them (validateResource with a resource's type and
 * inputs), so a rule not wired into its policy fails here too.
 */
import * as docker from '@pulumi/docker';
import type { ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import { describe, expect, it } from 'vitest';
import { novaPolicies } from '../../infra/policy/policies.js';
import {
  imageViolations,
  longRunningViolations,
  portViolations,
} from '../../infra/policy/rules.js';

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
});

/** Runs `policy` on a resource as the engine would: its type, its inputs. */
function violations(
  policy: ResourceValidationPolicy,
  resourceClass: unknown,
  props: Record<string, unknown>,
): string[] {
  const found: string[] = [];
  const args = {
    type: 'test',
    props,
    urn: 'urn:pulumi:local::nova-universe::test::t',
    name: 't',
    opts: {},
    isType: (type: unknown) => type === resourceClass,
    asType: () => props,
    getConfig: () => ({}),
  } as unknown as ResourceValidationArgs;
  const validate = policy.validateResource;
  for (const fn of Array.isArray(validate) ? validate : validate ? [validate] : []) {
    void fn(args, (message: string) => found.push(message));
  }
  return found;
}

describe('the nova-universe policy pack', () => {
  const policies = Object.fromEntries(novaPolicies().map((p) => [p.name, p]));
  const policy = (name: string) => policies[name] as ResourceValidationPolicy;

  it('is mandatory, all of it', () => {
    expect(Object.keys(policies)).toEqual([
      'nova-pinned-images',
      'nova-no-public-ports',
      'nova-healthcheck-and-memory',
    ]);
    for (const p of Object.values(policies)) expect(p.enforcementLevel).toBe('mandatory');
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

  it('allows public ports only when the stack says so', () => {
    const open = { ...service, ports: [{ internal: 5601, external: 5601, ip: '0.0.0.0' }] };
    const allowing = novaPolicies({ allowPublicBind: true }).find(
      (p) => p.name === 'nova-no-public-ports',
    );
    expect(violations(allowing as ResourceValidationPolicy, docker.Container, open)).toEqual([]);
  });
});
