// A map from a key to a set of values, stored lean. The operator's indexes hold ~500,000 of these
// sets at vmworld (VMs and policies by namespace, tenant, host, tag), and nearly all of them have one
// or two members: a Set each costs ~180 bytes, and together they were 87 MiB of a 760 MiB heap. Here
// a single value is stored as itself, a few as an exact-size array, and only a large group as a Set.

/** Past this many values a key's values are kept in a Set (an array's linear scan stops paying). */
const ARRAY_MAX = 8;

type Bucket<V> = V | V[] | Set<V>;

/**
 * Values per key, without duplicates, in insertion order. Values must not be arrays or Sets (they
 * would be taken for a bucket); strings, numbers and plain objects are fine.
 */
export class SetMultimap<K, V extends string | number | object> {
  private readonly m = new Map<K, Bucket<V>>();

  /** Add `v` under `k`; false when it was there already. */
  add(k: K, v: V): boolean {
    const b = this.m.get(k);
    if (b === undefined) {
      this.m.set(k, v);
      return true;
    }
    if (b instanceof Set) {
      if (b.has(v)) return false;
      b.add(v);
      return true;
    }
    if (Array.isArray(b)) {
      if (b.includes(v)) return false;
      // A new exact-size array rather than push: push grows a short array to room for 17 more.
      this.m.set(k, b.length < ARRAY_MAX ? b.concat([v]) : new Set(b).add(v));
      return true;
    }
    if (b === v) return false;
    this.m.set(k, [b, v]);
    return true;
  }

  /** Remove `v` from `k` (and `k` once it has no values); false when it was not there. */
  delete(k: K, v: V): boolean {
    const b = this.m.get(k);
    if (b === undefined) return false;
    if (b instanceof Set) {
      if (!b.delete(v)) return false;
      if (b.size === 0) this.m.delete(k);
      return true;
    }
    if (Array.isArray(b)) {
      const i = b.indexOf(v);
      if (i < 0) return false;
      const rest = b.filter((_, j) => j !== i);
      this.m.set(k, rest.length === 1 ? rest[0]! : rest);
      return true;
    }
    if (b !== v) return false;
    this.m.delete(k);
    return true;
  }

  has(k: K, v: V): boolean {
    const b = this.m.get(k);
    if (b === undefined) return false;
    if (b instanceof Set) return b.has(v);
    if (Array.isArray(b)) return b.includes(v);
    return b === v;
  }

  /** The values under `k`, in insertion order; a read-only view (do not keep it across changes). */
  get(k: K): Iterable<V> {
    const b = this.m.get(k);
    if (b === undefined) return NONE;
    if (b instanceof Set || Array.isArray(b)) return b;
    return [b];
  }

  /** How many values `k` has. */
  count(k: K): number {
    const b = this.m.get(k);
    if (b === undefined) return 0;
    if (b instanceof Set) return b.size;
    return Array.isArray(b) ? b.length : 1;
  }

  /** The keys with at least one value. */
  keys(): IterableIterator<K> {
    return this.m.keys();
  }

  /** Number of keys. */
  get size(): number {
    return this.m.size;
  }

  clear(): void {
    this.m.clear();
  }
}

const NONE: readonly never[] = Object.freeze([]);
