/**
 * The OpenTelemetry preload: `node --import ./dist/telemetry/register.js dist/cli.js serve`.
 *
 * It must run before the application imports http, pg, mongodb, undici or fastify, so their
 * instrumentations can patch them. The ESM loader hook is registered first (the OpenTelemetry
 * JS "ESM support" guidance); the SDK and its instrumentations are imported only after it,
 * dynamically, because static imports would be evaluated before the hook exists.
 * OTEL_SDK_DISABLED=true loads nothing at all: no hook, no patching.
 */
import { register } from 'node:module';

if (process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true') {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const { startSdk } = await import('./sdk.js');
  startSdk(process.env);
}
