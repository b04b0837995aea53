// A map that keeps its entries in recency order (a doubly linked list through the entries) and finds
// the oldest in O(1). For bounded memos and flow tables that drop their oldest entry as they grow.
//
// Why not a Map and `map.keys().next()`: a Map iterates in insertion order, but V8 leaves a hole in
// its table for every deleted entry until the next rehash, and an iterator walks over the holes. A
// memo that deletes its oldest entry on every insert piles the holes up at the front, so each
// `keys().next()` scanned thousands of them: 16 µs per new flow in a full 65,536-flow conntrack and
// 63 µs at 262,144 (1.6 and 1.7 µs with this list: `npm run bench -- --scenario conntrack`), and
// about 0.7 s of the operator's CPU through a vmworld status storm.

interface Node<K, V> {
  key: K;
  value: V;
  older: Node<K, V> | undefined;
  newer: Node<K, V> | undefined;
}

export class LruMap<K, V> {
  private readonly nodes = new Map<K, Node<K, V>>();
  private oldestNode: Node<K, V> | undefined;
  private newestNode: Node<K, V> | undefined;

  get size(): number {
    return this.nodes.size;
  }

  has(key: K): boolean {
    return this.nodes.has(key);
  }

  /** The value, without changing its place. */
  get(key: K): V | undefined {
    return this.nodes.get(key)?.value;
  }

  /** Set `key` to `value` and make it the newest entry (an existing one moves). */
  set(key: K, value: V): this {
    const n = this.nodes.get(key);
    if (n) {
      n.value = value;
      this.toNewest(n);
      return this;
    }
    const node: Node<K, V> = { key, value, older: this.newestNode, newer: undefined };
    if (this.newestNode) this.newestNode.newer = node;
    else this.oldestNode = node;
    this.newestNode = node;
    this.nodes.set(key, node);
    return this;
  }

  /** Make an existing entry the newest; false when there is none. */
  touch(key: K): boolean {
    const n = this.nodes.get(key);
    if (!n) return false;
    this.toNewest(n);
    return true;
  }

  delete(key: K): boolean {
    const n = this.nodes.get(key);
    if (!n) return false;
    this.nodes.delete(key);
    this.unlink(n);
    return true;
  }

  /** The oldest entry's key and value, or undefined when empty. */
  oldest(): { key: K; value: V } | undefined {
    const n = this.oldestNode;
    return n && { key: n.key, value: n.value };
  }

  /** Drop the oldest entry; its key, or undefined when empty. */
  deleteOldest(): K | undefined {
    const n = this.oldestNode;
    if (!n) return undefined;
    this.nodes.delete(n.key);
    this.unlink(n);
    return n.key;
  }

  clear(): void {
    this.nodes.clear();
    this.oldestNode = this.newestNode = undefined;
  }

  /**
   * Keys from the oldest to the newest. The key just handed out may be deleted or moved meanwhile
   * (the next one is read first; a moved key comes again at the newest end). Deleting the entry that
   * comes next, or clear(), ends the iteration.
   */
  *keys(): IterableIterator<K> {
    for (let n = this.oldestNode; n; ) {
      const next = n.newer;
      yield n.key;
      if (next && this.nodes.get(next.key) !== next) return;
      n = next;
    }
  }

  private toNewest(n: Node<K, V>): void {
    if (n === this.newestNode) return;
    this.unlink(n);
    n.older = this.newestNode;
    n.newer = undefined;
    if (this.newestNode) this.newestNode.newer = n;
    else this.oldestNode = n;
    this.newestNode = n;
  }

  private unlink(n: Node<K, V>): void {
    if (n.older) n.older.newer = n.newer;
    else this.oldestNode = n.newer;
    if (n.newer) n.newer.older = n.older;
    else this.newestNode = n.older;
    n.older = n.newer = undefined;
  }
}
