/**
 * The mandatory policies of the `nova-universe` pack (index.ts), over the rules in rules.ts.
 * `npm run up` runs `pulumi up` with this pack, and writes its config from the stack's:
 * `{ "nova-no-public-ports": { "allowPublicBind": <nova:allowPublicBind> } }`.
 *
 * The plain-text-secret policy needs the engine's secret markers, which only a remediation sees
 * (secretness.ts). The engine remediates a resource and then validates it, in this same
 * process (step_generator.go: a remediate pass, then an analyze pass, per resource, in preview
 * and update alike). So the policy runs at level `remediate`: its remediation changes nothing
 * and records what it found under the resource's URN; its validation reports that, and
 * @pulumi/policy reports a violation of a `remediate` policy as mandatory. A container the
 * remediation never saw (the level overridden) is reported as unchecked: the policy fails
 * closed.
 */
import * as docker from '@pulumi/docker';
import {
  type Policies,
  type ReportViolation,
  type ResourceValidationArgs,
  remediateResourceOfType,
  validateResourceOfType,
} from '@pulumi/policy';
import type { K8sObject } from '../k8s/meta.js';
import { disruptionViolations, objectViolations } from './k8s-rules.js';
import {
  type ContainerInputs,
  imageViolations,
  longRunningViolations,
  plainTextSecretViolations,
  portViolations,
} from './rules.js';
import { envEntries, rawProperty } from './secretness.js';

/** The config of `nova-no-public-ports`, from `nova:allowPublicBind`. */
export interface PublicPortsConfig {
  allowPublicBind?: boolean;
}

const report = (violations: string[], reportViolation: ReportViolation) => {
  for (const violation of violations) reportViolation(violation);
};

const allowPublicBind = (args: ResourceValidationArgs) =>
  args.getConfig<PublicPortsConfig>().allowPublicBind === true;

/** The container's name without tripping the SDK's unknown-value check (a preview). */
const containerName = (args: ResourceValidationArgs) => {
  const name = rawProperty(args.props, 'name');
  return typeof name === 'string' ? name : args.name;
};

/**
 * A Kubernetes resource's inputs as the object the rules read (the provider's inputs are the
 * object itself: apiVersion, kind, metadata, spec ...); undefined for any other resource and
 * for the kinds that carry no object (a Helm release).
 */
function kubernetesObject(type: string, props: Record<string, unknown>): K8sObject | undefined {
  if (!type.startsWith('kubernetes:') || typeof props.kind !== 'string') return undefined;
  return props as unknown as K8sObject;
}

export function novaPolicies(): Policies {
  /** Per container URN, what the remediation pass found; the validation pass takes it. */
  const secretsFound = new Map<string, string[]>();
  return [
    {
      name: 'nova-pinned-images',
      description: 'Images are pinned to an exact release (never latest or a bare major).',
      enforcementLevel: 'mandatory',
      validateResource: validateResourceOfType(docker.RemoteImage, (image, _args, violation) =>
        report(imageViolations(image.name), violation),
      ),
    },
    {
      name: 'nova-no-public-ports',
      description: 'No port is published on every interface unless the stack allows it.',
      enforcementLevel: 'mandatory',
      configSchema: {
        properties: {
          allowPublicBind: {
            type: 'boolean',
            default: false,
            description: 'nova:allowPublicBind: ports may be published on 0.0.0.0',
          },
        },
      },
      validateResource: validateResourceOfType(docker.Container, (container, args, violation) =>
        report(
          portViolations(container as ContainerInputs, { allowPublicBind: allowPublicBind(args) }),
          violation,
        ),
      ),
    },
    {
      name: 'nova-healthcheck-and-memory',
      description: 'Every long-running container has a healthcheck and a memory limit.',
      enforcementLevel: 'mandatory',
      validateResource: validateResourceOfType(docker.Container, (container, _args, violation) =>
        report(longRunningViolations(container as ContainerInputs), violation),
      ),
    },
    {
      name: 'nova-kubernetes-workloads',
      description:
        'Kubernetes pods set resources (and probes when long-running), pin their images, run as non-root, and use no host path or host network.',
      enforcementLevel: 'mandatory',
      validateResource: (args, violation) => {
        const object = kubernetesObject(args.type, args.props);
        if (object) report(objectViolations(object), violation);
      },
    },
    {
      name: 'nova-kubernetes-disruption-budgets',
      description: 'No PodDisruptionBudget blocks a node drain (it lets at least one pod go).',
      enforcementLevel: 'mandatory',
      validateStack: (args, violation) =>
        report(
          disruptionViolations(
            args.resources.flatMap(({ type, props }) => kubernetesObject(type, props) ?? []),
          ),
          violation,
        ),
    },
    {
      name: 'nova-no-plaintext-secrets',
      description:
        'No credential in a container environment is held in plain text (violations are mandatory).',
      enforcementLevel: 'remediate',
      remediateResource: remediateResourceOfType(docker.Container, (_container, args) => {
        secretsFound.set(
          args.urn,
          plainTextSecretViolations(containerName(args), envEntries(args.props)),
        );
        return undefined;
      }),
      validateResource: validateResourceOfType(docker.Container, (_container, args, violation) => {
        const found = secretsFound.get(args.urn);
        secretsFound.delete(args.urn);
        report(
          found ?? [
            `${containerName(args)} was not checked for plain-text secrets: the check runs while remediating, so keep this policy at enforcement level remediate`,
          ],
          violation,
        );
      }),
    },
  ];
}
