// The compiler: inventory → one HostFilter spec per host, kept up to date incrementally.
//
// Work is shared, not repeated per host or per vNIC:
// - A VM's *effective policy set* (its tenant + the accepted policies that apply to it, in evaluation
//   order) is its program key. One ProgramEntry per key is built once, globally, and every host that
//   runs a VM with that key reuses the same Program object.
// - A peer resolves to a GroupDef (tenants × tags × selector); one GroupEntry per definition, resolved
//   once and shared by every program that names it. Ids are content hashes, so identical member sets
//   are stored once per host even when reached through different definitions.
// - A change (apply) touches only: VMs whose facts changed, VMs in the scope of a changed policy,
//   groups the changed VMs fall in or out of, programs naming a group whose members changed, and the
//   hosts that run any of those. Only hosts whose content hash changed are returned.
//
// The flattened program per direction (the classifier's first-match list, see DESIGN.md):
//   Provider rules … | Tenant rules …, then Deny "tenant-isolation" (if isolated) | Baseline rules … |
//   Default: Allow own-tenant group "default-same-tenant", Deny "default-deny".
// Pass continues at the first later rule of a higher tier, so a Tenant Pass skips the isolation rule.
import type {
  AddressGroup, CompiledPeer, CompiledPort, CompiledRule, Host, HostFilterSpec, LabelSelector, Program, Rule,
  SecurityPolicy, Tag, Tenant, Tier, VM,
} from '../api';
import { contentHash, sortedUnique, toCidrs } from './addresses';
import { IMPLICIT_RULES } from './decision';
import { Inventory, NO_TENANT, comparePolicies, type PolicyRec, type VmRec } from './inventory';
import { selectorIsEmpty, selectorKey, selectorMatches } from './selector';

export type Change =
  | { op: 'upsert'; object: Tenant | Tag | Host | VM | SecurityPolicy }
  | { op: 'delete'; kind: 'Tenant' | 'Tag' | 'Host' | 'VM' | 'SecurityPolicy'; name: string; namespace?: string };

/** A host whose HostFilter spec changed; spec null = the host is gone. */
export interface HostUpdate {
  host: string;
  spec: HostFilterSpec | null;
}

export interface CompilerStats {
  /** Program entries built since construction (a rebuild after a policy change counts again). */
  programBuilds: number;
  /** Group resolutions since construction. */
  groupResolutions: number;
  programs: number;
  groups: number;
  hosts: number;
  bindings: number;
}

/** A set of VMs a peer stands for: tenants (null = every tenant) × all of `tags` × selector. */
interface GroupDef {
  tenants: number[] | null;
  tags: string[];
  selector: LabelSelector | undefined;
}

class GroupEntry {
  members: Uint32Array = new Uint32Array(0);
  group: AddressGroup = { id: '', addresses: [] };
  readonly programs = new Set<ProgramEntry>();
  constructor(
    readonly key: string,
    readonly def: GroupDef,
  ) {}
  get id(): string {
    return this.group.id;
  }
}

type TemplatePeer = { group: GroupEntry } | { cidr: string; except?: string[] };
interface TemplateRule {
  tier: CompiledRule['tier'];
  policy?: string;
  rule: string;
  action: CompiledRule['action'];
  peers: TemplatePeer[];
  ports: CompiledPort[];
}

class ProgramEntry {
  program!: Program;
  readonly vms = new Set<string>();
  constructor(
    readonly key: string,
    /** Hash of tenant + policy names: the placement-facing program key. */
    readonly setKey: string,
    readonly policies: readonly PolicyRec[],
    readonly egress: TemplateRule[],
    readonly ingress: TemplateRule[],
    readonly groups: GroupEntry[],
  ) {}
}

const QUARANTINE_KEY = 'quarantine';

function sameVmFacts(a: VmRec, b: VmRec): boolean {
  if (a.tenant !== b.tenant || a.quarantined !== b.quarantined) return false;
  if (a.hosts.length !== b.hosts.length || a.hosts.some((h, i) => h !== b.hosts[i])) return false;
  if (a.tags.size !== b.tags.size || [...a.tags].some((t) => !b.tags.has(t))) return false;
  const la = Object.keys(a.labels);
  if (la.length !== Object.keys(b.labels).length || la.some((k) => a.labels[k] !== b.labels[k])) return false;
  if (a.vnics.length !== b.vnics.length) return false;
  return a.vnics.every((n, i) => n.name === b.vnics[i]!.name && n.ip === b.vnics[i]!.ip && n.mac === b.vnics[i]!.mac);
}

