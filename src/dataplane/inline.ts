// Inline form of a small rule list (the common tenant program of a handful of rules): the rules as
// "atoms" (one address range or group × one protocol/port item) stored contiguously in one host-wide
// Int32Array and evaluated first-match in order. With thousands of programs resident, a packet's cost
// is dominated by cache misses, not comparisons: the bit-vector forms touch 4–6 scattered lines per
// packet (header, address starts, masks, port section, decision ids), while this form reads a short
// sequential run whose addresses do not depend on the data (the CPU fetches the lines in parallel).
//
// A list is cut into tier segments (runs of rules of one tier; the compiler emits rules in tier order).
// Segments are interned: the provider and baseline segments every tenant program repeats are stored
// once and stay in cache, so a packet's unique lines are the block header and the tenant's own
// segments, which are placed right after it. A Pass continues at the first rule of a higher tier, which
// in a tier-ordered list is the next segment: atoms need no positions, which is what makes sharing work.
//
// Block (offset o, 16-word aligned): o+0 segment count k, then k (start, end) absolute word offsets of
// the segments' atoms, padded to a multiple of 4 words; then the block's new (not yet interned) segments.
// Atom, 4 words:
//   w0 address range start (flipped, see ruleset.flip) or, for a group atom, the group index
//   w1 address range end (flipped)
//   w2 port range: lo | hi << 16 (0..65535; "any port" is the ANY flag, so out-of-range ports miss)
//   w3 control: bits 0..3 protocols (1 << PROTO), bit 4 ANY port, bit 5 GROUP atom, bits 8.. the index
//      of the decision in the shared table, or PASS_V for Pass (continue with the next segment).
// The atoms of one rule are consecutive, so "some atom matches" is "the rule matches". A rule that can
// match nothing has no atoms. Lists not in tier order use the bit-vector forms.
import type { CompiledRule } from '../api';
import type { Decision } from '../policy/decision';
import { opCounter } from './bitset';
import { type GroupTable, PROTO, flip, prepare } from './ruleset';
import { NO_MATCH, TIER_RANK, ruleDecision } from './semantics';
import type { Memberships } from './types';

/** Rule lists with more atoms than this stay on the bit-vector forms (scan length is the cost). */
export const INLINE_MAX_ATOMS = 24;
const ALIGN = 16;
/** Control value of a Pass atom (decision indexes are >= 0). */
const PASS_V = -1;
const ANY = 1 << 4;
const GROUP = 1 << 5;
const PORT_OUTSIDE = 65536;
const ICMP_BIT = 1 << PROTO.ICMP;

type Range = [number, number];

/** One rule's atoms without the control value (w0, w1, w2, flags), shared by every list using the rule. */
interface RuleAtoms {
  words: number[];
  decision: Decision | null;
}

