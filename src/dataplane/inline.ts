// Inline form of a small rule list (the common tenant program of a handful of rules): the rules as
// "atoms" (one address range or group × one protocol/port item) stored contiguously in one host-wide
// Int32Array and evaluated first-match in order. With thousands of programs resident, a packet's cost
// is dominated by cache misses, not comparisons: the bit-vector forms touch 4–6 scattered lines per
// packet (header, address starts, masks, port section, decision ids), while this form reads one short
// sequential run whose addresses do not depend on the data (the CPU fetches the lines in parallel).
//
// Block layout (offset o, 16-word aligned): o+0 atom count, o+1..3 unused (keeps atoms 16-byte aligned),
// then per atom 4 words:
//   w0 address range start (flipped, see ruleset.flip) or, for a group atom, the group index
//   w1 address range end (flipped)
//   w2 port range: lo | hi << 16 (0..65535; "any port" is the ANY flag, so out-of-range ports miss)
//   w3 control: bits 0..3 protocols (1 << PROTO), bit 4 ANY port, bit 5 GROUP atom, bits 8.. signed v:
//      v >= 0 → index of the decision in the shared table; v < 0 → Pass, continue at atom -v-1.
// The atoms of one rule are consecutive, so "some atom matches" is "the rule matches" and first-match
// order is the rule order. A rule that can match nothing has no atoms.
import type { CompiledRule } from '../api';
import type { Decision } from '../policy/decision';
import { opCounter } from './bitset';
import { type GroupTable, PROTO, flip, prepare } from './ruleset';
import { NO_MATCH, passTargets, ruleDecision } from './semantics';

/** Rule lists with more atoms than this stay on the bit-vector forms (scan length is the cost). */
export const INLINE_MAX_ATOMS = 24;
const HEADER = 4;
const ALIGN = 16;
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

  /** Compile `rules` into a block and return its offset, or -1 when the list is too large for this form. */
  append(rules: readonly CompiledRule[], groups: GroupTable): number {
    if (this.maxAtoms <= 0 || rules.length > this.maxAtoms) return -1;
    const per: RuleAtoms[] = [];
    let total = 0;
    for (const r of rules) {
      let a = this.atoms.get(r);
      if (!a) this.atoms.set(r, (a = ruleAtoms(r, groups)));
      per.push(a);
      total += a.words.length >>> 2;
      if (total > this.maxAtoms) return -1;
    }
    // firstAtom[i]: atom index of rule i (rules without atoms point at the next rule's), [n] = end.
    const firstAtom = new Int32Array(rules.length + 1);
    for (let i = 0, k = 0; i <= rules.length; i++) {
      firstAtom[i] = k;
      if (i < rules.length) k += per[i]!.words.length >>> 2;
    }
    const pass = passTargets(rules);
    const w = this.words;
    while (w.length % ALIGN !== 0) w.push(0);
    const o = w.length;
    w.push(total, 0, 0, 0);
    rules.forEach((r, i) => {
      const a = per[i]!;
      const v = a.decision ? this.decisionId(a.decision) : -firstAtom[pass[i]!]! - 1;
      for (let j = 0; j < a.words.length; j += 4) w.push(a.words[j]!, a.words[j + 1]!, a.words[j + 2]! | 0, a.words[j + 3]! | (v << 8));
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

/** The lookup over a finished pool; `byAddress` maps single addresses to the groups containing them. */
export function inlineLookup(
  pool: Int32Array,
  decisions: readonly Decision[],
  byAddress: ReadonlyMap<number, Int32Array>,
): (o: number, ip: number, proto: number, port: number) => Decision {
  const NONE = new Int32Array(0);
  return (o, ip, proto, port) => {
    const ipf = flip(ip);
    const pbit = 1 << proto;
    const p = port === (port & 0xffff) ? port : PORT_OUTSIDE;
    const first = o + HEADER;
    const end = first + 4 * pool[o]!;
    let hits: Int32Array | null = null;
    for (let i = first; i < end; ) {
      opCounter.ops++;
      const ctl = pool[i + 3]!;
      let match = false;
      if ((ctl & pbit) !== 0) {
        const pw = pool[i + 2]!;
        if ((ctl & ANY) !== 0 || (p >= (pw & 0xffff) && p <= pw >>> 16)) {
          if ((ctl & GROUP) === 0) match = ipf >= pool[i]! && ipf <= pool[i + 1]!;
          else {
            if (hits === null) {
              opCounter.ops++; // the address → groups hash probe, once per packet
              hits = byAddress.get(ip) ?? NONE;
            }
            const g = pool[i]!;
            for (let h = 0; !match && h < hits.length; h++) {
              opCounter.ops++;
              match = hits[h] === g;
            }
          }
        }
      }
      if (!match) {
        i += 4;
        continue;
      }
      const v = ctl >> 8;
      if (v >= 0) return decisions[v]!;
      i = first + 4 * (-v - 1); // Pass: continue at the first atom of a higher tier
    }
    return NO_MATCH;
  };
}
