// The indexed in-memory model the compiler works on: tenants, VMs, policies and hosts, with the
// derived facts (a VM's tenant and host, a policy's owner and acceptance) computed once per change.
//
// Scale notes: records are per VM, never per vNIC (a VM's vNICs stay the decoded spec array plus one
// Uint32Array of addresses); tenant names are interned to small integers; every index is a Map/Set
// keyed by name so a change touches only what it names. Records are immutable: an upsert replaces
// the record, so the change log can hand the compiler both the old and the new state.
import type { Host, LabelSelector, Rule, SecurityPolicy, Tag, Tenant, Tier, VM } from '../api';
import { PROVIDER_NAMESPACE } from '../api';
import { parseIPv4 } from '../dataplane/ip';
import { SetMultimap } from '../util/multimap';
import { AddressBook } from './address-book';
import { firstClaimant, type AddressRefusal } from './ownership';
import { namespacedKey } from '../util/flat-string';

export const NO_TENANT = -1;

export interface VnicRec {
  readonly name: string;
  readonly ip: string;
  readonly mac: string;
}

export interface VmRec {
  /** "namespace/name". */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** Interned tenant id, NO_TENANT when no tenant owns the namespace. */
  readonly tenant: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Sorted, unique (a short array: cheaper than a Set per VM at 160,000 VMs). */
  readonly tags: readonly string[];
  /**
   * Hosts that carry the VM's filter: status.hostName (else spec.hostName), plus the target while
   * Migrating (make-before-break needs the program on both). Empty = not placed.
   */
  readonly hosts: readonly string[];
  readonly quarantined: boolean;
  /** Why the VM may not be bound (a vNIC address it does not own): then `hosts` is empty. */
  readonly refusal: AddressRefusal | null;
  readonly vnics: readonly VnicRec[];
  /** vNIC addresses as unsigned 32-bit numbers, in vNIC order. */
  readonly ips: readonly number[];
}

export interface PolicyRec {
  /** "namespace/name". */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly tier: Tier;
  readonly priority: number;
  readonly appliesTo: { vmSelector?: LabelSelector; tags?: string[]; tenants?: string[] };
  readonly ingress: readonly Rule[];
  readonly egress: readonly Rule[];
  /** Owning tenant for the Tenant tier (NO_TENANT otherwise or when none owns the namespace). */
  readonly tenant: number;
  /** Null when accepted; otherwise why the policy is ignored (for its Accepted condition). */
  readonly rejection: string | null;
  /** Scratch space of the compiler for this record (records are replaced on change, so it never goes stale). */
  compiled?: unknown;
}

export interface ChangeLog {
  /** Per VM key: the record before the first change in this batch (null: did not exist) and now. */
  vms: Map<string, { old: VmRec | null; now: VmRec | null }>;
  policies: Map<string, { old: PolicyRec | null; now: PolicyRec | null }>;
  /** Hosts added, changed or deleted. */
  hosts: Set<string>;
}

/** Evaluation order inside a tier: (priority, name), then namespace for tenants with several. */
export function comparePolicies(a: PolicyRec, b: PolicyRec): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
}

/** Where a VM runs: status.hostName, else spec.hostName (a pin), plus the migration target. */
export function hostsOfVm(vm: VM): string[] {
  const host = vm.status?.hostName || vm.spec.hostName;
  if (!host) return [];
  const target = vm.status?.phase === 'Migrating' ? vm.status.targetHostName : undefined;
  return target && target !== host ? [host, target] : [host];
}

/** "namespace/name": 100,000s of them are kept as Map and Set keys. */
export const objectKey = (namespace: string, name: string): string => namespacedKey(namespace, name);

export class Inventory {
  readonly providerNamespace: string;
  private readonly tenantIds = new Map<string, number>();
  private readonly tenantNames: string[] = [];
  readonly tenants = new Map<string, Tenant>();
  readonly tags = new Map<string, Tag>();
  readonly hosts = new Map<string, Host>();
  readonly vms = new Map<string, VmRec>();
  readonly policies = new Map<string, PolicyRec>();
  /** Raw objects as given, for those who need more than the record (placement, status). */
  readonly vmObjects = new Map<string, VM>();
  readonly policyObjects = new Map<string, SecurityPolicy>();
  /** Who may bind which address (issue 12): a refused VM is bound nowhere. */
  private readonly book = new AddressBook();

