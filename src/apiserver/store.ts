// In-memory object store: one global resourceVersion counter, objects per resource, a bounded
// per-resource event history for watch resume, watcher fan-out and the indexes the GC needs.
// Stored objects are never mutated: writers build a new object and put() it; serialized JSON is
// cached per object so lists and watch fan-out serialize each object once.
import { TreeInterner } from '../util/tree-intern';
import type { Wal, WalRecord } from './wal';
import { namespacedKey } from '../util/flat-string';

export type Obj = Record<string, any>;
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  rv: number;
  obj: Obj;
  /** Previous state on MODIFIED (watchers with selectors turn transitions into ADDED/DELETED). */
  prev?: Obj;
}

export interface Watcher {
  /** Only objects of this namespace (undefined: all). */
  namespace?: string;
  /**
   * Only the object of this name (a `metadata.name=X` field selector; `matches` still applies). A
   * cluster-wide watcher with a name is looked up by it: 512 agents each watch their own HostFilter,
   * and an event is not offered to the 511 others.
   */
  name?: string;
  /** Label and field selectors; undefined matches everything. */
  matches?: (obj: Obj) => boolean;
  deliver(type: EventType, ev: StoreEvent): void;
  /** Ends the watch (its resource went away, or a test hook dropped it). */
  close?: () => void;
}

export interface ResourceStats {
  creates: number;
  updates: number;
  deletes: number;
}

/**
 * Memory budget of one resource's watch history (serialized size of the versions it holds). The
 * history only has to bridge a watch that reconnects (a client resumes at once from its last
 * resourceVersion); anything older gets 410 Gone and relists, as from kube-apiserver's watch cache.
 * At 128 MiB it held ~800 superseded 160 KB HostFilters (with their decoded objects, ~0.5 GiB of the
 * server's heap at 40,000 VMs); 16 MiB is still ~100 of them, or 5,000 events of small objects.
 */
const HISTORY_BYTES = 16 * 1024 * 1024;
/** Events per resource kept for watch resume (seconds of writes even at thousands per second). */
const HISTORY_EVENTS = 5_000;
/**
 * Texts keyed by the object they serialize, the most recent up to a budget of characters (the oldest
 * dropped first, by a queue without Array.shift's copying).
 */
class RecentTexts {
  private readonly texts = new WeakMap<object, string>();
  private order: object[] = [];
  private head = 0;
  private chars = 0;
  constructor(private readonly budget: number) {}

  get(obj: object): string | undefined {
    return this.texts.get(obj);
  }

  set(obj: object, text: string): string {
    this.chars += text.length - (this.texts.get(obj)?.length ?? 0);
    this.texts.set(obj, text);
    this.order.push(obj);
    while (this.chars > this.budget && this.order.length - this.head > 1) {
      const old = this.order[this.head++]!;
      this.chars -= this.texts.get(old)?.length ?? 0;
      this.texts.delete(old);
    }
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return text;
  }
}

/**
 * JSON text of the objects serialized most recently: a write's response, its WAL record and the
 * watch events it causes serialize it once. Not every stored object's text: at 200,000 objects that
 * was ~0.4 GiB of strings kept beside the objects, for lists that are cheap to serialize again.
 */
const jsonCache = new RecentTexts(32 * 1024 * 1024);
const remember = (obj: object, text: string) => jsonCache.set(obj, text);

/**
 * JSON text of the specs of large objects written most recently (see Api.serialize). A compiled
 * HostFilter's spec is ~150 KB, and the status write its agent sends right after shares the stored
 * spec: its text is spliced in instead of serialized again. 16 MiB is ~100 of them, the writes of a
 * few seconds at a cold start.
 */
export const specTexts = new RecentTexts(16 * 1024 * 1024);

/**
 * Objects up to this size (serialized) share their equal parts with other stored objects (see
 * TreeInterner): at vmworld 200,000 objects repeat the same managedFields trees, policy rules, labels
 * and conditions. Larger ones (compiled HostFilters) are mostly their own, and hashing them on every
 * write would cost more than it saves.
 */
