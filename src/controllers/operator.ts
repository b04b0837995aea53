// The operator: informers, the incremental compiler and one controller per kind, started when this
// replica leads (Lease-based leader election), stopped when it does not.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../runtime/client';
import { userAgent } from '../util/package-root';
import { realClock, type Clock } from '../runtime/clock';
import type { Controller } from '../runtime/controller';
import { EventRecorder } from '../runtime/events';
import { LeaderElector } from '../runtime/leaderelection';
import { RuntimeMetrics, startMetricsServer, type MetricsServer } from '../runtime/metrics';
import { StatusWriter } from '../runtime/status';
import { rejectionOverlay } from './rejection';
import type { Logger } from '../util/log';
import { addressGroupController } from './addressgroup';
import { CompileFeed } from './compile-feed';
import { newCounters, type OperatorContext } from './context';
import { hostController } from './host';
import { hostFilterController } from './hostfilter';
import { PlacementLedger } from './ledger';
import { OPERATOR_LEASE, SYSTEM_NAMESPACE } from './names';
import { policyController } from './policy';
import { tagController } from './tag';
import { tenantController } from './tenant';
import { vmController } from './vm';
import { World } from './world';

export interface OperatorOptions {
  kubeconfig?: { file?: string; yaml?: string };
  logger: Logger;
  /** Off: lead at once (single replica, tests). */
  leaderElection?: {
    enabled: boolean;
    identity?: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /**
   * Where to serve /metrics (and /healthz, /readyz), and where to serve the probes, like
   * controller-runtime's --metrics-bind-address / --health-probe-bind-address. Undefined = off.
   */
  metricsAddress?: BindAddress;
  probeAddress?: BindAddress;
  clock?: Clock;
  /** How long to wait for the first cache sync before starting controllers. */
  syncTimeoutMs?: number;
  /** Address groups with at least this many entries become shared AddressGroup objects (default 1,024). */
  sharedGroupMinAddresses?: number;
  /** Staged policies get an impact in their status while the fleet has at most this many vNICs. */
  stagedImpactMaxVnics?: number;
  /** Re-feed and re-reconcile everything this often (default DEFAULT_RESYNC_MS; 0 = never). */
  resyncPeriodMs?: number;
  /**
   * Client-side request limit, like kube-controller-manager's --kube-api-qps / --kube-api-burst
   * (unset or 0: none; see README "what a real cluster must give" for what each rate costs).
   */
  kubeApi?: { qps?: number; burst?: number };
}

/**
 * Periodic resync: a safety net under the event-driven path (an event lost to a bug). Decisions that
 * depend on time (a heartbeat expiring, a grace period) requeue themselves and do not wait for it.
 * Content hashes and status diffs make it write nothing when nothing changed. It re-feeds the compiler
 * only objects whose compile inputs differ from what it took in (nothing, when no event was lost) and
 * reconciles every object at low priority: at vmworld 160,000 reconciles, measured at 7 s of a full
 * core (6.4 s of operator CPU over its quiet rate), which every edit made meanwhile shares the machine
 * with. So the default is controller-runtime's SyncPeriod, 10 hours ("a lower period will correct
 * entropy more quickly, but reduce responsiveness to change if there are many watched resources").
 */
export const DEFAULT_RESYNC_MS = 10 * 60 * 60_000;

/**
 * A group of 1,024 addresses is ~15 KB in every HostFilter naming it, rewritten on each membership
 * change; past that, one shard write per change is cheaper. Small groups stay inline: they change
 * with their hosts' filters anyway.
 */
export const DEFAULT_SHARED_GROUP_MIN = 1024;

/** Longest the status reporting controllers wait for placement to settle at the start of a term. */
const REPORTING_MAX_WAIT_MS = 300_000;

/** One leadership term: caches, compiler, controllers. Built fresh each time this replica leads. */
export class OperatorTerm {
  readonly ctx: OperatorContext;
  readonly controllers: Controller[];

  constructor(
    client: KubeClient,
    log: Logger,
    clock: Clock,
    metrics: RuntimeMetrics | undefined,
    private readonly opts: { sharedGroupMinAddresses?: number; resyncPeriodMs?: number; stagedImpactMaxVnics?: number } = {},
  ) {
    const world = new World(client, { logger: log, metrics });
    const feed = new CompileFeed(world, log.child({ component: 'compiler' }), {
      providerNamespace: SYSTEM_NAMESPACE,
      sharedGroupMinAddresses: opts.sharedGroupMinAddresses ?? DEFAULT_SHARED_GROUP_MIN,
    });
    this.ctx = {
      client,
      world,
      feed,
      ledger: new PlacementLedger(),
      // No controller reads the object a status write returns.
      status: new StatusWriter(client, { logger: log, metrics, discardResponses: true }),
      events: new EventRecorder({ client, component: 'vmsafe-operator', clusterNamespace: SYSTEM_NAMESPACE, logger: log, metrics, clock }),
      clock,
      log,
      metrics,
      counters: newCounters(),
      writtenShards: new Map(),
    };
    this.ctx.status.setOverlay(rejectionOverlay(world, this.ctx.events, () => new Date(clock.now())));
    // Host controller (and the VM controller's host states) first: placement needs host views.
    this.controllers = [
      addressGroupController(this.ctx),
      hostFilterController(this.ctx),
      vmController(this.ctx),
      hostController(this.ctx),
      policyController(this.ctx, { stagedImpact: { maxVnics: opts.stagedImpactMaxVnics } }),
      tenantController(this.ctx),
      tagController(this.ctx),
    ];
  }

