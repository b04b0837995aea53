// The fast classifier of one host: vNIC slot → compiled rule list per direction → atom scan or bit-vector search.
// Per-packet work: one array index for the vNIC, one hash probe for the remote address's single-address
// group memberships (only if the rule list uses groups) plus one per shared group the list itself names,
// two binary searches over elementary intervals, summary/word ANDs, and at most 3 Pass jumps. None of it
// grows with the number of programs on the host, with the groups other programs name, or with the
// number of members of an address group.
//
// Why bit vectors (Lakshman & Stiliadis 1998, with Baboescu & Varghese's aggregated summary bits) and
// not the alternatives, for this workload (many small programs, updates whenever placement changes, V8):
// - DPDK rte_acl compiles all rules into one multibit trie per context (rte_acl_add_rules, then
//   rte_acl_build over the whole set): fast lookups, but every change rebuilds the context, and its
//   node tables are pointer-heavy, which V8 handles poorly.
// - Tuple space search / TupleMerge / PartitionSort: cheap updates, but a lookup probes one hash table
//   per tuple/partition, so cost varies with the rule mix, and first-match-at-or-after-a-rule (what Pass
//   needs) has to be threaded through every table.
// - Bit vectors give first match ≥ any start index as "lowest common set bit", so Pass chains cost
//   one extra mask each; structures are per program (so a rebuild could be limited to changed programs;
//   today Dataplane.replace rebuilds the host, about 5 s CPU for 40,000 programs) and
//   are flat Int32Arrays. Their weakness, O(intervals × rules/32) memory, is bounded by chunking long
//   lists (ruleset.ts); lists of ≤ 32 rules use single 32-bit masks (compact.ts).
// - Tenant programs of a handful of rules, the common case, skip bit vectors altogether: their rules are
//   stored inline as a short run of atoms scanned first-match (inline.ts). With 6,400 distinct lists
//   resident, a packet then misses on one or two sequential cache lines instead of 4–6 scattered ones.
import type { CompiledRule, HostFilterSpec } from '../api';
import type { Decision, Direction, PacketProtocol } from '../policy/decision';
import { lowestBit, opCounter } from './bitset';
import { COMPACT_MAX_RULES, CompactPool } from './compact';
import { INLINE_MAX_ATOMS, InlinePool, inlineLookup } from './inline';
import { parseCidr, parseIPv4 } from './ip';
import { DEFAULT_CHUNK, PROTO, type GroupTable, type RuleSet, compileRuleSet, firstInChunk, flip } from './ruleset';
import { NO_MATCH, UNBOUND, bindingKey } from './semantics';
import type { Classifier, Lookup, Memberships, SharedGroups } from './types';

export { PROTO } from './ruleset';
export const DIR = { egress: 0, ingress: 1 } as const;

export interface ClassifierStats {
  programs: number;
  /** Distinct compiled rule lists (identical program directions share one). */
  ruleSets: number;
  /** Of those, the ones in the inline (atom scan) form. */
  inlineRuleSets: number;
  rules: number;
  bindings: number;
  groups: number;
  /** Single addresses hashed to their groups. */
  groupAddresses: number;
  /** Address elementary intervals and Int32 words over all compiled rule sets. */
  addressIntervals: number;
  words: number;
  buildMs: number;
}

export interface FastClassifier extends Classifier {
  /** The vNIC's slot for `lookup`, stable for the life of this classifier; -1 when unbound. */
  slot(vm: string, vnic: string): number;
  /** The fast path: slot from `slot()`, dir from DIR, ip as uint32, proto from PROTO, port 0..65535. */
  lookup(slot: number, dir: number, ip: number, proto: number, port: number): Decision;
  /** When true, `ops` accumulates rule-bitset word ANDs, binary-search steps and hash probes. */
  countOps: boolean;
  ops: number;
  readonly stats: ClassifierStats;
}

export interface ClassifierOptions {
  /** Rules per bit-vector chunk (memory vs. per-packet work on very long rule lists). */
  chunkSize?: number;
  /** Chunks with more address intervals than this get a /16 index before the binary search. */
  top16MinIntervals?: number;
  /** Rule lists of at most this many atoms (address range x port item) use the inline form; 0 disables it. */
  inlineMaxAtoms?: number;
  /** Members of the spec's shared groups; without it a shared group matches nothing. */
  sharedGroups?: SharedGroups;
}

const EMPTY_SET: ReadonlySet<number> = new Set();

/**
 * Inline memberships plus live shared groups: one probe of the inline hash and one per shared group
 * given. Each rule list gets the shared groups it names, not the host's: a tenant whose policies name
 * many shared groups must not make the lookups of other tenants' vNICs on the host probe them all. The
 * result is interned per (inline hit list, shared hit mask), so a lookup allocates nothing once warm.
 */
