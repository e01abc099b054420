/**
 * Runs work outside the current trace and records no spans for it: bookkeeping a request
 * starts but does not wait for (a token's last use) would otherwise land in that request's
 * trace after the request ended, once a minute per token, telling nothing about it.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

export const untraced = <T>(work: () => T): T => context.with(suppressTracing(ROOT_CONTEXT), work);
