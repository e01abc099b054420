/**
 * MongoDB driver errors, classified and wrapped with context (which store, which operation).
 * Transient means "the same request may succeed soon": network trouble, no primary reachable,
 * an election in progress. Everything else is surfaced at once.
 */
import { MongoError, MongoNetworkError, MongoServerSelectionError } from 'mongodb';
import { NovaError } from '../../errors.js';

/** Server codes of elections, shutdowns and unreachable hosts (MongoDB error_codes.yml). */
const TRANSIENT_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

export function isTransientMongoError(error: unknown): boolean {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true;
  if (!(error instanceof MongoError)) return false;
  if (
    error.hasErrorLabel('RetryableWriteError') ||
    error.hasErrorLabel('TransientTransactionError')
  ) {
    return true;
  }
  return typeof error.code === 'number' && TRANSIENT_CODES.has(error.code);
}

/** "NotWritablePrimary (10107): not primary" style, for messages and health. */
export function describeMongoError(error: unknown): string {
  if (error instanceof MongoError) {
    const name =
      'codeName' in error && typeof error.codeName === 'string' ? error.codeName : error.name;
    return error.code === undefined
      ? `${name}: ${error.message}`
      : `${name} (${error.code}): ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function wrapMongoError(error: unknown, operation: string): NovaError {
  if (error instanceof NovaError) return error;
  return new NovaError(
    isTransientMongoError(error) ? 'UNAVAILABLE' : 'INTERNAL',
    `MongoDB ${operation} failed: ${describeMongoError(error)}`,
    { cause: error },
  );
}