const SHARE_PARTS_MAX_BYTES = 16 * 1024;
const trees = new TreeInterner({ trackShared: true });

/** JSON text of a stored (immutable) object. */
export function toJson(obj: Obj): string {
  return jsonCache.get(obj) ?? remember(obj, JSON.stringify(obj));
}

/**
 * JSON text of a stored object for a list: from the cache when it is there, never added to it. A list
 * serializes each object once; remembering 200,000 of them would push out the recent writes the cache
 * is for, and keep every text alive long enough to be promoted to V8's old generation, where an
 * operator's relist left ~0.5 GiB of dead text until the next full GC (the server's peak RSS).
 * The parts several stored objects share are serialized once instead (sharedPartJson).
 */
export function listJson(obj: Obj): string {
  return jsonCache.get(obj) ?? storedObjectJson(obj);
}

/** JSON.stringify(obj) for a stored object, with the parts it shares with others from sharedTexts. */
export function storedObjectJson(obj: Obj): string {
  return objectJson(obj, topMemberJson);
}

/** Whether a stored part is shared with other stored objects (its text is kept): for tests. */
export const isSharedPart = (node: object): boolean => trees.isShared(node);

/** How many member names have their JSON kept (keyJson): for tests. */
export const keptKeyTexts = (): number => keyTexts.size;

/**
 * JSON text of the parts stored objects share (the tree interner's shared nodes): at vmworld
 * 217 of the 341 MB an operator's restart lists (HostFilters aside) are managedFields entries,
 * policy specs and statuses that other objects carry too, each serialized again for every object.
 * Only shared parts are kept (2.3 MB of text for a vmworld restart's lists), and only while stored
 * (or while the interner's table holds them). A text never goes stale: shared nodes are frozen, and
 * stored objects are never changed in place (a write stores a new object).
 */
const sharedTexts = new WeakMap<object, string>();

function sharedPartJson(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || !trees.isShared(v)) return JSON.stringify(v);
  let text = sharedTexts.get(v);
  if (text === undefined) sharedTexts.set(v, (text = JSON.stringify(v)));
  return text;
}

/**
 * Member names as JSON, for the few short names stored objects use. A name from input is quoted each
 * time once the table is full, and a long one always: a client's megabyte-long names are not kept.
 */
