// Status writes: build the full desired status, compare with the current one, write only a difference
// through the /status subresource, and always record observedGeneration.
//
// Why a JSON merge patch of the difference (not PUT /status with resourceVersion): resourceVersion is
// object-wide, so a PUT built from the cache fails with 409 whenever anything else touched the object
// meanwhile (a user editing spec, another controller's metadata write); at 40k VMs that becomes retry
// storms. Each status has exactly one writer (one controller per kind; the agent for HostFilter), so
// last-writer-wins on the status fields is correct. The diff nulls removed fields, so the server ends
// up with exactly the desired status, and the request carries only what changed. `optimistic: true`
// adds metadata.resourceVersion to the patch for callers that do need a precondition.
import { silentLogger, type Logger } from '../util/log';
import { LruMap } from '../util/lru-map';
import type { KubeClient, KubeObject, ResourceInfo } from './client';
import { keyOf, kindResource } from './client';
import { deepEqual, mergePatchDiff, unionMergePatch, type Json } from './jsondiff';
import type { RuntimeMetrics } from './metrics';

/** The desired status with observedGeneration set from the object's current generation. */
export function withObservedGeneration<S extends object>(current: KubeObject, desired: S): S & { observedGeneration?: number } {
  const g = current.metadata.generation;
  return g === undefined ? desired : { ...desired, observedGeneration: g };
}

/** The merge patch that turns current.status into desired ({status: diff}), or undefined when equal. */
export function statusPatch(current: KubeObject, desired: object): { status: Json } | undefined {
  const cur = (current.status ?? {}) as object;
  const diff = mergePatchDiff(cur, desired);
  return diff === undefined ? undefined : { status: diff };
}

/**
 * Memo entries kept (oldest dropped first), and for how long. A memo only has to outlive the echo of
 * its write (well under a second; seconds at a cold start's thousands of writes a second); one
 * dropped too early costs a repeated write the server recognizes as a no-op. 50,000 held ~80 MB of
 * statuses; the last 10,000 of a vmworld cold start, ~15 MB of the operator's heap, stayed until the
 * next writes pushed them out, however long that took.
 */
const MEMO_LIMIT = 10_000;
const MEMO_TTL_MS = 30_000;

export interface StatusUpdateResult<T> {
  written: boolean;
  /** The object as the server returned it (when written, unless the response was discarded), else the input. */
  object: T;
}

export interface StatusWriterOptions {
  logger?: Logger;
  metrics?: RuntimeMetrics;
  /**
   * Do not parse what the server returns for a write (`object` is then the input): for callers that
   * never read it. The operator's 120,000 status writes at a vmworld cold start spent 5 % of its CPU
   * parsing responses (managedFields included) that nothing read.
   */
  discardResponses?: boolean;
  /** Milliseconds now (memo ages; tests). */
  now?: () => number;
}

/**
 * A last word on every write: may retarget it (e.g. to the newest object when the cache serves a last
 * known good one) and amend the status (e.g. a condition saying the newest generation was rejected).
 */
export type StatusOverlay = (kind: string, current: KubeObject, desired: object) => { current: KubeObject; desired: object };