function withShared(inline: Map<number, Int32Array>, shared: { index: number; members: ReadonlySet<number> }[]): Memberships {
  if (shared.length === 0) return inline;
  const NONE = new Int32Array(0);
  const combos = new Map<Int32Array, Map<number, Int32Array>>();
  return {
    get(ip: number): Int32Array | undefined {
      const base = inline.get(ip) ?? NONE;
      if (shared.length > 31) {
        // No mask fits: build the list (slow path; hosts name a handful of shared groups).
        const l = Array.from(base);
        for (const s of shared) if (s.members.has(ip)) l.push(s.index);
        opCounter.ops += shared.length;
        return l.length === 0 ? undefined : Int32Array.from(l);
      }
      let mask = 0;
      for (let i = 0; i < shared.length; i++) {
        opCounter.ops++;
        if (shared[i]!.members.has(ip)) mask |= 1 << i;
      }
      if (mask === 0) return base === NONE ? undefined : base;
      let byMask = combos.get(base);
      if (!byMask) combos.set(base, (byMask = new Map()));
      let out = byMask.get(mask);
      if (!out) {
        const l = Array.from(base);
        for (let i = 0; i < shared.length; i++) if (mask & (1 << i)) l.push(shared[i]!.index);
        byMask.set(mask, (out = Int32Array.from(l)));
      }
      return out;
    },
  };
}

/** A rule list's reference in slotRef: kind in the low 2 bits, offset/index above. */
const KIND_INLINE = 0;
const KIND_COMPACT = 1;
const KIND_LARGE = 2;

/** Host-wide group data: single addresses → groups containing them (hash), wider members as ranges. */
function groupTable(
  spec: HostFilterSpec,
  sharedGroups: SharedGroups | undefined,
): { table: GroupTable; byAddress: Map<number, Int32Array>; shared: Map<string, { index: number; members: ReadonlySet<number> }>; count: number; singles: number } {
  const index = new Map<string, number>();
  const wide = new Map<string, [number, number][]>();
  const lists = new Map<number, number[]>();
  const withSingles = new Set<string>();
  const shared = new Map<string, { index: number; members: ReadonlySet<number> }>();
  for (const g of spec.addressGroups) {
    if (index.has(g.id)) continue;
    const gi = index.size;
    index.set(g.id, gi);
    if (g.shared) {
      // Matched through the membership probe, like a group of single addresses.
      withSingles.add(g.id);
      shared.set(g.id, { index: gi, members: sharedGroups?.membersOf(g.id) ?? EMPTY_SET });
      continue;
    }
    const ranges: [number, number][] = [];
    for (const a of g.addresses) {
      const r = parseCidr(a);
      if (r[0] !== r[1]) {
        ranges.push(r);
        continue;
      }
      withSingles.add(g.id);
      const l = lists.get(r[0]);
      if (!l) lists.set(r[0], [gi]);
      else if (l[l.length - 1] !== gi) l.push(gi);
    }
    wide.set(g.id, ranges);
  }
  // Interning the lists keeps one Int32Array per distinct membership set, not per address.
  const interned = new Map<string, Int32Array>();
  const byAddress = new Map<number, Int32Array>();
  for (const [ip, l] of lists) {
    const key = l.join(',');
    let arr = interned.get(key);
    if (!arr) interned.set(key, (arr = Int32Array.from(l)));
    byAddress.set(ip, arr);
  }
  return {
    // Only groups with single-address members need the per-packet hash probe.
    table: { indexOf: (id) => (withSingles.has(id) ? index.get(id) : undefined), wideMembers: (id) => wide.get(id) ?? [] },
    byAddress,
    shared,
    count: index.size,
    singles: byAddress.size,
  };
}

/** Everything a classifier needs at lookup time (build-time tables are not kept alive by lookups). */
interface CompiledHost {
  slots: Map<string, number>;
  slotRef: Int32Array;
  pool: Int32Array;
  decisions: Decision[];
  inlinePool: Int32Array;
  inlineDecisions: Decision[];
  large: RuleSet[];
  /** Per slot and direction (as slotRef): the memberships its rule list probes. */
  slotMembers: Memberships[];
  stats: ClassifierStats;
}

