// Controller harness in the controller-runtime sense: event handlers only map events to keys, a
// work queue deduplicates and serializes keys, bounded workers call reconcile(key), and the outcome
// decides what happens next (requeueAfter, retry with backoff, or terminal).
import { randomBytes } from 'node:crypto';

/** Per-process prefix of reconcile ids (ids are unique within a process, readable across restarts). */
const RUN_ID = randomBytes(3).toString('hex');
let reconcileSeq = 0;
import { silentLogger, type Logger } from '../util/log';
import { realClock, type Clock } from './clock';
import { keyOf, parseKey, type ObjectRef } from './client';
import { ApiError, TerminalError } from './errors';
import type { Informer } from './informer';
import type { RuntimeMetrics } from './metrics';
import { defaultControllerRateLimiter, type RateLimiter, type RateLimiterOptions } from './ratelimit';
import { takeTurn } from './turns';
import { WorkQueue } from './workqueue';

/** What a reconcile asks for next. Nothing = done until something changes. */
export interface Result {
  /** Reconcile this key again after this many ms (time-based waits; not an error). */
  requeueAfter?: number;
}

export interface ReconcileContext {
  key: string;
  /** The key as {namespace?, name}. */
  ref: ObjectRef;
  /** pino child logger with controller, key and reconcileId. */
  log: Logger;
  reconcileId: string;
  /** Failed attempts for this key so far (0 on the first try). */
  attempt: number;
  clock: Clock;
  now(): Date;
  /** Aborted when the controller stops (e.g. leadership lost): stop writing. */
  signal: AbortSignal;
}

export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<Result | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Keys reconciled at once (different keys only); default 4. */
  workers?: number;
  /** A RateLimiter, or options for client-go's default (5 ms .. 1000 s per key, 10 qps / 100 burst). */
  rateLimiter?: RateLimiter | RateLimiterOptions;
  logger?: Logger;
  metrics?: RuntimeMetrics;
  clock?: Clock;
}

/** Maps an object of a watched kind to the keys of the controller's root kind. */
export type KeyMapper<T> = (obj: T) => Iterable<string>;

