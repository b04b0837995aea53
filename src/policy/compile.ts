// The compiler: inventory → one HostFilter spec per host, kept up to date incrementally.
//
// Work is shared, not repeated per host or per vNIC:
// - A VM's *effective policy set* (its tenant + the accepted policies that apply to it, in evaluation
//   order) is its program key. One ProgramEntry per key is built once, globally, and every host that
//   runs a VM with that key reuses the same Program object.
// - A peer resolves to a GroupDef (tenants × tags × selector); one GroupEntry per definition, resolved
//   once and shared by every rule that names it. Ids are content hashes, so identical member sets
//   are stored once per host even when reached through different definitions.
// - A rule of a policy compiles once (per tenant only if it says sameTenant) into one shared
//   CompiledRule object (and a digest of its JSON text); a program is a list of such rules, its id a
//   hash over their digests, so a provider guardrail in 75,000 programs exists once in memory.
// - A change (apply) touches only: VMs whose facts changed, VMs in the scope of a changed policy,
//   groups the changed VMs fall in or out of, programs naming a group whose members changed, and the
//   hosts that run any of those. Only hosts whose content hash changed are returned.
//
// The flattened program per direction (the classifier's first-match list, see DESIGN.md):
//   Provider rules … | Tenant rules …, then Deny "tenant-isolation" (if isolated) | Baseline rules … |
//   Default: Allow own-tenant group "default-same-tenant", Deny "default-deny".
// Pass continues at the first later rule of a higher tier, so a Tenant Pass skips the isolation rule.
//
// Size (measured by bench compile-max): a host with 320 VMs × 10 vNICs from ~80 tenants serializes to
// ~0.85 MB (3,200 bindings ≈ 0.37 MB, ~210 programs, ~270 groups); with every VM from a different
// tenant ~1.1 MB. Address groups are written as aligned CIDR blocks, so a tenant's consecutive
// addresses cost a few entries.
//
// Shared groups (option sharedGroupMinAddresses): a group that large (vmworld's provider peer `vms: {}`
// holds all 58,000 vNIC addresses, 850 KB, named by every host's filter) is not repeated in every
// HostFilter. Its entry there is `{id, shared: true}` with an id derived from its definition, not its
// members, and the members go to cluster-scoped AddressGroup objects, one per /16 (Antrea's
// AddressGroup, an ipset in kube-proxy). A membership change then rewrites one small shard instead of
// every filter naming the group; programs and filters keep their ids.
import type { AddressGroupShardSpec, CompiledPeer, CompiledPort, Host, HostFilterSpec, Rule, SecurityPolicy, Tag, Tenant, VM } from '../api';
import { SetMultimap, SmallSet } from '../util/multimap';
import { contentId, toCidrs } from './addresses';
import { flatJoin } from '../util/flat-string';
import { buildHostSpec } from './compile-host';
import { ShardTable } from './compile-shards';
import {
  GroupEntry, groupMatches, NO_PEERS, NO_PORT_LIST, NO_PORTS, ProgramEntry, QUARANTINE_KEY, RuleEntry, sameVmFacts, type GroupDef,
  type TemplatePeer,
} from './compile-units';
import { IMPLICIT_RULES } from './decision';
import { Inventory, NO_TENANT, type PolicyRec, type VmRec } from './inventory';
import { isEnforced } from './staged';
import { selectorIsEmpty, selectorKey, selectorMatches } from './selector';

export type Change =
  | { op: 'upsert'; object: Tenant | Tag | Host | VM | SecurityPolicy }
  | { op: 'delete'; kind: 'Tenant' | 'Tag' | 'Host' | 'VM' | 'SecurityPolicy'; name: string; namespace?: string };

/** A host whose HostFilter spec changed; spec null = the host is gone. */
export interface HostUpdate {
  host: string;
  spec: HostFilterSpec | null;
}

export interface CompilerOptions {
  providerNamespace?: string;
  inventory?: Inventory;
  /**
   * Groups with at least this many addresses are shared (written as AddressGroup objects, named by
   * the HostFilters); a shared group goes back inline below half of it. Default: never (offline tools).
   */
  sharedGroupMinAddresses?: number;
}

