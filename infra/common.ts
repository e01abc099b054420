/**
 * What every component makes the same way: generated passwords and pulled images.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

/**
 * A password generated once per stack: letters and digits only, so it needs no escaping in a
 * URL, an environment variable or a JSON body. Returned as a secret here, in the program,
 * rather than trusting the engine to mark the provider's `result` so: everything built from it
 * (an environment entry, a URL) is then a secret too, and the tests (under mocks, where no
 * engine marks anything) see what a real run does.
 */
export const generatedPassword = (
  name: string,
  parent: pulumi.Resource,
  length = 32,
): pulumi.Output<string> =>
  pulumi.secret(new random.RandomPassword(name, { length, special: false }, { parent }).result);

/**
 * A pinned image, pulled; containers refer to it by `imageId`, one stable value, so an
 * unchanged stack replaces nothing. keepLocally: `pulumi destroy` leaves the image for the
 * next `up` instead of pulling it again.
 */
export const pulledImage = (name: string, reference: string, parent: pulumi.Resource) =>
  new docker.RemoteImage(name, { name: reference, keepLocally: true }, { parent });

/**
 * A duration as the Docker provider reads it back: Go's time.Duration text (`2m0s`, not
 * `120s`). Written any other way, the state read after `up` differs from the program and
 * every later `up` shows an update that changes nothing.
 */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`not whole seconds: ${seconds}`);
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * Memory and stopping for a long-running container:
 * - `memorySwap` equal to `memory`: no swap, and what Docker records (left unset it records
 *   twice the memory, which the provider reads back as a change on every `up`);
 * - `stopTimeout`: how long `docker stop` waits after SIGTERM before SIGKILL;
 * - `destroyGraceSeconds`: the same for the provider, which otherwise stops a container with
 *   no grace at all on every replacement and `down` (crash recovery for a database, no drain
 *   for the service).
 */
export function runtimeLimits(memoryMb: number, stopGraceSeconds: number) {
  return {
    memory: memoryMb,
    memorySwap: memoryMb,
    stopTimeout: stopGraceSeconds,
    destroyGraceSeconds: stopGraceSeconds,
  };
}

/**
 * Containers are replaced when their healthcheck changes: Docker cannot change a running
 * container's healthcheck, and the provider's update leaves it as it was, so an edited check
 * would never reach the container (and the next `up` would show the same change again).
 */
export const replaceOnHealthcheckChange: pulumi.ResourceTransformation = ({ type, props, opts }) =>
  type === 'docker:index/container:Container'
    ? { props, opts: pulumi.mergeOptions(opts, { replaceOnChanges: ['healthcheck'] }) }
    : undefined;
