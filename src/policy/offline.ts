// Offline placement for `vmsafe trace`: manifests rarely carry status, so decide where each VM runs
// the way the operator would, with the placement package's rules.
//
// Offline assumptions: every Host is Ready (readiness is a runtime fact); a VM with status.hostName
// stays where it is; a pinned VM (spec.hostName) runs on its pin when the host carries its tags and
// networks, else it is Quarantined there (deny-all); every other powered-on VM is scheduled in one
// batch (policy affinity on, like the operator). A VM that fits nowhere stays unplaced. A VM with a
// vNIC whose address it does not own (ownership.ts: outside its tenant's addressBlocks, or held by an
// earlier vNIC) is never bound: it stays unplaced, so no filter binds it and no policy resolves a
// peer to its address.
//
// With `for` (the VMs a caller reads, e.g. trace's endpoints), only the VMs competing with those for
// hosts are scheduled, and only the policies that can apply to them are needed (OfflinePlacer).
import type { SecurityPolicy, Tenant, VM } from '../api';
import { batchScope, hostState, matchesTagsAndNetworks, scheduleBatch, vmNeeds, type BatchItem, type BatchResult, type HostState, type VmNeeds } from '../placement';
import { Inventory } from './inventory';
import { PolicyCompiler } from './compile';
import type { PacketVerdict } from './decision';
import { addressOwnership } from './ownership';
import type { TraceWorld } from './tracer';

/** Objects as read from manifests (the same shape `vmsafe trace` works on). */
export type OfflineWorld = TraceWorld;

export interface Placement {
  /** The VMs with status.hostName / status.phase filled in as placement decided. */
  vms: VM[];
  /** "ns/name" → why the VM has no host. */
  unplaced: Map<string, string>;
  /** The compiler placement used for policy affinity, holding exactly the world's tenants and `policies` until a Tracer takes it over. */
  policyCompiler: PolicyCompiler;
  /**
   * The policies the compiler holds: every one, or with `for` those that can apply to a VM placed or
   * asked for (the provider namespace's, and those in the namespaces of those VMs' tenants).
   */
  policies: SecurityPolicy[];
  /** With `for`: pending VMs left as read (no status) because no VM of `for` can be affected by them. */
  skipped: number;
  /**
   * With `for`: a VM asked for fits nowhere, and its message counts every host, so every pending VM
   * was scheduled, with the policies of every tenant (not only `policyNamespaces()`'s).
   */
  widened: boolean;
}

export interface PlaceOptions {
  /**
   * "ns/name" of the VMs whose placement the caller reads. Only the VMs that compete with them for
   * hosts (batchScope) are scheduled; the result for these is the full run's.
   */
  for?: ReadonlySet<string>;
}

const keyOf = (vm: VM) => `${vm.metadata.namespace ?? ''}/${vm.metadata.name}`;

export function placeOffline(world: OfflineWorld, opts: PlaceOptions = {}): Placement {
  return new OfflinePlacer(world, opts).place(world.policies);
}

type Pending = { vm: VM; at: number };

/**
 * placeOffline in two steps, for a caller that reads policies only once it knows whose can matter
 * (`vmsafe trace`): construct it from the world without policies, ask `policyNamespaces()`, then
 * `place()` with (at least) the policies of those namespaces.
 */
export class OfflinePlacer {
  private readonly keys: PolicyCompiler;
  private readonly tenantsByName = new Map<string, Tenant>();
  /** Indexed like world.vms: output keeps the input order (the compiler does not care; people reading it might). */
  private readonly out: VM[];
  private readonly unplaced = new Map<string, string>();
  /** VMs already on a host (status or pin): their programs count for affinity once policies are in. */
  private readonly residents = new Map<string, VM[]>();
  private readonly pending: Pending[] = [];
  private readonly needs: VmNeeds[];
  private readonly states: HostState[];
  /** Indexes into `pending` to schedule (all of them without `for`). */
  private readonly scope: number[];
  /** Tenants whose policies can change the result (null: every tenant). */
  private readonly tenants: Set<string | null> | null;

