// The compiled units the policy compiler shares between hosts and programs: address groups (with
// their incrementally kept members and /16 shards), compiled rules and programs, and the small set
// they keep their users in. Content-addressed: a unit's id or digest is a hash of what it holds, so
// equal content is stored once however many programs or hosts name it. compile.ts owns their life
// cycle (when they are built, refreshed and dropped); this file owns what they are.
import type { AddressGroup, AddressGroupShardSpec, CompiledPeer, CompiledPort, CompiledRule, LabelSelector, Program } from '../api';
import { hash } from 'node:crypto';
import { SmallSet } from '../util/multimap';
import { contentId } from './addresses';
import type { PolicyRec, VmRec } from './inventory';
import { selectorMatches } from './selector';

/** A set of VMs a peer stands for: tenants (null = every tenant) × all of `tags` × selector. */
export interface GroupDef {
  tenants: number[] | null;
  tags: string[];
  selector: LabelSelector | undefined;
}

export const NO_PEERS: CompiledPeer[] = [];
export const NO_PORTS: CompiledPort[] = [];

/** A shared group's members in one /16 (the unit written as one AddressGroup object). */
export interface Shard {
  name: string;
  ips: Uint32Array;
  spec: AddressGroupShardSpec;
}

export class GroupEntry {
  group: AddressGroup = { id: '', addresses: [] };
  /** Shared groups only: /16 (ip >>> 16) → its members. */
  shards: Map<number, Shard> | null = null;
  /**
   * Members kept incrementally. Re-collecting a group from its VMs on every change cost the operator
   * 24 s of a cold start: the group of every VM was rebuilt from 40,000 VMs on each of hundreds of
   * compile batches.
   */
  readonly members = new GroupMembers();
  /** Distinct member addresses. */
  get size(): number {
    return this.members.size;
  }
  /** /16s whose members changed since the last resolve; null = all of them. */
  dirtyTops: Set<number> | null = null;
  /** Id while shared (from the definition, so computed once). */
  sharedId: string | undefined;
  /** `[{group: id}]`, shared by every rule whose only peer is this group (renewed when the id changes). */
  peerList: CompiledPeer[] = NO_PEERS;
  /** JSON of peerList. */
  peerText = '[]';
  readonly programs = new SmallSet<ProgramEntry>();
  constructor(
    readonly key: string,
    readonly def: GroupDef,
  ) {}
  get id(): string {
    return this.group.id;
  }

  /** Count a member's addresses in (1) or out (-1). */
  addIps(ips: readonly number[], sign: 1 | -1): void {
    for (const ip of ips) {
      this.members.count(ip, sign);
      this.dirtyTops?.add(ip >>> 16);
    }
  }

  /** Member addresses in /16 `top` (all when undefined), sorted. */
  sortedIps(top?: number): number[] {
    return this.members.sorted(top);
  }
}

/**
 * A group's member addresses, each with the number of member vNICs that have it (two VMs may share an
 * address). One flat map: most of the 66,000 groups at vmworld have one or two addresses, and a map
 * per /16 inside a map was two Maps a group (23 MiB). The /16 view that shared groups are written by
 * (compile-shards) is built the first time it is asked for, and kept from then on.
 */
export class GroupMembers {
  private readonly counts = new Map<number, number>();
  private byTop: Map<number, Set<number>> | null = null;

  get size(): number {
    return this.counts.size;
  }

  /** Count one vNIC with `ip` in (1) or out (-1). */
  count(ip: number, sign: 1 | -1): void {
    const n = (this.counts.get(ip) ?? 0) + sign;
    if (n > 0) {
      if (n === 1 && sign === 1) this.topOf(ip)?.add(ip);
      this.counts.set(ip, n);
      return;
    }
    if (!this.counts.delete(ip)) return;
    const top = ip >>> 16;
    const s = this.byTop?.get(top);
    if (s && s.delete(ip) && s.size === 0) this.byTop!.delete(top);
  }

  clear(): void {
    this.counts.clear();
    this.byTop = null;
  }

  /** The /16s (ip >>> 16) with members. */
  tops(): Iterable<number> {
    return this.tops16().keys();
  }

  hasTop(top: number): boolean {
    return this.tops16().has(top);
  }

  /** Member addresses in /16 `top` (all when undefined), ascending. */
  sorted(top?: number): number[] {
    const out = top === undefined ? [...this.counts.keys()] : [...(this.tops16().get(top) ?? [])];
    return out.sort((a, b) => a - b);
  }

  private tops16(): Map<number, Set<number>> {
    if (this.byTop === null) {
      this.byTop = new Map();
      for (const ip of this.counts.keys()) this.topOf(ip)!.add(ip);
    }
    return this.byTop;
  }

  /** The /16 set of `ip`, made if missing, while the /16 view exists. */
  private topOf(ip: number): Set<number> | undefined {
    if (this.byTop === null) return undefined;
    const top = ip >>> 16;
    let s = this.byTop.get(top);
    if (!s) this.byTop.set(top, (s = new Set()));
    return s;
  }
}

/** A rule's peer before group ids are known: the group itself, or an (interned) CIDR peer. */
export type TemplatePeer = GroupEntry | CompiledPeer;

