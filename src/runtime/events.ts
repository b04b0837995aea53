// Kubernetes Events (core/v1, what `kubectl describe` and `kubectl get events` show) for transitions a
// person cares about. Repeats of the same event on the same object are aggregated into one Event whose
// count and lastTimestamp are patched (like client-go's EventCorrelator), at most once per
// `minPatchIntervalMs` per Event; writes go through a token bucket and a bounded queue, and what does not
// fit is dropped and counted, so 40k VMs changing at once cannot flood the API server. Best effort:
// recording never throws and never blocks a reconcile.
import { randomBytes } from 'node:crypto';

const EVENT_RUN = randomBytes(2).toString('hex');
const TRIM_BATCH = 256;
let eventSeq = 0;
import { hostname } from 'node:os';
import { silentLogger, type Logger } from '../util/log';
import { realClock, type Clock, type TimerHandle } from './clock';
import { EVENTS, type KubeClient, type KubeObject } from './client';
import type { RuntimeMetrics } from './metrics';
import { TokenBucket } from './ratelimit';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: KubeClient;
  /** source.component / reportingComponent, e.g. `vmsafe-operator` or `vmsafe-agent`. */
  component: string;
  instance?: string;
  /** Namespace for Events about cluster-scoped objects (client-go uses `default`). */
  clusterNamespace?: string;
  /** Writes per second and burst. Default 10 / 100. */
  qps?: number;
  burst?: number;
  /** Events waiting to be written; beyond it new ones are dropped. Default 1000. */
  maxPending?: number;
  /** A repeat patches the Event's count at most this often. Default 60 s. */
  minPatchIntervalMs?: number;
  /** A repeat after this long starts a new Event. Default 10 min. */
  aggregationWindowMs?: number;
  /** Distinct aggregation entries remembered (LRU). Default 4096. */
  cacheSize?: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: RuntimeMetrics;
}

interface Entry {
  id: string;
  namespace: string;
  name: string;
  body: Record<string, unknown>;
  count: number;
  firstAt: number;
  lastAt: number;
  /** count already written to the server (0 = not created yet). */
  writtenCount: number;
  lastWriteAt: number;
  timer?: TimerHandle;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class EventRecorder {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly bucket: TokenBucket;
  /** The reporting instance (source.host): this process's host name unless given. */
  private readonly instance: string;
  private readonly cache = new Map<string, Entry>();
  private readonly pending = new Set<string>();
  private pumping = false;
  private pumpTimer: TimerHandle | undefined;
  private closed = false;
  private idle: Array<() => void> = [];
  readonly stats = { created: 0, aggregated: 0, patched: 0, dropped: 0, errors: 0 };

  constructor(private readonly opts: EventRecorderOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? silentLogger).child({ events: opts.component });
    this.bucket = new TokenBucket(this.clock, opts.qps ?? 10, opts.burst ?? 100);
    // Once: os.hostname() is a system call, and a cold start records an event per VM placed.
    this.instance = opts.instance ?? hostname();
  }

