/**
 * Pulumi's own mocks (pulumi.runtime.setMocks): every resource the program registers is
 * recorded with its inputs, and answered with those inputs plus what the provider would add
 * (an id, a generated password, an image id). No engine, no Docker, no network.
 */
import * as pulumi from '@pulumi/pulumi';

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export const registered: Registered[] = [];

/** What each provider computes that the program reads back. */
const COMPUTED: Record<string, (name: string) => Record<string, unknown>> = {
  'random:index/randomPassword:RandomPassword': (name) => ({ result: `generated-${name}` }),
  'docker:index/remoteImage:RemoteImage': (name) => ({ imageId: `sha256:${name}` }),
  'docker:index/image:Image': (name) => ({ repoDigest: `sha256:built-${name}` }),
  'command:local:Command': () => ({ stdout: 'ready: nova-mongodb-1:27017 PRIMARY' }),
  // @pulumi/tls: the PEM each resource computes, named after it so a test can tell whose it is.
  'tls:index/privateKey:PrivateKey': (name) => ({
    privateKeyPem: `private-key-pem-${name}`,
    publicKeyPem: `public-key-pem-${name}`,
  }),
  'tls:index/selfSignedCert:SelfSignedCert': (name) => ({ certPem: `cert-pem-${name}` }),
  'tls:index/certRequest:CertRequest': (name) => ({ certRequestPem: `csr-pem-${name}` }),
  'tls:index/locallySignedCert:LocallySignedCert': (name) => ({ certPem: `cert-pem-${name}` }),
};

export async function useMocks() {
  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => {
        registered.push({ type, name, inputs });
        const state = { ...inputs, ...COMPUTED[type]?.(name) };
        return { id: `${name}-id`, state };
      },
      call: ({ inputs }) => inputs,
    },
    'nova-universe',
    'local',
    false,
  );
}

/** The resolved value of an output (mocks resolve everything); an absent one fails the test. */
export const resolved = <T>(output: pulumi.Output<T> | undefined): Promise<T> =>
  new Promise((resolve, reject) =>
    output ? output.apply(resolve) : reject(new Error('the output is absent')),
  );

/** The one registered resource of `type` named `name`. */
export function resource(type: string, name: string): Registered {
  const found = registered.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`${found.length} ${type} named ${name}`);
  return found[0] as Registered;
}

/** The value inside a secret as the engine receives it; throws when it is not a secret. */
export function secretValue(input: unknown): unknown {
  const wrapped = input as Record<string, unknown> | undefined;
  if (wrapped?.[pulumi.runtime.specialSigKey] !== pulumi.runtime.specialSecretSig) {
    throw new Error(`not a secret: ${JSON.stringify(input)}`);
  }
  return wrapped.value;
}
