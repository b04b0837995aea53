// Hash-consing of JSON values (TreeInterner): structurally equal subtrees of many stored or cached
// objects become one frozen instance. Used by the operator's informers and by the API server's store.
/** Canonical subtrees kept; past this the table starts over (later copies are not shared with earlier). */
const TREE_TABLE_LIMIT = 250_000;
const OBJECT_PARTS = ['spec', 'status'] as const;
const METADATA_PARTS = ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields'] as const;
/** Arrays and objects wider than this are not looked up (their children still are). */
const TREE_MAX_WIDTH = 64;

/**
 * Hash-consing of JSON values: structurally equal subtrees of cached objects become one frozen
 * instance. Policies repeat the same rules, peers, ports and tag lists across 40,000 tenants, objects
 * the same labels and conditions: at vmworld a fresh decode held 1.5 million one-element arrays and
 * 200,000 identical port objects. Children are interned first, so two nodes are equal when their
 * keys and children are identical (===): one shallow comparison per node, and a 32-bit content hash
 * to find the candidate (a collision only means a node is not shared). Shared nodes are frozen: a
 * reader that mutated a cached object would throw instead of changing what other objects hold.
 */
export class TreeInterner {
  private table = new Map<number, object>();
  /** Canonical nodes handed out again for a later equal value (see isShared), when tracked. */
  private readonly sharedNodes: WeakSet<object> | undefined;

  /** `trackShared`: remember which canonical nodes more than one value took (isShared). */
  constructor(opts: { trackShared?: boolean } = {}) {
    this.sharedNodes = opts.trackShared ? new WeakSet() : undefined;
  }

  /**
   * Whether `node` is a canonical node this interner handed out for more than one value (with
   * trackShared): a part several objects hold, whose serialized text is worth keeping.
   */
  isShared(node: object): boolean {
    return this.sharedNodes?.has(node) ?? false;
  }

  /** The canonical instance of `value` (its own arrays and objects are replaced in place first). */
  intern<V>(value: V): V {
    return this.visit(value) as V;
  }

  get size(): number {
    return this.table.size;
  }

  /**
   * Replace a Kubernetes object's parts by their canonical copies, in place: spec, status and the
   * metadata members that repeat (labels, annotations, finalizers, owner references, managedFields).
   * The object and its metadata stay its own (a store sets the resourceVersion on them). A part that
   * is frozen already (shared by an earlier version) is kept.
   */
  shareParts(obj: Record<string, unknown>): void {
    for (const f of OBJECT_PARTS) if (obj[f] !== undefined && !Object.isFrozen(obj[f])) obj[f] = this.intern(obj[f]);
    const meta = obj.metadata as Record<string, unknown> | undefined;
    if (meta && typeof meta === 'object')
      for (const f of METADATA_PARTS) if (meta[f] !== undefined && !Object.isFrozen(meta[f])) meta[f] = this.intern(meta[f]);
  }

  /** Hash of the node `visit` returned last (a field, not a pair per node: no garbage per node). */
  private lastHash = 0;

  private visit(v: unknown): unknown {
    if (v === null || typeof v !== 'object') {
      this.lastHash = hashPrimitive(v);
      return v;
    }
    if (Object.isFrozen(v)) {
      this.lastHash = hashOfFrozen(v);
      return v;
    }
    let h: number;
    let width: number;
    if (Array.isArray(v)) {
      h = 0x9e3779b9;
      for (let i = 0; i < v.length; i++) {
        const c = v[i];
        if (c !== null && typeof c === 'object') {
          v[i] = this.visit(c);
          h = mix(h, this.lastHash);
        } else h = mix(h, hashPrimitive(c));
      }
      width = v.length;
    } else {
      const o = v as Record<string, unknown>;
      if (Object.getPrototypeOf(o) !== Object.prototype) {
        this.lastHash = 0;
        return v;
      }
      h = 0x85ebca6b;
      width = 0;
      for (const k in o) {
        const c = o[k];
        h = mix(h, hashString(k));
        if (c !== null && typeof c === 'object') {
          o[k] = this.visit(c);
          h = mix(h, this.lastHash);
        } else h = mix(h, hashPrimitive(c));
        width++;
      }
    }
    this.lastHash = h;
    if (width > TREE_MAX_WIDTH) return v;
    const have = this.table.get(h);
    if (have !== undefined) {
      if (!shallowEqual(have, v)) return v;
      this.sharedNodes?.add(have);
      return have;
    }
    if (this.table.size >= TREE_TABLE_LIMIT) this.table = new Map();
    this.table.set(h, Object.freeze(v));
    return v;
  }
}

function hashPrimitive(v: unknown): number {
  if (typeof v === 'string') return hashString(v);
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 31) return mix(0x27d4eb2f, v);
  return hashString(String(v)) ^ 0x5bd1e995;
}

/** The hash `visit` gives a node, computed without touching it (a frozen node is kept as it is). */
function hashOfFrozen(v: unknown): number {
  if (v === null || typeof v !== 'object') return hashPrimitive(v);
  let h = Array.isArray(v) ? 0x9e3779b9 : 0x85ebca6b;
  if (Array.isArray(v)) for (const c of v) h = mix(h, hashOfFrozen(c));
  else if (Object.getPrototypeOf(v) !== Object.prototype) return 0;
  else for (const k in v) h = mix(mix(h, hashString(k)), hashOfFrozen((v as Record<string, unknown>)[k]));
  return h;
}

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x01000193);
  return (h ^ (h >>> 15)) | 0;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Same kind, same keys in the same order, identical children. */
function shallowEqual(a: object, b: object): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  // One key array, not two: b's keys are walked as visit walks them (plain objects only reach here).
  const ka = Object.keys(a);
  const ra = a as Record<string, unknown>, rb = b as Record<string, unknown>;
  let i = 0;
  for (const k in rb) {
    if (k !== ka[i] || ra[k] !== rb[k]) return false;
    i++;
  }
  return i === ka.length;
}
