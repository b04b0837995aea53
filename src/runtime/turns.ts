// Turns on the event loop for long runs of synchronous work. A work queue that never empties chains
// reconciles through promises (microtasks) and never lets I/O in: at a restart with 200,000 objects the
// operator's /readyz and /healthz went unanswered for seconds, and watch events waited. Workers call
// `takeTurn()` between items; it yields to the event loop once the current run has lasted `sliceMs`.
let runStarted = performance.now();

/** Resolves at once while the current run is shorter than `sliceMs`; else after a turn of the event loop. */
export function takeTurn(sliceMs = 20): Promise<void> | undefined {
  if (performance.now() - runStarted < sliceMs) return undefined;
  return new Promise<void>((resolve) =>
    setImmediate(() => {
      runStarted = performance.now();
      resolve();
    }),
  );
}
