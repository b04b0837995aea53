// Compact form of a short rule list (at most 32 rules): every structure of the list inline in one
// host-wide Int32Array, with rule bitsets as plain 32-bit masks. A lookup touches a handful of cache
// lines of one contiguous block, so the cost stays flat when thousands of programs are resident.
//
// Block layout (absolute offsets into the pool, base o):
//   o+0 nAddr   o+1..3 TCP/UDP/SCTP section offsets   o+4 ICMP mask   o+5 nGroups   o+6 groups offset
//   o+7 pass offset   o+8 decision section offset (per rule: index into `decisions`, -1 for Pass)
//   o+9 address section offset
//   address section: starts[nAddr] (flipped), masks[nAddr]     protocol section: n, starts[n], masks[n]
//   groups: (group index, mask) pairs      pass: per rule
// Sections are interned: thousands of tenant programs that repeat the same provider, baseline and
// port rules share those sections, which keeps the set of cache lines packets touch small.
import type { CompiledRule } from '../api';
import type { Decision } from '../policy/decision';
import { type GroupTable, type Prepared, flip, prepare } from './ruleset';
import { passTargets, ruleDecision } from './semantics';

export const COMPACT_MAX_RULES = 32;
const PORT_OUTSIDE = 65536;
const ADDR_MAX = 0xffffffff;
export const HEADER = 10;

/**
 * Elementary intervals of [0, max] with the mask of rules covering each; equal neighbours merged.
 * A sweep over the sorted range ends (a count per rule bit), O(n log n): testing every range at every
 * cut was O(n^2) and took seconds per filter for rules whose peers are address groups of hundreds of
 * VMs (agents rebuilding a 512-host datacenter's filters).
 */
function intervals(ranges: { lo: number; hi: number; r: number }[], max: number): { starts: number[]; masks: number[] } {
  // Events: +1 for rule bit at lo, -1 at hi + 1 (none past max). Bits as `1 << r` (so r mod 32).
  const at: number[] = [];
  const ev: number[] = [];
  for (const x of ranges) {
    const bit = x.r & 31;
    at.push(x.lo);
    ev.push(bit + 1);
    if (x.hi < max) {
      at.push(x.hi + 1);
      ev.push(-(bit + 1));
    }
  }
  const order = at.map((_, i) => i).sort((a, b) => at[a]! - at[b]!);
  const count = new Int32Array(32);
  const starts: number[] = [];
  const masks: number[] = [];
  let m = 0;
  let j = 0;
  // Cut points: 0 and every event position, ascending; the mask at a cut applies every event up to it.
  for (let cut = 0; ; ) {
    while (j < order.length && at[order[j]!]! <= cut) {
      const e = ev[order[j++]!]!;
      const bit = Math.abs(e) - 1;
      const before = count[bit]!;
      count[bit] = before + Math.sign(e);
      if (before <= 0 && count[bit]! > 0) m |= 1 << bit;
      else if (before > 0 && count[bit]! <= 0) m &= ~(1 << bit);
    }
    if (masks.length === 0 || masks[masks.length - 1] !== m) {
      starts.push(cut);
      masks.push(m);
    }
    if (j >= order.length) break;
    cut = at[order[j]!]!;
  }
  return { starts, masks };
}

/** A pool of compact blocks being built, with the section intern table. */
export class CompactPool {
  readonly words: number[] = [];
  /** Distinct decisions; blocks refer to them by index. */
  readonly decisions: Decision[] = [];
  // Section intern table: FNV-1a hash of the words → offsets of sections with that hash.
  private readonly sections = new Map<number, number[]>();
  private readonly decisionIds = new Map<Decision, number>();
  /** Decision-id sections: offset → length. */
  private readonly decisionSections = new Map<number, number>();
  // Per-rule work memoized by object identity: specs built in memory often share rule objects.
  private readonly prepared = new Map<CompiledRule, { prep: Prepared; id: number }>();

