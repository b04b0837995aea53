// Watches the cluster the way a person with `kubectl get -w` would, but incrementally: convergence is
// two set sizes (VMs not yet in their final phase, filters not yet applied) updated per watch event,
// so checking it costs nothing even with 40,000 VMs.
import type { AddressGroupShard, HostFilter, VM } from '../../src/api';
import { KubeClient, kindResource, keyOf, LEASES, type KubeObject, type ResourceInfo } from '../../src/runtime/client';
import { Informer } from '../../src/runtime/informer';
import { silentLogger } from '../../src/util/log';
import { agentLeaseName, SYSTEM_NAMESPACE } from '../../src/controllers/names';

const unschedulable = (vm: VM) => vm.status?.phase === 'Pending' && !!vm.status.conditions?.some((c) => c.type === 'Scheduled' && c.reason === 'Unschedulable');
const settled = (vm: VM) => (vm.spec.powerState === 'Off' ? vm.status?.phase === 'Off' : vm.status?.phase === 'Running');

type Waiter = { check: () => boolean; done: () => void };

const EXPLAIN_GET_MS = 5000;

export class Observer {
  readonly client: KubeClient;
  readonly vms: Informer<VM>;
  readonly filters: Informer<HostFilter>;
  /** VMs not (yet) Running (or Off when powered off). */
  readonly unsettledVms = new Set<string>();
  /** Hosts whose filter's appliedHash differs from its hash. */
  readonly unappliedFilters = new Set<string>();
  /** Spec (hash) changes seen per host, creations included. */
  readonly filterSpecWrites = new Map<string, number>();
  /** When each host's filter spec (hash) last changed, as seen here (performance.now()). */
  readonly filterSpecSeenAt = new Map<string, number>();
  /** When each host's agent was last seen reporting its current filter applied (performance.now()). */
  readonly filterAppliedAt = new Map<string, number>();
  /** Largest HostFilter seen, serialized (bytes). */
  largestFilter = { bytes: 0, host: '' };
  /** Shared address groups: shards seen now, spec writes seen, largest shard (bytes). */
  readonly groups: Informer<AddressGroupShard>;
  groupWrites = 0;
  largestShard = { bytes: 0, name: '' };
  /** VMs the scheduler reports no host can take (Pending, Scheduled=False reason Unschedulable). */
  readonly unschedulableVms = new Set<string>();
  /** When each VM was first seen Running (performance.now()). */
  readonly runningAt = new Map<string, number>();
  /**
   * Every new filter version seen (performance.now(), the host, its vNIC bindings) and every report of a
   * version applied: the cold start's timeline (see timeline()).
   */
  readonly filterVersions: Array<{ at: number; host: string; bindings: number }> = [];
  readonly filterApplies: Array<{ at: number; host: string }> = [];
  private waiters: Waiter[] = [];
  private checkScheduled = false;

