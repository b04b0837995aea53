// Sets stored lean, alone (SmallSet) or as the values of a map (SetMultimap). The operator's indexes
// hold ~500,000 such sets at vmworld (VMs and policies by namespace, tenant, host, tag; programs and
// groups by user), and nearly all of them have one or two members: a Set each costs ~180 bytes, and
// together they were 87 MiB of a 760 MiB heap. Here a single value is stored as itself, a few as an
// exact-size array, and only a large group as a Set.

/** Past this many values a bucket is a Set (an array's linear scan stops paying). */
const ARRAY_MAX = 8;

/**
 * A set of values: undefined (empty), the value itself, a short array or a Set. Values must not be
 * arrays, Sets or undefined (they would be taken for a bucket); strings, numbers and objects are fine.
 */
export type Bucket<V> = V | V[] | Set<V> | undefined;

/** The bucket with `v` added (a new one, or `b` itself when it is a Set or already holds `v`). */
export function bucketAdd<V>(b: Bucket<V>, v: V): Bucket<V> {
  if (b === undefined) return v;
  if (b instanceof Set) return b.add(v);
  if (Array.isArray(b)) {
    if (b.includes(v)) return b;
    // A new exact-size array rather than push: push grows a short array to room for 17 more.
    return b.length < ARRAY_MAX ? b.concat([v]) : new Set(b).add(v);
  }
  return b === v ? b : [b, v];
}

/** The bucket without `v` (undefined once empty). */
export function bucketDelete<V>(b: Bucket<V>, v: V): Bucket<V> {
  if (b === undefined) return b;
  if (b instanceof Set) {
    b.delete(v);
    return b.size === 0 ? undefined : b;
  }
  if (Array.isArray(b)) {
    const i = b.indexOf(v);
    if (i < 0) return b;
    const rest = b.filter((_, j) => j !== i);
    return rest.length === 1 ? rest[0] : rest;
  }
  return b === v ? undefined : b;
}

export function bucketHas<V>(b: Bucket<V>, v: V): boolean {
  if (b === undefined) return false;
  if (b instanceof Set) return b.has(v);
  if (Array.isArray(b)) return b.includes(v);
  return b === v;
}

export function bucketSize<V>(b: Bucket<V>): number {
  if (b === undefined) return 0;
  if (b instanceof Set) return b.size;
  return Array.isArray(b) ? b.length : 1;
}

/** The values, in insertion order; a read-only view (do not keep it across changes). */
export function bucketValues<V>(b: Bucket<V>): Iterable<V> {
  if (b === undefined) return NONE;
  if (b instanceof Set || Array.isArray(b)) return b;
  return [b];
}

const NONE: readonly never[] = Object.freeze([]);

/** A set kept lean (see Bucket), for the many small sets objects carry (a program's VMs, a group's programs). */
export class SmallSet<V> {
  private b: Bucket<V> = undefined;
  get size(): number {
    return bucketSize(this.b);
  }
  add(v: V): void {
    this.b = bucketAdd(this.b, v);
  }
  delete(v: V): boolean {
    const before = bucketSize(this.b);
    this.b = bucketDelete(this.b, v);
    return bucketSize(this.b) < before;
  }
  has(v: V): boolean {
    return bucketHas(this.b, v);
  }
  [Symbol.iterator](): Iterator<V> {
    return bucketValues(this.b)[Symbol.iterator]();
  }
}

/** Values per key, without duplicates, in insertion order; a key without values is not kept. */
export class SetMultimap<K, V> {
  private readonly m = new Map<K, Bucket<V>>();

  /** Add `v` under `k`; false when it was there already. */
  add(k: K, v: V): boolean {
    const b = this.m.get(k);
    const before = bucketSize(b);
    const next = bucketAdd(b, v);
    if (next !== b) this.m.set(k, next);
    return bucketSize(next) > before;
  }

  /** Remove `v` from `k` (and `k` once it has no values); false when it was not there. */
  delete(k: K, v: V): boolean {
    const b = this.m.get(k);
    const before = bucketSize(b);
    const next = bucketDelete(b, v);
    if (next === undefined) this.m.delete(k);
    else if (next !== b) this.m.set(k, next);
    return bucketSize(next) < before;
  }

  has(k: K, v: V): boolean {
    return bucketHas(this.m.get(k), v);
  }

  /** The values under `k`, in insertion order; a read-only view (do not keep it across changes). */
  get(k: K): Iterable<V> {
    return bucketValues(this.m.get(k));
  }

  /** How many values `k` has. */
  count(k: K): number {
    return bucketSize(this.m.get(k));
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