const keyTexts = new Map<string, string>();
const KEY_TEXTS_MAX = 1024;
const KEY_TEXT_MAX_CHARS = 64;
function keyJson(k: string): string {
  let t = keyTexts.get(k);
  if (t === undefined) {
    t = JSON.stringify(k);
    if (keyTexts.size < KEY_TEXTS_MAX && k.length <= KEY_TEXT_MAX_CHARS) keyTexts.set(k, t);
  }
  return t;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * What JSON.stringify gives for a plain object, member by member through `member` (which returns a
 * member's text, or undefined to leave it out as JSON.stringify leaves out undefined). Anything
 * else (an object with toJSON, an array) goes to JSON.stringify whole. A member's own toJSON would
 * be called without its name: stored objects come from JSON and hold no functions.
 */
export function objectJson(o: unknown, member: (k: string, v: unknown) => string | undefined): string {
  if (!isPlainObject(o) || typeof o.toJSON === 'function') return JSON.stringify(o);
  let out = '{';
  for (const k of Object.keys(o)) {
    const t = member(k, o[k]);
    if (t === undefined) continue;
    if (out.length > 1) out += ',';
    out += keyJson(k) + ':' + t;
  }
  return out + '}';
}

/** A stored object's members: its metadata member by member, the rest shared or serialized. */
function topMemberJson(k: string, v: unknown): string | undefined {
  return k === 'metadata' ? objectJson(v, metadataMemberJson) : sharedPartJson(v);
}

/** metadata's members: managedFields entry by entry (each writer's entry is shared by the objects it wrote in the same second). */
function metadataMemberJson(k: string, v: unknown): string | undefined {
  if (k !== 'managedFields' || !Array.isArray(v) || trees.isShared(v)) return sharedPartJson(v);
  let out = '[';
  for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + (sharedPartJson(v[i]) ?? 'null');
  return out + ']';
}

/** The store's key of an object (200,000 of them at vmworld). */
export const objectKey = namespacedKey;

export class ResourceState {
  readonly objects = new Map<string, Obj>();
  history: StoreEvent[] = [];
  private historySizes: number[] = [];
  private historyBytes = 0;
  /** Events with rv <= compactedRv are no longer in history. */
  compactedRv: number;
  private readonly watchersAll = new Set<Watcher>();
  private readonly watchersByNs = new Map<string, Set<Watcher>>();
  private readonly watchersByName = new Map<string, Set<Watcher>>();
  readonly stats: ResourceStats = { creates: 0, updates: 0, deletes: 0 };
  private sortedKeys: string[] | null = null;

  constructor(
    readonly key: string,
    startRv: number,
    private readonly historyLimit: number,
    private readonly historyBudget = HISTORY_BYTES,
  ) {
    this.compactedRv = startRv;
  }

  /** Keys in etcd order (sorted), cached until an object is added or removed. */
  keys(): string[] {
    if (!this.sortedKeys) this.sortedKeys = [...this.objects.keys()].sort();
    return this.sortedKeys;
  }

  /** Sorted keys of one namespace (a contiguous range of keys()). */
  keysIn(namespace: string | undefined): string[] {
    const all = this.keys();
    if (namespace === undefined) return all;
    const prefix = `${namespace}/`;
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < all.length && all[end]!.startsWith(prefix)) end++;
    return all.slice(lo, end);
  }

  invalidateKeys() {
    this.sortedKeys = null;
  }

  /**
   * Appends to the watch history, bounded by count and by bytes (HostFilters can be ~1.5 MiB each:
   * 10,000 versions of those would not fit in memory). Evicted versions make old resumes 410.
   */
  record(ev: StoreEvent, bytes: number) {
    this.history.push(ev);
    this.historySizes.push(bytes);
    this.historyBytes += bytes;
    if (this.history.length > this.historyLimit * 1.25 || this.historyBytes > this.historyBudget) {
      let drop = 0;
      while (drop < this.history.length - 1 && (this.history.length - drop > this.historyLimit || this.historyBytes > this.historyBudget * 0.8)) {
        this.historyBytes -= this.historySizes[drop]!;
        drop++;
      }
      this.compactedRv = this.history[drop - 1]?.rv ?? this.compactedRv;
      this.history = this.history.slice(drop);
      this.historySizes = this.historySizes.slice(drop);
    }
  }

  clearHistory(rv: number) {
    this.history = [];
    this.historySizes = [];
    this.historyBytes = 0;
    this.compactedRv = rv;
  }

  /** Events after rv, or undefined when some of them were already compacted away. */
  eventsAfter(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo);
  }

  /** The map and key a watcher is kept under: its namespace, else its name; undefined: it gets every event. */
  private slotOf(w: Watcher): [Map<string, Set<Watcher>>, string] | undefined {
    if (w.namespace !== undefined) return [this.watchersByNs, w.namespace];
    if (w.name !== undefined) return [this.watchersByName, w.name];
    return undefined;
  }

  addWatcher(w: Watcher) {
    const slot = this.slotOf(w);
    if (!slot) return void this.watchersAll.add(w);
    const [map, key] = slot;
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(w);
  }

  removeWatcher(w: Watcher) {
    const slot = this.slotOf(w);
    if (!slot) return void this.watchersAll.delete(w);
    const [map, key] = slot;
    const set = map.get(key);
    set?.delete(w);
    if (set?.size === 0) map.delete(key);
  }

  /** Every watcher of this resource. */
  watchers(): Watcher[] {
    return [...this.watchersAll, ...[...this.watchersByNs.values(), ...this.watchersByName.values()].flatMap((s) => [...s])];
  }

  watcherCount(): number {
    let n = this.watchersAll.size;
    for (const s of this.watchersByNs.values()) n += s.size;
    for (const s of this.watchersByName.values()) n += s.size;
    return n;
  }

  dispatch(ev: StoreEvent) {
    const ns: string | undefined = ev.obj.metadata?.namespace;
    for (const w of this.watchersAll) safeDeliver(w, ev);
    const named = this.watchersByName.get(ev.obj.metadata?.name);
    if (named) for (const w of named) safeDeliver(w, ev);
    if (ns !== undefined) {
      const set = this.watchersByNs.get(ns);
      if (set) for (const w of set) safeDeliver(w, ev);
    }
  }
}

