/**
 * What `npm run down` checks before `pulumi destroy`: containers someone attached by hand to
 * the stack's network. Docker refuses to remove a network that still has endpoints ("has
 * active endpoints"), and the provider does not disconnect them: destroy would stop every
 * store and then fail at the network, leaving a half-removed stack. Listing them first, with
 * the command that detaches each, stops before anything is changed.
 *
 * A container is the stack's when the stack's state holds it (`pulumi stack export`), so a
 * hand-made container is found whatever it is called.
 */
import { NETWORK_NAME } from './network.js';
import type { Probes, Problem } from './preflight.js';

/** The container names the stack's state holds, or undefined when there is no state to read. */
export function stackContainers(exported: string): Set<string> | undefined {
  try {
    const state = JSON.parse(exported) as {
      deployment?: { resources?: { type?: string; outputs?: { name?: unknown } }[] };
    };
    const resources = state.deployment?.resources;
    if (!Array.isArray(resources)) return undefined;
    return new Set(
      resources
        .filter((r) => r.type === 'docker:index/container:Container')
        .map((r) => String(r.outputs?.name ?? '').replace(/^\//, '')),
    );
  } catch {
    return undefined;
  }
}

/** The names of the containers attached to the network (`docker network inspect`). */
export function attachedContainers(inspected: string): string[] | undefined {
  try {
    const containers = JSON.parse(inspected) as Record<string, { Name?: string }> | null;
    return Object.values(containers ?? {}).map((c) => c.Name ?? '');
  } catch {
    return undefined;
  }
}

/**
 * The problem `down` would run into, or undefined. `exportStack` reads the stack's state (it
 * needs the backend's environment, which the caller has).
 */
export async function foreignContainersProblem(
  probes: Pick<Probes, 'run'>,
  exportStack: () => Promise<string | undefined>,
): Promise<Problem | undefined> {
  const inspect = await probes.run('docker', [
    'network',
    'inspect',
    NETWORK_NAME,
    '--format',
    '{{json .Containers}}',
  ]);
  if (inspect.code !== 0) return undefined; // No network: nothing can be in the way.
  const attached = attachedContainers(inspect.stdout);
  const exported = await exportStack();
  const ours = exported === undefined ? undefined : stackContainers(exported);
  if (!attached || !ours) return undefined;
  const foreign = attached.filter((name) => name && !ours.has(name)).sort();
  if (foreign.length === 0) return undefined;
  return {
    what: `${foreign.join(', ')} ${foreign.length === 1 ? 'is' : 'are'} attached to ${NETWORK_NAME} but not part of the stack: Docker would refuse to remove the network, and down would stop halfway.`,
    fix: [
      ...foreign.map((name) => `docker network disconnect ${NETWORK_NAME} ${name}`),
      'Then run npm run down again.',
    ],
  };
}
