// Informer: list + watch one resource into an IndexedStore, parse each object once with its zod schema,
// notify handlers, and keep going after errors.
//
// Built on our own watch request (watch.ts: client-node's request pipeline and KubeConfig auth, each
// event's thrown-away members cut before it is parsed) rather than client-node's ListWatch/makeInformer,
// because ListWatch (1.4.0) stops for good after a watch or list error and a restart from its error
// callback can race its own reconnect (kubernetes-client/javascript #795, #1933), reconnects without
// any delay when the server ends a watch with a non-410 ERROR event, cannot pass
// timeoutSeconds/allowWatchBookmarks (silent stalls, #958), and can leak a watch when stopped while
// reconnecting. This loop follows client-go's reflector instead:
//   list (paged) → replace the store (deletes for what vanished) → watch from the list's
//   resourceVersion → on a clean end: watch again from the last resourceVersion seen → on 410 Gone:
//   list again at once → on any other error: exponential backoff with jitter, then watch again from
//   the last resourceVersion (a relist only if that is too old).
import { z } from 'zod';
import { decodeWith, type Decoded } from '../api/decode';
import { silentLogger, type Logger } from '../util/log';
import { realClock, sleep, type Clock, type TimerHandle } from './clock';
import { keyOf, type KubeClient, type KubeObject, type ObjectList, type ResourceClient, type ResourceInfo } from './client';
import { ApiError, toApiError } from './errors';
import { IndexedStore, type IndexFunc, type InvalidEntry } from './store';
import { internCommonStrings, StringInterner } from './intern';
import { TreeInterner } from '../util/tree-intern';
import { listedPartTexts, type ItemMemberDrops } from './strip-managed';
import { setOwn } from '../util/own-keys';
import { startWatch } from './watch';

/**
 * Longest member text (UTF-8 bytes) a list remembers (memoParts): vmworld's policy specs are 180 to
 * 605 and their statuses about 450. A large part seldom repeats, and a tenant's big distinct policies
 * would otherwise all be held as text until the list ends.
 */
const PART_MEMO_MAX_BYTES = 16 * 1024;

/** One table for every informer of the process: the same strings repeat across kinds. */
const interner = new StringInterner();
const trees = new TreeInterner();

/**
 * The same object at the same generation: the API server bumps generation on every spec change, so
 * their specs are equal. The uid too: an object deleted and created again under the same name (a
 * relist after a watch missed both) starts over at generation 1 with a spec of its own.
 */
export function sameSpecVersion(old: unknown, now: unknown): boolean {
  const o = (old as { metadata?: { generation?: unknown; uid?: unknown } } | undefined)?.metadata;
  const n = (now as { metadata?: { generation?: unknown; uid?: unknown } }).metadata;
  return !!o && !!n && typeof n.generation === 'number' && o.generation === n.generation && o.uid === n.uid;
}

/**
 * The new version of a cached object keeps the old one's `spec` when it is the same spec version
 * (sameSpecVersion): a status write's echo then costs the cache no second spec, and neither does
 * anyone still holding the older version (the compiler keeps the object it compiled, which at vmworld
 * doubled every policy and tenant spec).
 */
export function shareUnchangedSpec(old: unknown, now: unknown): void {
  const o = old as { spec?: unknown } | undefined;
  const n = now as { spec?: unknown };
  if (o && o.spec !== undefined && n.spec !== undefined && sameSpecVersion(old, now)) n.spec = o.spec;
}

/** A kind's schema without some of its members, and the whole schema's member order. */
interface PartialSchema {
  schema: z.ZodType;
  keys: string[];
}

/**
 * The kind's schema without `names`, for objects whose parts of those names are known valid: the
 * cached spec of the same version (sameSpecVersion: a status write's echo is checked without parsing
 * a spec that is then thrown away for the old one, 160,000 policy, tenant and VM specs at vmworld's
 * status storm), or a part decoded from the same text earlier in a list (memoParts). Undefined when
 * the schema is not a plain object with those members (such objects are parsed whole).
 */