  constructor(
    world: Omit<OfflineWorld, 'policies'>,
    private readonly opts: PlaceOptions = {},
  ) {
    const tagsByName = new Map(world.tags.map((t) => [t.metadata.name, t]));
    const hostsByName = new Map(world.hosts.map((h) => [h.metadata.name, h]));
    // Program keys for policy affinity: a compiler that knows tenants and policies is enough. Tenants
    // first: who owns a namespace decides which VMs are placed, and which policies can apply to them.
    const keys = (this.keys = PolicyCompiler.compileAll(world.tenants, { providerNamespace: world.providerNamespace }));
    // First Tenant of each name, as a find() over the list would give (40,000 VMs x 40,000 tenants otherwise).
    for (const t of world.tenants) if (!this.tenantsByName.has(t.metadata.name)) this.tenantsByName.set(t.metadata.name, t);
    const tenantOf = (vm: VM) => {
      const name = this.owner(vm);
      return name === null ? undefined : this.tenantsByName.get(name);
    };

    const out = (this.out = new Array<VM>(world.vms.length));
    const allocated = new Map<string, { vms: number; vnics: number }>();
    const take = (host: string, vm: VM) => {
      const a = allocated.get(host) ?? { vms: 0, vnics: 0 };
      allocated.set(host, { vms: a.vms + 1, vnics: a.vnics + vm.spec.vnics.length });
      let s = this.residents.get(host);
      if (!s) this.residents.set(host, (s = []));
      s.push(vm);
    };

    const refused = new Map<string, string>();
    for (const r of addressOwnership(world.tenants, world.vms, (ns) => keys.inventory.ownerOf(ns)).refused.values())
      if (!refused.has(r.vm)) refused.set(r.vm, `${r.reason}: vNIC ${r.vnic}: ${r.message}`);

    world.vms.forEach((vm, at) => {
      const notOwned = refused.get(keyOf(vm));
      if (notOwned) {
        this.unplaced.set(keyOf(vm), notOwned);
        const { hostName: _pin, ...spec } = vm.spec;
        const { hostName: _at, ...status } = vm.status ?? {};
        out[at] = { ...vm, spec, status: { ...status, phase: 'Pending' } } as VM;
      } else if (vm.status?.hostName) {
        take(vm.status.hostName, vm);
        out[at] = vm;
      } else if (vm.spec.hostName) {
        const host = hostsByName.get(vm.spec.hostName);
        const needs = vmNeeds(vm, tenantOf(vm), tagsByName);
        if (!host) {
          this.unplaced.set(keyOf(vm), `pinned to host ${vm.spec.hostName}, which does not exist`);
          out[at] = vm;
          return;
        }
        const fits = matchesTagsAndNetworks(needs, hostState(host, { ready: true }));
        take(host.metadata.name, vm);
        out[at] = withStatus(vm, { hostName: host.metadata.name, phase: fits ? 'Running' : 'Quarantined' });
      } else if ((vm.spec.powerState ?? 'On') === 'Off') {
        this.unplaced.set(keyOf(vm), 'powered off and not placed');
        out[at] = vm;
      } else this.pending.push({ vm, at });
    });

    this.states = world.hosts.map((h) => hostState(h, { ready: true, allocated: allocated.get(h.metadata.name) ?? { vms: 0, vnics: 0 } }));
    this.needs = this.pending.map(({ vm }) => vmNeeds(vm, tenantOf(vm), tagsByName));
    const everything = this.pending.map((_, i) => i);
    if (!opts.for) {
      this.scope = everything;
      this.tenants = null;
      return;
    }
    const wanted = everything.filter((i) => this.wanted(i));
    this.scope = [...batchScope(this.needs, this.states, wanted)].sort((a, b) => a - b);
    const asked = world.vms.filter((vm) => opts.for!.has(keyOf(vm)));
    this.tenants = new Set([...asked, ...[...this.residents.values()].flat(), ...this.scope.map((i) => this.pending[i]!.vm)].map((vm) => this.owner(vm)));
  }

  private owner(vm: VM): string | null {
    return this.keys.inventory.ownerOf(vm.metadata.namespace ?? '');
  }

  private wanted(i: number): boolean {
    return this.opts.for?.has(keyOf(this.pending[i]!.vm)) ?? true;
  }

