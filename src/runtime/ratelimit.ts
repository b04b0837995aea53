// Retry delays in the client-go `workqueue` sense: per-key exponential backoff, an overall token
// bucket, and the max of both (client-go DefaultControllerRateLimiter: 5 ms .. 1000 s, 10 qps / 100 burst).
import type { Clock } from './clock';

export interface RateLimiter {
  /** Delay before `key` may be processed again; counts a failure for it. */
  when(key: string): number;
  /** The key succeeded: drop its failure history. */
  forget(key: string): void;
  /** Failures counted for `key` since the last forget. */
  retries(key: string): number;
}

export class ExponentialRateLimiter implements RateLimiter {
  private failures = new Map<string, number>();
  constructor(
    readonly baseMs = 5,
    readonly maxMs = 1_000_000,
  ) {}

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity long before it matters; the cap keeps it finite.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }
  forget(key: string): void {
    this.failures.delete(key);
  }
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** A token bucket shared by all keys: bursts up to `burst`, then `qps` on average. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly clock: Clock,
    readonly qps = 10,
    readonly burst = 100,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Reserve one token; returns how long to wait for it (0 when available now). */
  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  /** Take a token only if one is available now (never goes into debt). */
  tryTake(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class BucketRateLimiter implements RateLimiter {
  private readonly bucket: TokenBucket;
  constructor(clock: Clock, qps = 10, burst = 100) {
    this.bucket = new TokenBucket(clock, qps, burst);
  }
  when(): number {
    return this.bucket.reserve();
  }
  forget(): void {}
  retries(): number {
    return 0;
  }
}

/** The slowest of several limiters decides. */
export class MaxOfRateLimiter implements RateLimiter {
  constructor(private readonly limiters: RateLimiter[]) {}
  when(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(key)));
  }
  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }
  retries(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.retries(key)));
  }
}

export interface RateLimiterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
}

/** client-go's default controller limiter: exponential per key (5 ms .. 1000 s) and 10 qps / 100 burst overall. */
export function defaultControllerRateLimiter(clock: Clock, o: RateLimiterOptions = {}): RateLimiter {
  return new MaxOfRateLimiter([
    new ExponentialRateLimiter(o.baseDelayMs ?? 5, o.maxDelayMs ?? 1_000_000),
    new BucketRateLimiter(clock, o.qps ?? 10, o.burst ?? 100),
  ]);
}