/** Update predicate: the object's spec changed (generation bumped), not just its status or metadata. */
export function specChanged(a: object, b: object): boolean {
  const gen = (o: object) => (o as { metadata?: { generation?: number } }).metadata?.generation;
  return gen(a) !== gen(b);
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcile: Reconciler;
  private readonly workers: number;
  private readonly log: Logger;
  private readonly metrics: RuntimeMetrics | undefined;
  private readonly clock: Clock;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly abort = new AbortController();
  private running: Promise<void>[] = [];
  /** Counters for tests and diagnostics. */
  readonly stats = { reconciles: 0, errors: 0, terminal: 0, requeues: 0 };

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.reconcile = opts.reconcile;
    this.workers = Math.max(1, opts.workers ?? 4);
    this.log = (opts.logger ?? silentLogger).child({ controller: opts.name });
    this.metrics = opts.metrics;
    this.clock = opts.clock ?? realClock;
    const rl = opts.rateLimiter;
    const limiter = rl && 'when' in rl ? rl : defaultControllerRateLimiter(this.clock, rl);
    this.queue = new WorkQueue({ name: opts.name, clock: this.clock, rateLimiter: limiter, metrics: opts.metrics?.queueHooks(opts.name) });
    const m = opts.metrics;
    const byResult = m?.countingBy(m.reconcileTotal, ['controller', 'result']);
    this.countReconcile = byResult ? (result) => byResult(opts.name, result) : () => undefined;
  }

  /** vmsafe_reconcile_total by result, counted without prom-client's per-call label hashing. */
  private readonly countReconcile: (result: string) => void;

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Enqueue behind every normal key (the periodic resync): see WorkQueue.add. */
  enqueueLow(key: string): void {
    this.queue.add(key, 'low');
  }

  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /**
   * Watch the controller's own kind: every change enqueues the object's own key (invalid objects too).
   * `skipUpdate` drops updates that need no reconcile (e.g. the echo of the controller's own status write).
   */
  watchOwn<T extends { metadata: ObjectRef }>(informer: Informer<T>, opts: { skipUpdate?: (a: T, b: T) => boolean } = {}): this {
    this.unsubscribe.push(
      informer.on({
        add: (o) => this.enqueue(keyOf(o)),
        update: (a, b) => {
          if (opts.skipUpdate?.(a, b)) return;
          this.enqueue(keyOf(a));
          this.enqueue(keyOf(b));
        },
        delete: (o) => this.enqueue(keyOf(o)),
        invalid: (e) => this.enqueue(e.key),
      }),
    );
    return this;
  }

  /**
   * Fan in from another kind: each change enqueues the keys `map` returns, for the old and the new
   * object on update (a VM that left a host must reach that host's reconcile too). `onUpdate` filters
   * updates (controller-runtime's predicates), e.g. spec changes only. `delayMs`: enqueued after that
   * long, so a burst of changes (counts moving with every VM) reconciles each key once.
   *
   * `skipInitialList`: adds from the informer's first list are not mapped. Only where the keys are
   * the controller's own objects, listed by its own informer (watchOwn) in the same start, and the
   * workers start once every cache has synced: that list enqueues each key already. At a vmworld
   * restart these fan-outs were 80,000 policies and 40,000 VMs and namespaces mapped to tenant keys
   * each of them had.
   */
  watchMapped<T>(
    informer: Informer<T & object>,
    map: KeyMapper<T>,
    opts: { onUpdate?: (a: NoInfer<T>, b: NoInfer<T>) => boolean; delayMs?: number; skipInitialList?: boolean } = {},
  ): this {
    const push = (o: T) => {
      try {
        for (const k of map(o)) {
          if (opts.delayMs) this.enqueueAfter(k, opts.delayMs);
          else this.enqueue(k);
        }
      } catch (err) {
        this.log.error({ err }, 'key mapper threw');
      }
    };
    this.unsubscribe.push(
      informer.on({
        add: (o, initialList) => {
          if (!(initialList && opts.skipInitialList)) push(o);
        },
        update: (a, b) => {
          if (opts.onUpdate && !opts.onUpdate(a, b)) return;
          push(a);
          push(b);
        },
        delete: push,
      }),
    );
    return this;
  }

  /** Run `fn` when the controller stops (e.g. to stop a helper it owns). */
  onStop(fn: () => void): this {
    this.unsubscribe.push(fn);
    return this;
  }

  /** Start the workers. Wait for informer sync before this (see waitForSync in index.ts). */
  start(): this {
    if (this.running.length) return this;
    this.log.info({ workers: this.workers }, 'controller starting');
    for (let i = 0; i < this.workers; i++) this.running.push(this.worker());
    return this;
  }

  /** Stop handlers and workers; resolves when in-flight reconciles have returned. Queued keys are dropped. */
  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.abort.abort(new Error('controller stopped'));
    await this.queue.shutdown();
    await Promise.all(this.running);
    this.running = [];
    this.log.info('controller stopped');
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.processOne(key);
      await takeTurn();
    }
  }

  private async processOne(key: string): Promise<void> {
    // A process-unique id from a counter: randomBytes per reconcile was 3% of the operator's CPU at
    // cold start (tens of thousands of reconciles a minute), and so was a child logger nobody used.
    const reconcileId = `${RUN_ID}-${(++reconcileSeq).toString(36)}`;
    let log: Logger | undefined;
    const parent = this.log;
    const started = this.clock.now();
    const ctx: ReconcileContext = {
      key,
      ref: parseKey(key),
      get log() {
        return (log ??= parent.child({ key, reconcileId }));
      },
      reconcileId,
      attempt: this.queue.numRequeues(key),
      clock: this.clock,
      now: () => new Date(this.clock.now()),
      signal: this.abort.signal,
    };
    let result: 'success' | 'requeue' | 'error' | 'terminal' = 'success';
    this.stats.reconciles++;
    try {
      const res = await this.reconcile(key, ctx);
      this.queue.forget(key);
      if (res && res.requeueAfter !== undefined && res.requeueAfter > 0) {
        result = 'requeue';
        this.stats.requeues++;
        this.queue.addAfter(key, res.requeueAfter);
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        result = 'terminal';
        this.stats.terminal++;
        this.queue.forget(key);
        ctx.log.error({ err: err.message, reason: err.reason }, 'reconcile failed permanently; not retrying');
      } else {
        result = 'error';
        this.stats.errors++;
        this.metrics?.reconcileErrors.inc({ controller: this.name });
        this.queue.addRateLimited(key);
        // Conflicts are routine (someone wrote first): retry quietly.
        const quiet = err instanceof ApiError && err.code === 409;
        const fields = { err: err instanceof Error ? err.message : String(err), attempt: ctx.attempt + 1 };
        if (quiet) ctx.log.debug(fields, 'reconcile conflict; retrying');
        else ctx.log.warn(fields, 'reconcile failed; retrying with backoff');
      }
    } finally {
      this.queue.done(key);
      this.countReconcile(result);
      this.metrics?.reconcileDuration.observe({ controller: this.name }, (this.clock.now() - started) / 1000);
    }
  }
}