export interface CompilerStats {
  /** Program entries built since construction (a rebuild after a policy change counts again). */
  programBuilds: number;
  /** Group resolutions since construction. */
  groupResolutions: number;
  /** Distinct compiled rules built since construction. */
  ruleBuilds: number;
  programs: number;
  groups: number;
  hosts: number;
  bindings: number;
}

/** One VM's share of its program's policy spans. */
interface SpanPart {
  program: ProgramEntry;
  vnics: number;
  hosts: readonly string[];
}

interface PolicyScratch {
  /** Interned id, for program keys. */
  id: number;
  /** appliesTo.tenants as ids; null = no restriction. */
  appliesTenants: Set<number> | null;
  /** Compiled rules that do not depend on the VM's tenant, by index. */
  egress: (RuleEntry | undefined)[];
  ingress: (RuleEntry | undefined)[];
  /** Compiled rules that do (sameTenant peers), by "dir:index:tenant"; null until one exists. */
  perTenant: Map<string, RuleEntry> | null;
  /**
   * Programs built from this record; Tenant tier only. A Provider or Baseline policy is in most
   * programs (75,000 in antrea-xl): a set that large costs more to fill than scanning the programs
   * on the rare change of such a policy (see programsOf).
   */
  programs: SmallSet<ProgramEntry> | null;
}

const NO_TAGS: string[] = [];
const sortedUniqueStrings = (l: readonly string[] | undefined) => (!l || l.length === 0 ? NO_TAGS : [...new Set(l)].sort());

export class PolicyCompiler {
  readonly inventory: Inventory;
  private readonly groups = new Map<string, GroupEntry>();
  private readonly groupsByTenant = new SetMultimap<number, GroupEntry>();
  private readonly groupsAnyTenant = new Set<GroupEntry>();
  private readonly constants: Partial<Record<'isolation' | 'deny' | 'quarantine', RuleEntry>> = {};
  private readonly sameRules = new Map<number, RuleEntry>();
  private readonly programs = new Map<string, ProgramEntry>();
  private readonly vmProgram = new Map<string, ProgramEntry>();
  private readonly hostSpecs = new Map<string, HostFilterSpec>();
  /** Policy key → the VMs, vNICs and hosts of the programs that include it (see policySpan). */
  private readonly spans = new Map<string, { vms: number; vnics: number; hosts: Map<string, number> }>();
  /** What each bound VM adds to the spans of its program's policies now. */
  private readonly spanParts = new Map<string, SpanPart>();
  /** Policies whose span moved since the last drainSpanChanges (what their status reports). */
  private spanChanged = new Set<string>();
  private readonly policyIds = new Map<string, number>();
  /** Interned CIDR peers and port lists, by content (a handful of distinct ones serve 250,000 rules). */
  private readonly cidrPeers = new Map<string, CompiledPeer>();
  private readonly portLists = new Map<string, { list: CompiledPort[]; text: string }>();

  private counters = { programBuilds: 0, groupResolutions: 0, ruleBuilds: 0 };

  /** Shared groups and their AddressGroup shards. */
  private readonly shardTable: ShardTable;
  private readonly sharedMin: number;

  constructor(opts: CompilerOptions = {}) {
    this.inventory = opts.inventory ?? new Inventory(opts);
    this.sharedMin = opts.sharedGroupMinAddresses ?? Infinity;
    this.shardTable = new ShardTable((t) => this.inventory.tenantName(t));
  }