function compileHost(spec: HostFilterSpec, opts: ClassifierOptions): CompiledHost {
  const t0 = performance.now();
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
  const { table, byAddress, shared, count: groups, singles } = groupTable(spec, opts.sharedGroups);
  // Memberships per rule list: the inline hash plus the shared groups the list names (interned by set).
  const membersBySet = new Map<string, Memberships>();
  const listMembers = new Map<CompiledRule[], Memberships>();
  const membersFor = (rules: CompiledRule[]): Memberships => {
    let m = listMembers.get(rules);
    if (m) return m;
    const named = new Set<number>();
    for (const r of rules) for (const p of r.peers) if (p.group !== undefined) {
      const sg = shared.get(p.group);
      if (sg) named.add(sg.index);
    }
    if (named.size === 0) m = byAddress;
    else {
      const key = [...named].sort((a, b) => a - b).join(',');
      m = membersBySet.get(key);
      if (!m) {
        const groupsNamed = [...shared.values()].filter((g) => named.has(g.index));
        membersBySet.set(key, (m = withShared(byAddress, groupsNamed)));
      }
    }
    listMembers.set(rules, m);
    return m;
  };
  // Rule lists of a handful of rules (the common case) are inlined as atoms (inline.ts); other lists of up
  // to 32 rules go into one contiguous bit-vector pool; longer ones are chunked (see KIND_*).
  // Identical programs share one id (ids are content hashes); identical sections are interned inside
  // the pool, so rule lists are not compared whole (that would mean serializing every list).
  const cache = new Map<CompiledRule[], number>();
  const compact = new CompactPool();
  const inline = new InlinePool(opts.inlineMaxAtoms ?? INLINE_MAX_ATOMS);
  const large: RuleSet[] = [];
  let inlineLists = 0;
  const compiled = (rules: CompiledRule[]): number => {
    let ref = cache.get(rules);
    if (ref === undefined) {
      const at = inline.append(rules, table);
      if (at >= 0) {
        ref = (at << 2) | KIND_INLINE;
        inlineLists++;
      } else if (rules.length <= COMPACT_MAX_RULES) ref = (compact.append(rules, table) << 2) | KIND_COMPACT;
      else {
        large.push(compileRuleSet(rules, table, chunkSize, opts.top16MinIntervals));
        ref = ((large.length - 1) << 2) | KIND_LARGE;
      }
      cache.set(rules, ref);
    }
    return ref;
  };
  const programs = new Map<string, [number, number, Memberships, Memberships]>();
  let rules = 0;
  const byId = new Map(spec.programs.map((p) => [p.id, p]));
  const compileProgram = (p: HostFilterSpec['programs'][number]) => {
    if (programs.has(p.id)) return;
    programs.set(p.id, [compiled(p.egress), compiled(p.ingress), membersFor(p.egress), membersFor(p.ingress)]);
    rules += p.egress.length + p.ingress.length;
  };
  // Programs bound to a vNIC first, in binding order: the blocks packets touch sit together in the pool.
  for (const b of spec.bindings) {
    const p = byId.get(b.program);
    if (p) compileProgram(p);
  }
  for (const p of spec.programs) compileProgram(p);
  const slots = new Map<string, number>();
  const refs: number[] = [];
  const slotMembers: Memberships[] = [];
  for (const b of spec.bindings) {
    const prog = programs.get(b.program);
    const key = bindingKey(b.vm, b.vnic);
    if (!prog || slots.has(key)) continue;
    slots.set(key, refs.length >>> 1);
    refs.push(prog[0], prog[1]);
    slotMembers.push(prog[2], prog[3]);
  }
  const slotRef = Int32Array.from(refs);
  const { pool, decisions } = compact.finish(refs.filter((r) => (r & 3) === KIND_COMPACT).map((r) => r >> 2));
  const { pool: inlinePool, decisions: inlineDecisions } = inline.finish();
  let words = pool.length + inlinePool.length;
  let intervals = 0;
  for (const ref of cache.values()) if ((ref & 3) === KIND_COMPACT) intervals += pool[ref >> 2]!; // shared sections counted per list
  for (const rs of large)
    for (const c of rs.chunks) {
      words += c.d.length;
      intervals += c.nAddr;
    }
  const stats: ClassifierStats = {
    programs: programs.size,
    ruleSets: cache.size,
    inlineRuleSets: inlineLists,
    rules,
    bindings: slots.size,
    groups,
    groupAddresses: singles,
    addressIntervals: intervals,
    words,
    buildMs: performance.now() - t0,
  };
  return { slots, slotRef, pool, decisions, inlinePool, inlineDecisions, large, slotMembers, stats };
}