  /** Operator-level gauges: hosts converged, compile time, filter writes. Refreshed on each scrape. */
  private registerMetrics(): void {
    const m = this.ctx.metrics;
    if (!m) return;
    const { world, feed, counters } = this.ctx;
    const converged = m.gauge('vmsafe_hosts_converged', 'Hosts whose agent reports the compiled filter applied.');
    const hosts = m.gauge('vmsafe_hosts', 'Hosts known to the operator.');
    const compileSeconds = m.gauge('vmsafe_compile_seconds_total', 'Time spent in the policy compiler.');
    const compileLast = m.gauge('vmsafe_compile_last_seconds', 'Duration of the last compile batch.');
    const writes = m.gauge('vmsafe_hostfilter_writes_total', 'HostFilter writes (create or spec change).');
    const groupWrites = m.gauge('vmsafe_addressgroup_writes_total', 'AddressGroup shard writes (create or spec change).');
    this.metricsTimer = setInterval(() => {
      let n = 0;
      for (const f of world.filters.list()) if (f.status?.appliedHash === f.spec.hash) n++;
      converged.set(n);
      hosts.set(world.hosts.store.size);
      compileSeconds.set(feed.stats.totalMs / 1000);
      compileLast.set(feed.stats.lastFlushMs / 1000);
      writes.set(counters.hostFilterWrites);
      groupWrites.set(counters.addressGroupWrites);
    }, 2000);
    this.metricsTimer.unref();
  }

  private metricsTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;

  /**
   * Re-feed the compiler what differs from what it took in (CompileFeed.resyncChanged) and enqueue
   * every object in its controller, at low priority: at 200,000 objects a resync is minutes of
   * background work, and a person's edit must not queue behind it.
   */
  resync(): void {
    const { world, feed } = this.ctx;
    const own: Record<string, { store: { keys(): string[] } }> = {
      vm: world.vms, host: world.hosts, hostfilter: world.hosts, securitypolicy: world.policies, tenant: world.tenants, tag: world.tags,
    };
    feed.resyncChanged();
    for (const c of this.controllers) for (const k of own[c.name]?.store.keys() ?? []) c.enqueueLow(k);
  }

  async start(syncTimeoutMs: number): Promise<void> {
    const { world, feed, log } = this.ctx;
    this.registerMetrics();
    const listed = performance.now();
    world.start();
    if (!(await world.waitForSync(syncTimeoutMs))) throw new Error(`caches did not sync within ${syncTimeoutMs} ms`);
    log.info({ ms: Math.round(performance.now() - listed) }, 'caches synced');
    // The first compile is seconds of work at datacenter scale: it takes turns with the probes,
    // watch events and timers.
    const t0 = performance.now();
    feed.start();
    await feed.flushInTurns();
    log.info({ ms: Math.round(performance.now() - t0), ...feed.compiler.stats() }, 'initial compile done');
    // Placement and protection first. At a cold start with tens of thousands of objects, every
    // SecurityPolicy, Tenant and Tag status reconciled while VMs are still landing is written again
    // (spans, counts and realization move with each VM: 2-3 writes per policy), and those writes
    // compete with the VM and HostFilter writes for the API server. The reporting controllers start
    // once placement has settled (no VM or filter work queued, no VM waiting for its filter) or after
    // REPORTING_MAX_WAIT_MS; their queues collect keys meanwhile. With nothing to place, at once.
    const reporting = new Set<string>(['securitypolicy', 'tenant', 'tag']);
    for (const c of this.controllers) if (!reporting.has(c.name)) c.start();
    const vm = this.controllers.find((c) => c.name === 'vm')!;
    const hf = this.controllers.find((c) => c.name === 'hostfilter')!;
    const startedAt = this.ctx.clock.now();
    // Placement is settled when nothing is queued for VMs or filters and no VM waits for its filter.
    const placementSettled = () => {
      if (vm.queue.len() > 0 || hf.queue.len() > 0 || hf.queue.delayedCount() > 0 || feed.assumedCount() > 0) return false;
      for (const v of world.vms.store.list()) if (v.status?.phase === 'Scheduled' || v.status?.phase === 'Migrating') return false;
      return true;
    };
    const startReporting = () => {
      this.reportingTimer = undefined;
      if (this.stopped) return;
      if (!placementSettled() && this.ctx.clock.now() - startedAt < REPORTING_MAX_WAIT_MS) {
        this.reportingTimer = setTimeout(startReporting, 250);
        return;
      }
      log.info({ waitedMs: this.ctx.clock.now() - startedAt }, 'placement settled: starting status reporting controllers');
      for (const c of this.controllers) if (reporting.has(c.name)) c.start();
    };
    startReporting();
    const period = this.opts.resyncPeriodMs ?? DEFAULT_RESYNC_MS;
    if (period > 0) {
      this.resyncTimer = setInterval(() => {
        log.debug('periodic resync');
        this.resync();
      }, period);
      this.resyncTimer.unref();
    }
  }

