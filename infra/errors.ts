/** A stack setting that cannot work, named by its config key, before any resource is made. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(
    /** The config key at fault, e.g. `nova:mongoMembers`. */
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
  }
}
