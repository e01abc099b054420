/**
 * The mandatory policies of the `nova-universe` pack (index.ts), over the rules in rules.ts.
 * `npm run up` runs `pulumi up` with this pack (#6).
 */
import * as docker from '@pulumi/docker';
import {
  type ReportViolation,
  type ResourceValidationPolicy,
  validateResourceOfType,
} from '@pulumi/policy';
import {
  type ContainerInputs,
  imageViolations,
  longRunningViolations,
  portViolations,
} from './rules.js';

const report = (violations: string[], reportViolation: ReportViolation) => {
  for (const violation of violations) reportViolation(violation);
};

export function novaPolicies({ allowPublicBind = false } = {}): ResourceValidationPolicy[] {
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
      validateResource: validateResourceOfType(docker.Container, (container, _args, violation) =>
        report(portViolations(container as ContainerInputs, { allowPublicBind }), violation),
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
  ];
}
