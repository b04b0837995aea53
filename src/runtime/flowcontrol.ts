// Adaptive write concurrency: how many large writes may be in flight, following the API server's own
// response times (additive increase while it answers fast, halve when it slows down), the way TCP
// and Netflix's concurrency-limits find a server's capacity without knowing it in advance.
//
// Why not a byte or QPS budget: a fixed budget is either too slow for an idle server (a provider-wide
// policy change rewrites every host's filter, 512 x 160 KB at vmworld, which a 2 MB/s budget spread
// over half a minute) or too fast for a busy one; a real kube-apiserver with etcd behind it is many
// times slower than our embedded one. The latency of the writes themselves scales with both.

export interface AdaptiveConcurrencyOptions {
  /** Starting limit (default 4). */
  initial?: number;
  min?: number;
  max?: number;
  /** A write slower than this (ms) counts as "the server is struggling" (default 1,000). */
  slowMs?: number;
}

export class AdaptiveConcurrency {
  private limitValue: number;
  private inFlight = 0;
  readonly min: number;
  readonly max: number;
  private readonly slowMs: number;
  /** Halving at most once per round of in-flight writes (one slow burst is one signal, not N). */
  private lastDecreaseSeq = -1;
  private seq = 0;

  constructor(opts: AdaptiveConcurrencyOptions = {}) {
    this.min = opts.min ?? 1;
    this.max = opts.max ?? 16;
    this.limitValue = Math.min(this.max, Math.max(this.min, opts.initial ?? 4));
    this.slowMs = opts.slowMs ?? 1000;
  }

  /** The current limit (whole writes). */
  get limit(): number {
    return Math.floor(this.limitValue);
  }

  get inflight(): number {
    return this.inFlight;
  }

  /**
   * Take a slot: a token to pass to `release`, or undefined when the limit is reached (the caller
   * retries later; its work stays queued).
   */
  tryAcquire(): number | undefined {
    if (this.inFlight >= this.limit) return undefined;
    this.inFlight++;
    return this.seq++;
  }

  /** The write that took `token` finished after `ms` (`failed`: it did not go through at all). */
  release(token: number, ms: number, failed = false): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (failed || ms > this.slowMs) {
      // Writes started before the last decrease saw the old limit: their slowness is already counted.
      if (token < this.lastDecreaseSeq) return;
      this.limitValue = Math.max(this.min, this.limitValue / 2);
      this.lastDecreaseSeq = this.seq;
      return;
    }
    // Additive increase: about one more slot per limit's worth of fast writes.
    this.limitValue = Math.min(this.max, this.limitValue + 1 / this.limitValue);
  }
}
