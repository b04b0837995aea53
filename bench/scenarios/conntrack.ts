// Benchmark scenario "conntrack": what a flow costs the agent's connection tracker when its table is
// full, as under a flood of new flows from one VM (a port scan, a SYN flood).
//
// For tables of 1,024, 65,536 (the default) and 262,144 flows, filled first: ns per new flow (each
// insert evicts the least recently used flow) and ns per hit on an established flow (each moves the
// flow to the newest end), median of 5 rounds. Beside it, the same table kept the way it was before
// LruMap: a Map re-inserted on every hit, its oldest entry found with `keys().next()`, which walks the
// holes V8 leaves for deleted entries (they pile up at the front of a table that drops its oldest).
// The Conntrack also reads the clock and counts on every operation, the Map baseline does not.
// Target: insertFlat (ns per new flow at the largest table within 4x of the smallest: a table 256
// times larger misses the CPU caches more, but no walk may grow with it; the Map's grew over 100x).
import type { BenchOptions } from '../lib/options';
import { Conntrack } from '../../src/dataplane/conntrack';
import { repeated, round } from '../lib/stats';

const SIZES = [1024, 65_536, 262_144];
const QUICK_SIZES = [256, 4096];
const ROUNDS = 5;
const DECISION = { action: 'Allow' } as never;

const key = (i: number) => `acme/web-1\u0000eth0\u000010.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}\u0000TCP\u000080\u0000${i & 65535}`;

/** The table as it was: a Map in insertion order, the oldest found by iterating. */
class MapTable {
  private readonly flows = new Map<string, number>();
  constructor(private readonly max: number) {}
  insert(k: string): void {
    this.flows.delete(k);
    while (this.flows.size >= this.max) this.flows.delete(this.flows.keys().next().value as string);
    this.flows.set(k, 0);
  }
  hit(k: string): void {
    const v = this.flows.get(k);
    if (v === undefined) return;
    this.flows.delete(k);
    this.flows.set(k, v);
  }
}

/** ns per operation of `op` over keys [from, from + n). */
function time(n: number, from: number, op: (k: string) => void): number {
  const keys = Array.from({ length: n }, (_, i) => key(from + i));
  const t0 = process.hrtime.bigint();
  for (const k of keys) op(k);
  return Number(process.hrtime.bigint() - t0) / n;
}

function measure(size: number, insert: (k: string) => void, hit: (k: string) => void) {
  for (let i = 0; i < size; i++) insert(key(i)); // full
  const n = Math.max(size, 16_384);
  let next = size;
  const inserts: number[] = [];
  const hits: number[] = [];
  // A first round not counted: the code is optimized by the time the counted ones run.
  for (let r = 0; r <= ROUNDS; r++) {
    const ins = time(n, next, insert);
    next += n;
    // The newest `size` flows are resident: hit the older half of them, oldest first, as often as
    // needed for `n` hits (each hit moves its flow to the newest end, so the next pass finds it again).
    const half = Math.floor(size / 2);
    let hitNs = 0;
    for (let done = 0; done < n; done += half) hitNs += time(half, next - size, hit) * half;
    if (r > 0) {
      inserts.push(ins);
      hits.push(hitNs / (Math.ceil(n / half) * half));
    }
  }
  return { insertNs: repeated(inserts, 1), hitNs: repeated(hits, 1) };
}

export async function run(opts: BenchOptions): Promise<object> {
  const sizes = opts.quick ? QUICK_SIZES : SIZES;
  const rows = sizes.map((size) => {
    opts.progress(`conntrack: ${size} flows`);
    const ct = new Conntrack({ maxFlows: size, idleMs: 3_600_000 });
    const lru = measure(size, (k) => ct.insert(k, 'ingress', DECISION, 1), (k) => void ct.lookup(k));
    const map = new MapTable(size);
    const before = measure(size, (k) => map.insert(k), (k) => map.hit(k));
    return { maxFlows: size, conntrack: lru, mapWithIteration: before };
  });
  const first = rows[0]!.conntrack.insertNs.median;
  const last = rows[rows.length - 1]!.conntrack.insertNs.median;
  return {
    definition: `a full table: ns per new flow (evicts the least recently used) and per hit on an established flow, median of ${ROUNDS} rounds; mapWithIteration is the same table as a Map whose oldest entry is found with keys().next()`,
    rows,
    insertLargestOverSmallest: round(last / first),
    withinTargets: { insertFlat: round(last / first) <= 4 },
  };
}
