// Exact cross-tenant reachability over a Model: every ordered tenant pair (A, B) such that some packet
// from a vNIC of A passes A's egress and B's ingress at a vNIC of B, with the protocol/port set that
// passes and one witness; and what each tenant's vNICs accept from outside addresses.
//
// Exact, without enumerating vNIC pairs: for one program and direction the verdict depends only on
// which of the program's peer sets hold the remote address. Every address not among the program's
// "exceptional" addresses (members of its small peer sets, non-members of its huge ones) gets the
// program's generic answer. So a vNIC pair (a, b) can pass only if b's address is exceptional for
// a's egress program, or a's address is exceptional for b's ingress program, or both programs allow
// something generically. Those candidates are evaluated exactly; every other pair passes nothing.
import type { CompiledRule } from '../api';
import type { PacketProtocol } from '../policy/decision';
import { cmp, ipText, Model, type Endpoint, type ModelInput } from './model';
import { intersectSegs, type PairSeg } from './program';
import { normalize, PROTOCOLS, toRanges, type Iv, type PortRange, type PortSet } from './ports';

export interface RuleRef {
  tier: CompiledRule['tier'];
  policy: string | null;
  rule: string;
}

export interface Witness {
  /** "ns/vm/vnic", or an IPv4 address for an outside source. */
  from: string;
  to: string;
  protocol: PacketProtocol;
  port: number;
  /** The rule that allows it at the source's egress (null: the source is no vNIC). */
  egress: RuleRef | null;
  ingress: RuleRef;
}

export interface ReachPair {
  from: string;
  to: string;
  ports: PortRange[];
  witness: Witness;
}

export interface OutsideReach {
  /** The tenant whose vNICs accept something from some address that is no vNIC. */
  tenant: string;
  ports: PortRange[];
  witness: Witness;
}

export interface Reachability {
  tenants: number;
  vnics: number;
  programs: number;
  pairs: ReachPair[];
  outside: OutsideReach[];
}

/** The result plus what diff needs (the model and the port sets as intervals). */
export interface Analysis {
  result: Reachability;
  model: Model;
  pairSets: Map<string, PortSet>;
  outsideSets: Map<string, PortSet>;
}

const ref = (r: CompiledRule | null): RuleRef | null => (r ? { tier: r.tier, policy: r.policy || null, rule: r.rule } : null);

interface Acc {
  ivs: Iv[];
  best: { iv: Iv; from: string; to: string; seg: PairSeg } | null;
}

function better(a: Acc['best'], iv: Iv, from: string, to: string): boolean {
  if (!a) return true;
  return (iv[0] - a.iv[0] || iv[1] - a.iv[1] || cmp(from, a.from) || cmp(to, a.to)) < 0;
}

function addTo(acc: Map<string, Acc>, key: string, segs: PairSeg[], from: string, to: string): void {
  let a = acc.get(key);
  if (!a) acc.set(key, (a = { ivs: [], best: null }));
  for (const s of segs) {
    a.ivs.push(s.iv);
    if (better(a.best, s.iv, from, to)) a.best = { iv: s.iv, from, to, seg: s };
  }
  // Keep the interval list short when many vNIC pairs add the same ports.
  if (a.ivs.length > 64) a.ivs = normalize(a.ivs) as Iv[];
}

export function analyze(input: ModelInput & { tenants?: number }): Analysis {
  return analyzeModel(new Model(input), input.tenants);
}

export function analyzeModel(model: Model, tenantCount?: number): Analysis {
  const acc = new Map<string, Acc>();
  const eps = model.endpoints;
  const index = new Map(eps.map((e, i) => [e, i]));
  const done = new Set<number>();
  const pair = (a: Endpoint, b: Endpoint) => {
    if (a.tenant === b.tenant || a === b) return;
    const id = index.get(a)! * eps.length + index.get(b)!;
    if (done.has(id)) return;
    done.add(id);
    const segs = intersectSegs(a.program.egress.forAddress(b.ipIndex), b.program.ingress.forAddress(a.ipIndex));
    if (segs.length > 0) addTo(acc, `${a.tenant}\u0000${b.tenant}`, segs, a.key, b.key);
  };

  for (const p of model.programs) {
    // b's address is exceptional for a's egress program.
    for (const x of p.egress.exceptionalAddresses())
      if (p.egress.forAddress(x).length > 0) for (const a of p.endpoints) for (const b of model.atAddress[x]!) pair(a, b);
    // a's address is exceptional for b's ingress program.
    for (const x of p.ingress.exceptionalAddresses())
      if (p.ingress.forAddress(x).length > 0) for (const b of p.endpoints) for (const a of model.atAddress[x]!) pair(a, b);
  }
  // Both generic: every source program that allows something generically × every such destination.
  const sources = model.programs.filter((p) => p.egress.generic().length > 0);
  const dests = model.programs.filter((p) => p.ingress.generic().length > 0);
  for (const ps of sources)
    for (const pd of dests) if (intersectSegs(ps.egress.generic(), pd.ingress.generic()).length > 0) for (const a of ps.endpoints) for (const b of pd.endpoints) pair(a, b);

  const pairSets = new Map<string, PortSet>();
  const pairs: ReachPair[] = [];
  for (const [key, a] of acc) {
    const [from, to] = key.split('\u0000') as [string, string];
    const set = normalize(a.ivs);
    pairSets.set(key, set);
    const w = a.best!;
    pairs.push({
      from, to, ports: toRanges(set),
      witness: { from: w.from, to: w.to, protocol: PROTOCOLS[w.iv[0]]!, port: w.iv[1], egress: ref(w.seg.egress), ingress: ref(w.seg.ingress)! },
    });
  }
  pairs.sort((x, y) => cmp(x.from, y.from) || cmp(x.to, y.to));

  // From outside: per program, the atoms of the outside address space its CIDR peers cut.
  const outAcc = new Map<string, Acc>();
  for (const p of model.programs) {
    if (p.program.ingress.length === 0) continue;
    const cuts = p.ingress.outsideCuts();
    for (let i = 0; i < cuts.length; i++) {
      const lo = cuts[i]!;
      const hi = i + 1 < cuts.length ? cuts[i + 1]! - 1 : 0xffffffff;
      const addr = model.outsideAddressIn(lo, hi);
      if (addr === null) continue;
      const segs = p.ingress.forOutside(addr);
      if (segs.length === 0) continue;
      const pseg = segs.map((s) => ({ iv: s.iv, egress: null, ingress: s.rule }));
      for (const b of p.endpoints) addTo(outAcc, b.tenant, pseg, ipText(addr), b.key);
    }
  }
  const outsideSets = new Map<string, PortSet>();
  const outside: OutsideReach[] = [];
  for (const [tenant, a] of outAcc) {
    const set = normalize(a.ivs);
    outsideSets.set(tenant, set);
    const w = a.best!;
    outside.push({ tenant, ports: toRanges(set), witness: { from: w.from, to: w.to, protocol: PROTOCOLS[w.iv[0]]!, port: w.iv[1], egress: null, ingress: ref(w.seg.ingress)! } });
  }
  outside.sort((x, y) => cmp(x.tenant, y.tenant));

  const tenants = tenantCount ?? new Set(eps.map((e) => e.tenant)).size;
  return { result: { tenants, vnics: eps.length, programs: model.programs.length, pairs, outside }, model, pairSets, outsideSets };
}
