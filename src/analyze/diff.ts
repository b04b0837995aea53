// What a change does: two analyses (base, head) → tenant pairs (with ports) opened and closed, the
// same from outside addresses, VMs whose filter program changed, policies whose span changed, and
// hosts whose HostFilter changed (with rule counts). Used by `vmsafe diff` and for staged policies.
import type { HostFilterSpec } from '../api';
import { cmp } from './model';
import { subtract, toRanges, type PortRange, type PortSet } from './ports';
import type { Analysis } from './reach';

export interface PairChange {
  from: string;
  to: string;
  ports: PortRange[];
}

export interface HostChange {
  host: string;
  /** Compiled rules (all programs, both directions) before and after; -1 = no filter. */
  rulesBefore: number;
  rulesAfter: number;
  /** Compiled rules (with their program's peers and ports) present after but not before, and the reverse. */
  rulesAdded: number;
  rulesRemoved: number;
}

export interface SpanChange {
  policy: string;
  vnicsBefore: number;
  vnicsAfter: number;
}

export interface Diff {
  opened: PairChange[];
  closed: PairChange[];
  /** Tenants reachable from outside addresses on more / fewer ports ("from" is "outside"). */
  outsideOpened: PairChange[];
  outsideClosed: PairChange[];
  /** VMs ("ns/name") whose vNICs are now judged by a different program (or are newly bound / unbound). */
  vmsChanged: string[];
  policiesChanged: SpanChange[];
  hostsChanged: number;
  hosts: HostChange[];
}

function pairDelta(a: Map<string, PortSet>, b: Map<string, PortSet>, split: (k: string) => [string, string]): PairChange[] {
  const out: PairChange[] = [];
  for (const [k, set] of b) {
    const extra = subtract(set, a.get(k) ?? []);
    if (extra.length > 0) {
      const [from, to] = split(k);
      out.push({ from, to, ports: toRanges(extra) });
    }
  }
  return out.sort((x, y) => cmp(x.from, y.from) || cmp(x.to, y.to));
}

/** Multiset of a filter's rules as text (address groups by their content-hash ids). */
function ruleBag(f: HostFilterSpec | undefined): Map<string, number> {
  const bag = new Map<string, number>();
  for (const p of f?.programs ?? [])
    for (const [dir, rules] of [['egress', p.egress], ['ingress', p.ingress]] as const)
      for (const r of rules) {
        const k = dir + JSON.stringify(r);
        bag.set(k, (bag.get(k) ?? 0) + 1);
      }
  return bag;
}
function bagMinus(a: Map<string, number>, b: Map<string, number>): number {
  let n = 0;
  for (const [k, c] of a) n += Math.max(0, c - (b.get(k) ?? 0));
  return n;
}

const rulesOf = (f: HostFilterSpec | undefined) => (f ? f.programs.reduce((n, p) => n + p.egress.length + p.ingress.length, 0) : -1);

/** Policy → vNICs whose program carries one of its rules. */
function spans(a: Analysis): Map<string, number> {
  const perProgram = new Map<object, Set<string>>();
  const out = new Map<string, number>();
  for (const e of a.model.endpoints) {
    let pols = perProgram.get(e.program);
    if (!pols) {
      pols = new Set<string>();
      for (const r of [...e.program.program.egress, ...e.program.program.ingress]) if (r.policy) pols.add(r.policy);
      perProgram.set(e.program, pols);
    }
    for (const p of pols) out.set(p, (out.get(p) ?? 0) + 1);
  }
  return out;
}

export function diffAnalyses(
  base: Analysis,
  head: Analysis,
  filters: { base: ReadonlyMap<string, HostFilterSpec>; head: ReadonlyMap<string, HostFilterSpec> },
): Diff {
  const pairKey = (k: string) => k.split('\u0000') as [string, string];
  const outKey = (k: string): [string, string] => ['outside', k];

  const hosts: HostChange[] = [];
  for (const h of new Set([...filters.base.keys(), ...filters.head.keys()])) {
    const a = filters.base.get(h);
    const b = filters.head.get(h);
    if (a?.hash === b?.hash) continue;
    const [ba, bb] = [ruleBag(a), ruleBag(b)];
    hosts.push({ host: h, rulesBefore: rulesOf(a), rulesAfter: rulesOf(b), rulesAdded: bagMinus(bb, ba), rulesRemoved: bagMinus(ba, bb) });
  }
  hosts.sort((x, y) => cmp(x.host, y.host));

  const progOf = (a: Analysis) => new Map(a.model.endpoints.map((e) => [e.key, e]));
  const before = progOf(base);
  const after = progOf(head);
  const vms = new Set<string>();
  for (const k of new Set([...before.keys(), ...after.keys()]))
    if (before.get(k)?.program.program.id !== after.get(k)?.program.program.id) vms.add((before.get(k) ?? after.get(k))!.vm);

  const sa = spans(base);
  const sb = spans(head);
  const policiesChanged: SpanChange[] = [];
  for (const p of new Set([...sa.keys(), ...sb.keys()]))
    if ((sa.get(p) ?? 0) !== (sb.get(p) ?? 0)) policiesChanged.push({ policy: p, vnicsBefore: sa.get(p) ?? 0, vnicsAfter: sb.get(p) ?? 0 });
  policiesChanged.sort((x, y) => cmp(x.policy, y.policy));

  return {
    opened: pairDelta(base.pairSets, head.pairSets, pairKey),
    closed: pairDelta(head.pairSets, base.pairSets, pairKey),
    outsideOpened: pairDelta(base.outsideSets, head.outsideSets, outKey),
    outsideClosed: pairDelta(head.outsideSets, base.outsideSets, outKey),
    vmsChanged: [...vms].sort(cmp),
    policiesChanged,
    hostsChanged: hosts.length,
    hosts,
  };
}
