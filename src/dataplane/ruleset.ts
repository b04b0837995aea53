// Compiles one rule list (a program's egress or ingress) into per-dimension lookup structures:
// remote address → elementary intervals → rule bitset; (protocol, port) → elementary intervals → rule bitset.
// A packet's candidate rules are the AND of the two bitsets; the first set bit at or after the current
// start is the first match (Lakshman & Stiliadis bit-vector search). Long lists are cut into chunks of
// CHUNK rules so that memory stays O(intervals x CHUNK/32) per chunk instead of O(intervals x rules/32).
import type { CompiledPort, CompiledRule } from '../api';
import type { Decision } from '../policy/decision';
import { BitsetPool, firstCommon, opCounter, summaryWordsFor, wordsFor } from './bitset';
import { parseCidr } from './ip';
import { passTargets, ruleDecision } from './semantics';

type Range = [number, number];
/** Packet protocol numbering used by the fast path. */
export const PROTO = { TCP: 0, UDP: 1, SCTP: 2, ICMP: 3 } as const;
export const PROTO_NAMES = ['TCP', 'UDP', 'SCTP', 'ICMP'] as const;
/** Port dimension domain: 0..65535, plus 65536 standing for "a port outside every range". */
const PORT_OUTSIDE = 65536;
const ADDR_MAX = 0xffffffff;
export const DEFAULT_CHUNK = 16384;
/** Above this many address intervals a chunk gets a /16 index (256 KiB) in front of its binary search. */
export const TOP16_MIN_INTERVALS = 512;
/** Upper bound on one chunk's bitset words (4 bytes each): chunks are halved until under it. */
const CHUNK_WORDS_LIMIT = 8 * 1024 * 1024;

/** What the ruleset compiler needs to know about the host's address groups. */
export interface GroupTable {
  /** Group id → small integer, for groups that have single-address members (looked up by hash). */
  indexOf(groupId: string): number | undefined;
  /** Members of a group that are ranges wider than one address (matched via intervals). */
  wideMembers(groupId: string): readonly Range[];
}

/** One chunk: all structures packed into one Int32Array (few objects per chunk: cheap in V8's heap). */
export interface Chunk {
  /** First rule index of this chunk within the rule list. */
  base: number;
  n: number;
  W: number;
  S: number;
  /** Layout: [addr starts (flipped to signed)] [addr bitset offsets] [per protocol: n, starts, offsets] [bitsets] */
  d: Int32Array;
  nAddr: number;
  addrSets: number;
  /**
   * For chunks with many address intervals: top16[h] = index of the interval containing address h<<16
   * (h = 0..65536, the last entry = nAddr-1), so the binary search only covers one /16's intervals.
   */
  top16: Int32Array | null;
  proto: Int32Array;
  /** group index → bitset offset in d, for groups referenced by rules of this chunk; null when none. */
  groups: Map<number, number> | null;
}

export interface RuleSet {
  n: number;
  chunks: Chunk[];
  /** Per rule: where a matching Pass continues, or -1 for Allow/Deny. */
  pass: Int32Array;
  /** Per rule: the decision of a matching Allow/Deny rule (null for Pass). */
  decisions: (Decision | null)[];
  usesGroups: boolean;
}

export interface Prepared {
  addr: Range[];
  groups: number[];
  /** Port ranges per protocol 0..2 (TCP, UDP, SCTP); ICMP is a flag. */
  ports: Range[][];
  icmp: boolean;
}

/** Subtract exception ranges from one range. */
function subtract(r: Range, except: Range[]): Range[] {
  let out: Range[] = [r];
  for (const [elo, ehi] of except) {
    const next: Range[] = [];
    for (const [lo, hi] of out) {
      if (ehi < lo || elo > hi) next.push([lo, hi]);
      else {
        if (elo > lo) next.push([lo, elo - 1]);
        if (ehi < hi) next.push([ehi + 1, hi]);
      }
    }
    out = next;
  }
  return out;
}

function portRanges(ports: CompiledPort[]): { ports: Range[][]; icmp: boolean } {
  if (ports.length === 0) return { ports: [0, 1, 2].map(() => [[0, PORT_OUTSIDE]] as Range[]), icmp: true };
  const out: Range[][] = [[], [], []];
  let icmp = false;
  for (const e of ports) {
    if ((e.protocol === 'ICMP' || e.protocol === 'Any') && e.port === undefined) icmp = true;
    for (let p = 0; p < 3; p++) {
      if (e.protocol !== 'Any' && e.protocol !== PROTO_NAMES[p]) continue;
      if (e.port === undefined) out[p]!.push([0, PORT_OUTSIDE]);
      else if ((e.endPort ?? e.port) >= e.port) out[p]!.push([e.port, e.endPort ?? e.port]);
    }
  }
  return { ports: out, icmp };
}

