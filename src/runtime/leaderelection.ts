// Leader election with a coordination.k8s.io/v1 Lease, following client-go tools/leaderelection:
// acquire or renew by replacing the Lease with its resourceVersion (optimistic concurrency: of two
// candidates racing, one gets 409), treat another holder as alive until leaseDuration has passed since
// *we observed* its record change (no trust in remote clocks), give up leadership when no renewal
// succeeded for renewDeadline (< leaseDuration, so we stop before anyone else may start), and on a
// clean stop release the lease (empty holder, leaseDurationSeconds 1) like ReleaseOnCancel.
import { silentLogger, type Logger } from '../util/log';
import { realClock, sleep, type Clock } from './clock';
import { LEASES, type KubeClient, type ResourceClient } from './client';
import { ApiError, toApiError } from './errors';
import { deepEqual } from './jsondiff';
import { microTime, type LeaseObject, type LeaseSpec } from './leasetime';
import type { RuntimeMetrics } from './metrics';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** Lease name, e.g. `vmsafe-operator`. */
  name: string;
  /** Unique per candidate, e.g. pod name + random suffix. */
  identity: string;
  /** How long a non-leader waits before taking over an unrenewed lease. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up. Default 10 s. */
  renewDeadlineMs?: number;
  /** Time between attempts. Default 2 s. */
  retryPeriodMs?: number;
  /** Release the lease on stop() so a standby takes over at once. Default true. */
  releaseOnCancel?: boolean;
  /** Called once this candidate leads; `signal` aborts when leadership ends. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called when leadership ends (lost or stopped). The operator stops its controllers or exits. */
  onStoppedLeading(): void | Promise<void>;
  /** Called whenever the observed holder changes (including to us). */
  onNewLeader?(identity: string): void;
  clock?: Clock;
  logger?: Logger;
  metrics?: RuntimeMetrics;
}

const JITTER = 1.2;

