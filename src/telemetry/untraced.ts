/**
 * Work that must make no spans: health and readiness probes run on a timer's behalf, not a
 * caller's, and bookkeeping a request starts without waiting for it (a token's last use),
 * which would otherwise land in that request's trace after it ended. Traced, each refresh would start a root trace of its own (the pg and undici
 * instrumentations trace without a parent) or land, single-flight, in the trace of
 * whichever request happened to find the cache stale. Without the SDK this is just `work()`.
 */
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

export const untraced = <T>(work: () => Promise<T>): Promise<T> =>
  context.with(suppressTracing(context.active()), work);