/** Parsed CIDRs, shared across the many rule lists that repeat the same provider/baseline CIDRs. */
const cidrCache = new Map<string, Range>();
function cidrRange(c: string): Range {
  let r = cidrCache.get(c);
  if (!r) {
    if (cidrCache.size >= 100_000) cidrCache.clear();
    cidrCache.set(c, (r = parseCidr(c)));
  }
  return r;
}

export function prepare(r: CompiledRule, groups: GroupTable): Prepared {
  const addr: Range[] = [];
  const gs: number[] = [];
  if (r.peers.length === 0) addr.push([0, ADDR_MAX]);
  for (const p of r.peers) {
    if (p.group !== undefined) {
      const gi = groups.indexOf(p.group);
      if (gi !== undefined) gs.push(gi);
      addr.push(...groups.wideMembers(p.group));
    }
    if (p.cidr !== undefined) addr.push(...subtract(cidrRange(p.cidr), (p.except ?? []).map(cidrRange)));
  }
  return { addr, groups: gs, ...portRanges(r.ports) };
}

/**
 * Elementary intervals of the domain [0, max] cut by the ranges of rules 0..n-1, each with the interned
 * bitset of rules covering it; adjacent intervals with the same bitset are merged.
 */
function sweep(items: { lo: number; hi: number; r: number }[], max: number, n: number, pool: BitsetPool): { starts: number[]; sets: number[] } {
  const events: { at: number; r: number; d: number }[] = [];
  for (const it of items) {
    events.push({ at: it.lo, r: it.r, d: 1 });
    if (it.hi < max) events.push({ at: it.hi + 1, r: it.r, d: -1 });
  }
  events.sort((x, y) => x.at - y.at);
  const cnt = new Int32Array(n);
  const bits = new Int32Array(pool.W);
  const starts: number[] = [];
  const sets: number[] = [];
  let i = 0;
  let at = 0;
  for (;;) {
    while (i < events.length && events[i]!.at === at) {
      const e = events[i++]!;
      cnt[e.r]! += e.d;
      if (cnt[e.r]! > 0) bits[e.r >>> 5]! |= 1 << (e.r & 31);
      else bits[e.r >>> 5]! &= ~(1 << (e.r & 31));
    }
    const set = pool.intern(bits);
    if (sets.length === 0 || sets[sets.length - 1] !== set) {
      starts.push(at);
      sets.push(set);
    }
    if (i >= events.length) break;
    at = events[i]!.at;
  }
  return { starts, sets };
}

/** Addresses are stored flipped (x ^ 2^31) so that signed Int32 comparisons order them as unsigned. */
export const flip = (ip: number): number => (ip ^ 0x80000000) | 0;

function buildChunk(prep: Prepared[], base: number, top16Min: number): Chunk {
  const n = prep.length;
  const W = wordsFor(n);
  const S = summaryWordsFor(W);
  const pool = new BitsetPool(W, S);
  const addr = sweep(
    prep.flatMap((p, r) => p.addr.map(([lo, hi]) => ({ lo, hi, r }))),
    ADDR_MAX,
    n,
    pool,
  );
  const ports = [0, 1, 2].map((proto) =>
    sweep(
      prep.flatMap((p, r) => p.ports[proto]!.map(([lo, hi]) => ({ lo, hi, r }))),
      PORT_OUTSIDE,
      n,
      pool,
    ),
  );
  const icmpBits = new Int32Array(W);
  prep.forEach((p, r) => {
    if (p.icmp) icmpBits[r >>> 5]! |= 1 << (r & 31);
  });
  const icmp = { starts: [0], sets: [pool.intern(icmpBits)] };
  let groups: Map<number, number> | null = null;
  const byGroup = new Map<number, Int32Array>();
  prep.forEach((p, r) => {
    for (const g of p.groups) {
      let b = byGroup.get(g);
      if (!b) byGroup.set(g, (b = new Int32Array(W)));
      b[r >>> 5]! |= 1 << (r & 31);
    }
  });
  if (byGroup.size > 0) groups = new Map([...byGroup].map(([g, b]) => [g, pool.intern(b)]));

  // Pack: header sections first, then the bitset pool; bitset offsets are rebased past the header.
  const sections = [addr, ...ports, icmp];
  const headerLen = 2 * addr.starts.length + sections.slice(1).reduce((s, x) => s + 1 + 2 * x.starts.length, 0);
  const d = new Int32Array(headerLen + pool.words.length);
  let o = 0;
  for (const s of addr.starts) d[o++] = flip(s);
  const addrSets = o;
  for (const s of addr.sets) d[o++] = s + headerLen;
  const proto = new Int32Array(4);
  sections.slice(1).forEach((sec, p) => {
    proto[p] = o;
    d[o++] = sec.starts.length;
    for (const s of sec.starts) d[o++] = s;
    for (const s of sec.sets) d[o++] = s + headerLen;
  });
  d.set(pool.words, headerLen);
  if (groups) for (const [g, off] of groups) groups.set(g, off + headerLen);
  let top16: Int32Array | null = null;
  if (addr.starts.length > top16Min) {
    top16 = new Int32Array(65537);
    let k = 0;
    for (let h = 0; h < 65536; h++) {
      const at = h * 65536;
      while (k + 1 < addr.starts.length && addr.starts[k + 1]! <= at) k++;
      top16[h] = k;
    }
    top16[65536] = addr.starts.length - 1;
  }
  return { base, n, W, S, d, nAddr: addr.starts.length, addrSets, proto, groups, top16 };
}

