// Watch streams: one JSON line per event ({"type","object"}), replayed from the per-resource
// history when a resourceVersion is given (410 Expired ERROR event when it is too old), initial
// ADDED events otherwise, bookmarks on request. Each event is serialized once per shape and shared
// by every watcher that receives it.
import type { ServerResponse } from 'node:http';
import { badRequest, gone } from './errors';
import { utf8Bytes } from './http';
import type { Api } from './api';
import { apiVersionOf, type ResourceDef } from './resources';
import { parseFieldSelector } from './selectors';
import { deliverTo, toJson, type EventType, type Obj, type StoreEvent, type Watcher } from './store';
import { columnDefinitions, partialMetadata, tableRow, type IncludeObject } from './table';

export interface WatchRequest {
  def: ResourceDef;
  namespace: string | undefined;
  resourceVersion: string | undefined;
  labelSelector?: string | null;
  fieldSelector?: string | null;
  allowWatchBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds: number;
  shape: 'object' | 'table' | 'metadata';
  includeObject: IncludeObject;
}

/**
 * Serialized event lines, per event, per (type, API version), as UTF-8 bytes: every watcher of the
 * event is sent the same Buffer. Written as a string, each watcher's response measured and encoded the
 * line again (a 160 KB HostFilter to the operator, its agent and any other watcher).
 */
const lineCache = new WeakMap<StoreEvent, Map<string, Buffer>>();

function eventLine(api: Api, def: ResourceDef, type: EventType, ev: StoreEvent): Buffer {
  let m = lineCache.get(ev);
  if (!m) lineCache.set(ev, (m = new Map()));
  const k = `${type}|${def.group}/${def.version}`;
  let line = m.get(k);
  if (line === undefined) {
    line = objectLine(type, api.out(def, ev.obj));
    m.set(k, line);
  }
  return line;
}

/** A watch line carrying the whole object, as UTF-8 bytes (the text measured and written from its parts). */
const objectLine = (type: EventType, obj: Obj): Buffer => utf8Bytes(`{"type":"${type}","object":`, toJson(obj), '}\n');

/** Max bytes buffered for a slow watcher before the server drops it (it will re-watch). */
const MAX_BUFFERED = 64 * 1024 * 1024;
/**
 * Max bytes buffered for all watchers together: past it, the watchers furthest behind are dropped
 * until half of it is left (checked every WATCH_SWEEP_MS). Each unread watch may hold MAX_BUFFERED,
 * and a tenant may open any number of them.
 */
const MAX_BUFFERED_TOTAL = 256 * 1024 * 1024;
const WATCH_SWEEP_MS = 1000;
/** Queued event bytes written at once, without waiting for the end of the turn. */
const FLUSH_BYTES = 256 * 1024;
/** Unsent bytes of a response past which the initial events (or a replay) wait for the client to read. */
const BACKLOG_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Resolves when the response has room again, or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((done) => {
    const end = () => {
      res.off('drain', end);
      res.off('close', end);
      done();
    };
    res.on('drain', end);
    res.on('close', end);
  });
}

