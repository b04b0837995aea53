// Compact form of a short rule list (at most 32 rules): every structure of the list inline in one
// host-wide Int32Array, with rule bitsets as plain 32-bit masks. A lookup touches a handful of cache
// lines of one contiguous block, so the cost stays flat when thousands of programs are resident.
//
// Block layout (absolute offsets into the pool, base o):
//   o+0 nAddr   o+1..3 TCP/UDP/SCTP section offsets   o+4 ICMP mask   o+5 nGroups   o+6 groups offset
//   o+7 pass offset   o+8 decision base   o+9.. address starts (flipped), then address masks
//   protocol section: n, starts[n], masks[n]      groups: (group index, mask) pairs      pass: per rule
import type { CompiledRule } from '../api';
import type { Decision } from '../policy/decision';
import { type GroupTable, type Prepared, flip, prepare } from './ruleset';
import { passTargets, ruleDecision } from './semantics';

export const COMPACT_MAX_RULES = 32;
const PORT_OUTSIDE = 65536;
const ADDR_MAX = 0xffffffff;
export const HEADER = 9;

/** Elementary intervals of [0, max] with the mask of rules covering each; equal neighbours merged. */
function intervals(ranges: { lo: number; hi: number; r: number }[], max: number): { starts: number[]; masks: number[] } {
  const cuts = new Set<number>([0]);
  for (const x of ranges) {
    cuts.add(x.lo);
    if (x.hi < max) cuts.add(x.hi + 1);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const starts: number[] = [];
  const masks: number[] = [];
  for (const at of sorted) {
    let m = 0;
    for (const x of ranges) if (x.lo <= at && at <= x.hi) m |= 1 << x.r;
    if (masks.length === 0 || masks[masks.length - 1] !== m) {
      starts.push(at);
      masks.push(m);
    }
  }
  return { starts, masks };
}

/** Append the compact block of `rules` to `pool` (and their decisions to `decisions`); returns its offset. */
export function appendCompact(rules: CompiledRule[], groups: GroupTable, pool: number[], decisions: (Decision | null)[]): number {
  if (rules.length > COMPACT_MAX_RULES) throw new Error('too many rules for the compact form');
  const prep: Prepared[] = rules.map((r) => prepare(r, groups));
  const addr = intervals(prep.flatMap((p, r) => p.addr.map(([lo, hi]) => ({ lo, hi, r }))), ADDR_MAX);
  const ports = [0, 1, 2].map((proto) => intervals(prep.flatMap((p, r) => p.ports[proto]!.map(([lo, hi]) => ({ lo, hi, r }))), PORT_OUTSIDE));
  let icmp = 0;
  const byGroup = new Map<number, number>();
  prep.forEach((p, r) => {
    if (p.icmp) icmp |= 1 << r;
    for (const g of p.groups) byGroup.set(g, (byGroup.get(g) ?? 0) | (1 << r));
  });
  const o = pool.length;
  const decBase = decisions.length;
  for (const r of rules) decisions.push(r.action === 'Pass' ? null : ruleDecision(r));
  const header = new Array<number>(HEADER).fill(0);
  pool.push(...header);
  pool[o] = addr.starts.length;
  for (const s of addr.starts) pool.push(flip(s));
  for (const m of addr.masks) pool.push(m | 0);
  ports.forEach((sec, p) => {
    pool[o + 1 + p] = pool.length;
    pool.push(sec.starts.length, ...sec.starts, ...sec.masks.map((m) => m | 0));
  });
  pool[o + 4] = icmp | 0;
  pool[o + 5] = byGroup.size;
  pool[o + 6] = pool.length;
  for (const [g, m] of byGroup) pool.push(g, m | 0);
  pool[o + 7] = pool.length;
  const pass = passTargets(rules);
  rules.forEach((r, i) => pool.push(r.action === 'Pass' ? pass[i]! : -1));
  pool[o + 8] = decBase;
  return o;
}
