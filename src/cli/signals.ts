/**
 * SIGINT (Ctrl-C) and SIGTERM (docker stop, Kubernetes) as an AbortSignal, for the commands
 * that run until told to stop.
 *
 * The first signal starts the orderly stop and removes our handlers, so a second one (an
 * impatient operator) ends the process at once through Node's default action; an embedded
 * PostgreSQL still running is then told to stop by its exit hook (embedded/cluster.ts).
 */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function stopSignal(): {
  signal: AbortSignal;
  /** Resolves with the signal that arrived. */
  stopped: Promise<NodeJS.Signals>;
  dispose(): void;
} {
  const controller = new AbortController();
  let received: NodeJS.Signals = 'SIGTERM';
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    for (const name of SIGNALS) process.off(name, stop);
  };
  function stop(name: NodeJS.Signals) {
    received = name;
    controller.abort();
    dispose();
  }
  for (const name of SIGNALS) process.once(name, stop);
  const stopped = new Promise<NodeJS.Signals>((resolve) =>
    controller.signal.addEventListener('abort', () => resolve(received), { once: true }),
  );
  return {
    signal: controller.signal,
    stopped,
    dispose,
  };
}