  /** Namespace → tenant names claiming it (the smallest name owns it when several do). */
  private readonly nsClaims = new SetMultimap<string, string>();
  /** Namespace → owning tenant id, memoized (asked once per VM and policy); cleared where claims change. */
  private readonly nsTenant = new Map<string, number>();
  private readonly vmsByNamespace = new SetMultimap<string, string>();
  private readonly vmsByTenantIdx = new SetMultimap<number, string>();
  private readonly vmsByHostIdx = new SetMultimap<string, string>();
  private readonly vmsByTagIdx = new SetMultimap<string, string>();
  private readonly policiesByNamespace = new SetMultimap<string, string>();
  /** Accepted policies by tier (Tenant tier also by owning tenant). */
  private readonly providerSet = new Set<string>();
  private readonly baselineSet = new Set<string>();
  private readonly tenantPolicyIdx = new SetMultimap<number, string>();
  private sortedProvider: PolicyRec[] | null = [];
  private sortedBaseline: PolicyRec[] | null = [];
  /** Accepted Tenant-tier policies per tenant in evaluation order, built on demand, dropped on change. */
  private readonly sortedTenant = new Map<number, PolicyRec[]>();

  private log: ChangeLog = { vms: new Map(), policies: new Map(), hosts: new Set() };

  constructor(opts: { providerNamespace?: string } = {}) {
    this.providerNamespace = opts.providerNamespace ?? PROVIDER_NAMESPACE;
  }

  // ------------------------------------------------------------ tenants
  /** Interned id of a tenant name (also for names no Tenant object has yet). */
  tenantId(name: string): number {
    let id = this.tenantIds.get(name);
    if (id === undefined) {
      id = this.tenantNames.length;
      this.tenantIds.set(name, id);
      this.tenantNames.push(name);
    }
    return id;
  }

  tenantName(id: number): string | null {
    return id === NO_TENANT ? null : (this.tenantNames[id] ?? null);
  }

  /** Tenant name owning a namespace, if any: the first claimant by creation (ownership.ts); never the provider's. */
  ownerOf(namespace: string): string | null {
    const n = this.nsClaims.count(namespace);
    if (n === 0 || namespace === this.providerNamespace) return null;
    const claims = [...this.nsClaims.get(namespace)];
    if (n === 1) return claims[0]!;
    return firstClaimant(claims.map((c) => this.tenants.get(c)!))!.metadata.name;
  }

  /** Why a VM may not be bound to its addresses (issue 12), or undefined. */
  addressRefusal(vmKey: string): AddressRefusal | undefined {
    return this.book.refusal(vmKey);
  }

  /** VMs whose address refusal changed since the last call (the VM controller reports them). */
  drainRefusalChanges(): string[] {
    return this.book.drainChanged();
  }

  static namespacesOf(t: Tenant): string[] {
    return t.spec.namespaces && t.spec.namespaces.length > 0 ? t.spec.namespaces : [t.metadata.name];
  }

  upsertTenant(t: Tenant): void {
    const name = t.metadata.name;
    const old = this.tenants.get(name);
    const touched = new Set<string>(old ? Inventory.namespacesOf(old) : []);
    if (old) for (const ns of Inventory.namespacesOf(old)) this.nsClaims.delete(ns, name);
    this.tenants.set(name, t);
    this.tenantId(name);
    for (const ns of Inventory.namespacesOf(t)) {
      this.nsClaims.add(ns, name);
      touched.add(ns);
    }
    for (const ns of touched) this.nsTenant.delete(ns);
    this.rederiveNamespaces(touched);
    this.rebuildVms(this.book.setTenant(name, t.spec.addressBlocks ?? []));
  }

  deleteTenant(name: string): void {
    const old = this.tenants.get(name);
    if (!old) return;
    this.tenants.delete(name);
    for (const ns of Inventory.namespacesOf(old)) {
      this.nsClaims.delete(ns, name);
      this.nsTenant.delete(ns);
    }
    this.rederiveNamespaces(new Set(Inventory.namespacesOf(old)));
    this.rebuildVms(this.book.setTenant(name, null));
  }

  /** Ownership of these namespaces may have changed: rebuild the records that depend on it. */
  private rederiveNamespaces(namespaces: Set<string>): void {
    for (const ns of namespaces) {
      for (const key of [...this.vmsByNamespace.get(ns)]) {
        const rec = this.vms.get(key)!;
        const tenant = this.tenantOfNamespace(ns);
        if (tenant !== rec.tenant) this.putVm(this.vmObjects.get(key)!);
      }
      for (const key of [...this.policiesByNamespace.get(ns)]) {
        const rec = this.policies.get(key)!;
        // Only Tenant-tier policies depend on who owns their namespace.
        if (rec.tier === 'Tenant' && rec.tenant !== this.tenantOfNamespace(ns)) this.putPolicy(this.policyObjects.get(key)!);
      }
    }
  }

  private tenantOfNamespace(ns: string): number {
    let id = this.nsTenant.get(ns);
    if (id === undefined) {
      const owner = this.ownerOf(ns);
      this.nsTenant.set(ns, (id = owner === null ? NO_TENANT : this.tenantId(owner)));
    }
    return id;
  }

