/**
 * Which entries of a container's environment the engine holds as secrets, read from the inputs
 * @pulumi/policy hands a *remediation*.
 *
 * The engine sends policy packs every input with its secret marker (analyzer_plugin.go marshals
 * with KeepSecrets), but @pulumi/policy 1.21 drops the markers before a validation runs
 * (deserializeProperties(…, false) in its Analyze handler): to `validateResource` a generated
 * password and a hard-coded one are the same string. Its Remediate handler keeps them
 * (deserializeProperties(…, true)): each secret arrives as a `Secret` (an exported class),
 * behind proxies that unwrap it on read so a remediation can rewrite a value and keep it secret.
 * Those proxies trap `get` only; a property's own descriptor still holds the wrapped value, and
 * that is what this module reads. Should a later @pulumi/policy stop wrapping, every credential
 * would look plain and `npm run up` would stop on it (fail-closed), and the pack's tests, which
 * build inputs with @pulumi/policy's own deserializer, would fail first.
 */
import { Secret } from '@pulumi/policy';
import type { EnvEntry } from './rules.js';

/** A property as stored, without the unwrapping (and unknown checks) of the SDK's proxies. */
export const rawProperty = (props: object, key: string): unknown =>
  Object.getOwnPropertyDescriptor(props, key)?.value;

/**
 * The `NAME=value` entries of `envs` with their secretness: all of them when the whole list is
 * a secret, else each its own. Entries not yet known (a preview) are left out: the update,
 * which knows them, checks them.
 */
export function envEntries(props: object): EnvEntry[] {
  const envs = rawProperty(props, 'envs');
  const whole = envs instanceof Secret;
  const list: unknown = whole ? envs.value : envs;
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry: unknown) => {
    const secret = whole || entry instanceof Secret;
    const text: unknown = entry instanceof Secret ? entry.value : entry;
    return typeof text === 'string' && text.includes('=') ? [{ text, secret }] : [];
  });
}