export class WatchHub {
  readonly active = new Set<() => void>();
  bookmarkIntervalMs = 5_000;
  /** Limits on what the server holds for slow watchers (see MAX_BUFFERED, MAX_BUFFERED_TOTAL). */
  maxBufferedPerWatch = MAX_BUFFERED;
  maxBufferedTotal = MAX_BUFFERED_TOTAL;
  /** Per open watch: the bytes the server holds for it, and how to drop it. */
  private readonly backlogs = new Map<() => void, { bytes: () => number; drop: () => void }>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly api: Api) {}

  /** Drop the watchers furthest behind while all of them together hold more than maxBufferedTotal. */
  private sweep(): void {
    const all = [...this.backlogs.values()].map((b) => ({ b, n: b.bytes() }));
    let total = 0;
    for (const x of all) total += x.n;
    if (total <= this.maxBufferedTotal) return;
    all.sort((x, y) => y.n - x.n);
    for (const x of all) {
      if (total <= this.maxBufferedTotal / 2) break;
      total -= x.n;
      x.b.drop();
    }
  }

  serve(res: ServerResponse, w: WatchRequest, onEnd: () => void) {
    const { api } = this;
    const { def } = w;
    const matches = api.matcher(def, w.labelSelector, w.fieldSelector);
    const r = api.store.res(def.key);
    const ns = def.namespaced ? w.namespace : undefined;
    let replay: StoreEvent[] | undefined;
    let initial: Obj[] | undefined;
    const rvParam = w.resourceVersion;
    if (rvParam && rvParam !== '0' && !w.sendInitialEvents) {
      const n = Number(rvParam);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid resource version "${rvParam}"`);
      replay = n > api.store.rv ? undefined : r.eventsAfter(n);
      if (!replay) {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
        // A version from the future means this server restarted without its data dir: the client's
        // state is stale either way, so answer 410 and let it relist (kube would time out with 504).
        const msg = n > api.store.rv
          ? `too large resource version: ${n}, current: ${api.store.rv}`
          : `too old resource version: ${n} (${r.compactedRv + 1})`;
        const status = gone(msg).toStatus();
        res.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
        onEnd();
        return;
      }
    } else {
      initial = api.list(def, ns, { labelSelector: w.labelSelector, fieldSelector: w.fieldSelector }).items;
    }

    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    // Clients treat the watch as established once headers arrive: send them now, not with the first event.
    res.flushHeaders();
    let closed = false;
    const now = () => Date.now();
    const cols = def.columns;
    const format = (type: EventType, obj: Obj): string | Buffer => {
      const o = api.out(def, obj);
      if (w.shape === 'table') {
        const t = {
          kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: o.metadata.resourceVersion },
          columnDefinitions: columnDefinitions(cols), rows: [tableRow(cols, o, w.includeObject, now())],
        };
        return JSON.stringify({ type, object: t }) + '\n';
      }
      if (w.shape === 'metadata') return JSON.stringify({ type, object: partialMetadata(o) }) + '\n';
      return objectLine(type, o);
    };
    // Events are queued and written together at the end of this turn of the event loop (or at once
    // past FLUSH_BYTES): one socket write, one TLS record and one chunk for every event the turn
    // produced, where each event used to be its own system call (while statuses settle, hundreds of
    // writes a second each send one small event to the same watcher). kube-apiserver does the same: it
    // flushes a watch's response only when no further event is waiting in its channel.
    let queued: Buffer[] = [];
    let queuedBytes = 0;
    let flushTimer: NodeJS.Immediate | undefined;
    // The initial events (or the replay) are the backlog, sent as the client reads (sendBacklog);
    // live events queue behind it. Written all at once, each watch a client opened and never read
    // held its own copy of the whole list: a tenant's 8 unread watches of its 25 MB held 190 MB.
    let sendingBacklog = initial !== undefined || replay !== undefined;
    /** Set while sendBacklog delivers a replayed event: its line goes to the backlog's batch. */
    let backlogSink: ((line: string | Buffer) => void) | undefined;
    const takeQueued = (): Buffer | undefined => {
      if (flushTimer) clearImmediate(flushTimer);
      flushTimer = undefined;
      if (queued.length === 0) return undefined;
      const chunk = queued.length === 1 ? queued[0]! : Buffer.concat(queued, queuedBytes);
      queued = [];
      queuedBytes = 0;
      return chunk;
    };
    const flush = () => {
      if (sendingBacklog) return;
      const chunk = takeQueued();
      if (closed || !chunk) return;
      res.write(chunk);
      if (res.writableLength > this.maxBufferedPerWatch) drop();
    };
    const write = (line: string | Buffer) => {
      if (closed) return;
      if (backlogSink) return backlogSink(line);
      const buf = typeof line === 'string' ? Buffer.from(line) : line;
      queued.push(buf);
      queuedBytes += buf.length;
      if (sendingBacklog) {
        if (queuedBytes > this.maxBufferedPerWatch) drop();
        return;
      }
      if (queuedBytes >= FLUSH_BYTES) flush();
      else flushTimer ??= setImmediate(flush);
    };
    const bookmarkLine = (rv: number, annotations?: Record<string, string>) => {
      const metadata: Obj = { resourceVersion: String(rv) };
      if (annotations) metadata.annotations = annotations;
      return JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata } }) + '\n';
    };
    const bookmark = () => write(bookmarkLine(api.store.rv));
    const floor = initial ? api.store.rv : Number(rvParam);
    const watcher: Watcher = {
      namespace: ns,
      name: parseFieldSelector(w.fieldSelector, () => true)?.requirements.find((q) => q.field === 'metadata.name' && q.op === '=')?.value,
      matches,
      // Events at or below what this watch already sent (its list, or its replay) are skipped: with
      // a data dir, live events arrive only once durable, possibly after the list included them.
      deliver: (type, ev) => ev.rv > floor && write(w.shape === 'object' ? eventLine(api, def, type, ev) : format(type, ev.obj)),
      close: () => close(),
    };
    const timers: NodeJS.Timeout[] = [];
    const close = () => {
      if (closed) return;
      closed = true;
      // What this watch was sent goes out before its end (a timeout, the server stopping); a watcher
      // dropped for buffering too much loses it, as before (it relists or resumes either way).
      // (Live events queued behind an unfinished backlog are dropped: they must not come before it.)
      const rest = sendingBacklog ? undefined : takeQueued();
      if (rest && !res.destroyed && res.writableLength <= this.maxBufferedPerWatch) res.write(rest);
      r.removeWatcher(watcher);
      timers.forEach((t) => clearTimeout(t));
      this.active.delete(close);
      this.backlogs.delete(close);
      if (this.backlogs.size === 0 && this.sweeper) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
      res.end();
      onEnd();
    };
    /**
     * A watcher too far behind: closed, and its connection destroyed. Ending the response would keep
     * every byte written to it until a client that does not read reads (kube closes such a watcher's
     * connection too; the client re-watches or relists).
     */
    const drop = () => {
      close();
      res.destroy();
    };
    this.active.add(close);
    this.backlogs.set(close, { bytes: () => res.writableLength + queuedBytes, drop });
    this.sweeper ??= setInterval(() => this.sweep(), WATCH_SWEEP_MS).unref();
    r.addWatcher(watcher);
    res.on('close', close);
    /** The backlog in FLUSH_BYTES batches, waiting whenever BACKLOG_BUFFERED_BYTES are unsent; then the live queue. */
    const sendBacklog = async () => {
      let batch: Buffer[] = [];
      let bytes = 0;
      const push = (line: string | Buffer) => {
        const buf = typeof line === 'string' ? Buffer.from(line) : line;
        batch.push(buf);
        bytes += buf.length;
      };
      const out = async () => {
        if (batch.length === 0) return;
        res.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes));
        batch = [];
        bytes = 0;
        if (res.writableLength >= BACKLOG_BUFFERED_BYTES) await drained(res);
      };
      for (const o of initial ?? []) {
        if (closed) return;
        push(format('ADDED', o));
        if (bytes >= FLUSH_BYTES) await out();
      }
      for (const ev of replay ?? []) {
        if (closed) return;
        // History holds every event of the resource; apply this watch's filters.
        if (ns !== undefined && ev.obj.metadata?.namespace !== ns) continue;
        backlogSink = push;
        try {
          deliverTo(watcher, ev);
        } finally {
          backlogSink = undefined;
        }
        if (bytes >= FLUSH_BYTES) await out();
      }
      // The initial state is as of `floor`; live events (all after it) follow the bookmark.
      if (initial && w.sendInitialEvents) push(bookmarkLine(floor, { 'k8s.io/initial-events-end': 'true' }));
      if (closed) return;
      if (batch.length) res.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes));
      sendingBacklog = false;
      flush();
    };
    if (sendingBacklog) sendBacklog().catch(() => close());
    if (w.timeoutSeconds > 0) timers.push(setTimeout(close, w.timeoutSeconds * 1000));
    if (w.allowWatchBookmarks) {
      const tick = () => {
        bookmark();
        timers.push(setTimeout(tick, this.bookmarkIntervalMs));
      };
      timers.push(setTimeout(tick, this.bookmarkIntervalMs));
    }
  }

  /** Test hook: end every open watch (clients resume from their last resourceVersion). */
  dropAll() {
    for (const close of [...this.active]) close();
  }
}