  private reportingTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reportingTimer) clearTimeout(this.reportingTimer);
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await Promise.all(this.controllers.map((c) => c.stop()));
    this.ctx.feed.stop();
    await this.ctx.world.stop();
    await this.ctx.events.close();
  }
}

export interface BindAddress {
  host: string;
  port: number;
}

/** ":8080" → all interfaces, "127.0.0.1:8080", "0" → off (undefined). */
export function parseBindAddress(text: string | undefined): BindAddress | undefined {
  if (text === undefined || text === '0' || text === '') return undefined;
  const i = text.lastIndexOf(':');
  const host = i <= 0 ? '0.0.0.0' : text.slice(0, i);
  const port = Number(text.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad bind address "${text}" (want HOST:PORT or :PORT)`);
  return { host, port };
}

export interface Operator {
  readonly identity: string;
  isLeader(): boolean;
  /** The current term (undefined while standing by). */
  term(): OperatorTerm | undefined;
  metricsServer?: MetricsServer;
  probeServer?: MetricsServer;
  stop(): Promise<void>;
}

export async function startOperator(opts: OperatorOptions): Promise<Operator> {
  const clock = opts.clock ?? realClock;
  const client = new KubeClient(opts.kubeconfig, { userAgent: userAgent('vmsafe-operator'), qps: opts.kubeApi?.qps, burst: opts.kubeApi?.burst });
  const identity = opts.leaderElection?.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const log = opts.logger.child({ operator: identity });
  const metrics = new RuntimeMetrics({ defaultMetrics: opts.metricsAddress !== undefined });
  let term: OperatorTerm | undefined;
  let leading = false;
  let starting: Promise<void> | undefined;

  const lead = async () => {
    leading = true;
    log.info('leading: starting controllers');
    term = new OperatorTerm(client, log, clock, metrics, { sharedGroupMinAddresses: opts.sharedGroupMinAddresses, resyncPeriodMs: opts.resyncPeriodMs, stagedImpactMaxVnics: opts.stagedImpactMaxVnics });
    starting = term.start(opts.syncTimeoutMs ?? 120_000);
    await starting;
  };
  const follow = async () => {
    leading = false;
    const t = term;
    term = undefined;
    if (t) {
      log.info('not leading (lost or stopped): stopping controllers');
      await starting?.catch(() => undefined);
      await t.stop();
    }
  };

  // Probes and metrics first, like controller-runtime's manager: /readyz says "caches not synced"
  // while the first list runs, instead of the port refusing connections.
  const readiness = {
    'informers-synced': () => !leading || (term?.ctx.world.hasSynced() ?? false) || 'caches not synced',
  };
  const serve = (a: BindAddress | undefined) => (a ? startMetricsServer({ metrics, host: a.host, port: a.port, readiness }) : undefined);
  const metricsServer = await serve(opts.metricsAddress);
  const probeServer = await serve(opts.probeAddress);

  let elector: LeaderElector | undefined;
  if (opts.leaderElection?.enabled) {
    elector = new LeaderElector({
      client,
      namespace: SYSTEM_NAMESPACE,
      name: OPERATOR_LEASE,
      identity,
      leaseDurationMs: opts.leaderElection.leaseDurationMs,
      renewDeadlineMs: opts.leaderElection.renewDeadlineMs,
      retryPeriodMs: opts.leaderElection.retryPeriodMs,
      onStartedLeading: () => lead().catch((err) => log.error({ err }, 'starting controllers failed')),
      onStoppedLeading: follow,
      onNewLeader: (who) => log.info({ leader: who }, 'leader observed'),
      clock,
      logger: log,
      metrics,
    });
    void elector.run();
  } else {
    try {
      await lead();
    } catch (err) {
      await metricsServer?.close();
      await probeServer?.close();
      client.close();
      throw err;
    }
  }

  return {
    identity,
    isLeader: () => leading,
    term: () => term,
    metricsServer,
    probeServer,
    async stop() {
      if (elector) await elector.stop({ release: true });
      await follow();
      await metricsServer?.close();
      await probeServer?.close();
      client.close();
    },
  };
}