  // ------------------------------------------------------------ tags and hosts
  upsertTag(t: Tag): void {
    this.tags.set(t.metadata.name, t);
  }
  deleteTag(name: string): void {
    this.tags.delete(name);
  }
  upsertHost(h: Host): void {
    this.hosts.set(h.metadata.name, h);
    this.log.hosts.add(h.metadata.name);
  }
  deleteHost(name: string): void {
    if (this.hosts.delete(name)) this.log.hosts.add(name);
  }

  // ------------------------------------------------------------ VMs
  upsertVM(vm: VM): void {
    this.vmObjects.set(objectKey(vm.metadata.namespace ?? '', vm.metadata.name), vm);
    this.putVm(vm);
  }

  /**
   * Hold `vm` in place of `held`, another copy of the same VM with the same compile inputs (the caller
   * judged them so): nothing is recompiled, and `held` can be freed. Only while `held` is what is held.
   */
  adoptVmObject(vm: VM, held: VM): void {
    const key = objectKey(vm.metadata.namespace ?? '', vm.metadata.name);
    if (this.vmObjects.get(key) === held) this.vmObjects.set(key, vm);
  }

  deleteVM(key: string): void {
    const old = this.vms.get(key);
    if (!old) return;
    this.unindexVm(old);
    this.vms.delete(key);
    this.vmObjects.delete(key);
    this.noteVm(key, old, null);
    this.rebuildVms(this.book.setVm(key, null, null));
  }

  /** Records of VMs whose address refusal changed through another object's change. */
  private rebuildVms(keys: string[]): void {
    for (const k of keys) {
      const vm = this.vmObjects.get(k);
      if (vm) this.putVm(vm);
    }
  }

  private putVm(vm: VM): void {
    const namespace = vm.metadata.namespace ?? '';
    const key = objectKey(namespace, vm.metadata.name);
    const tenant = this.tenantOfNamespace(namespace);
    // The book always hears the VM's current tenant (a rebuild may come before the VM's own rederive).
    const others = this.book.setVm(key, vm, this.tenantName(tenant)).filter((k) => k !== key);
    const refusal = this.book.refusal(key) ?? null;
    // The decoded vNIC objects are kept as they are: no per-vNIC copies.
    const vnics: readonly VnicRec[] = vm.spec.vnics;
    const rec: VmRec = {
      key,
      namespace,
      name: vm.metadata.name,
      tenant,
      labels: vm.metadata.labels ?? {},
      tags: [...new Set(vm.spec.tags ?? [])].sort(),
      // A VM refused an address is bound nowhere, whatever its status or pin says.
      hosts: refusal ? [] : hostsOfVm(vm),
      quarantined: vm.status?.phase === 'Quarantined',
      refusal,
      vnics,
      ips: vnics.map((n) => parseIPv4(n.ip)),
    };
    const old = this.vms.get(key) ?? null;
    if (old) this.unindexVm(old);
    this.vms.set(key, rec);
    this.vmsByNamespace.add(namespace, key);
    this.vmsByTenantIdx.add(rec.tenant, key);
    for (const h of rec.hosts) this.vmsByHostIdx.add(h, key);
    for (const t of rec.tags) this.vmsByTagIdx.add(t, key);
    this.noteVm(key, old, rec);
    this.rebuildVms(others);
  }

  private unindexVm(rec: VmRec): void {
    this.vmsByNamespace.delete(rec.namespace, rec.key);
    this.vmsByTenantIdx.delete(rec.tenant, rec.key);
    for (const h of rec.hosts) this.vmsByHostIdx.delete(h, rec.key);
    for (const t of rec.tags) this.vmsByTagIdx.delete(t, rec.key);
  }

  private noteVm(key: string, old: VmRec | null, now: VmRec | null): void {
    const prev = this.log.vms.get(key);
    this.log.vms.set(key, { old: prev ? prev.old : old, now });
  }

  vmKeysOfTenant(tenant: number): Iterable<string> {
    return this.vmsByTenantIdx.get(tenant);
  }
  vmKeysOnHost(host: string): Iterable<string> {
    return this.vmsByHostIdx.get(host);
  }
  vmKeysWithTag(tag: string): Iterable<string> {
    return this.vmsByTagIdx.get(tag);
  }
  vmCountWithTag(tag: string): number {
    return this.vmsByTagIdx.count(tag);
  }

  // ------------------------------------------------------------ policies
  upsertPolicy(p: SecurityPolicy): void {
    this.policyObjects.set(objectKey(p.metadata.namespace ?? '', p.metadata.name), p);
    this.putPolicy(p);
  }

