// The dashboard's aggregates, kept incrementally from watch events: per-host VM sets, VM phase and
// vNIC totals, per-tenant VM sets, policy realization counts. Pure data (no I/O): the watcher feeds it,
// the views read it. Each update reports what it touched so the server pushes only changed cells.
import type { Host, SecurityPolicy, Tag, Tenant, VM } from '../api';
import type { HostCell, HostState, Totals } from './page/types';
import { SetMultimap } from '../util/multimap';

export type { HostCell, HostState, Totals };

/** Worst first: the order the Problems view sorts by and the legend shows. */
export const HOST_STATES: readonly HostState[] = ['NotReady', 'ApplyFailed', 'TooLarge', 'Drift', 'Converging', 'Healthy'];

export const POOL_LABEL = 'vmsafe.io/pool';
export const PHASES = ['Running', 'Pending', 'Scheduled', 'Migrating', 'Quarantined', 'Off'] as const;

type Cond = { type: string; status: string; reason?: string; message?: string };
export const condOf = (o: { status?: { conditions?: Cond[] } }, type: string): Cond | undefined =>
  o.status?.conditions?.find((c) => c.type === type);

/** Pool of a host: the generator's pool label, else its tags (hosts with the same tags serve the same tenants). */
export function poolOf(h: Host): string {
  const label = h.metadata.labels?.[POOL_LABEL];
  if (label) return label;
  const tags = [...(h.spec.tags ?? [])].sort();
  return tags.length ? tags.join('+') : '(untagged)';
}

/** A host's state from its conditions: readiness first, then what the filter reports. */
export function hostState(h: Host): { state: HostState; reason: string } {
  const ready = condOf(h, 'Ready');
  if (!ready || ready.status !== 'True') return { state: 'NotReady', reason: ready?.reason ?? 'NoStatus' };
  const conv = condOf(h, 'FilterConverged');
  if (conv?.status === 'True') return { state: 'Healthy', reason: '' };
  const reason = conv?.reason ?? 'NoStatus';
  if (/TooLarge/i.test(reason)) return { state: 'TooLarge', reason };
  if (/Drift/i.test(reason)) return { state: 'Drift', reason };
  if (reason === 'Pending' || reason === 'NotCompiled' || reason === 'NoStatus' || reason === 'Applying') return { state: 'Converging', reason };
  return { state: 'ApplyFailed', reason };
}

export const vmKey = (vm: VM) => `${vm.metadata.namespace ?? ''}/${vm.metadata.name}`;
export const policyKey = (p: SecurityPolicy) => `${p.metadata.namespace ?? ''}/${p.metadata.name}`;
const phaseOf = (vm: VM): string => vm.status?.phase ?? 'Pending';
const tenantOfVm = (vm: VM): string => vm.status?.tenant ?? vm.metadata.namespace ?? '';
const vmHosts = (vm: VM): string[] => [vm.status?.hostName, vm.status?.targetHostName].filter((h): h is string => !!h);

/** What one update changed, for the push channel. */
export interface Touched {
  hosts: Set<string>;
  kinds: Set<string>;
}

const bump = (r: Record<string, number>, k: string, d: number) => {
  r[k] = (r[k] ?? 0) + d;
  if (r[k] === 0) delete r[k];
};

export class FleetModel {
  readonly hosts = new Map<string, Host>();
  readonly cells = new Map<string, HostCell>();
  readonly vms = new Map<string, VM>();
  readonly tenants = new Map<string, Tenant>();
  readonly tags = new Map<string, Tag>();
  readonly policies = new Map<string, SecurityPolicy>();
  readonly vmsByHost = new SetMultimap<string, string>();
  readonly vmsByTenant = new SetMultimap<string, string>();
  /** Recent Events per involved object ("Kind/ns/name"), newest last, bounded. */
  readonly events = new Map<string, Array<{ type: string; reason: string; message: string; time: string }>>();
  private readonly vmsByPhase: Record<string, number> = {};
  private readonly hostsByState: Record<string, number> = {};
  private vnics = 0;
  private realized = 0;
  private notAccepted = 0;
  touched: Touched = { hosts: new Set(), kinds: new Set() };

  /** Take what changed since the last call. */
  drain(): Touched {
    const t = this.touched;
    this.touched = { hosts: new Set(), kinds: new Set() };
    return t;
  }