export function compileRuleSet(rules: CompiledRule[], groups: GroupTable, chunkSize = DEFAULT_CHUNK, top16Min = TOP16_MIN_INTERVALS): RuleSet {
  const prep = rules.map((r) => prepare(r, groups));
  const chunks: Chunk[] = [];
  // Bit vectors cost (address intervals x rules/32) words: a chunk whose address cuts would make that
  // too large is halved (worst case O(n^2/32) memory is what keeps plain bit-vector search off big lists).
  const estimate = (from: number, size: number) => {
    const cuts = new Set<number>();
    for (let i = from; i < Math.min(rules.length, from + size); i++) for (const [lo, hi] of prep[i]!.addr) cuts.add(lo).add(hi);
    return cuts.size * (wordsFor(size) + summaryWordsFor(wordsFor(size)));
  };
  for (let base = 0; base < rules.length; ) {
    let size = chunkSize;
    while (size > 256 && estimate(base, size) > CHUNK_WORDS_LIMIT) size >>>= 1;
    chunks.push(buildChunk(prep.slice(base, base + size), base, top16Min));
    base += size;
  }
  const pass = passTargets(rules);
  rules.forEach((r, i) => {
    if (r.action !== 'Pass') pass[i] = -1;
  });
  return {
    n: rules.length,
    chunks,
    pass,
    decisions: rules.map((r) => (r.action === 'Pass' ? null : ruleDecision(r))),
    usesGroups: prep.some((p) => p.groups.length > 0),
  };
}

/** Offset in d of the bitset of the interval containing key among `n` sorted starts at `at` (binary search). */
function findInterval(d: Int32Array, at: number, n: number, key: number, lo = 0, hi = n - 1): number {
  // Invariant: d[at + lo] <= key (the first start is the domain minimum).
  while (lo < hi) {
    opCounter.ops++;
    const mid = (lo + hi + 1) >>> 1;
    if (d[at + mid]! <= key) lo = mid;
    else hi = mid - 1;
  }
  return d[at + n + lo]!;
}

/** Scratch for address bitsets ORed with group bitsets (single-threaded: one per process is enough). */
let scratch = new Int32Array(64);

/**
 * First rule index >= start of the chunk matching the packet, or -1. `ipf` is the flipped address,
 * `port` already mapped into 0..65536, `hits` the groups that contain the address (or null).
 */
export function firstInChunk(c: Chunk, ipf: number, proto: number, port: number, start: number, hits: Int32Array | null): number {
  const d = c.d;
  let a: number;
  if (c.top16 !== null) {
    // ipf is flipped: the top 16 bits of the real address are (ipf >>> 16) ^ 0x8000.
    const h = (ipf >>> 16) ^ 0x8000;
    opCounter.ops++;
    a = findInterval(d, 0, c.nAddr, ipf, c.top16[h]!, c.top16[h + 1]!);
  } else a = findInterval(d, 0, c.nAddr, ipf);
  let da = d;
  if (hits !== null && c.groups !== null) {
    let merged = false;
    for (let i = 0; i < hits.length; i++) {
      opCounter.ops++;
      const g = c.groups.get(hits[i]!);
      if (g === undefined) continue;
      const len = c.W + c.S;
      if (!merged) {
        if (scratch.length < len) scratch = new Int32Array(len);
        for (let w = 0; w < len; w++) scratch[w] = d[a + w]!;
        merged = true;
      }
      for (let w = 0; w < len; w++) scratch[w]! |= d[g + w]!;
    }
    if (merged) {
      da = scratch;
      a = 0;
    }
  }
  const ps = c.proto[proto]!;
  const b = findInterval(d, ps + 1, d[ps]!, port);
  return firstCommon(da, a, d, b, c.W, c.S, start);
}
