/**
 * The OpenTelemetry preload: `node --import ./dist/telemetry/register.js dist/cli.js serve`.
 *
 * It must run before the application imports http, pg, mongodb, undici or fastify, so their
 * instrumentations can patch them. The ESM loader hook is registered first (OpenTelemetry
 * JS's ESM guide): CommonJS libraries (fastify, pg, mongodb, pino) are patched through
 * require without it, but an ES module importing an instrumented module, `node:http` among
 * them, needs it. The SDK and its instrumentations are imported only after the hook, and
 * dynamically, because static imports would be evaluated before it exists.
 *
 * OTEL_SDK_DISABLED=true loads nothing at all: no hook, no SDK, no patching.
 */
import { register } from 'node:module';

if (process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true') {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const { startSdk } = await import('./sdk.js');
  await startSdk(process.env);
}