  /**
   * Namespaces whose policies can change the result (undefined: all). Only Provider and Baseline
   * policies (the provider namespace) and a tenant's own can apply to its VMs: those of the tenants
   * whose VMs are placed or asked for.
   */
  policyNamespaces(): Set<string> | undefined {
    if (!this.tenants) return undefined;
    const out = new Set([this.keys.inventory.providerNamespace]);
    for (const name of this.tenants) {
      const t = name === null ? undefined : this.tenantsByName.get(name);
      if (t) for (const ns of Inventory.namespacesOf(t)) out.add(ns);
    }
    return out;
  }

  private placed = false;

  /**
   * Place with these policies (once: the compiler handed out holds them): any list holding those of
   * `policyNamespaces()` gives the same result, unless `widened` says more were needed.
   */
  place(policies: readonly SecurityPolicy[]): Placement {
    if (this.placed) throw new Error('OfflinePlacer.place() runs once');
    this.placed = true;
    const { keys, pending, out } = this;
    const held = new Set<SecurityPolicy>();
    const hold = (tenants: Set<string | null> | null) => {
      const add = policies.filter((p) => {
        const ns = p.metadata.namespace ?? '';
        return !held.has(p) && (!tenants || ns === keys.inventory.providerNamespace || tenants.has(keys.inventory.ownerOf(ns)));
      });
      for (const p of add) held.add(p);
      keys.apply(add.map((object) => ({ op: 'upsert' as const, object })));
    };
    hold(this.tenants);
    const programsOn = new Map([...this.residents].map(([h, vms]) => [h, new Set(vms.map((vm) => keys.programKeyOf(vm)))]));
    const run = (scope: readonly number[]): BatchResult => {
      const items: BatchItem[] = scope.map((i) => ({ needs: this.needs[i]!, programKey: keys.programKeyOf(pending[i]!.vm) }));
      return scheduleBatch(items, this.states, { programsOn: (h) => programsOn.get(h) });
    };
    let scope = this.scope;
    let batch = run(scope);
    let widened = false;
    // An unschedulable VM's message counts every host: only the whole batch gives it exactly.
    if (scope.length < pending.length && batch.results.some((r, k) => 'unschedulable' in r && this.wanted(scope[k]!))) {
      hold(new Set(pending.map((p) => this.owner(p.vm))));
      scope = pending.map((_, i) => i);
      batch = run(scope);
      widened = true;
    }
    const vms = [...out];
    const unplaced = new Map(this.unplaced);
    const inScope = new Uint8Array(pending.length);
    scope.forEach((i, k) => {
      inScope[i] = 1;
      const { vm, at } = pending[i]!;
      const r = batch.results[k]!;
      if ('host' in r) vms[at] = withStatus(vm, { hostName: r.host, phase: 'Running' });
      else {
        unplaced.set(keyOf(vm), r.unschedulable.message);
        vms[at] = vm;
      }
    });
    let skipped = 0;
    pending.forEach(({ vm, at }, i) => {
      if (inScope[i]) return;
      vms[at] = vm;
      skipped++;
    });
    const kept = held.size === policies.length ? [...policies] : policies.filter((p) => held.has(p));
    return { vms, unplaced, policyCompiler: keys, policies: kept, skipped, widened };
  }
}

const withStatus = (vm: VM, status: Partial<NonNullable<VM['status']>>): VM => ({ ...vm, status: { ...vm.status, ...status } });

/** Is this unplaced reason an address-ownership refusal (the VM is never bound)? */
export const isAddressRefusal = (reason: string | undefined): boolean =>
  reason !== undefined && (reason.startsWith('AddressNotOwned:') || reason.startsWith('AddressConflict:'));

/**
 * A packet from or to a VM that is never bound: every host's data path denies a vNIC it has no
 * binding for (tier Default, rule "unbound"), so that side denies and the other is not reached.
 */
export function unboundVerdict(side: 'egress' | 'ingress'): PacketVerdict {
  const unbound = { verdict: 'Deny' as const, tier: 'Default' as const, policy: null, rule: 'unbound' };
  return side === 'egress' ? { verdict: 'Deny', egress: unbound, ingress: null } : { verdict: 'Deny', egress: null, ingress: unbound };
}