function schemaWithout(schema: z.ZodType | undefined, names: readonly string[]): PartialSchema | undefined {
  if (!(schema instanceof z.ZodObject) || names.some((n) => !Object.hasOwn(schema.shape, n))) return undefined;
  try {
    return { schema: schema.omit(Object.fromEntries(names.map((n) => [n, true])) as never), keys: Object.keys(schema.shape) };
  } catch {
    return undefined; // zod refuses omit() on an object with refinements: parse whole
  }
}

export interface InformerHandlers<T> {
  /**
   * `initialList`: the object came with the informer's first list (client-go's isInInitialList),
   * not from a watch, a later relist, or the replay of the cache to a handler registered late (a
   * first list that failed and is retried is still the first).
   */
  add?(obj: T, initialList: boolean): void;
  /** Both versions, so a handler can enqueue what the old object pointed at too. */
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
  /** The object failed its schema (`gone`: an invalid object was deleted). */
  invalid?(entry: InvalidEntry, gone: boolean): void;
}

export interface InformerMetrics {
  event?(type: 'add' | 'update' | 'delete' | 'invalid'): void;
  error?(): void;
  relist?(): void;
}

export interface InformerOptions<T> {
  client: KubeClient;
  resource: ResourceInfo;
  /** Watch one namespace only (namespaced resources); default all. */
  namespace?: string;
  labelSelector?: string;
  /** e.g. `metadata.name=host-1` for an agent that watches only its own HostFilter. */
  fieldSelector?: string;
  /** Parse every object with this schema at the cache edge; failures become invalid entries. */
  schema?: z.ZodType<T>;
  /**
   * Reshape each object before it is parsed and cached (client-go's SetTransform): drop what the
   * cache's readers never look at, so it is not held in memory for the life of the process.
   */
  transform?: (raw: KubeObject) => KubeObject;
  /**
   * Keep metadata.managedFields in the cache (default: dropped before `transform`, like
   * controller-runtime's TransformStripManagedFields: every object carries them, no reader of ours
   * looks at them, and at 200,000 objects they were a large share of the operator's heap).
   */
  keepManagedFields?: boolean;
  /**
   * Members of each object its `transform` throws away, dropped from the bytes of lists and watch
   * events before they are parsed (with metadata.managedFields unless kept), e.g.
   * `{ spec: ['programs'] }`. What the scanner does not follow is parsed whole: `transform` must drop
   * the same members.
   */
  dropMembers?: ItemMemberDrops;
  /**
   * Share structurally equal parts of cached objects (spec, status and the repeating metadata members)
   * between objects, frozen (see TreeInterner.shareParts). For kinds whose objects repeat each other;
   * not for large unique documents.
   */
  shareEqualParts?: boolean;
  /**
   * Top-level members (`spec`, `status`) whose distinct texts a list decodes once each: the list's
   * bytes are parsed without them (listedPartTexts), and each object takes the value decoded from
   * the same text before, or its text is parsed. For kinds whose parts repeat across objects: at
   * vmworld 79,729 policies hold 26,615 distinct specs and 316 distinct statuses, and JSON.parse,
   * the schema and the tree interner on every copy were most of the cost of listing them. Only with
   * `shareEqualParts` (which shares equal parts anyway, after decoding each) and without `transform`.
   */
  memoParts?: readonly ('spec' | 'status')[];
  name?: string;
  logger?: Logger;
  clock?: Clock;
  /** Backoff after errors: initial and maximum delay (client-go reflector: 800 ms .. 30 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** List page size (0 = unpaged). */
  pageSize?: number;
  /** Server-side watch timeout; default random 5–10 min like client-go. */
  watchTimeoutSeconds?: number;
  metrics?: InformerMetrics;
}

type WatchOutcome =
  | { kind: 'closed'; events: number; ms: number }
  | { kind: 'gone' }
  | { kind: 'error'; error: unknown };