  deletePolicy(key: string): void {
    const old = this.policies.get(key);
    if (!old) return;
    this.unindexPolicy(old);
    this.policies.delete(key);
    this.policyObjects.delete(key);
    this.notePolicy(key, old, null);
  }

  private putPolicy(p: SecurityPolicy): void {
    const namespace = p.metadata.namespace ?? '';
    const key = objectKey(namespace, p.metadata.name);
    const owner = this.ownerOf(namespace);
    const tier = p.spec.tier ?? 'Tenant';
    const rec: PolicyRec = {
      key,
      namespace,
      name: p.metadata.name,
      tier,
      priority: p.spec.priority ?? 500,
      appliesTo: p.spec.appliesTo ?? {},
      ingress: p.spec.ingress ?? [],
      egress: p.spec.egress ?? [],
      tenant: tier === 'Tenant' && owner !== null ? this.tenantId(owner) : NO_TENANT,
      rejection: policyRejection(p, owner, this.providerNamespace),
    };
    const old = this.policies.get(key) ?? null;
    if (old) this.unindexPolicy(old);
    this.policies.set(key, rec);
    this.policiesByNamespace.add(namespace, key);
    if (rec.rejection === null) {
      if (rec.tier === 'Provider') {
        this.providerSet.add(key);
        this.sortedProvider = null;
      } else if (rec.tier === 'Baseline') {
        this.baselineSet.add(key);
        this.sortedBaseline = null;
      } else {
        this.tenantPolicyIdx.add(rec.tenant, key);
        this.sortedTenant.delete(rec.tenant);
      }
    }
    this.notePolicy(key, old, rec);
  }

  private unindexPolicy(rec: PolicyRec): void {
    this.policiesByNamespace.delete(rec.namespace, rec.key);
    if (this.providerSet.delete(rec.key)) this.sortedProvider = null;
    if (this.baselineSet.delete(rec.key)) this.sortedBaseline = null;
    this.tenantPolicyIdx.delete(rec.tenant, rec.key);
    this.sortedTenant.delete(rec.tenant);
  }

  private notePolicy(key: string, old: PolicyRec | null, now: PolicyRec | null): void {
    const prev = this.log.policies.get(key);
    this.log.policies.set(key, { old: prev ? prev.old : old, now });
  }

  /** Accepted Provider policies in evaluation order. */
  providerPolicies(): readonly PolicyRec[] {
    return (this.sortedProvider ??= [...this.providerSet].map((k) => this.policies.get(k)!).sort(comparePolicies));
  }
  /** Accepted Baseline policies in evaluation order. */
  baselinePolicies(): readonly PolicyRec[] {
    return (this.sortedBaseline ??= [...this.baselineSet].map((k) => this.policies.get(k)!).sort(comparePolicies));
  }
  /** Accepted Tenant-tier policies of one tenant in evaluation order. */
  tenantPolicies(tenant: number): readonly PolicyRec[] {
    let list = this.sortedTenant.get(tenant);
    if (!list) {
      list = [...this.tenantPolicyKeys(tenant)].map((k) => this.policies.get(k)!).sort(comparePolicies);
      this.sortedTenant.set(tenant, list);
    }
    return list;
  }
  /** Accepted Tenant-tier policies of one tenant (unsorted). */
  tenantPolicyKeys(tenant: number): Iterable<string> {
    return this.tenantPolicyIdx.get(tenant);
  }

  /** Hand over (and reset) what changed since the last call. */
  drainChanges(): ChangeLog {
    const out = this.log;
    this.log = { vms: new Map(), policies: new Map(), hosts: new Set() };
    return out;
  }
}


/**
 * Why a policy is not accepted (DESIGN.md): Provider and Baseline live only in the provider
 * namespace; elsewhere a policy must be Tenant tier, in a namespace some tenant owns, and may select
 * only its own tenant's VMs. Null when accepted.
 */
export function policyRejection(p: SecurityPolicy, owner: string | null, providerNamespace: string): string | null {
  const ns = p.metadata.namespace ?? '';
  const tier = p.spec.tier ?? 'Tenant';
  if (ns === providerNamespace) {
    if (tier === 'Tenant') return `tier Tenant is not allowed in the provider namespace ${providerNamespace} (use Provider or Baseline)`;
    return null;
  }
  if (tier !== 'Tenant') return `tier ${tier} is allowed only in the provider namespace ${providerNamespace}`;
  if (owner === null) return `namespace ${ns} belongs to no tenant`;
  const others = (p.spec.appliesTo?.tenants ?? []).filter((t) => t !== owner);
  if (others.length > 0)
    return `a Tenant-tier policy may select only its own tenant's VMs (tenant ${owner}), but appliesTo.tenants names ${others.join(', ')}`;
  return null;
}