/** One failing watcher (bad selector value, broken socket) must not cost the others their event. */
function safeDeliver(w: Watcher, ev: StoreEvent) {
  try {
    deliverTo(w, ev);
  } catch {
    w.close?.();
  }
}

/** Delivers an event to one watcher, turning selector transitions into ADDED/DELETED like the watch cache. */
export function deliverTo(w: Watcher, ev: StoreEvent) {
  if (!w.matches) {
    w.deliver(ev.type, ev);
    return;
  }
  const cur = w.matches(ev.obj);
  if (ev.type !== 'MODIFIED') {
    if (cur) w.deliver(ev.type, ev);
    return;
  }
  const before = ev.prev ? w.matches(ev.prev) : false;
  if (cur && before) w.deliver('MODIFIED', ev);
  else if (cur) w.deliver('ADDED', ev);
  else if (before) w.deliver('DELETED', ev);
}

interface Ref {
  res: string;
  key: string;
}

export class Store {
  rv = 0;
  readonly resources = new Map<string, ResourceState>();
  /** uid -> where the object lives (owner lookups for the garbage collector). */
  readonly uidIndex = new Map<string, Ref>();
  /** owner uid -> dependents ("res\nkey"). */
  readonly ownerIndex = new Map<string, Set<string>>();
  wal: Wal | undefined;

  constructor(
    private readonly historyLimit = HISTORY_EVENTS,
    private readonly historyBytes = HISTORY_BYTES,
  ) {}

  res(key: string): ResourceState {
    let r = this.resources.get(key);
    if (!r) {
      r = new ResourceState(key, this.rv, this.historyLimit, this.historyBytes);
      this.resources.set(key, r);
    }
    return r;
  }

  get(res: string, key: string): Obj | undefined {
    return this.resources.get(res)?.objects.get(key);
  }

  byUid(uid: string): { res: string; key: string; obj: Obj } | undefined {
    const ref = this.uidIndex.get(uid);
    if (!ref) return undefined;
    const obj = this.get(ref.res, ref.key);
    return obj ? { ...ref, obj } : undefined;
  }

  dependents(ownerUid: string): { res: string; key: string; obj: Obj }[] {
    const set = this.ownerIndex.get(ownerUid);
    if (!set) return [];
    const out: { res: string; key: string; obj: Obj }[] = [];
    for (const ref of set) {
      const [res, key] = ref.split('\n') as [string, string];
      const obj = this.get(res, key);
      if (obj) out.push({ res, key, obj });
    }
    return out;
  }

  /**
   * Stores obj (its metadata.resourceVersion is set here) and notifies watchers. `json`, when given,
   * is obj serialized once per write, with `json.rv` as its resourceVersion: kept as the object's
   * text when that is the version assigned here (the caller serialized it with `rv + 1`). The text is
   * never searched and edited: a placeholder replaced in it could be a client's string as well, and
   * the search copied a 160 KB HostFilter's text whole.
   */
  put(resKey: string, obj: Obj, json?: { text: string; rv: number }): Obj {
    const r = this.res(resKey);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const prev = r.objects.get(key);
    const rv = ++this.rv;
    obj.metadata.resourceVersion = String(rv);
    if (json !== undefined && json.rv === rv && jsonCache.get(obj) === undefined) remember(obj, json.text);
    if (json !== undefined && json.text.length <= SHARE_PARTS_MAX_BYTES) trees.shareParts(obj);
    r.objects.set(key, obj);
    if (!prev) r.invalidateKeys();
    this.index(resKey, key, obj, prev);
    const ev: StoreEvent = prev ? { type: 'MODIFIED', rv, obj, prev } : { type: 'ADDED', rv, obj };
    if (prev) r.stats.updates++;
    else r.stats.creates++;
    this.wal?.append({ op: 'put', res: resKey, rv, obj }, this.wal ? toJson(obj) : undefined);
    this.publish(r, ev, toJson(obj).length);
    return obj;
  }

