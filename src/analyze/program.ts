// One program, one direction, one remote-address class: the exact protocol × port set it allows and
// the rule that decides each part. The address class is given as "which of the program's peers
// match"; first match with Pass semantics exactly as the data path (src/dataplane/linear.ts).
import type { CompiledRule } from '../api';
import { intersect, intersectWith, portsOf, subtract, type Iv, type PortSet } from './ports';

/** A part of the port space and the Allow rule that decides it. */
export interface AllowSeg {
  iv: Iv;
  rule: CompiledRule;
}

const TIER_RANK = { Provider: 0, Tenant: 1, Baseline: 2, Default: 3 } as const;
const portCache = new WeakMap<CompiledRule, PortSet>();
const rulePorts = (r: CompiledRule): PortSet => {
  let s = portCache.get(r);
  if (!s) portCache.set(r, (s = portsOf(r.ports)));
  return s;
};

/**
 * `peerOk(i)`: does rule i's peer list match the remote class (true for a rule without peers).
 * What no rule decides is denied (fail closed; compiled programs end with a catch-all anyway).
 */
export function allowedSet(rules: readonly CompiledRule[], peerOk: (i: number) => boolean, space: PortSet): AllowSeg[] {
  const out: AllowSeg[] = [];
  const run = (start: number, set: PortSet) => {
    let rest: PortSet = set;
    for (let i = start; i < rules.length && rest.length > 0; i++) {
      if (!peerOk(i)) continue;
      const r = rules[i]!;
      const m = intersect(rest, rulePorts(r));
      if (m.length === 0) continue;
      if (r.action === 'Allow') for (const iv of m) out.push({ iv, rule: r });
      else if (r.action === 'Pass') {
        let k = i + 1;
        while (k < rules.length && TIER_RANK[rules[k]!.tier] <= TIER_RANK[r.tier]) k++;
        run(k, m);
      }
      rest = subtract(rest, m);
    }
  };
  run(0, space);
  out.sort((a, b) => a.iv[0] - b.iv[0] || a.iv[1] - b.iv[1]);
  return out;
}

/** Both sides: the parts allowed by egress and by ingress, with both deciding rules. */
export interface PairSeg {
  iv: Iv;
  egress: CompiledRule | null;
  ingress: CompiledRule | null;
}

export function intersectSegs(a: readonly AllowSeg[], b: readonly AllowSeg[]): PairSeg[] {
  return intersectWith(a, b, (x) => x.iv, (y) => y.iv, (iv, x, y) => ({ iv, egress: x.rule, ingress: y.rule }));
}