function groupMatches(def: GroupDef, vm: VmRec): boolean {
  if (vm.hosts.length === 0) return false;
  if (def.tenants !== null && !def.tenants.includes(vm.tenant)) return false;
  for (const t of def.tags) if (!vm.tags.has(t)) return false;
  return !def.selector || selectorMatches(def.selector, vm.labels);
}

const sortedUniqueStrings = (l: readonly string[] | undefined) => [...new Set(l ?? [])].sort();

export class PolicyCompiler {
  readonly inventory: Inventory;
  private readonly groups = new Map<string, GroupEntry>();
  private readonly groupsByTenant = new Map<number, Set<GroupEntry>>();
  private readonly groupsAnyTenant = new Set<GroupEntry>();
  private readonly programs = new Map<string, ProgramEntry>();
  private readonly programsByPolicy = new Map<string, Set<ProgramEntry>>();
  private readonly vmProgram = new Map<string, ProgramEntry>();
  private readonly hostSpecs = new Map<string, HostFilterSpec>();
  private readonly policyIds = new Map<string, number>();
  private readonly appliesTenantIds = new WeakMap<PolicyRec, Set<number> | null>();
  private counters = { programBuilds: 0, groupResolutions: 0 };

  constructor(opts: { providerNamespace?: string; inventory?: Inventory } = {}) {
    this.inventory = opts.inventory ?? new Inventory(opts);
  }

  /** Compile everything from objects at once: host name → spec. */
  static compileAll(objects: Iterable<Tenant | Tag | Host | VM | SecurityPolicy>, opts: { providerNamespace?: string } = {}) {
    const c = new PolicyCompiler(opts);
    c.apply([...objects].map((object) => ({ op: 'upsert' as const, object })));
    return c;
  }

  // ---------------------------------------------------------------- public queries
  spec(host: string): HostFilterSpec | undefined {
    return this.hostSpecs.get(host);
  }

  /** All current host specs, by host name. */
  specs(): ReadonlyMap<string, HostFilterSpec> {
    return this.hostSpecs;
  }

  stats(): CompilerStats {
    let bindings = 0;
    for (const s of this.hostSpecs.values()) bindings += s.bindings.length;
    return { ...this.counters, programs: this.programs.size, groups: this.groups.size, hosts: this.hostSpecs.size, bindings };
  }

  /**
   * Key of the effective policy set of a VM (in the inventory by "ns/name", or any VM object, placed or
   * not): equal keys compile to the same program. For placement: prefer hosts already carrying it.
   */
  programKeyOf(vm: VM | string): string {
    let facts: Pick<VmRec, 'tenant' | 'labels' | 'tags'> & { quarantined: boolean };
    if (typeof vm === 'string') {
      const rec = this.inventory.vms.get(vm);
      if (!rec) throw new Error(`no VM ${vm}`);
      facts = rec;
    } else {
      const owner = this.inventory.ownerOf(vm.metadata.namespace ?? '');
      facts = {
        tenant: owner === null ? NO_TENANT : this.inventory.tenantId(owner),
        labels: vm.metadata.labels ?? {},
        tags: new Set(vm.spec.tags ?? []),
        quarantined: vm.status?.phase === 'Quarantined',
      };
    }
    if (facts.quarantined) return QUARANTINE_KEY;
    return this.setKeyOf(facts.tenant, this.effectivePolicies(facts));
  }

  /** Program keys (as programKeyOf) of the VMs a host carries now. */
  programKeysOnHost(host: string): Set<string> {
    const out = new Set<string>();
    for (const key of this.inventory.vmKeysOnHost(host)) {
      const e = this.vmProgram.get(key);
      if (e) out.add(e.setKey);
    }
    return out;
  }

  /** Program id bound to a VM now (for VM.status.program), if placed. */
  programIdOf(vmKey: string): string | undefined {
    return this.vmProgram.get(vmKey)?.program.id;
  }

