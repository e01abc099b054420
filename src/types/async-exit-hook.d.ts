/** The part of async-exit-hook (no published types) that embedded.ts uses. */
declare module 'async-exit-hook' {
  interface ExitHook {
    (hook: (done?: () => void) => void): void;
    /** Stops listening to `event` (e.g. 'beforeExit'). */
    unhookEvent(event: string): void;
  }
  const exitHook: ExitHook;
  export default exitHook;
}
