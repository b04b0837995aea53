// A work queue in the client-go sense (util/workqueue): a key is queued at most once, never handed to
// two workers at once (re-added while processing → queued again after done), delayed adds for
// requeueAfter, rate-limited adds for retries with backoff, and a shutdown that lets in-flight work end.
// Like controller-runtime's priority queue, a key can be added at low priority (the periodic resync):
// low keys are handed out only when no normal key waits, and a normal add of a low key promotes it, so
// a resync of 160,000 keys never stands between a person's edit and its reconcile.
import { realClock, type Clock, type TimerHandle } from './clock';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimit';

/** Hooks the metrics module plugs in; all optional. */
export interface QueueMetrics {
  depth?(n: number): void;
  add?(): void;
  retry?(): void;
  /** Seconds from first add to being handed to a worker. */
  latency?(seconds: number): void;
  /** Seconds a worker held the key. */
  workDuration?(seconds: number): void;
}

export interface WorkQueueOptions {
  name?: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: QueueMetrics;
}

/** One place in the low-priority lane; identity tells a live entry from a stale one. */
interface LowEntry {
  readonly key: string;
}

export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private readonly metrics: QueueMetrics;
  /** Keys ready for a worker, in order. Each key appears at most once. */
  private queue: string[] = [];
  private head = 0;
  /** Keys that need processing (queued, or re-added while processing). */
  private dirty = new Set<string>();
  /**
   * Dirty keys added only at low priority, each with its live entry in lowQueue (none while a worker
   * holds the key). An entry is live only while `low` maps its key to that very entry: a key promoted,
   * taken and later re-added low gets a new entry, and its old one stays stale instead of reviving.
   */
  private low = new Map<string, LowEntry | undefined>();
  private lowQueue: LowEntry[] = [];
  private lowHead = 0;
  /** Live (not stale) entries of lowQueue. */
  private lowQueued = 0;
  /** Keys a worker holds right now, with the time it took them. */
  private processing = new Map<string, number>();
  /** First-add time of queued keys, for the latency metric. */
  private addedAt = new Map<string, number>();
  /** Delayed adds: the earliest time each key is wanted. */
  private waiting = new Map<string, { at: number; timer: TimerHandle }>();
  private getters: Array<(key: string | undefined) => void> = [];
  private idleWaiters: Array<() => void> = [];
  private shuttingDown = false;
  private draining = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.name = opts.name ?? 'queue';
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter(this.clock);
    this.metrics = opts.metrics ?? {};
  }

  /** Keys waiting for a worker (not counting in-flight or delayed ones), low priority included. */
  len(): number {
    return this.queue.length - this.head + this.lowQueued;
  }
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }
  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }
  /** Keys a worker holds right now. */
  processingCount(): number {
    return this.processing.size;
  }
  /** Keys with a delayed add pending. */
  delayedCount(): number {
    return this.waiting.size;
  }

  /**
   * Queue `key` (once). `priority: 'low'` waits behind every normal key; a normal add of a key queued
   * low promotes it.
   */
  add(key: string, priority: 'normal' | 'low' = 'normal'): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) {
      if (priority === 'normal' && this.low.has(key)) {
        const entry = this.low.get(key);
        this.low.delete(key); // its lowQueue entry, if any, is stale now
        if (entry) {
          this.lowQueued--;
          this.queue.push(key);
        }
      }
      return;
    }
    this.dirty.add(key);
    if (priority === 'low') this.low.set(key, undefined);
    this.metrics.add?.();
    if (!this.addedAt.has(key)) this.addedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return; // done() queues it again
    this.push(key);
  }

  /** Add after `ms` (requeueAfter). A key already waiting keeps the earlier of both times. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const cur = this.waiting.get(key);
    if (cur && cur.at <= at) return;
    if (cur) this.clock.clearTimeout(cur.timer);
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** Add after the rate limiter's delay for this key (a retry after an error). */
  addRateLimited(key: string): void {
    this.metrics.retry?.();
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clear the key's failure history (after a success or a terminal error). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.retries(key);
  }

  /**
   * The next key to process; the caller owns it until `done(key)`. Resolves `undefined` once the
   * queue is shut down (after a drain: once it is also empty).
   */
  get(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** The worker finished `key`; if it was re-added meanwhile it is queued again now. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics.workDuration?.((this.clock.now() - started) / 1000);
    if (this.dirty.has(key) && (!this.shuttingDown || this.draining)) this.push(key);
    else if (this.dirty.has(key)) this.dirty.delete(key);
    this.checkIdle();
  }

  /**
   * Stop: no new adds, delayed adds dropped, waiting workers released. Keys still queued are dropped
   * (informers rebuild them for whoever runs next). Resolves once in-flight keys are done.
   */
  shutdown(): Promise<void> {
    return this.stop(false);
  }

  /** Stop taking adds but let workers finish everything already queued; resolves when all is done. */
  shutdownWithDrain(): Promise<void> {
    return this.stop(true);
  }

  private stop(drain: boolean): Promise<void> {
    this.shuttingDown = true;
    this.draining = drain;
    for (const w of this.waiting.values()) this.clock.clearTimeout(w.timer);
    this.waiting.clear();
    if (!drain) {
      for (let i = this.head; i < this.queue.length; i++) this.dirty.delete(this.queue[i]!);
      for (let i = this.lowHead; i < this.lowQueue.length; i++) {
        const entry = this.lowQueue[i]!;
        if (this.low.get(entry.key) === entry) this.dirty.delete(entry.key);
      }
      this.queue = [];
      this.head = 0;
      this.lowQueue = [];
      this.lowHead = 0;
      this.lowQueued = 0;
      for (const k of this.low.keys()) if (!this.dirty.has(k)) this.low.delete(k);
      this.metrics.depth?.(0);
    }
    this.wakeGetters();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      this.handOut(key);
      getter(key);
      // Handed straight to an idle worker: depth is unchanged, but report it so the series exists.
      this.metrics.depth?.(this.len());
      return;
    }
    if (this.low.has(key)) {
      const entry = { key };
      this.low.set(key, entry);
      this.lowQueue.push(entry);
      this.lowQueued++;
    } else this.queue.push(key);
    this.metrics.depth?.(this.len());
  }

  private take(): string | undefined {
    let key: string | undefined;
    if (this.head < this.queue.length) {
      key = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    } else {
      while (this.lowHead < this.lowQueue.length) {
        const entry = this.lowQueue[this.lowHead++]!;
        if (this.low.get(entry.key) !== entry) continue; // stale: promoted, taken or re-queued since
        key = entry.key;
        this.lowQueued--;
        break;
      }
      if (this.lowHead > 1024 && this.lowHead * 2 > this.lowQueue.length) {
        this.lowQueue = this.lowQueue.slice(this.lowHead);
        this.lowHead = 0;
      }
      if (key === undefined) return undefined;
    }
    this.metrics.depth?.(this.len());
    this.handOut(key);
    return key;
  }

  private handOut(key: string): void {
    const now = this.clock.now();
    this.dirty.delete(key);
    this.low.delete(key);
    this.processing.set(key, now);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics.latency?.((now - added) / 1000);
  }

  private wakeGetters(): void {
    if (!this.shuttingDown) return;
    // While draining, a key in flight may still be re-queued by done(): keep the workers until idle.
    if (this.len() > 0 || (this.draining && this.processing.size > 0)) return;
    const gs = this.getters;
    this.getters = [];
    for (const g of gs) g(undefined);
  }

  private checkIdle(): void {
    if (!this.shuttingDown) return;
    this.wakeGetters();
    if (this.processing.size === 0 && this.len() === 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }
}