  // ---------------------------------------------------------------- incremental entry point
  /** Apply changes; returns the hosts whose HostFilter spec changed, sorted by name. */
  apply(changes: Iterable<Change>): HostUpdate[] {
    for (const ch of changes) this.mutate(ch);
    const log = this.inventory.drainChanges();
    const dirtyHosts = new Set<string>(log.hosts);
    const affected = new Set<string>();
    let allVms = false;
    const touched = new Set<ProgramEntry>();

    // Policies: programs built from a changed policy are rebuilt; VMs in its scope get re-evaluated.
    for (const [key, { old, now }] of log.policies) {
      for (const e of [...(this.programsByPolicy.get(key) ?? [])]) this.dropProgram(e, affected);
      for (const rec of [old, now]) {
        if (!rec || rec.rejection !== null) continue;
        if (rec.tier === 'Tenant') for (const k of this.inventory.vmKeysOfTenant(rec.tenant)) affected.add(k);
        else allVms = true;
      }
    }

    // VMs: what changed, which existing groups they enter or leave, which hosts they were or are on.
    const dirtyGroups = new Set<GroupEntry>();
    for (const [key, { old, now }] of log.vms) {
      if (old && now && sameVmFacts(old, now)) continue;
      affected.add(key);
      for (const rec of [old, now]) {
        if (!rec) continue;
        for (const h of rec.hosts) dirtyHosts.add(h);
        for (const g of this.groupsByTenant.get(rec.tenant) ?? []) if (groupMatches(g.def, rec)) dirtyGroups.add(g);
        for (const g of this.groupsAnyTenant) if (groupMatches(g.def, rec)) dirtyGroups.add(g);
      }
    }

    // Groups whose members changed re-identify the programs naming them.
    for (const g of dirtyGroups) {
      const before = g.id;
      this.resolveGroup(g);
      if (g.id === before) continue;
      for (const e of g.programs) {
        const id = e.program.id;
        this.instantiate(e);
        if (e.program.id !== id) for (const k of e.vms) for (const h of this.inventory.vms.get(k)?.hosts ?? []) dirtyHosts.add(h);
      }
    }

    // VMs: (re)bind to the program of their effective set.
    const keys: Iterable<string> = allVms ? new Set([...this.inventory.vms.keys(), ...affected]) : affected;
    for (const key of keys) {
      const rec = this.inventory.vms.get(key);
      const before = this.vmProgram.get(key);
      const after = rec && rec.hosts.length > 0 ? this.programFor(rec) : undefined;
      if (before === after) continue;
      if (before) {
        before.vms.delete(key);
        touched.add(before);
      }
      if (after) {
        after.vms.add(key);
        this.vmProgram.set(key, after);
      } else this.vmProgram.delete(key);
      for (const h of rec?.hosts ?? []) dirtyHosts.add(h);
    }
    for (const e of touched) if (e.vms.size === 0 && this.programs.get(e.key) === e) this.dropProgram(e, null);

    // Hosts: rebuild the dirty ones, report those whose content changed.
    const updates: HostUpdate[] = [];
    for (const host of [...dirtyHosts].sort()) {
      if (this.inventory.hosts.has(host)) {
        const spec = this.buildHost(host);
        if (this.hostSpecs.get(host)?.hash === spec.hash) continue;
        this.hostSpecs.set(host, spec);
        updates.push({ host, spec });
      } else if (this.hostSpecs.delete(host)) updates.push({ host, spec: null });
    }
    return updates;
  }

  private mutate(ch: Change): void {
    const inv = this.inventory;
    if (ch.op === 'upsert') {
      const o = ch.object;
      // The schemas type `kind` as string, so narrow by hand.
      switch (o.kind) {
        case 'Tenant': return inv.upsertTenant(o as Tenant);
        case 'Tag': return inv.upsertTag(o as Tag);
        case 'Host': return inv.upsertHost(o as Host);
        case 'VM': return inv.upsertVM(o as VM);
        case 'SecurityPolicy': return inv.upsertPolicy(o as SecurityPolicy);
      }
      return;
    }
    const key = `${ch.namespace ?? ''}/${ch.name}`;
    switch (ch.kind) {
      case 'Tenant': return inv.deleteTenant(ch.name);
      case 'Tag': return inv.deleteTag(ch.name);
      case 'Host': return inv.deleteHost(ch.name);
      case 'VM': return inv.deleteVM(key);
      case 'SecurityPolicy': return inv.deletePolicy(key);
    }
  }