export class Informer<T extends object = KubeObject> {
  readonly name: string;
  readonly store = new IndexedStore<T>();
  private readonly rc: ResourceClient<KubeObject>;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly handlers = new Set<InformerHandlers<T>>();
  private readonly syncWaiters = new Set<() => void>();
  private synced = false;
  /** While the first list is stored (see InformerHandlers.add). */
  private inInitialList = false;
  private running = false;
  private stopped = false;
  private abort = new AbortController();
  private currentWatch: AbortController | undefined;
  private lastRv = '';
  private loop: Promise<void> | undefined;
  /** Counters, for tests and diagnostics. */
  readonly stats = { lists: 0, watches: 0, errors: 0, gone: 0 };
  lastError: ApiError | undefined;

  /** What a list or watch drops from each object before it is parsed (managedFields and `dropMembers`). */
  private readonly dropMembers: ItemMemberDrops | undefined;
  /** The schema without some members (schemaWithout), by the names left out; null: parse whole. */
  private readonly partials = new Map<string, PartialSchema | null>();
  /**
   * While a list is read (memoParts): per member name, its decoded values by their JSON text as
   * sent. Dropped after the list: watch events come one at a time, and 26,000 spec texts kept for
   * the life of the process would be memory for nothing.
   */
  private listParts: Map<string, Map<string, unknown>> | undefined;

  constructor(private readonly opts: InformerOptions<T>) {
    this.rc = opts.client.resource(opts.resource);
    this.name = opts.name ?? opts.resource.plural;
    this.log = (opts.logger ?? silentLogger).child({ informer: this.name });
    this.clock = opts.clock ?? realClock;
    const drops: Record<string, string[]> = opts.keepManagedFields ? {} : { metadata: ['managedFields'] };
    for (const [member, names] of Object.entries(opts.dropMembers ?? {})) drops[member] = [...(drops[member] ?? []), ...names];
    this.dropMembers = Object.keys(drops).length ? drops : undefined;
  }