  constructor(kubeconfig: string, opts: { measureFilterSizes?: boolean } = {}) {
    this.client = new KubeClient({ file: kubeconfig });
    const mk = <T extends object>(kind: string, transform?: (o: KubeObject) => KubeObject) =>
      new Informer<T>({ client: this.client, resource: kindResource(kind), logger: silentLogger, name: `bench-${kind}`, pageSize: 5000, transform });
    // The observer keeps only what it reads: full VMs and 160 KB filters in its heap made its own GC
    // pauses part of the latencies it measures.
    this.vms = mk<VM>('VM', (o) => {
      const vm = o as unknown as VM;
      const { conditions, ...status } = vm.status ?? {};
      // Only the Scheduled condition when it says why the VM is not placed.
      const scheduled = conditions?.find((c) => c.type === 'Scheduled' && c.status === 'False');
      return { ...o, status: scheduled ? { ...status, conditions: [scheduled] } : status } as unknown as KubeObject;
    });
    const hashes = new Map<string, string>();
    this.filters = mk<HostFilter>('HostFilter', (o) => {
      const f = o as unknown as HostFilter;
      if (!f.spec) return o;
      const h = f.metadata.name;
      if (hashes.get(h) !== f.spec.hash && opts.measureFilterSizes !== false) {
        hashes.set(h, f.spec.hash);
        const bytes = Buffer.byteLength(JSON.stringify(o));
        if (bytes > this.largestFilter.bytes) this.largestFilter = { bytes, host: h };
      }
      const bindings = f.spec.bindings.map((b) => ({ vm: b.vm, program: b.program }));
      return { ...o, spec: { hostName: f.spec.hostName, hash: f.spec.hash, programs: [], addressGroups: [], bindings } } as unknown as KubeObject;
    });
    this.groups = mk<AddressGroupShard>('AddressGroup');
    const onShard = (g: AddressGroupShard, prev?: AddressGroupShard) => {
      if (prev && prev.spec.hash === g.spec.hash) return;
      this.groupWrites++;
      const bytes = Buffer.byteLength(JSON.stringify(g));
      if (bytes > this.largestShard.bytes) this.largestShard = { bytes, name: g.metadata.name };
    };
    this.groups.on({ add: (g) => onShard(g), update: (a, b) => onShard(b, a) });
    const onVm = (vm: VM) => {
      const k = keyOf(vm);
      if (settled(vm)) {
        this.unsettledVms.delete(k);
        if (vm.status?.phase === 'Running' && !this.runningAt.has(k)) this.runningAt.set(k, performance.now());
      } else this.unsettledVms.add(k);
      if (unschedulable(vm)) this.unschedulableVms.add(k);
      else this.unschedulableVms.delete(k);
      this.kick();
    };
    this.vms.on({
      add: onVm,
      update: (_a, b) => onVm(b),
      delete: (vm) => {
        this.unsettledVms.delete(keyOf(vm));
        this.unschedulableVms.delete(keyOf(vm));
        this.kick();
      },
    });
    const onFilter = (f: HostFilter, prev?: HostFilter) => {
      const h = f.metadata.name;
      const now = performance.now();
      if (f.status?.appliedHash === f.spec.hash) {
        if (this.unappliedFilters.delete(h) || prev?.status?.appliedHash !== f.status.appliedHash) {
          this.filterAppliedAt.set(h, now);
          this.filterApplies.push({ at: now, host: h });
        }
      } else this.unappliedFilters.add(h);
      if (!prev || prev.spec.hash !== f.spec.hash) {
        this.filterSpecWrites.set(h, (this.filterSpecWrites.get(h) ?? 0) + 1);
        this.filterSpecSeenAt.set(h, now);
        this.filterVersions.push({ at: now, host: h, bindings: f.spec.bindings.length });
      }
      this.kick();
    };
    this.filters.on({
      add: (f) => onFilter(f),
      update: (a, b) => onFilter(b, a),
      delete: (f) => {
        this.unappliedFilters.delete(f.metadata.name);
        this.kick();
      },
    });
  }

  /**
   * From `since` (performance.now()) to `until`, per `stepMs`: VMs first seen Running, new filter
   * versions seen (and the vNIC bindings they carried), filter versions reported applied, and hosts
   * whose filter by then carried every VM bound there at the end (`full`). Where a cold start waits.
   */
  timeline(since: number, until: number, stepMs: number) {
    const steps = Math.max(1, Math.ceil((until - since) / stepMs));
    const rows = Array.from({ length: steps }, (_, i) => ({ atSeconds: Math.round(((i + 1) * stepMs) / 100) / 10, vmsRunning: 0, filterVersions: 0, bindingsWritten: 0, filtersApplied: 0, hostsFull: 0 }));
    const row = (at: number) => (at < since || at > until ? undefined : rows[Math.min(steps - 1, Math.floor((at - since) / stepMs))]);
    for (const at of this.runningAt.values()) {
      const r = row(at);
      if (r) r.vmsRunning++;
    }
    const finalBindings = new Map<string, number>();
    for (const v of this.filterVersions) finalBindings.set(v.host, v.bindings);
    const full = new Set<string>();
    for (const v of this.filterVersions) {
      const r = row(v.at);
      if (!r) continue;
      r.filterVersions++;
      r.bindingsWritten += v.bindings;
      if (v.bindings === finalBindings.get(v.host) && !full.has(v.host)) {
        full.add(v.host);
        r.hostsFull++;
      }
    }
    for (const a of this.filterApplies) {
      const r = row(a.at);
      if (r) r.filtersApplied++;
    }
    // Cumulative counts read better for running VMs and full hosts.
    let vms = 0;
    let hosts = 0;
    for (const r of rows) {
      r.vmsRunning = vms += r.vmsRunning;
      r.hostsFull = hosts += r.hostsFull;
    }
    return rows;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    this.vms.start();
    this.filters.start();
    this.groups.start();
    if (!(await this.vms.waitForSync(timeoutMs)) || !(await this.filters.waitForSync(timeoutMs))) throw new Error('observer caches did not sync');
  }