  // ---------------------------------------------------------------- effective policy set
  private policyId(key: string): number {
    let id = this.policyIds.get(key);
    if (id === undefined) this.policyIds.set(key, (id = this.policyIds.size));
    return id;
  }

  private appliesTo(p: PolicyRec, vm: Pick<VmRec, 'tenant' | 'labels' | 'tags'>): boolean {
    const a = p.appliesTo;
    if (p.tier === 'Tenant' && vm.tenant !== p.tenant) return false;
    if (a.tags) for (const t of a.tags) if (!vm.tags.has(t)) return false;
    if (a.vmSelector && !selectorMatches(a.vmSelector, vm.labels)) return false;
    let tenants = this.appliesTenantIds.get(p);
    if (tenants === undefined) {
      tenants = a.tenants && a.tenants.length > 0 ? new Set(a.tenants.map((n) => this.inventory.tenantId(n))) : null;
      this.appliesTenantIds.set(p, tenants);
    }
    return tenants === null || tenants.has(vm.tenant);
  }

  /** Accepted policies applying to the VM: Provider, Tenant (own), Baseline, each in evaluation order. */
  private effectivePolicies(vm: Pick<VmRec, 'tenant' | 'labels' | 'tags'>): PolicyRec[] {
    const out: PolicyRec[] = [];
    for (const p of this.inventory.providerPolicies()) if (this.appliesTo(p, vm)) out.push(p);
    if (vm.tenant !== NO_TENANT) {
      const own: PolicyRec[] = [];
      for (const k of this.inventory.tenantPolicyKeys(vm.tenant)) {
        const p = this.inventory.policies.get(k)!;
        if (this.appliesTo(p, vm)) own.push(p);
      }
      out.push(...own.sort(comparePolicies));
    }
    for (const p of this.inventory.baselinePolicies()) if (this.appliesTo(p, vm)) out.push(p);
    return out;
  }

  private setKeyOf(tenant: number, policies: readonly PolicyRec[]): string {
    return 'ps-' + contentHash(`${this.inventory.tenantName(tenant) ?? ''}\n${policies.map((p) => p.key).join('\n')}`);
  }

  private programFor(vm: VmRec): ProgramEntry {
    if (vm.quarantined) return this.programs.get(QUARANTINE_KEY) ?? this.buildQuarantine();
    const policies = this.effectivePolicies(vm);
    const key = `${vm.tenant}:${policies.map((p) => this.policyId(p.key)).join(',')}`;
    return this.programs.get(key) ?? this.buildProgram(key, vm.tenant, policies);
  }

  // ---------------------------------------------------------------- programs
  private buildQuarantine(): ProgramEntry {
    const deny = (): TemplateRule => ({ tier: 'Provider', rule: IMPLICIT_RULES.quarantine, action: 'Deny', peers: [], ports: [] });
    const e = new ProgramEntry(QUARANTINE_KEY, QUARANTINE_KEY, [], [deny()], [deny()], []);
    this.instantiate(e);
    this.programs.set(QUARANTINE_KEY, e);
    return e;
  }

  private buildProgram(key: string, tenant: number, policies: PolicyRec[]): ProgramEntry {
    this.counters.programBuilds++;
    const groups = new Set<GroupEntry>();
    const direction = (dir: 'egress' | 'ingress'): TemplateRule[] => {
      const rules: TemplateRule[] = [];
      const emit = (tier: Tier, p: PolicyRec) => {
        for (const r of p[dir]) rules.push(this.templateRule(tier, p, r, tenant, groups));
      };
      for (const p of policies) if (p.tier === 'Provider') emit('Provider', p);
      const own = policies.filter((p) => p.tier === 'Tenant' && p[dir].length > 0);
      for (const p of own) emit('Tenant', p);
      if (own.length > 0) rules.push({ tier: 'Tenant', rule: IMPLICIT_RULES.isolation, action: 'Deny', peers: [], ports: [] });
      for (const p of policies) if (p.tier === 'Baseline') emit('Baseline', p);
      const same = this.groupFor({ tenants: tenant === NO_TENANT ? [] : [tenant], tags: [], selector: undefined });
      groups.add(same);
      rules.push({ tier: 'Default', rule: IMPLICIT_RULES.sameTenant, action: 'Allow', peers: [{ group: same }], ports: [] });
      rules.push({ tier: 'Default', rule: IMPLICIT_RULES.defaultDeny, action: 'Deny', peers: [], ports: [] });
      return rules;
    };
    const egress = direction('egress');
    const ingress = direction('ingress');
    const e = new ProgramEntry(key, this.setKeyOf(tenant, policies), policies, egress, ingress, [...groups]);
    for (const g of groups) g.programs.add(e);
    for (const p of policies) {
      let s = this.programsByPolicy.get(p.key);
      if (!s) this.programsByPolicy.set(p.key, (s = new Set()));
      s.add(e);
    }
    this.instantiate(e);
    this.programs.set(key, e);
    return e;
  }

