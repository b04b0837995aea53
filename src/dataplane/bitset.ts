// Rule bitsets with a summary level (aggregated bit vectors, Baboescu & Varghese 2001): bit r of the
// words says "rule r matches in this dimension"; bit j of the summary says "word j is non-zero", so the
// first common rule of two bitsets is found by ANDing summaries first and touching only candidate words.

/** Index of the lowest set bit of a non-zero 32-bit value. */
export const lowestBit = (x: number): number => 31 - Math.clz32(x & -x);

/** Words needed for n rules (at least 1), and summary words for W words. */
export const wordsFor = (n: number): number => Math.max(1, Math.ceil(n / 32));
export const summaryWordsFor = (w: number): number => Math.ceil(w / 32);

/** Operation counter for benchmarks: word ANDs, binary-search steps and hash probes add to it. */
export const opCounter = { ops: 0 };

/**
 * Lowest rule index >= start whose bit is set in both bitsets (W words then S summary words each,
 * at offsets a in `da` and b in `db`), or -1.
 */
export function firstCommon(da: Int32Array, a: number, db: Int32Array, b: number, W: number, S: number, start: number): number {
  if (W === 1) {
    opCounter.ops++;
    const m = da[a]! & db[b]! & (-1 << start);
    return start < 32 && m !== 0 ? lowestBit(m) : -1;
  }
  const w0 = start >>> 5;
  for (let sw = w0 >>> 5; sw < S; sw++) {
    opCounter.ops++;
    let sm = da[a + W + sw]! & db[b + W + sw]!;
    if (sw === w0 >>> 5) sm &= -1 << (w0 & 31);
    while (sm !== 0) {
      const w = (sw << 5) + lowestBit(sm);
      opCounter.ops++;
      let m = da[a + w]! & db[b + w]!;
      if (w === w0) m &= -1 << (start & 31);
      if (m !== 0) return (w << 5) + lowestBit(m);
      sm &= sm - 1;
    }
  }
  return -1;
}

/** Appends bitsets to a pool, storing each distinct content once. */
export class BitsetPool {
  readonly words: number[] = [];
  private readonly index = new Map<string, number>();
  constructor(
    readonly W: number,
    readonly S: number,
  ) {}
  /** Offset of a bitset equal to `bits` (W words); the summary is computed here. */
  intern(bits: Int32Array): number {
    const key = bits.join(',');
    const hit = this.index.get(key);
    if (hit !== undefined) return hit;
    const off = this.words.length;
    for (let i = 0; i < this.W; i++) this.words.push(bits[i]!);
    for (let s = 0; s < this.S; s++) {
      let sum = 0;
      for (let j = 0; j < 32 && s * 32 + j < this.W; j++) if (bits[s * 32 + j] !== 0) sum |= 1 << j;
      this.words.push(sum);
    }
    this.index.set(key, off);
    return off;
  }
}