  totals(): Totals {
    return {
      hosts: this.hosts.size,
      hostsByState: { ...this.hostsByState },
      vms: this.vms.size,
      vmsByPhase: { ...this.vmsByPhase },
      vnics: this.vnics,
      tenants: this.tenants.size,
      policies: this.policies.size,
      policiesRealized: this.realized,
      policiesNotAccepted: this.notAccepted,
    };
  }

  // ---------------------------------------------------------------- hosts
  setHost(h: Host): void {
    this.deleteHost(h.metadata.name, false);
    this.hosts.set(h.metadata.name, h);
    this.refreshCell(h.metadata.name);
    this.touched.kinds.add('Host');
  }
  deleteHost(name: string, mark = true): void {
    const cell = this.cells.get(name);
    if (cell) bump(this.hostsByState, cell.state, -1);
    this.cells.delete(name);
    this.hosts.delete(name);
    if (mark) {
      this.touched.hosts.add(name);
      this.touched.kinds.add('Host');
    }
  }
  /** Rebuild one cell from the host and the VMs placed on it. */
  private refreshCell(name: string): void {
    const h = this.hosts.get(name);
    this.touched.hosts.add(name);
    const old = this.cells.get(name);
    if (old) bump(this.hostsByState, old.state, -1);
    if (!h) {
      this.cells.delete(name);
      return;
    }
    const { state, reason } = hostState(h);
    const cell: HostCell = {
      name,
      pool: poolOf(h),
      state,
      reason,
      vms: h.status?.allocated?.vms ?? this.vmsByHost.count(name),
      capacity: h.spec.capacity?.vms ?? 320,
      programs: h.status?.filter?.programs ?? 0,
    };
    this.cells.set(name, cell);
    bump(this.hostsByState, state, 1);
  }

  // ---------------------------------------------------------------- VMs
  setVm(vm: VM): void {
    const key = vmKey(vm);
    const old = this.vms.get(key);
    if (old) this.unindexVm(key, old);
    this.vms.set(key, vm);
    bump(this.vmsByPhase, phaseOf(vm), 1);
    this.vnics += vm.spec.vnics.length;
    this.vmsByTenant.add(tenantOfVm(vm), key);
    for (const h of vmHosts(vm)) {
      this.vmsByHost.add(h, key);
      if (this.hosts.has(h)) this.refreshCell(h);
    }
    this.touched.kinds.add('VM');
  }
  deleteVm(key: string): void {
    const old = this.vms.get(key);
    if (!old) return;
    this.unindexVm(key, old);
    this.vms.delete(key);
    this.touched.kinds.add('VM');
  }
  private unindexVm(key: string, vm: VM): void {
    bump(this.vmsByPhase, phaseOf(vm), -1);
    this.vnics -= vm.spec.vnics.length;
    this.vmsByTenant.delete(tenantOfVm(vm), key);
    for (const h of vmHosts(vm)) {
      this.vmsByHost.delete(h, key);
      if (this.hosts.has(h)) this.refreshCell(h);
    }
  }

  // ---------------------------------------------------------------- tenants, tags, policies
  setTenant(t: Tenant): void {
    this.tenants.set(t.metadata.name, t);
    this.touched.kinds.add('Tenant');
  }
  deleteTenant(name: string): void {
    this.tenants.delete(name);
    this.touched.kinds.add('Tenant');
  }
  setTag(t: Tag): void {
    this.tags.set(t.metadata.name, t);
    this.touched.kinds.add('Tag');
  }
  deleteTag(name: string): void {
    this.tags.delete(name);
    this.touched.kinds.add('Tag');
  }
  setPolicy(p: SecurityPolicy): void {
    this.deletePolicy(policyKey(p));
    this.policies.set(policyKey(p), p);
    if (condOf(p, 'Realized')?.status === 'True') this.realized++;
    if (condOf(p, 'Accepted')?.status === 'False') this.notAccepted++;
  }
  deletePolicy(key: string): void {
    const old = this.policies.get(key);
    this.touched.kinds.add('SecurityPolicy');
    if (!old) return;
    if (condOf(old, 'Realized')?.status === 'True') this.realized--;
    if (condOf(old, 'Accepted')?.status === 'False') this.notAccepted--;
    this.policies.delete(key);
  }

  addEvent(ref: string, e: { type: string; reason: string; message: string; time: string }, keep = 20): void {
    let list = this.events.get(ref);
    if (!list) this.events.set(ref, (list = []));
    list.push(e);
    if (list.length > keep) list.splice(0, list.length - keep);
    this.touched.kinds.add('Event');
  }
}
