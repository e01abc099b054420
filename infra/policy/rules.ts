/**
 * The policy pack's rules as pure checks on a resource's inputs, so each is tested against a
 * compliant and a violating resource without the Pulumi engine:
 *
 * - no floating image (`latest`, a bare major or major.minor): images.ts decides;
 * - no port published on 0.0.0.0 (or with no address, which Docker reads as every interface)
 *   unless the stack allows it (`nova:allowPublicBind`);
 * - every long-running container has a healthcheck and a memory limit (one-shot containers,
 *   `restart: no` and attached, are exempt);
 * - no credential in a container's environment is held in plain text (each entry that carries
 *   one is a secret as the engine receives it; secretness.ts reads that, policies.ts says why
 *   there).
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

/** One `NAME=value` entry of a container's environment, and whether the engine holds it secret. */
export interface EnvEntry {
  text: string;
  secret: boolean;
}

/**
 * Names that say their value is a credential (compared upper-cased, punctuation as `_`, so
 * Elasticsearch's `…keystore.secure_password` counts too). A bare `KEY` does not: the TLS
 * settings name key *files* so (`xpack.security.http.ssl.key`).
 */
const CREDENTIAL_NAME =
  /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|ENCRYPTION_?KEY|CREDENTIAL/;

/** `scheme://user:password@host…`: a connection URL that carries its password. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s:]*:[^/?#@\s]+@/i;

/**
 * The variable an entry names when its value is a credential, by its name or by a password in a
 * URL; undefined otherwise. `…_FILE` variables hold the path of a file with the credential (the
 * images' Docker-secrets convention), not the credential; an empty value holds nothing.
 */
export function credentialVariable(entry: string): string | undefined {
  const equals = entry.indexOf('=');
  if (equals <= 0) return undefined;
  const name = entry.slice(0, equals);
  const value = entry.slice(equals + 1);
  if (value === '') return undefined;
  const normalized = name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  const byName = CREDENTIAL_NAME.test(normalized) && !normalized.endsWith('_FILE');
  return byName || URL_WITH_PASSWORD.test(value) ? name : undefined;
}

/**
 * No credential in a container's environment is held in plain text: each entry that carries one
 * must reach the engine as a secret, so the stack's state keeps it encrypted. Violations name
 * the variable, never its value.
 */
export function plainTextSecretViolations(container: string, entries: EnvEntry[]): string[] {
  return entries.flatMap(({ text, secret }) => {
    const variable = secret ? undefined : credentialVariable(text);
    return variable
      ? [
          `${container} has ${variable} in plain text in its environment: make the value a Pulumi secret (a random password's result, config.requireSecret or pulumi.secret) so the state encrypts it`,
        ]
      : [];
  });
}
