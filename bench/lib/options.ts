// What every benchmark scenario receives from bench/run.ts.
export interface BenchOptions {
  /** Smaller sizes, for smoke tests. */
  quick: boolean;
  /** Progress lines go here (stderr). */
  progress: (line: string) => void;
}
