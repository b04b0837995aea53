// A progress line for long CLI work: on a terminal only (stderr isTTY), and only once the work has
// taken longer than `after` ms, so quick runs and pipes/CI logs print nothing extra.

export interface ProgressStream {
  isTTY?: boolean;
  write(s: string): unknown;
}

export interface Progress {
  /** The current state, e.g. `reading 12/203 files`; shown when due, at most every `every` ms. */
  update(text: () => string): void;
  /** Erase the line (if one was shown). */
  done(): void;
}

export function progressLine(
  label: string,
  opts: { stream?: ProgressStream; after?: number; every?: number; now?: () => number } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? Date.now;
  const after = opts.after ?? 2000;
  const every = opts.every ?? 100;
  const start = now();
  let last = -Infinity;
  let shown = false;
  if (stream.isTTY !== true) return { update: () => {}, done: () => {} };
  return {
    update(text) {
      const t = now();
      if (t - start < after || t - last < every) return;
      last = t;
      shown = true;
      // \r + erase-line: rewrite in place.
      stream.write(`\r\x1b[2K${label}: ${text()} (${((t - start) / 1000).toFixed(0)} s)`);
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