  /** Compile everything from objects at once: host name → spec. */
  static compileAll(objects: Iterable<Tenant | Tag | Host | VM | SecurityPolicy>, opts: CompilerOptions = {}) {
    const c = new PolicyCompiler(opts);
    // A generator, not an array: each change object dies young instead of living through the apply.
    c.apply((function* () {
      for (const object of objects) yield { op: 'upsert' as const, object };
    })());
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

  /** Shards of shared address groups (AddressGroup objects to exist), by object name. */
  shards(): ReadonlyMap<string, AddressGroupShardSpec> {
    return this.shardTable.all();
  }

  shard(name: string): AddressGroupShardSpec | undefined {
    return this.shardTable.get(name);
  }

  /** Names of the shards of shared group `id` now. */
  shardNamesOf(id: string): string[] {
    return this.shardTable.namesOf(id);
  }

  /** Shard names created, changed or gone since the last call. */
  drainShardChanges(): string[] {
    return this.shardTable.drain();
  }

  /** Policy keys whose span (VMs, vNICs, hosts) may have moved since the last call. */
  drainSpanChanges(): string[] {
    const out = [...this.spanChanged];
    this.spanChanged = new Set();
    return out;
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
        tags: [...new Set(vm.spec.tags ?? [])].sort(),
        quarantined: vm.status?.phase === 'Quarantined',
      };
    }
    if (facts.quarantined) return QUARANTINE_KEY;
    return this.setKeyOf(facts.tenant, this.effectivePolicies(facts));
  }

  /** programKeyOf for a VM that is bound now, read from its compiled program (no re-evaluation). */
  boundProgramKeyOf(vmKey: string): string {
    return this.vmProgram.get(vmKey)?.setKey ?? this.programKeyOf(vmKey);
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

  /**
   * The span of a policy (Antrea's SpanMeta): the VMs whose program includes it, their vNICs, and the
   * hosts whose filter must carry it. For SecurityPolicy.status. Kept per policy as VMs bind, move and
   * go (see refreshSpan), so a provider guardrail over 40,000 VMs answers in O(its hosts): scanning
   * its VMs on each status reconcile took seconds of operator CPU per cold start.
   */
  policySpan(policyKey: string): { vms: number; vnics: number; hosts: Set<string> } {
    const s = this.spans.get(policyKey);
    return s ? { vms: s.vms, vnics: s.vnics, hosts: new Set(s.hosts.keys()) } : { vms: 0, vnics: 0, hosts: new Set() };
  }

  /** policySpan recomputed by scanning the policy's programs and their VMs (the oracle in tests). */
  policySpanByScan(policyKey: string): { vms: number; vnics: number; hosts: Set<string> } {
    const out = { vms: 0, vnics: 0, hosts: new Set<string>() };
    const rec = this.inventory.policies.get(policyKey);
    for (const e of rec ? this.programsOf(rec) : []) {
      for (const vmKey of e.vms) {
        const rec = this.inventory.vms.get(vmKey);
        if (!rec) continue;
        out.vms++;
        out.vnics += rec.vnics.length;
        for (const h of rec.hosts) out.hosts.add(h);
      }
    }
    return out;
  }

  /** Programs built from a policy record. */
  private programsOf(rec: PolicyRec): ProgramEntry[] {
    const s = rec.compiled as PolicyScratch | undefined;
    if (!s) return [];
    if (s.programs) return [...s.programs];
    const out: ProgramEntry[] = [];
    for (const e of this.programs.values()) if (e.policies.includes(rec)) out.push(e);
    return out;
  }

  /** Keys of the policies some VM on `host` is compiled with. */
  policiesOnHost(host: string): Set<string> {
    const out = new Set<string>();
    const seen = new Set<ProgramEntry>();
    for (const vmKey of this.inventory.vmKeysOnHost(host)) {
      const e = this.vmProgram.get(vmKey);
      if (!e || seen.has(e)) continue;
      seen.add(e);
      for (const p of e.policies) out.add(p.key);
    }
    return out;
  }

  // ---------------------------------------------------------------- incremental entry point
  /** Apply changes; returns the hosts whose HostFilter spec changed, sorted by name. */
  apply(changes: Iterable<Change>): HostUpdate[] {
    const steps = this.applySteps(changes);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * `apply` in steps: it yields now and then (every few hundred objects, VMs or hosts), so a caller
   * compiling a whole datacenter can let the event loop in between (see CompileFeed.flushInTurns).
   * Nothing else may use the compiler until the steps are done.
   */
  *applySteps(changes: Iterable<Change>): Generator<void, HostUpdate[]> {
    let n = 0;
    const pause = () => (++n & 255) === 0;
    for (const ch of changes) {
      this.mutate(ch);
      if (pause()) yield;
    }
    const log = this.inventory.drainChanges();
    const dirtyHosts = new Set<string>(log.hosts);
    const affected = new Set<string>();
    const touched = new Set<ProgramEntry>();
    // A Provider or Baseline change re-evaluates every VM: then `affected` need only hold VMs that
    // are gone (a full compile would otherwise fill it with every VM twice).
    let allVms = false;
    for (const { old, now } of log.policies.values())
      for (const rec of [old, now]) if (rec && rec.rejection === null && rec.tier !== 'Tenant') allVms = true;

    // Policies: programs built from a changed policy are rebuilt; VMs in its scope get re-evaluated.
    for (const { old, now } of log.policies.values()) {
      // Everything compiled from the old record goes (its scratch holds it all).
      const stale = old?.compiled as PolicyScratch | undefined;
      if (old && stale) {
        for (const e of this.programsOf(old)) this.dropProgram(e, affected);
        for (const r of [...stale.egress, ...stale.ingress, ...(stale.perTenant?.values() ?? [])]) if (r) this.dropRule(r);
      }
      if (!allVms)
        for (const rec of [old, now])
          if (rec && rec.rejection === null && rec.tier === 'Tenant') for (const k of this.inventory.vmKeysOfTenant(rec.tenant)) affected.add(k);
    }

    // VMs: what changed, which existing groups they enter or leave, which hosts they were or are on.
    const dirtyGroups = new Set<GroupEntry>();
    for (const [key, { old, now }] of log.vms) {
      if (pause()) yield;
      if (old && now && sameVmFacts(old, now)) continue;
      if (!allVms || !now) affected.add(key);
      for (const [rec, sign] of [[old, -1], [now, 1]] as const) {
        if (!rec) continue;
        for (const h of rec.hosts) dirtyHosts.add(h);
        const visit = (g: GroupEntry) => {
          if (!groupMatches(g.def, rec)) return;
          g.addIps(rec.ips, sign);
          dirtyGroups.add(g);
        };
        for (const g of this.groupsByTenant.get(rec.tenant)) visit(g);
        for (const g of this.groupsAnyTenant) visit(g);
      }
    }

    // Groups whose members changed re-identify the rules naming them, and those the programs.
    const stalePrograms = new Set<ProgramEntry>();
    const changed = new Set<GroupEntry>();
    for (const g of dirtyGroups) {
      const before = g.id;
      this.resolveGroup(g, false);
      if (g.id === before) continue;
      changed.add(g);
      for (const e of g.programs) stalePrograms.add(e);
    }
    const refreshed = new Set<RuleEntry>();
    for (const e of stalePrograms)
      for (const r of [...e.egress, ...e.ingress])
        if (!refreshed.has(r) && r.namesAny(changed)) {
          r.refresh();
          refreshed.add(r);
        }
    for (const e of stalePrograms) {
      if (pause()) yield;
      const id = e.program.id;
      e.refresh();
      if (e.program.id !== id) for (const k of e.vms) for (const h of this.inventory.vms.get(k)?.hosts ?? []) dirtyHosts.add(h);
    }

    // VMs: (re)bind to the program of their effective set.
    const rebound = new Set<string>();
    const rebind = (key: string) => {
      const rec = this.inventory.vms.get(key);
      const before = this.vmProgram.get(key);
      const after = rec && rec.hosts.length > 0 ? this.programFor(rec) : undefined;
      if (before === after) return;
      rebound.add(key);
      if (before) {
        before.vms.delete(key);
        touched.add(before);
      }
      if (after) {
        after.vms.add(key);
        this.vmProgram.set(key, after);
      } else this.vmProgram.delete(key);
      for (const h of rec?.hosts ?? []) dirtyHosts.add(h);
    };
    if (allVms) {
      for (const key of this.inventory.vms.keys()) {
        rebind(key);
        if (pause()) yield;
      }
      for (const key of affected) if (!this.inventory.vms.has(key)) rebind(key);
    } else
      for (const key of affected) {
        rebind(key);
        if (pause()) yield;
      }
    for (const e of touched) if (e.vms.size === 0 && this.programs.get(e.key) === e) this.dropProgram(e, null);
    for (const key of log.vms.keys()) {
      this.refreshSpan(key);
      if (pause()) yield;
    }
    for (const key of rebound) if (!log.vms.has(key)) this.refreshSpan(key);

    // Hosts: rebuild the dirty ones, report those whose content changed.
    const updates: HostUpdate[] = [];
    for (const host of [...dirtyHosts].sort()) {
      yield; // a host's filter is thousands of rules
      if (this.inventory.hosts.has(host)) {
        const spec = buildHostSpec(host, this.inventory, this.vmProgram);
        if (this.hostSpecs.get(host)?.hash === spec.hash) continue;
        this.hostSpecs.set(host, spec);
        updates.push({ host, spec });
      } else if (this.hostSpecs.delete(host)) updates.push({ host, spec: null });
    }
    return updates;
  }

  /** Move a VM's share of the policy spans to its current program, vNICs and hosts. */
  private refreshSpan(key: string): void {
    const old = this.spanParts.get(key);
    const program = this.vmProgram.get(key);
    const rec = this.inventory.vms.get(key);
    const next: SpanPart | undefined = program && rec && program.policies.length > 0 ? { program, vnics: rec.vnics.length, hosts: rec.hosts } : undefined;
    if (old && next && old.program === next.program && old.vnics === next.vnics && old.hosts.length === next.hosts.length && old.hosts.every((h, i) => h === next.hosts[i]))
      return;
    if (old) this.addToSpans(old, -1);
    if (next) {
      this.addToSpans(next, 1);
      this.spanParts.set(key, next);
    } else this.spanParts.delete(key);
  }

  private addToSpans(part: SpanPart, sign: 1 | -1): void {
    for (const p of part.program.policies) {
      this.spanChanged.add(p.key);
      let s = this.spans.get(p.key);
      if (!s) this.spans.set(p.key, (s = { vms: 0, vnics: 0, hosts: new Map() }));
      s.vms += sign;
      s.vnics += sign * part.vnics;
      for (const h of part.hosts) {
        const n = (s.hosts.get(h) ?? 0) + sign;
        if (n === 0) s.hosts.delete(h);
        else s.hosts.set(h, n);
      }
      if (s.vms === 0) this.spans.delete(p.key);
    }
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
        // A staged policy is not enforced: it leaves the compiler's input (as if deleted).
        case 'SecurityPolicy': return isEnforced(o as SecurityPolicy) ? inv.upsertPolicy(o as SecurityPolicy) : inv.deletePolicy(`${o.metadata.namespace ?? ''}/${o.metadata.name}`);
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
    if (a.tags) for (const t of a.tags) if (!vm.tags.includes(t)) return false;
    if (a.vmSelector && !selectorMatches(a.vmSelector, vm.labels)) return false;
    const tenants = this.scratch(p).appliesTenants;
    return tenants === null || tenants.has(vm.tenant);
  }

  /** Accepted policies applying to the VM: Provider, Tenant (own), Baseline, each in evaluation order. */
  private effectivePolicies(vm: Pick<VmRec, 'tenant' | 'labels' | 'tags'>): PolicyRec[] {
    const out: PolicyRec[] = [];
    for (const p of this.inventory.providerPolicies()) if (this.appliesTo(p, vm)) out.push(p);
    if (vm.tenant !== NO_TENANT) for (const p of this.inventory.tenantPolicies(vm.tenant)) if (this.appliesTo(p, vm)) out.push(p);
    for (const p of this.inventory.baselinePolicies()) if (this.appliesTo(p, vm)) out.push(p);
    return out;
  }

  private readonly setKeyFn = (tenant: number, policies: readonly PolicyRec[]) => this.setKeyOf(tenant, policies);

  private setKeyOf(tenant: number, policies: readonly PolicyRec[]): string {
    return contentId('ps-', `${this.inventory.tenantName(tenant) ?? ''}\n${policies.map((p) => p.key).join('\n')}`);
  }

  private programFor(vm: VmRec): ProgramEntry {
    if (vm.quarantined) return this.programs.get(QUARANTINE_KEY) ?? this.buildQuarantine();
    const policies = this.effectivePolicies(vm);
    // Joined flat, not built with += (a rope node per policy, kept as the program's key).
    const parts: (string | number)[] = [vm.tenant, ':'];
    for (const p of policies) parts.push(this.scratch(p).id, ',');
    const key = parts.join('');
    return this.programs.get(key) ?? this.buildProgram(key, vm.tenant, policies);
  }

  // ---------------------------------------------------------------- programs
  private buildQuarantine(): ProgramEntry {
    const deny = this.constantRule('quarantine');
    return this.registerProgram(new ProgramEntry(QUARANTINE_KEY, NO_TENANT, [], [deny], [deny], [], this.setKeyFn));
  }

  private buildProgram(key: string, tenant: number, policies: PolicyRec[]): ProgramEntry {
    this.counters.programBuilds++;
    const groups = new Set<GroupEntry>();
    // Policies come in tier order (Provider, Tenant, Baseline): one pass per direction.
    const same = this.sameTenantRule(tenant);
    const direction = (dir: 'egress' | 'ingress'): RuleEntry[] => {
      const rules: RuleEntry[] = [];
      let isolated = false;
      for (const p of policies) {
        const list = p[dir];
        if (list.length === 0) continue;
        if (p.tier === 'Baseline' && isolated) {
          rules.push(this.constantRule('isolation'));
          isolated = false;
        }
        if (p.tier === 'Tenant') isolated = true;
        for (let i = 0; i < list.length; i++) rules.push(this.policyRule(p, dir, i, tenant));
      }
      if (isolated) rules.push(this.constantRule('isolation'));
      rules.push(same, this.constantRule('deny'));
      // Kept for the program's life: an exact-size copy (push leaves spare room).
      for (const r of rules) for (const g of r.peers) if (g instanceof GroupEntry) groups.add(g);
      return rules.slice();
    };
    const egress = direction('egress');
    const ingress = direction('ingress');
    const e = new ProgramEntry(key, tenant, policies.slice(), egress, ingress, [...groups], this.setKeyFn);
    for (const g of groups) g.programs.add(e);
    for (const p of policies) this.scratch(p).programs?.add(e);
    return this.registerProgram(e);
  }

  private registerProgram(e: ProgramEntry): ProgramEntry {
    for (const r of e.egress) r.refs++;
    for (const r of e.ingress) r.refs++;
    this.programs.set(e.key, e);
    return e;
  }

  /** Rule i of a policy's direction, compiled once (per VM tenant only when it uses sameTenant). */
  private policyRule(p: PolicyRec, dir: 'egress' | 'ingress', i: number, vmTenant: number): RuleEntry {
    const r = p[dir][i]!;
    // Rules that do not depend on the VM's tenant are also cached on the policy record (no string keys).
    const cache = this.scratch(p);
    const cached = cache[dir][i];
    if (cached && !cached.dead) return cached;
    let perTenant = false;
    for (const peer of r.peers ?? []) if (peer.sameTenant) perTenant = true;
    const key = perTenant ? `${dir}:${i}:${vmTenant}` : '';
    if (perTenant) {
      const hit = cache.perTenant?.get(key);
      if (hit && !hit.dead) return hit;
    }
    this.counters.ruleBuilds++;
    const peers: TemplatePeer[] =
      !r.peers || r.peers.length === 0
        ? (NO_PEERS as TemplatePeer[])
        : r.peers.map((peer) => (peer.cidr ? this.cidrPeer(peer.cidr) : this.groupFor(this.peerGroupDef(peer, p, vmTenant))));
    const ports = this.portList(r.ports);
    const entry = new RuleEntry(p.tier, p.key, r.name, r.action, peers, ports.list, ports.text);
    if (perTenant) (cache.perTenant ??= new Map()).set(key, entry);
    else cache[dir][i] = entry;
    return entry;
  }

  /** One shared compiled object per distinct CIDR peer. */
  private cidrPeer(c: { cidr: string; except?: string[] }): CompiledPeer {
    const withExcept = c.except !== undefined && c.except.length > 0;
    const key = withExcept ? `${c.cidr} ${c.except!.join(' ')}` : c.cidr;
    let peer = this.cidrPeers.get(key);
    if (!peer) this.cidrPeers.set(key, (peer = withExcept ? { cidr: c.cidr, except: [...c.except!] } : { cidr: c.cidr }));
    return peer;
  }

  /** One shared compiled list per distinct port list. */
  private portList(ports: Rule['ports'] | undefined): { list: CompiledPort[]; text: string } {
    if (!ports || ports.length === 0) return NO_PORT_LIST;
    let key = '';
    for (const e of ports) key += `${e.protocol ?? 'TCP'}:${e.port ?? ''}:${e.endPort ?? ''},`;
    let entry = this.portLists.get(key);
    if (!entry) {
      const list = ports.map((e) => {
        const out: CompiledPort = { protocol: e.protocol ?? 'TCP' };
        if (e.port !== undefined) out.port = e.port;
        if (e.endPort !== undefined) out.endPort = e.endPort;
        return out;
      });
      this.portLists.set(key, (entry = { list, text: JSON.stringify(list) }));
    }
    return entry;
  }

  /** Per-policy-record compiler state, kept on the record itself (cheaper than WeakMaps). */
  private scratch(p: PolicyRec): PolicyScratch {
    let s = p.compiled as PolicyScratch | undefined;
    if (!s) {
      const names = p.appliesTo.tenants;
      const appliesTenants = names && names.length > 0 ? new Set(names.map((n) => this.inventory.tenantId(n))) : null;
      p.compiled = s = { id: this.policyId(p.key), appliesTenants, egress: [], ingress: [], perTenant: null, programs: p.tier === 'Tenant' ? new SmallSet() : null };
    }
    return s;
  }

  /** The implicit rules without peers, one shared entry each. */
  private constantRule(which: 'isolation' | 'deny' | 'quarantine'): RuleEntry {
    let entry = this.constants[which];
    if (!entry || entry.dead) {
      const t =
        which === 'isolation'
          ? { tier: 'Tenant' as const, rule: IMPLICIT_RULES.isolation, action: 'Deny' as const }
          : which === 'deny'
            ? { tier: 'Default' as const, rule: IMPLICIT_RULES.defaultDeny, action: 'Deny' as const }
            : { tier: 'Provider' as const, rule: IMPLICIT_RULES.quarantine, action: 'Deny' as const };
      entry = new RuleEntry(t.tier, undefined, t.rule, t.action, NO_PEERS, NO_PORTS, '[]');
      this.constants[which] = entry;
    }
    return entry;
  }

  /** Default-tier "allow the own tenant's vNICs", one per tenant. */
  private sameTenantRule(tenant: number): RuleEntry {
    let entry = this.sameRules.get(tenant);
    if (!entry || entry.dead) {
      const g = this.groupFor({ tenants: tenant === NO_TENANT ? [] : [tenant], tags: NO_TAGS, selector: undefined });
      entry = new RuleEntry('Default', undefined, IMPLICIT_RULES.sameTenant, 'Allow', [g], NO_PORTS, '[]');
      this.sameRules.set(tenant, entry);
    }
    return entry;
  }

  private peerGroupDef(peer: Rule['peers'][number], p: PolicyRec, vmTenant: number): GroupDef {
    const ids = (names: readonly string[]) => [...new Set(names.map((n) => this.inventory.tenantId(n)))].sort((a, b) => a - b);
    if (peer.sameTenant) return { tenants: vmTenant === NO_TENANT ? [] : [vmTenant], tags: NO_TAGS, selector: undefined };
    if (peer.tenants) return { tenants: ids(peer.tenants), tags: NO_TAGS, selector: undefined };
    const vms = peer.vms ?? {};
    const tenants = vms.tenants && vms.tenants.length > 0 ? ids(vms.tenants) : p.tier === 'Tenant' ? [p.tenant] : null;
    return { tenants, tags: sortedUniqueStrings(vms.tags), selector: selectorIsEmpty(vms.vmSelector) ? undefined : vms.vmSelector };
  }

  private dropProgram(e: ProgramEntry, affected: Set<string> | null): void {
    if (this.programs.get(e.key) === e) this.programs.delete(e.key);
    for (const p of e.policies) (p.compiled as PolicyScratch | undefined)?.programs?.delete(e);
    for (const g of e.groups) g.programs.delete(e);
    for (const r of [...e.egress, ...e.ingress]) if (--r.refs === 0) this.dropRule(r);
    if (affected) for (const k of e.vms) affected.add(k);
  }

  private dropRule(r: RuleEntry): void {
    if (r.dead) return;
    r.dead = true;
    // A group lives as long as some program names it.
    for (const g of r.peers) if (g instanceof GroupEntry && g.programs.size === 0) this.dropGroup(g);
  }

  // ---------------------------------------------------------------- address groups
  private groupFor(def: GroupDef): GroupEntry {
    const key = `${def.tenants === null ? '*' : def.tenants.join(',')}|${def.tags.join(',')}|${selectorKey(def.selector)}`;
    let g = this.groups.get(key);
    if (g) return g;
    g = new GroupEntry(key, def);
    this.resolveGroup(g, true);
    this.groups.set(key, g);
    if (def.tenants === null) this.groupsAnyTenant.add(g);
    else
      for (const t of def.tenants) this.groupsByTenant.add(t, g);
    return g;
  }

  private dropGroup(g: GroupEntry): void {
    if (this.groups.get(g.key) !== g) return;
    this.groups.delete(g.key);
    this.shardTable.drop(g);
    if (g.def.tenants === null) this.groupsAnyTenant.delete(g);
    else
      for (const t of g.def.tenants) this.groupsByTenant.delete(t, g);
  }

  /** Recompute a group's id (and shards) from its members; `full` collects the members first. */
  private resolveGroup(g: GroupEntry, full: boolean): void {
    this.counters.groupResolutions++;
    if (full) this.collectMembers(g);
    // Shared from sharedMin members on, inline again below half of it (no flapping at the edge).
    const shared = g.shards !== null ? g.size >= this.sharedMin / 2 : g.size >= this.sharedMin;
    if (shared) {
      this.shardTable.update(g);
      g.dirtyTops = new Set();
      if (g.group.shared) return;
      g.group = { id: this.shardTable.share(g), addresses: [], shared: true };
    } else {
      this.shardTable.drop(g);
      g.dirtyTops = new Set();
      // The id is the members' content hash: a change of members is a change of id.
      const addresses = toCidrs(g.sortedIps());
      const id = contentId('ag-', addresses.join(','));
      if (id === g.group.id) return;
      g.group = { id, addresses };
    }
    g.peerList = [{ group: g.group.id }];
    g.peerText = flatJoin('[{"group":"', g.group.id, '"}]');
  }

  private collectMembers(g: GroupEntry): void {
    const inv = this.inventory;
    const { def } = g;
    g.members.clear();
    g.dirtyTops = null;
    const collect = (keys: Iterable<string>) => {
      for (const k of keys) {
        const vm = inv.vms.get(k)!;
        if (groupMatches(def, vm)) g.addIps(vm.ips, 1);
      }
    };
    if (def.tenants !== null) for (const t of def.tenants) collect(inv.vmKeysOfTenant(t));
    else if (def.tags.length > 0) {
      // Walk the rarest tag's VMs.
      let best = def.tags[0]!;
      for (const t of def.tags) if (inv.vmCountWithTag(t) < inv.vmCountWithTag(best)) best = t;
      collect(inv.vmKeysWithTag(best));
    } else collect(inv.vms.keys());
  }
}

/** Host → spec for a set of objects, compiled from scratch. */
export function compileHostFilters(objects: Iterable<Tenant | Tag | Host | VM | SecurityPolicy>, opts: CompilerOptions = {}): Map<string, HostFilterSpec> {
  return new Map(PolicyCompiler.compileAll(objects, opts).specs());
}