  /** Record an event about `obj`. `reason` is CamelCase (e.g. `Scheduled`), `message` for people. */
  event(obj: KubeObject, type: EventType, reason: string, message: string, action?: string): void {
    if (this.closed) return;
    const m = obj.metadata;
    const namespace = m.namespace || (this.opts.clusterNamespace ?? 'default');
    const id = [m.uid ?? '', obj.kind ?? '', m.namespace ?? '', m.name, type, reason, message].join('\u0000');
    const now = this.clock.now();
    const window = this.opts.aggregationWindowMs ?? 600_000;
    const existing = this.cache.get(id);
    if (existing && now - existing.lastAt < window) {
      existing.count++;
      existing.lastAt = now;
      this.cache.delete(id); // LRU: most recent last
      this.cache.set(id, existing);
      this.stats.aggregated++;
      this.opts.metrics?.events.inc({ result: 'aggregated' });
      this.schedulePatch(existing);
      return;
    }
    if (existing?.timer) this.clock.clearTimeout(existing.timer);
    const entry: Entry = {
      id,
      namespace,
      // Unique like the client-go recorder's timestamp suffix; a counter, not randomBytes (a syscall each).
      name: `${m.name}.${now.toString(16)}${EVENT_RUN}${(++eventSeq).toString(16)}`,
      body: {
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: m.name,
          ...(m.namespace ? { namespace: m.namespace } : {}),
          ...(m.uid ? { uid: m.uid } : {}),
          ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
        },
        type,
        reason,
        message: message.slice(0, 1024),
        ...(action ? { action } : {}),
        source: { component: this.opts.component, host: this.instance },
        reportingComponent: this.opts.component,
        reportingInstance: this.instance,
      },
      count: 1,
      firstAt: now,
      lastAt: now,
      writtenCount: 0,
      lastWriteAt: 0,
    };
    this.cache.delete(id);
    this.cache.set(id, entry);
    this.trimCache();
    this.enqueue(entry);
  }

  normal(obj: KubeObject, reason: string, message: string, action?: string): void {
    this.event(obj, 'Normal', reason, message, action);
  }

  warning(obj: KubeObject, reason: string, message: string, action?: string): void {
    this.event(obj, 'Warning', reason, message, action);
  }

  /** Resolves when nothing is waiting to be written (tests, clean shutdown). */
  flush(): Promise<void> {
    if (this.pending.size === 0 && !this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stop recording; pending writes are finished first. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    for (const e of this.cache.values()) if (e.timer) this.clock.clearTimeout(e.timer);
    if (this.pumpTimer) this.clock.clearTimeout(this.pumpTimer);
  }

  private schedulePatch(e: Entry): void {
    if (e.writtenCount === 0 || this.pending.has(e.id) || e.timer) return; // the create/patch queued will carry the count
    const wait = e.lastWriteAt + (this.opts.minPatchIntervalMs ?? 60_000) - this.clock.now();
    if (wait <= 0) return this.enqueue(e);
    e.timer = this.clock.setTimeout(() => {
      e.timer = undefined;
      if (this.cache.get(e.id) === e) this.enqueue(e);
    }, wait);
  }

  private enqueue(e: Entry): void {
    if (this.pending.has(e.id)) return;
    if (this.pending.size >= (this.opts.maxPending ?? 1000)) {
      this.stats.dropped++;
      this.opts.metrics?.events.inc({ result: 'dropped' });
      return;
    }
    this.pending.add(e.id);
    void this.pump();
  }

  private trimCache(): void {
    const max = this.opts.cacheSize ?? 4096;
    // Trim in batches: the oldest entries may be pending (skipped), so trimming on every event past
    // the limit walked up to maxPending entries each time (seconds of CPU in a 40,000-VM cold start).
    if (this.cache.size <= max + TRIM_BATCH) return;
    for (const [id, e] of this.cache) {
      if (this.cache.size <= max) break;
      if (this.pending.has(id)) continue;
      if (e.timer) this.clock.clearTimeout(e.timer);
      this.cache.delete(id);
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pending.size > 0) {
        const wait = this.bucket.reserve();
        if (wait > 0) {
          await new Promise<void>((r) => (this.pumpTimer = this.clock.setTimeout(r, wait)));
        }
        const id = this.pending.values().next().value as string;
        this.pending.delete(id);
        const e = this.cache.get(id);
        if (e) await this.write(e);
      }
    } finally {
      this.pumping = false;
      const w = this.idle;
      this.idle = [];
      for (const r of w) r();
    }
  }

  private async write(e: Entry): Promise<void> {
    const rc = this.opts.client.resource(EVENTS);
    const count = e.count;
    try {
      if (e.writtenCount === 0) {
        await rc.create({
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: e.name, namespace: e.namespace },
          ...e.body,
          count,
          firstTimestamp: iso(e.firstAt),
          lastTimestamp: iso(e.lastAt),
        });
        this.stats.created++;
        this.opts.metrics?.events.inc({ result: 'created' });
      } else {
        await rc.patch({ namespace: e.namespace, name: e.name }, { count, lastTimestamp: iso(e.lastAt) }, 'merge');
        this.stats.patched++;
        this.opts.metrics?.events.inc({ result: 'patched' });
      }
      e.writtenCount = count;
      e.lastWriteAt = this.clock.now();
      if (e.count > e.writtenCount) this.schedulePatch(e);
    } catch (err) {
      this.stats.errors++;
      this.opts.metrics?.events.inc({ result: 'error' });
      this.log.debug({ err: (err as Error).message, event: e.name }, 'event write failed');
      // A patch of an Event that is gone (TTL) starts over as a new Event next time.
      if (e.writtenCount > 0) this.cache.delete(e.id);
    }
  }
}