  private templateRule(tier: Tier, p: PolicyRec, r: Rule, vmTenant: number, groups: Set<GroupEntry>): TemplateRule {
    const peers: TemplatePeer[] = (r.peers ?? []).map((peer) => {
      if (peer.cidr) return peer.cidr.except && peer.cidr.except.length > 0 ? { cidr: peer.cidr.cidr, except: [...peer.cidr.except] } : { cidr: peer.cidr.cidr };
      const g = this.groupFor(this.peerGroupDef(peer, p, vmTenant));
      groups.add(g);
      return { group: g };
    });
    const ports: CompiledPort[] = (r.ports ?? []).map((e) => {
      const out: CompiledPort = { protocol: e.protocol ?? 'TCP' };
      if (e.port !== undefined) out.port = e.port;
      if (e.endPort !== undefined) out.endPort = e.endPort;
      return out;
    });
    return { tier, policy: p.key, rule: r.name, action: r.action, peers, ports };
  }

  private peerGroupDef(peer: Rule['peers'][number], p: PolicyRec, vmTenant: number): GroupDef {
    const ids = (names: readonly string[]) => [...new Set(names.map((n) => this.inventory.tenantId(n)))].sort((a, b) => a - b);
    if (peer.sameTenant) return { tenants: vmTenant === NO_TENANT ? [] : [vmTenant], tags: [], selector: undefined };
    if (peer.tenants) return { tenants: ids(peer.tenants), tags: [], selector: undefined };
    const vms = peer.vms ?? {};
    const tenants = vms.tenants && vms.tenants.length > 0 ? ids(vms.tenants) : p.tier === 'Tenant' ? [p.tenant] : null;
    return { tenants, tags: sortedUniqueStrings(vms.tags), selector: selectorIsEmpty(vms.vmSelector) ? undefined : vms.vmSelector };
  }

  /** Give a program its concrete rules and content id (again after a group's members changed). */
  private instantiate(e: ProgramEntry): void {
    // Key order is fixed (tier, policy, rule, action, peers, ports) so the bytes are deterministic.
    const concrete = (rules: TemplateRule[]): CompiledRule[] =>
      rules.map((r) => {
        const peers = r.peers.map(concretePeer);
        return r.policy !== undefined
          ? { tier: r.tier, policy: r.policy, rule: r.rule, action: r.action, peers, ports: r.ports }
          : { tier: r.tier, rule: r.rule, action: r.action, peers, ports: r.ports };
      });
    const egress = concrete(e.egress);
    const ingress = concrete(e.ingress);
    const id = 'p-' + contentHash(JSON.stringify([egress, ingress]));
    e.program = { id, egress, ingress };
  }

  private dropProgram(e: ProgramEntry, affected: Set<string> | null): void {
    if (this.programs.get(e.key) === e) this.programs.delete(e.key);
    for (const p of e.policies) {
      const s = this.programsByPolicy.get(p.key);
      if (s && s.delete(e) && s.size === 0) this.programsByPolicy.delete(p.key);
    }
    for (const g of e.groups) {
      g.programs.delete(e);
      if (g.programs.size === 0) this.dropGroup(g);
    }
    if (affected) for (const k of e.vms) affected.add(k);
  }