export class StatusWriter {
  private readonly log: Logger;
  private overlay: StatusOverlay | undefined;
  /**
   * What we wrote last per object while our cache has not seen it yet: a second reconcile of the same
   * stale cached object must not write the same status again.
   */
  private readonly recent = new LruMap<string, { fromRv: string; status: unknown; at: number }>();
  private readonly now: () => number;
  /** Writes done and skipped, for tests and diagnostics. */
  readonly stats = { written: 0, unchanged: 0 };
  /** vmsafe_status_writes_total by kind and result, counted without prom-client's per-call label hashing. */
  private readonly count: (kind: string, result: 'written' | 'unchanged' | 'error') => void;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: StatusWriterOptions = {},
  ) {
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    const m = opts.metrics;
    this.count = m ? m.countingBy(m.statusWrites, ['kind', 'result']) : () => undefined;
  }

  /**
   * Make `current`'s status equal `desired` (+ observedGeneration). `resource` is one of our kind
   * names ('VM') or a ResourceInfo. Throws ApiError on failure (a reconcile retries with backoff).
   */
  async update<T extends KubeObject>(
    resource: string | ResourceInfo,
    current: T,
    desired: object,
    opts: { optimistic?: boolean; discardResponse?: boolean } = {},
  ): Promise<StatusUpdateResult<T>> {
    const info = typeof resource === 'string' ? kindResource(resource) : resource;
    const label = info.kind ?? info.plural;
    if (this.overlay) ({ current, desired } = this.overlay(label, current, desired) as { current: T; desired: object });
    const want = withObservedGeneration(current, desired);
    const key = `${info.plural}:${keyOf(current)}`;
    const rv = current.metadata.resourceVersion ?? '';
    const memo = this.recent.get(key);
    const sameBase = memo !== undefined && memo.fromRv === rv;
    if (memo && !sameBase) this.recent.delete(key);
    else if (memo && deepEqual(memo.status, want)) return this.skip(label, current);

    // Written from this same cached object before: the server holds what we wrote then, not the cached
    // status. Diffing against the cache would skip a status that went back to the cached value (a Tag
    // count 1 → 2 → 1 before the echo arrived), and isOwnEcho then drops that echo: stale until resync.
    // Written from another cached object: the cache may have moved on (someone else's spec write) and
    // still lack our write, or hold it; the patch is made to fit both (an agent's applied hash going
    // A → B → A while its filter's spec went B → A was left at B).
    const memoPatch = memo && !sameBase ? statusPatch({ ...current, status: memo.status as KubeObject['status'] }, want) : undefined;
    const cachePatch = statusPatch(sameBase ? { ...current, status: memo.status as KubeObject['status'] } : current, want);
    const patch = memoPatch && cachePatch ? { status: unionMergePatch(cachePatch.status, memoPatch.status)! } : cachePatch ?? memoPatch;
    if (!patch) return this.skip(label, current);
    const body: Record<string, unknown> = opts.optimistic ? { ...patch, metadata: { resourceVersion: rv } } : patch;
    try {
      const rc = this.client.resource<T>(info);
      const discard = opts.discardResponse ?? this.opts.discardResponses;
      const updated = discard ? (await rc.patchStatus(current.metadata, body, 'merge', { discardResponse: true }), current) : await rc.patchStatus(current.metadata, body, 'merge');
      this.stats.written++;
      this.count(label, 'written');
      if (rv) {
        const now = this.now();
        this.recent.set(key, { fromRv: rv, status: want, at: now });
        // Bounded in number and age: entries of objects never reconciled again (deleted, or quiet
        // after a cold start) would otherwise stay until later writes pushed them out.
        if (this.recent.size > MEMO_LIMIT) this.recent.deleteOldest();
        for (let o = this.recent.oldest(); o && now - o.value.at > MEMO_TTL_MS; o = this.recent.oldest()) this.recent.deleteOldest();
      }
      this.log.debug({ kind: label, key: keyOf(current) }, 'status written');
      return { written: true, object: updated };
    } catch (err) {
      this.count(label, 'error');
      throw err;
    }
  }

  /**
   * Is `b`, an update of `a` seen by an informer, only the echo of this writer's last status write?
   * True when the write was computed from `a`, the status is exactly what was written, and nothing a
   * reconcile reads of the object itself changed (generation, so spec; labels, annotations, finalizers,
   * owners, deletion). Reconciling it again would compute the same status and write nothing: at cold
   * start that was one wasted reconcile per Tenant and SecurityPolicy.
   */
  isOwnEcho(resource: string | ResourceInfo, a: KubeObject, b: KubeObject): boolean {
    const info = typeof resource === 'string' ? kindResource(resource) : resource;
    const key = `${info.plural}:${keyOf(b)}`;
    const memo = this.recent.get(key);
    if (!memo || memo.fromRv !== (a.metadata.resourceVersion ?? '')) return false;
    if (!deepEqual(memo.status as Json, (b.status ?? {}) as Json)) return false;
    const ma = a.metadata as Record<string, unknown>;
    const mb = b.metadata as Record<string, unknown>;
    for (const f of ['uid', 'generation', 'deletionTimestamp']) if (ma[f] !== mb[f]) return false;
    for (const f of ['labels', 'annotations', 'finalizers', 'ownerReferences']) if (!deepEqual((ma[f] ?? null) as Json, (mb[f] ?? null) as Json)) return false;
    // The cache holds what was written now: the memo has done its work (a write still in flight from
    // the older version would at worst repeat it, a no-op on the server).
    this.recent.delete(key);
    return true;
  }

  /** Install the overlay every later write passes through (one per writer). */
  setOverlay(fn: StatusOverlay): void {
    this.overlay = fn;
  }

  /** Forget the memo of one object (e.g. after it was deleted). */
  forget(resource: string | ResourceInfo, ref: { name: string; namespace?: string }): void {
    const info = typeof resource === 'string' ? kindResource(resource) : resource;
    this.recent.delete(`${info.plural}:${keyOf(ref)}`);
  }

  private skip<T>(label: string, current: T): StatusUpdateResult<T> {
    this.stats.unchanged++;
    this.count(label, 'unchanged');
    return { written: false, object: current };
  }
}
