/**
 * The policy pack's rules as pure checks on a resource's inputs, so each is tested against a
 * compliant and a violating resource without the Pulumi engine:
 *
 * - no floating image (`latest`, a bare major or major.minor): images.ts decides;
 * - no port published on 0.0.0.0 (or with no address, which Docker reads as every interface)
 *   unless the stack allows it (`nova:allowPublicBind`);
 * - every long-running container has a healthcheck and a memory limit (one-shot containers,
 *   `restart: no` and attached, are exempt).
 *
 * Each returns the violations as sentences naming the container; none is an empty list.
 */
import { imageProblem } from '../images.js';

/** The inputs of a docker.Container the rules read, as the engine hands them over. */
export interface ContainerInputs {
  name?: string;
  restart?: string;
  attach?: boolean;
  memory?: number;
  healthcheck?: { tests?: string[] };
  ports?: { internal: number; external?: number; ip?: string }[];
}

export function imageViolations(reference: string | undefined): string[] {
  if (!reference) return ['the image names no reference'];
  const problem = imageProblem(reference);
  return problem ? [problem] : [];
}

export function portViolations(
  container: ContainerInputs,
  { allowPublicBind }: { allowPublicBind: boolean },
): string[] {
  if (allowPublicBind) return [];
  return (container.ports ?? [])
    .filter(({ ip }) => !ip || ip === '0.0.0.0' || ip === '::')
    .map(
      ({ internal, external, ip }) =>
        `${container.name ?? 'a container'} publishes ${external ?? internal} on ${ip || 'every interface'}: bind it to 127.0.0.1, or set nova:allowPublicBind`,
    );
}

export function longRunningViolations(container: ContainerInputs): string[] {
  const oneShot = container.restart === 'no' && container.attach === true;
  if (oneShot) return [];
  const name = container.name ?? 'a container';
  return [
    ...((container.healthcheck?.tests ?? []).length === 0 ? [`${name} has no healthcheck`] : []),
    ...(container.memory ? [] : [`${name} has no memory limit`]),
  ];
}