  // ---------------------------------------------------------------- address groups
  private groupFor(def: GroupDef): GroupEntry {
    const key = `${def.tenants === null ? '*' : def.tenants.join(',')}|${def.tags.join(',')}|${selectorKey(def.selector)}`;
    let g = this.groups.get(key);
    if (g) return g;
    g = new GroupEntry(key, def);
    this.resolveGroup(g);
    this.groups.set(key, g);
    if (def.tenants === null) this.groupsAnyTenant.add(g);
    else
      for (const t of def.tenants) {
        let s = this.groupsByTenant.get(t);
        if (!s) this.groupsByTenant.set(t, (s = new Set()));
        s.add(g);
      }
    return g;
  }

  private dropGroup(g: GroupEntry): void {
    if (this.groups.get(g.key) !== g) return;
    this.groups.delete(g.key);
    if (g.def.tenants === null) this.groupsAnyTenant.delete(g);
    else
      for (const t of g.def.tenants) {
        const s = this.groupsByTenant.get(t);
        if (s && s.delete(g) && s.size === 0) this.groupsByTenant.delete(t);
      }
  }

  private resolveGroup(g: GroupEntry): void {
    this.counters.groupResolutions++;
    const inv = this.inventory;
    const { def } = g;
    let candidates: Iterable<string>;
    if (def.tenants !== null) candidates = def.tenants.length === 1 ? inv.vmKeysOfTenant(def.tenants[0]!) : def.tenants.flatMap((t) => [...inv.vmKeysOfTenant(t)]);
    else if (def.tags.length > 0) {
      // Walk the rarest tag's VMs.
      let best = inv.vmKeysWithTag(def.tags[0]!);
      for (const t of def.tags) if (inv.vmKeysWithTag(t).size < best.size) best = inv.vmKeysWithTag(t);
      candidates = best;
    } else candidates = inv.vms.keys();
    const ips: number[] = [];
    for (const k of candidates) {
      const vm = inv.vms.get(k)!;
      if (groupMatches(def, vm)) for (const ip of vm.ips) ips.push(ip);
    }
    const members = sortedUnique(ips);
    const same = members.length === g.members.length && members.every((v, i) => v === g.members[i]);
    if (same && g.group.id) return;
    g.members = members;
    const addresses = toCidrs(members);
    g.group = { id: 'ag-' + contentHash(addresses.join(',')), addresses };
  }

  // ---------------------------------------------------------------- hosts
  private buildHost(host: string): HostFilterSpec {
    const inv = this.inventory;
    const keys = [...inv.vmKeysOnHost(host)].sort();
    const bindings: HostFilterSpec['bindings'] = [];
    const programs = new Map<string, Program>();
    const groups = new Map<string, AddressGroup>();
    for (const key of keys) {
      const e = this.vmProgram.get(key);
      const vm = inv.vms.get(key);
      if (!e || !vm) continue;
      const id = e.program.id;
      if (!programs.has(id)) {
        programs.set(id, e.program);
        for (const g of e.groups) groups.set(g.id, g.group);
      }
      const nics = vm.vnics.length > 1 ? [...vm.vnics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : vm.vnics;
      for (const n of nics) bindings.push({ vm: key, vnic: n.name, ip: n.ip, mac: n.mac, program: id });
    }
    const programIds = [...programs.keys()].sort();
    const groupIds = [...groups.keys()].sort();
    // Programs and groups are content-addressed, so hashing their ids covers their content.
    const text: string[] = [host, programIds.join(','), groupIds.join(',')];
    for (const b of bindings) text.push(`${b.vm} ${b.vnic} ${b.ip} ${b.mac} ${b.program}`);
    return {
      hostName: host,
      programs: programIds.map((id) => programs.get(id)!),
      addressGroups: groupIds.map((id) => groups.get(id)!),
      bindings,
      hash: 'hf-' + contentHash(text.join('\n'), 24),
    };
  }
}

function concretePeer(p: TemplatePeer): CompiledPeer {
  return 'group' in p ? { group: p.group.id } : p;
}

/** Host → spec for a set of objects, compiled from scratch. */
export function compileHostFilters(objects: Iterable<Tenant | Tag | Host | VM | SecurityPolicy>, opts: { providerNamespace?: string } = {}): Map<string, HostFilterSpec> {
  return new Map(PolicyCompiler.compileAll(objects, opts).specs());
}