  /**
   * Every VM settled and every one of `hosts` filters present and applied. `acceptUnschedulable`: a VM
   * the scheduler reports no host can take counts as settled (a datacenter filled to 100 %).
   */
  converged(expect: { vms: number; filters: number; acceptUnschedulable?: boolean }): boolean {
    const unsettled = this.unsettledVms.size - (expect.acceptUnschedulable ? this.unschedulableVms.size : 0);
    return (
      this.vms.store.size >= expect.vms &&
      unsettled === 0 &&
      this.filters.store.size >= expect.filters &&
      this.unappliedFilters.size === 0
    );
  }

  /** Resolves when `check` holds (checked after watch events), rejects after `timeoutMs`. */
  waitUntil(what: string, check: () => boolean, timeoutMs: number, describe?: () => string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((done, fail) => {
      const w: Waiter = {
        check,
        done: () => {
          clearTimeout(t);
          done();
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        fail(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `: ${describe()}` : ''}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** The largest object of the compiled kinds seen (HostFilter or AddressGroup shard). */
  largestObject(): { kind: string; name: string; bytes: number } {
    return this.largestShard.bytes > this.largestFilter.bytes
      ? { kind: 'AddressGroup', name: this.largestShard.name, bytes: this.largestShard.bytes }
      : { kind: 'HostFilter', name: this.largestFilter.host, bytes: this.largestFilter.bytes };
  }

  describe(): string {
    return `vms=${this.vms.store.size} unsettled=${this.unsettledVms.size} unschedulable=${this.unschedulableVms.size} filters=${this.filters.store.size} unapplied=${this.unappliedFilters.size}`;
  }

  /**
   * What the API server holds now for a few of the filters and VMs still unsettled, and the agents'
   * Leases: tells a stuck agent (status behind spec, lease stale), a stuck operator (VM Pending with
   * the filter applied) and a missed watch event (the server's object settled) apart when a wait
   * times out.
   */
  async explainStall(limit = 3): Promise<string> {
    const cond = (o: { status?: { conditions?: Array<{ type: string; status: string; reason?: string }> } } | undefined) =>
      (o?.status?.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason ?? ''}`).join(',');
    // Each GET bounded: a hung API server must not hold the explanation past the test's own timeout.
    const get = async <T>(info: ResourceInfo, name: string, namespace?: string): Promise<T | string> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<string>((r) => (timer = setTimeout(() => r(`no answer within ${EXPLAIN_GET_MS} ms`), EXPLAIN_GET_MS)));
      const got = this.client.resource<T & KubeObject>(info).get({ name, namespace }).then(
        (o) => o as T,
        (e: unknown) => `GET failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      return Promise.race([got, late]).finally(() => clearTimeout(timer));
    };
    const lines: string[] = [];
    for (const h of [...this.unappliedFilters].slice(0, limit)) {
      const f = await get<HostFilter>(kindResource('HostFilter'), h);
      const lease = await get<KubeObject & { spec?: { renewTime?: string } }>(LEASES, agentLeaseName(h), SYSTEM_NAMESPACE);
      const renew = typeof lease === 'string' ? lease : lease.spec?.renewTime;
      if (typeof f === 'string') lines.push(`filter ${h}: ${f}`);
      else {
        const st = f.status;
        // Spec changes seen: a handful is a cold start; dozens is the operator rewriting the filter (a flap).
        lines.push(`filter ${h}: generation ${f.metadata.generation} (${this.filterSpecWrites.get(h) ?? 0} spec changes seen) hash ${f.spec.hash} applied ${st?.appliedHash ?? '-'} observedGeneration ${st?.observedGeneration ?? '-'} boot ${st?.bootId ?? '-'} [${cond(f)}] lease renewed ${renew ?? '-'}`);
      }
    }
    for (const k of [...this.unsettledVms].slice(0, limit)) {
      const [ns, name] = k.includes('/') ? k.split('/') : [undefined, k];
      const vm = await get<VM>(kindResource('VM'), name!, ns);
      lines.push(typeof vm === 'string' ? `vm ${k}: ${vm}` : `vm ${k}: phase ${vm.status?.phase ?? '-'} host ${vm.status?.hostName ?? '-'} [${cond(vm)}]`);
    }
    return lines.join('; ');
  }

  /** Checks waiters right away (latency figures depend on it), at most once per event-loop turn. */
  private kick(): void {
    if (this.waiters.length === 0 || this.checkScheduled) return;
    this.checkScheduled = true;
    queueMicrotask(() => {
      this.checkScheduled = false;
      const ready = this.waiters.filter((w) => w.check());
      if (ready.length === 0) return;
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.done();
    });
  }

  async stop(): Promise<void> {
    await Promise.all([this.vms.stop(), this.filters.stop(), this.groups.stop()]);
    this.client.close();
  }
}