/** Sorted, merged (overlapping or adjacent) ranges. */
function mergeRanges(rs: readonly Range[]): Range[] {
  const sorted = [...rs].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function ruleAtoms(r: CompiledRule, groups: GroupTable): RuleAtoms {
  const p = prepare(r, groups);
  // Protocol/port items: each distinct range with the protocols that accept it.
  const items = new Map<string, { lo: number; hi: number; mask: number }>();
  for (let proto = 0; proto < 3; proto++)
    for (const [lo, hi] of p.ports[proto]!) {
      const key = `${lo}-${hi}`;
      const it = items.get(key);
      if (it) it.mask |= 1 << proto;
      else items.set(key, { lo, hi, mask: 1 << proto });
    }
  const portWords: [number, number][] = [];
  let icmpPlaced = !p.icmp;
  for (const it of items.values()) {
    if (it.lo === 0 && it.hi === PORT_OUTSIDE) {
      portWords.push([0, it.mask | ANY | (p.icmp ? ICMP_BIT : 0)]);
      icmpPlaced = true;
    } else if (it.hi < PORT_OUTSIDE) portWords.push([it.lo | (it.hi << 16), it.mask]);
  }
  if (!icmpPlaced) portWords.push([0, ICMP_BIT | ANY]);
  const words: number[] = [];
  const addr = mergeRanges(p.addr);
  for (const [lo, hi] of addr) for (const [pw, f] of portWords) words.push(flip(lo), flip(hi), pw, f);
  for (const g of p.groups) for (const [pw, f] of portWords) words.push(g, 0, pw, f | GROUP);
  return { words, decision: r.action === 'Pass' ? null : ruleDecision(r) };
}

/** A pool of inline blocks being built. */
export class InlinePool {
  private readonly words: number[] = [];
  private readonly decisions: Decision[] = [];
  private readonly decisionIds = new Map<Decision, number>();
  // Per-rule work memoized by object identity: specs built in memory often share rule objects.
  private readonly atoms = new Map<CompiledRule, RuleAtoms>();

  constructor(private readonly maxAtoms = INLINE_MAX_ATOMS) {}

  private decisionId(d: Decision): number {
    let id = this.decisionIds.get(d);
    if (id === undefined) {
      id = this.decisions.length;
      this.decisions.push(d);
      this.decisionIds.set(d, id);
    }
    return id;
  }

  // Segment intern table: FNV-1a hash of the atom words → offsets of segments with that hash.
  private readonly segments = new Map<number, number[]>();

  /** Start offset of a segment with exactly these atom words, appending it if new. */
  private segment(words: number[]): number {
    let h = 0x811c9dc5 ^ words.length;
    for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
    const same = this.segments.get(h);
    const w = this.words;
    for (const off of same ?? []) {
      let eq = true;
      for (let i = 0; eq && i < words.length; i++) eq = w[off + i] === words[i];
      if (eq) return off;
    }
    const off = w.length;
    for (const x of words) w.push(x);
    if (same) same.push(off);
    else this.segments.set(h, [off]);
    return off;
  }

  /** Compile `rules` into a block and return its offset, or -1 when the list does not suit this form. */
  append(rules: readonly CompiledRule[], groups: GroupTable): number {
    if (this.maxAtoms <= 0 || rules.length > this.maxAtoms) return -1;
    for (let i = 1; i < rules.length; i++) if (TIER_RANK[rules[i]!.tier] < TIER_RANK[rules[i - 1]!.tier]) return -1;
    const per: RuleAtoms[] = [];
    let total = 0;
    for (const r of rules) {
      let a = this.atoms.get(r);
      if (!a) this.atoms.set(r, (a = ruleAtoms(r, groups)));
      per.push(a);
      total += a.words.length >>> 2;
      if (total > this.maxAtoms) return -1;
    }
    // Atom words per tier segment (segments without atoms are dropped: nothing in them can match).
    const segs: number[][] = [];
    let cur: number[] = [];
    rules.forEach((r, i) => {
      if (i > 0 && r.tier !== rules[i - 1]!.tier && cur.length > 0) segs.push((cur = []));
      if (i === 0) segs.push(cur);
      const a = per[i]!;
      const v = a.decision ? this.decisionId(a.decision) : PASS_V;
      for (let j = 0; j < a.words.length; j += 4) cur.push(a.words[j]!, a.words[j + 1]!, a.words[j + 2]! | 0, a.words[j + 3]! | (v << 8));
    });
    const nonEmpty = segs.filter((x) => x.length > 0);
    const w = this.words;
    while (w.length % ALIGN !== 0) w.push(0);
    const o = w.length;
    const headerLen = (1 + 2 * nonEmpty.length + 3) & ~3;
    for (let i = 0; i < headerLen; i++) w.push(0);
    w[o] = nonEmpty.length;
    nonEmpty.forEach((words, k) => {
      const at = this.segment(words);
      w[o + 1 + 2 * k] = at;
      w[o + 2 + 2 * k] = at + words.length;
    });
    return o;
  }

  /**
   * The finished pool and decision table. Decisions are re-allocated in one burst in first-use order
   * (blocks are appended in binding order), so the objects lookups return sit together in the heap.
   */
  finish(): { pool: Int32Array; decisions: Decision[] } {
    return { pool: Int32Array.from(this.words), decisions: this.decisions.map((d) => Object.freeze({ ...d })) };
  }
}

/** The lookup over a finished pool; `byAddress` (per rule list) maps an address to the groups containing it. */
export function inlineLookup(
  pool: Int32Array,
  decisions: readonly Decision[],
): (o: number, ip: number, proto: number, port: number, byAddress: Memberships) => Decision {
  const NONE = new Int32Array(0);
  return (o, ip, proto, port, byAddress) => {
    const ipf = flip(ip);
    const pbit = 1 << proto;
    const p = port === (port & 0xffff) ? port : PORT_OUTSIDE;
    const k = pool[o]!;
    let hits: Int32Array | null = null;
    for (let s = 0; s < k; s++) {
      const end = pool[o + 2 + 2 * s]!;
      for (let i = pool[o + 1 + 2 * s]!; i < end; i += 4) {
        opCounter.ops++;
        const ctl = pool[i + 3]!;
        if ((ctl & pbit) === 0) continue;
        const pw = pool[i + 2]!;
        if ((ctl & ANY) === 0 && (p < (pw & 0xffff) || p > pw >>> 16)) continue;
        let match: boolean;
        if ((ctl & GROUP) === 0) match = ipf >= pool[i]! && ipf <= pool[i + 1]!;
        else {
          if (hits === null) {
            opCounter.ops++; // the address → groups hash probe, once per packet
            hits = byAddress.get(ip) ?? NONE;
          }
          const g = pool[i]!;
          match = false;
          for (let h = 0; !match && h < hits.length; h++) {
            opCounter.ops++;
            match = hits[h] === g;
          }
        }
        if (!match) continue;
        const v = ctl >> 8;
        if (v !== PASS_V) return decisions[v]!;
        break; // Pass: continue with the next segment (the first rule of a higher tier)
      }
    }
    return NO_MATCH;
  };
}