  /** Offset of a section with exactly these words, appending it if new. */
  private section(words: number[]): number {
    let h = 0x811c9dc5 ^ words.length;
    for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
    const same = this.sections.get(h);
    if (same) {
      for (const off of same) {
        let eq = true;
        for (let i = 0; eq && i < words.length; i++) eq = this.words[off + i] === words[i];
        if (eq && off + words.length <= this.words.length) return off;
      }
    }
    const off = this.words.length;
    for (const w of words) this.words.push(w);
    if (same) same.push(off);
    else this.sections.set(h, [off]);
    return off;
  }

  private rule(r: CompiledRule, groups: GroupTable) {
    let x = this.prepared.get(r);
    if (!x) {
      const decision = r.action === 'Pass' ? null : ruleDecision(r);
      let id = -1;
      if (decision) {
        id = this.decisionIds.get(decision) ?? this.decisions.length;
        if (id === this.decisions.length) {
          this.decisions.push(decision);
          this.decisionIds.set(decision, id);
        }
      }
      x = { prep: prepare(r, groups), id };
      this.prepared.set(r, x);
    }
    return x;
  }

  private decisionSection(ids: number[]): number {
    const off = this.section(ids);
    // An empty section sits at whatever offset the pool ended at, which a later section starts at: it
    // must not overwrite that section's length (its ids would then never be renumbered by finish).
    if (ids.length > 0) this.decisionSections.set(off, ids.length);
    return off;
  }

  /**
   * The finished pool. Decisions are re-allocated in one burst, those of `hotBlocks` (the blocks bound
   * to vNICs) first, so that the objects a lookup returns sit together in the heap instead of being
   * scattered among build-time garbage (at 40,000 programs that is the difference between cache hits
   * and misses on every packet).
   */
  finish(hotBlocks: number[]): { pool: Int32Array; decisions: Decision[] } {
    const w = this.words;
    const newId = new Int32Array(this.decisions.length).fill(-1);
    const out: Decision[] = [];
    const visit = (off: number) => {
      const len = this.decisionSections.get(off) ?? 0;
      for (let i = 0; i < len; i++) {
        const id = w[off + i]!;
        if (id >= 0 && newId[id]! < 0) {
          newId[id] = out.length;
          out.push(Object.freeze({ ...this.decisions[id]! }));
        }
      }
    };
    for (const b of hotBlocks) visit(w[b + 8]!);
    for (const off of this.decisionSections.keys()) visit(off);
    const pool = Int32Array.from(w);
    for (const [off, len] of this.decisionSections)
      for (let i = 0; i < len; i++) if (pool[off + i]! >= 0) pool[off + i] = newId[pool[off + i]!]!;
    return { pool, decisions: out };
  }

  /** Compile `rules` (at most 32) into a block; returns its offset. */
  append(rules: CompiledRule[], groups: GroupTable): number {
    if (rules.length > COMPACT_MAX_RULES) throw new Error('too many rules for the compact form');
    const memo = rules.map((r) => this.rule(r, groups));
    const prep: Prepared[] = memo.map((m) => m.prep);
    const addr = intervals(prep.flatMap((p, r) => p.addr.map(([lo, hi]) => ({ lo, hi, r }))), ADDR_MAX);
    const ports = [0, 1, 2].map((proto) => intervals(prep.flatMap((p, r) => p.ports[proto]!.map(([lo, hi]) => ({ lo, hi, r }))), PORT_OUTSIDE));
    let icmp = 0;
    const byGroup = new Map<number, number>();
    prep.forEach((p, r) => {
      if (p.icmp) icmp |= 1 << r;
      for (const g of p.groups) byGroup.set(g, (byGroup.get(g) ?? 0) | (1 << r));
    });
    const pass = passTargets(rules);
    const header = [
      addr.starts.length,
      ...ports.map((sec) => this.section([sec.starts.length, ...sec.starts, ...sec.masks.map((m) => m | 0)])),
      icmp | 0,
      byGroup.size,
      this.section([...byGroup].flatMap(([g, m]) => [g, m | 0])),
      this.section(rules.map((r, i) => (r.action === 'Pass' ? pass[i]! : -1))),
      this.decisionSection(memo.map((m) => m.id)),
      this.section([...addr.starts.map(flip), ...addr.masks.map((m) => m | 0)]),
    ];
    return this.section(header);
  }
}