  /** Removes an object; watchers get DELETED with the final state at the deletion's resourceVersion. */
  remove(resKey: string, key: string): Obj | undefined {
    const r = this.resources.get(resKey);
    const prev = r?.objects.get(key);
    if (!r || !prev) return undefined;
    const rv = ++this.rv;
    const obj = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } };
    r.objects.delete(key);
    r.invalidateKeys();
    this.index(resKey, key, undefined, prev);
    r.stats.deletes++;
    const ev: StoreEvent = { type: 'DELETED', rv, obj };
    this.wal?.append({ op: 'del', res: resKey, rv, key });
    this.publish(r, ev, 256);
    return obj;
  }

  /**
   * Watch history and fan-out. With a data dir only once the write is durable: a watcher must never
   * act on a write that a crash then loses. Order is kept (the log's batches complete in order).
   */
  private publish(r: ResourceState, ev: StoreEvent, bytes: number) {
    const go = () => {
      if (this.resources.get(r.key) !== r) return; // resource dropped meanwhile
      r.record(ev, bytes);
      r.dispatch(ev);
    };
    if (this.wal) this.wal.afterDurable(go);
    else go();
  }

  /** Removes every object of a resource without events (its CRD is gone; watchers were closed). */
  dropResource(resKey: string) {
    const r = this.resources.get(resKey);
    if (!r) return;
    for (const [key, obj] of r.objects) this.index(resKey, key, undefined, obj);
    this.resources.delete(resKey);
  }

  /** Replays one WAL record (startup); no watchers exist yet. */
  replay(rec: WalRecord) {
    const r = this.res(rec.res);
    if (rec.op === 'put') {
      const key = objectKey(rec.obj.metadata.namespace, rec.obj.metadata.name);
      const prev = r.objects.get(key);
      r.objects.set(key, rec.obj);
      this.index(rec.res, key, rec.obj, prev);
    } else {
      const prev = r.objects.get(rec.key);
      if (prev) this.index(rec.res, rec.key, undefined, prev);
      r.objects.delete(rec.key);
    }
    r.invalidateKeys();
    if (rec.rv > this.rv) this.rv = rec.rv;
  }

  /** After replay: history starts now, older resourceVersions get 410 on watch. */
  resetHistory() {
    for (const r of this.resources.values()) r.clearHistory(this.rv);
  }

  /** Resolves once every write so far is durable (immediately without a data dir). */
  durable(): Promise<void> {
    return this.wal ? this.wal.sync() : Promise.resolve();
  }

  private index(resKey: string, key: string, obj: Obj | undefined, prev: Obj | undefined) {
    const ref = `${resKey}\n${key}`;
    if (prev) {
      if (!obj || prev.metadata.uid !== obj.metadata.uid) this.uidIndex.delete(prev.metadata.uid);
      for (const o of prev.metadata.ownerReferences ?? []) {
        const set = this.ownerIndex.get(o.uid);
        set?.delete(ref);
        if (set && set.size === 0) this.ownerIndex.delete(o.uid);
      }
    }
    if (obj) {
      if (obj.metadata.uid) this.uidIndex.set(obj.metadata.uid, { res: resKey, key });
      for (const o of obj.metadata.ownerReferences ?? []) {
        if (!o?.uid) continue;
        let set = this.ownerIndex.get(o.uid);
        if (!set) this.ownerIndex.set(o.uid, (set = new Set()));
        set.add(ref);
      }
    }
  }
}