export class LeaderElector {
  private readonly rc: ResourceClient<LeaseObject>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private observed: LeaseSpec | undefined;
  private observedRv: string | undefined;
  private observedAt = 0;
  private leader = false;
  private stopped = false;
  private releaseOnStop: boolean;
  private readonly stopCtl = new AbortController();
  private leadCtl: AbortController | undefined;
  private runPromise: Promise<void> | undefined;
  private lastHolder: string | undefined;
  private takenOver = false;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.rc = opts.client.resource<LeaseObject>(LEASES);
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? silentLogger).child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    this.releaseOnStop = opts.releaseOnCancel ?? true;
    if (!(this.leaseMs > this.renewMs)) throw new Error('leaseDuration must be greater than renewDeadline');
    if (!(this.renewMs > this.retryMs * JITTER)) throw new Error('renewDeadline must be greater than retryPeriod*1.2');
    if (!opts.identity) throw new Error('leader election needs an identity');
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** The holder we last observed ('' when free). */
  getLeader(): string | undefined {
    return this.lastHolder;
  }

  /**
   * Campaign, lead, and return when leadership ends (lost, or stop()). Like client-go's Run it does
   * not campaign again afterwards: create a new elector (or exit) for that.
   */
  run(): Promise<void> {
    this.runPromise ??= this.loop();
    return this.runPromise;
  }

  /**
   * Stop campaigning/renewing. `release` (default: releaseOnCancel) hands the lease over at once;
   * `release: false` simulates a crashed leader (the lease simply expires).
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    if (opts.release !== undefined) this.releaseOnStop = opts.release;
    this.stopped = true;
    this.stopCtl.abort(new Error('leader election stopped'));
    await this.runPromise;
  }

  private async loop(): Promise<void> {
    // Campaign.
    while (!this.stopped) {
      if (await this.attempt()) break;
      if (!(await this.pause(this.retryMs * (1 + Math.random() * (JITTER - 1))))) break;
    }
    if (this.stopped) return;
    this.leader = true;
    this.leadCtl = new AbortController();
    this.opts.metrics?.leader.set({ lease: this.opts.name }, 1);
    this.log.info('became leader');
    try {
      await this.opts.onStartedLeading(this.leadCtl.signal);
    } catch (err) {
      this.log.error({ err }, 'onStartedLeading threw');
    }
    // Renew.
    let lastRenew = this.clock.now();
    while (!this.stopped) {
      // A retry period, but never past the renew deadline: leadership ends at renewDeadline after the
      // last renewal (client-go's timeout context), not at the next tick up to a retry period later.
      if (!(await this.pause(Math.max(0, Math.min(this.retryMs, this.renewMs - (this.clock.now() - lastRenew)))))) break;
      const left = this.renewMs - (this.clock.now() - lastRenew);
      const ok = left > 0 && (await this.withTimeout(this.attempt(), left));
      if (this.stopped) break;
      if (this.takenOver) {
        this.log.warn({ holder: this.lastHolder }, 'lease taken over by another candidate; leadership lost');
        break;
      }
      if (ok) lastRenew = this.clock.now();
      else if (this.clock.now() - lastRenew >= this.renewMs) {
        this.log.warn({ renewDeadlineMs: this.renewMs }, 'failed to renew the lease in time; leadership lost');
        break;
      }
    }
    this.leader = false;
    this.leadCtl.abort(new Error('leadership ended'));
    this.opts.metrics?.leader.set({ lease: this.opts.name }, 0);
    if (this.stopped && this.releaseOnStop) await this.release();
    try {
      await this.opts.onStoppedLeading();
    } catch (err) {
      this.log.error({ err }, 'onStoppedLeading threw');
    }
  }

  /** Wait; false when stopped meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(this.clock, ms, this.stopCtl.signal);
      return true;
    } catch {
      return false;
    }
  }

  private async withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = this.clock.setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([p, timeout]);
    } finally {
      if (timer) this.clock.clearTimeout(timer);
    }
  }

  private observe(lease: LeaseObject): void {
    const spec = lease.spec ?? {};
    if (!deepEqual(spec, this.observed)) {
      this.observed = spec;
      this.observedAt = this.clock.now();
    }
    this.observedRv = lease.metadata.resourceVersion;
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      if (holder) {
        this.log.info({ holder }, 'new leader observed');
        try {
          this.opts.onNewLeader?.(holder);
        } catch (err) {
          this.log.error({ err }, 'onNewLeader threw');
        }
      }
    }
  }

  /** One acquire-or-renew round; true when we hold the lease afterwards. */
  private async attempt(): Promise<boolean> {
    const now = this.clock.now();
    const leaseSeconds = Math.max(1, Math.round(this.leaseMs / 1000));
    try {
      const current = await this.rc.tryGet({ namespace: this.opts.namespace, name: this.opts.name });
      if (!current) {
        const created = await this.rc.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: {
            holderIdentity: this.opts.identity,
            leaseDurationSeconds: leaseSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        this.observe(created);
        return true;
      }
      this.observe(current);
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const mine = holder === this.opts.identity;
      if (holder && !mine && this.observedAt + this.leaseMs > now) return false; // someone else, still valid
      if (!mine && this.leader) {
        this.takenOver = true; // someone took over (we were late renewing): step down now, do not fight back
        return false;
      }
      const next: LeaseSpec = {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: leaseSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      };
      const updated = await this.rc.replace({ ...current, spec: next });
      this.observe(updated);
      if (!mine) this.log.info({ previous: holder || '(none)' }, 'acquired the lease');
      return true;
    } catch (err) {
      const e = toApiError(err);
      if (e.code !== 409) this.log.warn({ code: e.code, err: e.message }, 'lease acquire/renew failed');
      return false;
    }
  }

  /** Hand the lease over: empty holder and a 1 s duration (client-go ReleaseOnCancel). */
  private async release(): Promise<void> {
    if (!this.observed || this.observed.holderIdentity !== this.opts.identity || !this.observedRv) return;
    const now = this.clock.now();
    try {
      await this.rc.replace({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.opts.name, namespace: this.opts.namespace, resourceVersion: this.observedRv },
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: this.observed.leaseTransitions ?? 0,
        },
      });
      this.log.info('released the lease');
    } catch (err) {
      const e = err instanceof ApiError ? err : toApiError(err);
      this.log.warn({ code: e.code, err: e.message }, 'failed to release the lease');
    }
  }
}
