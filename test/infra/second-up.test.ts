/**
 * The second `pulumi up` under mocks whose state is what the Docker provider reads back
 * after the first, not what the program sent: the program runs again, and its inputs are
 * compared with that state field by field. Any difference is an update on every `up`.
 *
 * What the provider reads back differently from what it was given (kreuzwerker/terraform-
 * provider-docker, internal/provider/resource_docker_container_funcs.go,
 * resourceDockerContainerRead):
 * - healthcheck durations as Go's time.Duration text (`2m0s` for `120s`);
 * - memory_swap as Docker records it: twice the memory when none was given (the schema's
 *   field is not Computed, so an unset one differs from the recorded one).
 */
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';

type Inputs = Record<string, unknown>;
const CONTAINER = 'docker:index/container:Container';

/** A duration in Docker's API (nanoseconds) printed as Go's time.Duration does. */
function goText(nanoseconds: number): string {
  const total = nanoseconds / 1e9;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (total === 0) return '0s';
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** What Docker's API takes from the provider: the duration text parsed by Go's ParseDuration. */
function parseGo(text: string): number {
  const parts = [...text.matchAll(/(\d+)(h|ms|m|s)/g)];
  if (parts.map((p) => p[0]).join('') !== text) throw new Error(`not a Go duration: ${text}`);
  const unit = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6 } as const;
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit], 0);
}

/** The container's state as the provider reads it back after creating it from `inputs`. */
function readBack(inputs: Inputs): Inputs {
  const state: Inputs = { ...inputs };
  const health = inputs.healthcheck as Inputs | undefined;
  if (health) {
    state.healthcheck = { ...health };
    for (const key of ['interval', 'timeout', 'startPeriod', 'startInterval']) {
      const text = health[key];
      if (typeof text === 'string') (state.healthcheck as Inputs)[key] = goText(parseGo(text));
    }
  }
  if (typeof inputs.memory === 'number' && inputs.memorySwap === undefined) {
    state.memorySwap = inputs.memory * 2;
  }
  return state;
}

/** The fields where the second up's inputs differ from the state. */
function differences(inputs: Inputs, state: Inputs): string[] {
  const fields = new Set([...Object.keys(inputs), 'memorySwap']);
  return [...fields].filter(
    (field) => JSON.stringify(inputs[field]) !== JSON.stringify(state[field]),
  );
}

const containers: Inputs[][] = [];
await pulumi.runtime.setMocks(
  {
    newResource: ({ type, name, inputs }) => {
      if (type === CONTAINER) containers.at(-1)?.push(inputs);
      const computed: Inputs =
        type === 'docker:index/remoteImage:RemoteImage' ? { imageId: `sha256:${name}` } : {};
      if (type === 'random:index/randomPassword:RandomPassword') computed.result = 'x'.repeat(32);
      return {
        id: `${name}-id`,
        state: { ...(type === CONTAINER ? readBack(inputs) : inputs), ...computed },
      };
    },
    call: ({ inputs }) => inputs,
  },
  'nova-universe',
  'local',
  false,
);
const { NovaStack } = await import('../../infra/stack.js');
const { readSettings } = await import('../../infra/settings.js');

async function up(raw: Record<string, string>) {
  containers.push([]);
  const stack = new NovaStack('nova', { settings: readSettings(raw) });
  await new Promise((done) => stack.urn.apply(done));
  await new Promise((done) => setTimeout(done, 50));
  return containers.at(-1) as Inputs[];
}

describe('a second up', () => {
  it.each([
    ['the defaults', {}],
    [
      'the small stack with every extra',
      {
        mongoMembers: '1',
        elasticNodes: '1',
        pgAdmin: 'true',
        mongoExpress: 'true',
        otelCollector: 'true',
      },
    ],
  ])(
    '%s: every container as the provider reads it back is what the program asks again',
    async (_, raw) => {
      const first = await up(raw);
      expect(first.length).toBeGreaterThanOrEqual(5);
      const state = new Map(first.map((inputs) => [inputs.name, readBack(inputs)]));
      const second = await up(raw);
      expect(second.map((i) => i.name)).toEqual(first.map((i) => i.name));
      for (const inputs of second) {
        expect(differences(inputs, state.get(inputs.name) as Inputs), String(inputs.name)).toEqual(
          [],
        );
      }
    },
  );

  it('would show a change with durations in seconds or memory without swap (the check can fail)', () => {
    const base = { name: 'c', memory: 512, memorySwap: 512, healthcheck: { interval: '2m0s' } };
    expect(differences(base, readBack(base))).toEqual([]);
    const seconds = { ...base, healthcheck: { interval: '120s' } };
    expect(differences(seconds, readBack(seconds))).toEqual(['healthcheck']);
    const { memorySwap: _, ...noSwap } = base;
    expect(differences(noSwap, readBack(noSwap))).toEqual(['memorySwap']);
  });
});