export function buildClassifier(spec: HostFilterSpec, opts: ClassifierOptions = {}): FastClassifier {
  const { slots, slotRef, pool, decisions, inlinePool, inlineDecisions, large, slotMembers, stats } = compileHost(spec, opts);
  const lookupInline = inlineLookup(inlinePool, inlineDecisions);

  /** First-match search in a compact block at o (see compact.ts for the layout). */
  const lookupCompact = (o: number, ip: number, proto: number, port: number, byAddress: Memberships): Decision => {
    const nAddr = pool[o]!;
    const as = pool[o + 9]!;
    // Address: last start <= ip among nAddr sorted (flipped) starts.
    const ipf = flip(ip);
    let lo = 0;
    let hi = nAddr - 1;
    while (lo < hi) {
      opCounter.ops++;
      const mid = (lo + hi + 1) >>> 1;
      if (pool[as + mid]! <= ipf) lo = mid;
      else hi = mid - 1;
    }
    let a = pool[as + nAddr + lo]!;
    const nGroups = pool[o + 5]!;
    if (nGroups > 0) {
      opCounter.ops++;
      const hits = byAddress.get(ip);
      if (hits !== undefined) {
        const g0 = pool[o + 6]!;
        for (let i = 0; i < hits.length; i++)
          for (let j = 0; j < nGroups; j++) {
            opCounter.ops++;
            if (pool[g0 + 2 * j] === hits[i]) a |= pool[g0 + 2 * j + 1]!;
          }
      }
    }
    let b: number;
    if (proto === PROTO.ICMP) b = pool[o + 4]!;
    else {
      const sec = pool[o + 1 + proto]!;
      const p = port === (port & 0xffff) ? port : 65536;
      lo = 0;
      hi = pool[sec]! - 1;
      while (lo < hi) {
        opCounter.ops++;
        const mid = (lo + hi + 1) >>> 1;
        if (pool[sec + 1 + mid]! <= p) lo = mid;
        else hi = mid - 1;
      }
      b = pool[sec + 1 + pool[sec]! + lo]!;
    }
    opCounter.ops++;
    let m = a & b;
    const passAt = pool[o + 7]!;
    while (m !== 0) {
      const r = lowestBit(m);
      const target = pool[passAt + r]!;
      if (target < 0) return decisions[pool[pool[o + 8]! + r]!]!;
      opCounter.ops++; // Pass: continue at the first rule of a higher tier
      m = target >= 32 ? 0 : m & (-1 << target);
    }
    return NO_MATCH;
  };

  const lookupLarge = (rs: RuleSet, ip: number, proto: number, port: number, byAddress: Memberships): Decision => {
    let hits: Int32Array | null = null;
    if (rs.usesGroups) {
      opCounter.ops++;
      hits = byAddress.get(ip) ?? null;
    }
    const ipf = flip(ip);
    const p = proto === PROTO.ICMP ? 0 : port === (port & 0xffff) ? port : 65536;
    let start = 0;
    const chunks = rs.chunks;
    for (let ci = 0; ci < chunks.length; ) {
      const c = chunks[ci]!;
      const local = start - c.base;
      if (local >= c.n) {
        ci++;
        continue;
      }
      const r = firstInChunk(c, ipf, proto, p, local > 0 ? local : 0, hits);
      if (r < 0) {
        ci++;
        continue;
      }
      const g = c.base + r;
      const target = rs.pass[g]!;
      if (target < 0) return rs.decisions[g]!;
      start = target; // Pass: continue at the first rule of a higher tier
    }
    return NO_MATCH;
  };

  const self: FastClassifier = {
    countOps: false,
    ops: 0,
    stats,
    slot: (vm, vnic) => slots.get(bindingKey(vm, vnic)) ?? -1,
    lookup(slot: number, dir: number, ip: number, proto: number, port: number): Decision {
      const before = opCounter.ops;
      opCounter.ops++; // the vNIC → program probe
      let out: Decision = UNBOUND;
      if (slot >= 0 && slot * 2 < slotRef.length) {
        const ref = slotRef[slot * 2 + dir]!;
        const members = slotMembers[slot * 2 + dir]!;
        const kind = ref & 3;
        out =
          kind === KIND_INLINE
            ? lookupInline(ref >> 2, ip, proto, port, members)
            : kind === KIND_COMPACT
              ? lookupCompact(ref >> 2, ip, proto, port, members)
              : lookupLarge(large[ref >> 2]!, ip, proto, port, members);
      }
      if (self.countOps) self.ops += opCounter.ops - before;
      return out;
    },
    classify(l: Lookup): Decision {
      return self.lookup(self.slot(l.vm, l.vnic), DIR[l.direction], parseIPv4(l.remoteIp), PROTO[l.protocol], l.port);
    },
  };
  return self;
}

/** Convert a named direction / protocol for `lookup`. */
export const dirIndex = (d: Direction): number => DIR[d];
export const protoIndex = (p: PacketProtocol): number => PROTO[p];
