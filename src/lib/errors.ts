/**
 * The one error type of the data layer. Every failure a caller can act on carries a stable
 * `code` (for programs), a `message` (for people) and, for bad input, the offending `field`.
 * The service maps `status` straight to HTTP.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  /** No credentials, or ones that identify nobody (unknown, revoked, expired token). */
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  VERSION_CONFLICT: 409,
  PASSKEY_COUNTER_NOT_INCREASED: 403,
  /** Too many requests, or failed authentications, from one client: wait Retry-After. */
  RATE_LIMITED: 429,
  CONFIG_INVALID: 500,
  /** A state folder or secret file someone else owns or can change: refused, never trusted. */
  UNSAFE_PATH: 500,
  MIGRATION_FAILED: 500,
  BOOTSTRAP_FAILED: 500,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class NovaError extends Error {
  override readonly name = 'NovaError';
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.status = ERROR_CODES[code];
  }

  /** The JSON shape the service returns: `{ error: { code, message, field } }`. */
  toJSON(): { code: ErrorCode; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

export const isNovaError = (error: unknown, code?: ErrorCode): error is NovaError =>
  error instanceof NovaError && (code === undefined || error.code === code);
