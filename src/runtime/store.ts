// The informer cache: objects by key plus secondary indexes (client-go Indexer: addIndex/byIndex),
// and the objects that failed to parse, kept aside so a controller can report them.
import type { FieldError } from '../api/decode';
import { SetMultimap } from '../util/multimap';

export type IndexFunc<T> = (obj: T) => readonly string[];

/** An object the cache could not parse with its schema. */
export interface InvalidEntry {
  key: string;
  /** The object as the server sent it. */
  raw: { metadata?: { name?: string; namespace?: string; generation?: number; resourceVersion?: string } } & Record<string, unknown>;
  errors: FieldError[];
}

export class IndexedStore<T> {
  private items = new Map<string, T>();
  /** Each index's function and its keys by value, in an array: set() walks it for every object listed. */
  private indexers: { fn: IndexFunc<T>; idx: SetMultimap<string, string> }[] = [];
  /** index name → index value → keys */
  private indices = new Map<string, SetMultimap<string, string>>();
  private invalid = new Map<string, InvalidEntry>();

  get(key: string): T | undefined {
    return this.items.get(key);
  }
  has(key: string): boolean {
    return this.items.has(key);
  }
  list(): T[] {
    return [...this.items.values()];
  }
  keys(): string[] {
    return [...this.items.keys()];
  }
  get size(): number {
    return this.items.size;
  }

  /**
   * Add a secondary index. `fn` returns the index values of an object (e.g. a VM's host name, or
   * each of its tags). Can be added at any time; existing objects are indexed at once.
   */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indices.has(name)) throw new Error(`index ${name} already exists`);
    const idx = new SetMultimap<string, string>();
    this.indexers.push({ fn, idx });
    this.indices.set(name, idx);
    for (const [key, obj] of this.items) this.indexInto(idx, key, fn(obj));
  }

  hasIndex(name: string): boolean {
    return this.indices.has(name);
  }

  /** Objects whose index `name` contains `value`. */
  byIndex(name: string, value: string): T[] {
    return this.keysByIndex(name, value).map((k) => this.items.get(k)!);
  }

  keysByIndex(name: string, value: string): string[] {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`no index ${name}`);
    return [...idx.get(value)];
  }

  /** How many objects index `name` has under `value`, without copying their keys. */
  countByIndex(name: string, value: string): number {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`no index ${name}`);
    return idx.count(value);
  }

  /** The distinct values of an index (e.g. every host that has VMs). */
  indexValues(name: string): string[] {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`no index ${name}`);
    return [...idx.keys()];
  }

  /** Insert or replace; returns the previous object. */
  set(key: string, obj: T): T | undefined {
    const old = this.items.get(key);
    this.items.set(key, obj);
    // Indexed loops: set() runs for every listed object, often before it is optimized, and an
    // unoptimized for...of allocates an iterator result per step.
    for (let i = 0; i < this.indexers.length; i++) {
      const { fn, idx } = this.indexers[i]!;
      const now = fn(obj);
      if (old !== undefined) {
        const before = fn(old);
        // Most updates (a status write's echo) leave every index value as it was.
        if (sameValues(before, now)) continue;
        this.unindexFrom(idx, key, before);
      }
      this.indexInto(idx, key, now);
    }
    this.invalid.delete(key);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  setInvalid(entry: InvalidEntry): void {
    this.invalid.set(entry.key, entry);
  }
  deleteInvalid(key: string): InvalidEntry | undefined {
    const e = this.invalid.get(key);
    this.invalid.delete(key);
    return e;
  }
  getInvalid(key: string): InvalidEntry | undefined {
    return this.invalid.get(key);
  }
  listInvalid(): InvalidEntry[] {
    return [...this.invalid.values()];
  }

  private indexInto(idx: SetMultimap<string, string>, key: string, values: readonly string[]): void {
    for (let i = 0; i < values.length; i++) idx.add(values[i]!, key);
  }

  private unindexFrom(idx: SetMultimap<string, string>, key: string, values: readonly string[]): void {
    for (let i = 0; i < values.length; i++) idx.delete(values[i]!, key);
  }

  private unindex(key: string, obj: T): void {
    for (const { fn, idx } of this.indexers) this.unindexFrom(idx, key, fn(obj));
  }
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
