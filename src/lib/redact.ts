/**
 * Secret redaction for anything that leaves the process or lands in the audit trail.
 * Keys are matched by name, at any depth; values are replaced, the key kept, so readers can
 * still see that a secret changed.
 */
export const REDACTED = '[REDACTED]';

/**
 * `pass` and `dsn` count only as a word of the key (`pass`, `smtp_pass`, `mail.dsn`, and in
 * camelCase `smtpPass`, `sentryDsn`), not inside one (`passport`, `bypass`).
 */
const SECRET_KEY =
  /password|passwd|passphrase|(?:^|[._-])pass(?:$|[._-])|pwd|secret|token|jwt|bearer|api[-_]?key|authorization|cookie|credential|private[-_]?key|public[-_]?key|session|(?:^|[._-])dsn(?:$|[._-])|connection[-_]?string/i;
const CAMEL_SECRET_WORD = /[a-z0-9](?:Pass|Dsn)(?:$|[A-Z0-9._-])/;

/** `scheme://user:password@host` inside free text. */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/]+):[^\s@/]+@/gi;

/** Masks passwords in URLs found inside a string (error messages, log details). */
export const redactUrlCredentials = (text: string): string =>
  text.includes('://') ? text.replace(URL_CREDENTIALS, `$1:${REDACTED}@`) : text;

export const isSecretKey = (key: string): boolean =>
  SECRET_KEY.test(key) || CAMEL_SECRET_WORD.test(key);

/** A deep copy of `value` with secret-named keys redacted; bytes and bigints become JSON-safe. */
export function redact(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return REDACTED;
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] =
        isSecretKey(key) && inner !== null && inner !== undefined ? REDACTED : redact(inner);
    }
    return out;
  }
  return value;
}

/**
 * A system_config row as it may be shown: the value is redacted as a whole when the key
 * names a secret (smtp.password, oauth.client_secret), besides the usual key-name redaction
 * inside the value.
 */
export function redactConfigRow<T extends { key: string; value: unknown }>(row: T): unknown {
  return redact(isSecretKey(row.key) ? { ...row, value: REDACTED } : row);
}