/** One compiled rule, shared by every program that contains it. */
export class RuleEntry {
  compiled!: CompiledRule;
  /**
   * SHA-256 (base64) of the compiled rule's JSON: a program's id hashes its rules' digests. Only the
   * digest is kept: 250,000 rule texts held for hashing cost ~65 MB and the GC time to copy them.
   */
  digest = '';
  /** Programs using the rule (a count, not a set: 250,000 rules × a Set each is real memory). */
  refs = 0;
  dead = false;
  constructor(
    readonly tier: CompiledRule['tier'],
    /** Policy key, absent for implicit rules. */
    readonly policy: string | undefined,
    readonly name: string,
    readonly action: CompiledRule['action'],
    readonly peers: readonly TemplatePeer[],
    readonly ports: CompiledPort[],
    /** JSON of `ports` (shared with the interned list). */
    private readonly portsText: string,
  ) {
    this.refresh();
  }

  /** Does a peer name a group in `set`? */
  namesAny(set: ReadonlySet<GroupEntry>): boolean {
    for (const p of this.peers) if (p instanceof GroupEntry && set.has(p)) return true;
    return false;
  }

  /** Concrete rule and text from the current group ids. Key order is fixed for deterministic bytes. */
  refresh(): void {
    const t = this.peers;
    // Peer lists are shared where they can be: none, or one group (the group's own list).
    const peers = t.length === 0 ? NO_PEERS : t.length === 1 && t[0] instanceof GroupEntry ? t[0].peerList : t.map(concretePeer);
    this.compiled =
      this.policy !== undefined
        ? { tier: this.tier, policy: this.policy, rule: this.name, action: this.action, peers, ports: this.ports }
        : { tier: this.tier, rule: this.name, action: this.action, peers, ports: this.ports };
    // The same bytes as JSON.stringify(this.compiled), from cached pieces (the peers and ports lists
    // are shared, so is their text).
    const peersText = peers === NO_PEERS ? '[]' : t.length === 1 && t[0] instanceof GroupEntry ? t[0].peerText : JSON.stringify(peers);
    const head = this.policy !== undefined ? `{"tier":"${this.tier}","policy":${jsonString(this.policy)},` : `{"tier":"${this.tier}",`;
    const text = `${head}"rule":${jsonString(this.name)},"action":${jsonString(this.action)},"peers":${peersText},"ports":${this.portsText}}`;
    this.digest = hash('sha256', text, 'base64');
  }
}

export class ProgramEntry {
  program!: Program;
  readonly vms = new SmallSet<string>();
  private setKeyCache: string | undefined;
  constructor(
    readonly key: string,
    readonly tenant: number,
    readonly policies: readonly PolicyRec[],
    readonly egress: RuleEntry[],
    readonly ingress: RuleEntry[],
    readonly groups: GroupEntry[],
    /** Computes the placement key (one function for all programs, not a closure each). */
    private readonly setKeyOf: (tenant: number, policies: readonly PolicyRec[]) => string,
  ) {
    this.refresh();
  }

  /** Hash of tenant + policy names: the placement-facing program key. */
  get setKey(): string {
    return (this.setKeyCache ??= this.key === QUARANTINE_KEY ? QUARANTINE_KEY : this.setKeyOf(this.tenant, this.policies));
  }

  /** Program id = hash of its rules' texts: the same content as the program's JSON. */
  refresh(): void {
    let text = '';
    for (const r of this.egress) text += r.digest;
    text += '|';
    for (const r of this.ingress) text += r.digest;
    const id = contentId('p-', text);
    this.program = { id, egress: this.egress.map((r) => r.compiled), ingress: this.ingress.map((r) => r.compiled) };
  }
}

export const QUARANTINE_KEY = 'quarantine';

export function sameVmFacts(a: VmRec, b: VmRec): boolean {
  if (a.tenant !== b.tenant || a.quarantined !== b.quarantined) return false;
  if (a.hosts.length !== b.hosts.length || a.hosts.some((h, i) => h !== b.hosts[i])) return false;
  if (a.tags.length !== b.tags.length || a.tags.some((t, i) => t !== b.tags[i])) return false;
  const la = Object.keys(a.labels);
  if (la.length !== Object.keys(b.labels).length || la.some((k) => a.labels[k] !== b.labels[k])) return false;
  if (a.vnics.length !== b.vnics.length) return false;
  return a.vnics.every((n, i) => n.name === b.vnics[i]!.name && n.ip === b.vnics[i]!.ip && n.mac === b.vnics[i]!.mac);
}

export function groupMatches(def: GroupDef, vm: VmRec): boolean {
  if (vm.hosts.length === 0) return false;
  if (def.tenants !== null && !def.tenants.includes(vm.tenant)) return false;
  for (const t of def.tags) if (!vm.tags.includes(t)) return false;
  return !def.selector || selectorMatches(def.selector, vm.labels);
}

export const NO_PORT_LIST = { list: NO_PORTS, text: '[]' };

/** JSON.stringify of a string, without the call for the common case of nothing to escape. */
export function jsonString(v: string): string {
  return /^[\w ./:@+-]*$/.test(v) ? `"${v}"` : JSON.stringify(v);
}

export function concretePeer(p: TemplatePeer): CompiledPeer {
  return p instanceof GroupEntry ? p.peerList[0]! : p;
}
