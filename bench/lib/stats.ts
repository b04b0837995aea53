// Small statistics for benchmark figures: percentiles, and median with spread over repetitions.

/** Nearest-rank percentile of an ascending array (p in 0..100); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Distribution of latency samples (ms, s, ...): min, p50, p90, p99, max, mean. */
export function summarize(values: readonly number[], digits = 2): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return {
    n: s.length,
    min: round(s[0] ?? NaN, digits),
    p50: round(percentile(s, 50), digits),
    p90: round(percentile(s, 90), digits),
    p99: round(percentile(s, 99), digits),
    max: round(s[s.length - 1] ?? NaN, digits),
    mean: round(mean, digits),
  };
}

export interface Repeated {
  /** Every repetition, in run order. */
  runs: number[];
  median: number;
  /** max - min over the repetitions. */
  spread: number;
  /** spread relative to the median, in percent. */
  spreadPct: number;
}

/** Median and spread of a figure measured once per repetition. */
export function repeated(runs: readonly number[], digits = 2): Repeated {
  const s = [...runs].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const spread = (s[s.length - 1] ?? NaN) - (s[0] ?? NaN);
  return { runs: runs.map((r) => round(r, digits)), median: round(mid, digits), spread: round(spread, digits), spreadPct: round((100 * spread) / mid, 1) };
}

export const MiB = 1024 * 1024;
export const toMiB = (bytes: number | null | undefined): number | null => (bytes == null ? null : Math.round(bytes / MiB));
