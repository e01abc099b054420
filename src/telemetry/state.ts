/**
 * What the --import preload (register.ts) leaves for the application: how to flush and stop
 * the SDK at shutdown. Undefined when the SDK is not running.
 */
export const telemetry: { shutdown: (() => Promise<void>) | undefined } = { shutdown: undefined };