  // ---------------------------------------------------------------- reading the cache
  get(key: string): T | undefined {
    return this.store.get(key);
  }
  list(): T[] {
    return this.store.list();
  }
  addIndex(name: string, fn: IndexFunc<T>): this {
    this.store.addIndex(name, fn);
    return this;
  }
  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }
  getInvalid(key: string): InvalidEntry | undefined {
    return this.store.getInvalid(key);
  }
  listInvalid(): InvalidEntry[] {
    return this.store.listInvalid();
  }

  /**
   * Register handlers; returns a function that removes them. Objects already in the cache are
   * replayed as adds (and invalid entries as invalid) so a late handler misses nothing.
   */
  on(h: InformerHandlers<T>): () => void {
    this.handlers.add(h);
    for (const obj of this.store.list()) this.safe(() => h.add?.(obj, false));
    for (const e of this.store.listInvalid()) this.safe(() => h.invalid?.(e, false));
    return () => this.handlers.delete(h);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once the first list is in the cache, false if `timeoutMs` passes first. */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined = undefined;
      const done = () => {
        if (timer) this.clock.clearTimeout(timer);
        this.syncWaiters.delete(done);
        resolve(this.synced);
      };
      this.syncWaiters.add(done);
      timer = this.clock.setTimeout(done, timeoutMs);
    });
  }

  // ---------------------------------------------------------------- lifecycle
  start(): this {
    if (this.running) return this;
    this.running = true;
    this.stopped = false;
    this.abort = new AbortController();
    this.loop = this.run();
    return this;
  }

  /** Stop watching; the cache keeps its contents. Resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error('informer stopped'));
    this.currentWatch?.abort();
    await this.loop;
    this.running = false;
  }

  /** The resourceVersion the next watch would start from. */
  resourceVersion(): string {
    return this.lastRv;
  }

  private async run(): Promise<void> {
    const initial = this.opts.backoff?.initialMs ?? 800;
    const max = this.opts.backoff?.maxMs ?? 30_000;
    let delay = initial;
    let needList = true;
    while (!this.stopped) {
      let failure: unknown;
      if (needList) {
        try {
          await this.listAndReplace();
          needList = false;
        } catch (err) {
          failure = err;
        }
      }
      if (!needList && failure === undefined && !this.stopped) {
        const out = await this.watchOnce();
        if (this.stopped) break;
        if (out.kind === 'gone') {
          this.stats.gone++;
          this.log.info({ rv: this.lastRv }, 'watch resourceVersion expired (410 Gone); listing again');
          this.opts.metrics?.relist?.();
          needList = true;
          continue;
        }
        if (out.kind === 'closed' && (out.events > 0 || out.ms >= 1000)) {
          delay = initial; // a healthy watch that ended normally: resume at once
          continue;
        }
        failure = out.kind === 'error' ? out.error : new Error('watch ended immediately without events');
      }
      if (this.stopped) break;
      const e = toApiError(failure);
      if (e.code === 410) {
        // An expired continue token during a paged list: list again from scratch.
        needList = true;
        continue;
      }
      this.stats.errors++;
      this.lastError = e;
      this.opts.metrics?.error?.();
      const wait = delay / 2 + Math.random() * (delay / 2);
      this.log.warn({ code: e.code, reason: e.reason, err: e.message, retryInMs: Math.round(wait) }, 'list/watch failed; retrying');
      try {
        await sleep(this.clock, wait, this.abort.signal);
      } catch {
        break;
      }
      delay = Math.min(delay * 2, max);
    }
  }

  /**
   * List page by page into the store, then delete what the list no longer has. Each page is stored
   * while the server prepares the next (its request goes out first): a datacenter's list is hundreds
   * of pages, and the server and this process then work at once instead of taking turns.
   */
  private async listAndReplace(): Promise<void> {
    this.stats.lists++;
    const pageSize = this.opts.pageSize ?? 500;
    const memoParts = this.opts.memoParts?.length && this.opts.shareEqualParts && !this.opts.transform ? this.opts.memoParts : undefined;
    const fetchPage = (cont: string | undefined): Promise<ObjectList<KubeObject>> => {
      const p = this.rc.list({
        namespace: this.opts.namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        limit: pageSize || undefined,
        continue: cont,
        dropItemMembers: this.dropMembers,
        partTexts: memoParts && { names: memoParts, maxBytes: PART_MEMO_MAX_BYTES },
      });
      p.catch(() => undefined); // awaited below, unless the informer stops first
      return p;
    };
    // What vanished since the last list is deleted after this one; a first list into an empty cache
    // has nothing to compare (at 200,000 objects, a set of every key for nothing).
    const seen = this.store.size > 0 || this.store.listInvalid().length > 0 ? new Set<string>() : undefined;
    let next: Promise<ObjectList<KubeObject>> | undefined = fetchPage(undefined);
    let rv = '';
    this.listParts = memoParts && new Map(memoParts.map((n) => [n, new Map()]));
    this.inInitialList = !this.synced;
    try {
      while (next) {
        const page: ObjectList<KubeObject> = await next;
        if (this.stopped) return;
        const cont: string | undefined = page.metadata.continue || undefined;
        rv = page.metadata.resourceVersion ?? rv;
        next = cont ? fetchPage(cont) : undefined;
        // Let the next request reach the socket before this page's synchronous work.
        if (next) await new Promise<void>((r) => setImmediate(r));
        for (const raw of page.items) {
          const key = keyOf(raw);
          seen?.add(key);
          this.upsert(key, raw);
        }
      }
    } finally {
      this.listParts = undefined;
      this.inInitialList = false;
    }
    if (seen) {
      for (const key of this.store.keys()) if (!seen.has(key)) this.remove(key);
      for (const e of this.store.listInvalid()) if (!seen.has(e.key)) this.remove(e.key);
    }
    this.lastRv = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of [...this.syncWaiters]) w();
    }
  }

  private watchOnce(): Promise<WatchOutcome> {
    this.stats.watches++;
    const started = this.clock.now();
    let events = 0;
    let gone = false;
    let errorEvent: ApiError | undefined;
    const timeout = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    return new Promise<WatchOutcome>((resolve) => {
      let settled = false;
      // Client-side guard in case the server ignores timeoutSeconds and the connection dies silently.
      const guard = this.clock.setTimeout(() => this.currentWatch?.abort(), (timeout + 30) * 1000);
      const finish = (out: WatchOutcome) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(guard);
        this.currentWatch = undefined;
        resolve(out);
      };
      const onEvent = (type: string, obj: any) => {
        if (this.stopped || settled) return;
        events++;
        if (type === 'ERROR') {
          const code = Number(obj?.code);
          if (code === 410) gone = true;
          else errorEvent = new ApiError(code || 500, String(obj?.reason ?? 'WatchError'), String(obj?.message ?? 'watch error event'));
          this.currentWatch?.abort();
          return;
        }
        const rv = obj?.metadata?.resourceVersion;
        if (type === 'BOOKMARK') {
          if (rv) this.lastRv = rv;
          return;
        }
        if (!obj?.metadata?.name) return;
        const key = keyOf(obj as KubeObject);
        if (type === 'ADDED' || type === 'MODIFIED') this.upsert(key, obj as KubeObject);
        else if (type === 'DELETED') this.remove(key);
        if (rv) this.lastRv = rv;
      };
      const onDone = (err: unknown) => {
        if (gone) return finish({ kind: 'gone' });
        if (errorEvent) return finish({ kind: 'error', error: errorEvent });
        if (err instanceof ApiError && err.code === 410) return finish({ kind: 'gone' });
        if (err) return finish({ kind: 'error', error: err });
        finish({ kind: 'closed', events, ms: this.clock.now() - started });
      };
      const query: Record<string, string | number | boolean | undefined> = {
        resourceVersion: this.lastRv || undefined,
        allowWatchBookmarks: true,
        timeoutSeconds: timeout,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
      };
      const ac = startWatch(this.opts.client, { path: this.rc.collectionPath(this.opts.namespace), query, drops: this.dropMembers }, onEvent, onDone);
      if (!settled) this.currentWatch = ac;
      if (this.stopped) ac.abort();
    });
  }

  private upsert(key: string, raw: KubeObject): void {
    const rv = raw.metadata?.resourceVersion;
    if (rv && this.seenResourceVersion(key) === rv) return; // unchanged (relist)
    const texts = this.listParts ? listedPartTexts.get(raw) : undefined;
    if (!this.opts.keepManagedFields) raw = stripManagedFields(raw);
    if (this.opts.transform) raw = this.opts.transform(raw);
    const cached = this.store.get(key);
    // Parts known valid: the cached spec of the same version, or (in a list) a part decoded from the
    // same text before. Keyed only by the text as sent: equal texts parse to equal values, where a
    // part serialized again is no such key (JSON.stringify gives {"a":null} for {"a":1e400}).
    const known: Record<string, unknown> = {};
    const cachedSpec = (cached as { spec?: unknown } | undefined)?.spec;
    if (cachedSpec !== undefined && sameSpecVersion(cached, raw)) known.spec = cachedSpec;
    let decodedHere: [string, string][] | undefined;
    if (texts)
      for (const [name, text] of Object.entries(texts)) {
        if (Object.hasOwn(known, name)) continue;
        const hit = this.listParts!.get(name)?.get(text);
        if (hit !== undefined) known[name] = hit;
        else {
          setOwn(raw, name, JSON.parse(text));
          (decodedHere ??= []).push([name, text]);
        }
      }
    const decoded = this.decode(raw, known);
    if (decoded.ok) {
      const wasInvalid = this.store.getInvalid(key) !== undefined;
      const value = decoded.value as Record<string, unknown>;
      shareUnchangedSpec(cached, value);
      internCommonStrings(value, interner);
      if (this.opts.shareEqualParts) trees.shareParts(value);
      // Only a frozen part is shared between objects (the interner freezes what it shares): one that
      // is not (too wide to intern) is decoded again for the next object that carries it.
      for (const [name, text] of decodedHere ?? []) if (Object.isFrozen(value[name])) this.listParts?.get(name)?.set(text, value[name]);
      const old = this.store.set(key, decoded.value);
      if (old === undefined) {
        if (wasInvalid) this.log.info({ key }, 'object is valid again');
        this.emit('add', (h) => h.add?.(decoded.value, this.inInitialList));
      } else this.emit('update', (h) => h.update?.(old, decoded.value));
      return;
    }
    // The invalid object as it came, with the parts a list did not parse because they were known.
    for (const [name, v] of Object.entries(known)) if ((raw as Record<string, unknown>)[name] === undefined) setOwn(raw, name, v);
    // Last known good: a valid object that turns invalid stays in the store as it was (no delete
    // event), so nothing derived from it (compiled filters above all) is dropped: an unusable edit must
    // never open a hole. The invalid generation is kept aside for the controllers to report.
    const entry: InvalidEntry = { key, raw: raw as InvalidEntry['raw'], errors: decoded.errors };
    this.store.setInvalid(entry);
    const kept = this.store.get(key) !== undefined;
    this.log.warn({ key, errors: decoded.errors.slice(0, 5), lastKnownGoodKept: kept }, 'object failed schema validation; kept aside');
    this.emit('invalid', (h) => h.invalid?.(entry, false));
  }

  /**
   * Parse with the schema. The `known` parts (valid values of this object's members, see upsert) are
   * not parsed again: the rest is parsed without them, and the object takes them. Without a schema
   * the object as it came, with the known parts.
   */
  private decode(raw: KubeObject, known: Record<string, unknown>): Decoded<T> {
    const schema = this.opts.schema;
    const names = Object.keys(known);
    const withKnown = () => {
      for (const n of names) setOwn(raw, n, known[n]);
      return raw;
    };
    if (!schema) return { ok: true, value: withKnown() as unknown as T };
    if (names.length === 0) return decodeWith(schema, raw);
    const partial = this.partialSchema(schema, names);
    if (!partial) return decodeWith(schema, withKnown());
    const rest: Record<string, unknown> = {};
    for (const k of Object.keys(raw)) if (!Object.hasOwn(known, k)) setOwn(rest, k, (raw as Record<string, unknown>)[k]);
    const d = decodeWith(partial.schema, rest) as Decoded<Record<string, unknown>>;
    if (!d.ok) return d;
    // In the schema's member order, as a whole parse would give it.
    const value: Record<string, unknown> = {};
    for (const k of partial.keys) {
      const v = Object.hasOwn(known, k) ? known[k] : d.value[k];
      if (v !== undefined) value[k] = v;
    }
    return { ok: true, value: value as T };
  }

  private partialSchema(schema: z.ZodType, names: string[]): PartialSchema | undefined {
    // Names come in one order (the cached spec, then the list's parts in memoParts order); another
    // order would only cache an equal schema twice.
    const id = names.length === 1 ? names[0]! : names.join(',');
    let p = this.partials.get(id);
    if (p === undefined) this.partials.set(id, (p = schemaWithout(schema, names) ?? null));
    return p ?? undefined;
  }

  /**
   * The resourceVersion of the object as last seen: its invalid generation if the last one failed
   * its schema, else the stored one (read from the objects, not kept in a map of its own: 200,000
   * more entries and strings at vmworld).
   */
  private seenResourceVersion(key: string): string | undefined {
    const invalid = this.store.getInvalid(key);
    if (invalid) return invalid.raw.metadata?.resourceVersion;
    return (this.store.get(key) as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
  }

  private remove(key: string): void {
    const old = this.store.delete(key);
    if (old !== undefined) this.emit('delete', (h) => h.delete?.(old));
    const inv = this.store.deleteInvalid(key);
    if (inv) this.emit('invalid', (h) => h.invalid?.(inv, true));
  }

  private emit(type: 'add' | 'update' | 'delete' | 'invalid', call: (h: InformerHandlers<T>) => void): void {
    this.opts.metrics?.event?.(type);
    for (const h of this.handlers) this.safe(() => call(h));
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'informer event handler threw');
    }
  }
}

/** The object without metadata.managedFields (the same object when it has none). */
export function stripManagedFields(raw: KubeObject): KubeObject {
  const meta = raw.metadata as (KubeObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (!meta || meta.managedFields === undefined) return raw;
  const { managedFields: _drop, ...rest } = meta;
  return { ...raw, metadata: rest };
}
