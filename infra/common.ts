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
