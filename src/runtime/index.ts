/**
 * vmsafe runtime: the machinery every controller and the agent use. Read this first.
 *
 * ```ts
 * import { KubeClient, Informer, Controller, StatusWriter, setCondition, ... } from '../runtime';
 *
 * const client = new KubeClient();                      // kubectl's lookup; or new KubeClient({ file }) / ({ yaml })
 * const vms = new Informer({ client, resource: kindResource('VM'), schema: vm, logger, metrics: m.informerHooks('vms') })
 *   .addIndex('byHost', (v) => (v.status?.hostName ? [v.status.hostName] : []))
 *   .start();
 * await waitForSync([vms, hosts], 30_000);              // false on timeout
 *
 * const ctl = new Controller({
 *   name: 'vm', workers: 4, logger, metrics: m, clock,
 *   reconcile: async (key, ctx) => {                    // key "ns/name" (namespaced) or "name"
 *     const obj = vms.get(key);                         // parsed with zod once, at the cache edge
 *     if (!obj) {
 *       const bad = vms.getInvalid(key);                // failed its schema: report it, never crash
 *       if (bad) await status.update('VM', bad.raw as KubeObject, {...});
 *       return;                                         // deleted: nothing to do
 *     }
 *     const desired = decide(obj, ...);                 // pure
 *     await status.update('VM', obj, desired);          // writes only a difference
 *     return { requeueAfter: 30_000 };                  // time-based wait; throw = retry w/ backoff;
 *   },                                                  // throw new TerminalError(msg) = no retry
 * })
 *   .watchOwn(vms)                                      // own kind → own key (invalid objects too)
 *   .watchMapped(hosts, (h) => vms.store.keysByIndex('byHost', h.metadata.name)); // fan-in, old+new
 * ctl.start(); ... await ctl.stop();
 * ```
 *
 * Modules
 * - client.ts      `KubeClient(kc?, {requestTimeoutMs=60000})` (one per process; keep-alive pool;
 *                  `close()`; plain http:// servers allowed): `.kind<T>('VM')` /
 *                  `.resource<T>(ResourceInfo)` → `ResourceClient` with get/tryGet/list/create/replace/
 *                  delete/patch(ref, body, 'merge'|'json')/patchStatus/replaceStatus; refs are
 *                  `{name, namespace?}` or a key string. `.api(CoreV1Api)` for generated clients.
 *                  `keyOf(obj)`, `parseKey(key)`, `kindResource(kind)`, `LEASES`, `EVENTS`, `NAMESPACES`.
 * - errors.ts      every call throws `ApiError {code, reason, message}` (code 0 = network);
 *                  `isNotFound/isConflict/isAlreadyExists/isGone`; `TerminalError` for reconcilers.
 * - informer.ts    `Informer<T>({client, resource, namespace?, labelSelector?, fieldSelector?, schema?})`:
 *                  `start()/stop()`, `hasSynced()`, `waitForSync(ms)`, `get(key)`, `list()`,
 *                  `addIndex(name, fn)`, `byIndex(name, value)`, `store.keysByIndex(...)`,
 *                  `getInvalid(key)/listInvalid()`, `on({add, update(old,new), delete, invalid})`.
 *                  Restarts with exponential backoff after errors, relists after 410 Gone.
 *                  Agent: `fieldSelector: 'metadata.name=' + host` to watch only its own HostFilter.
 * - store.ts       `IndexedStore` (the informer's cache) and `InvalidEntry {key, raw, errors}`.
 * - workqueue.ts   `WorkQueue`: add/addAfter/addRateLimited/forget/get/done/shutdown/shutdownWithDrain.
 * - ratelimit.ts   `defaultControllerRateLimiter` (5 ms .. 1000 s per key + 10 qps/100 burst), `TokenBucket`.
 * - controller.ts  `Controller({name, reconcile, workers?, rateLimiter?, logger?, metrics?, clock?})`,
 *                  `Result {requeueAfter?}`, `ReconcileContext {key, ref, log, reconcileId, attempt, now(), signal}`.
 *                  `.watchOwn(inf)`, `.watchMapped(inf, obj => keys)`, `.enqueue(key)`, `.enqueueAfter(key, ms)`,
 *                  `.start()`, `.stop()` (waits for in-flight reconciles, drops queued keys; not restartable:
 *                  build a new Controller per leadership term). 409 Conflicts retry quietly (debug log).
 * - status.ts      `StatusWriter(client).update(kind, current, desiredStatus)` → `{written, object}`:
 *                  sets observedGeneration, writes a merge-patch diff to /status only when different.
 * - conditions.ts  `setCondition(list, {type,status,reason,message,observedGeneration}, now)` (pure;
 *                  lastTransitionTime moves only when status flips), `getCondition`, `isConditionTrue`.
 * - events.ts      `EventRecorder({client, component}).normal(obj, reason, msg)` / `.warning(...)`:
 *                  core/v1 Events, repeats aggregated into count, rate limited, never throws.
 * - leaderelection.ts `LeaderElector({client, namespace, name, identity, onStartedLeading(signal),
 *                  onStoppedLeading, leaseDurationMs=15000, renewDeadlineMs=10000, retryPeriodMs=2000})`:
 *                  `run()` resolves when leadership ends; `stop({release})`; `isLeader()`.
 * - heartbeat.ts   `startHeartbeat({client, hostName, intervalMs=10000, leaseDurationSeconds=40})`
 *                  renews Lease vmsafe-system/<host>; Host controller: `isLeaseFresh(lease, now)`.
 * - leasetime.ts   `microTime(ms)`, `parseTime(s)`, `leaseExpiry`, `isLeaseFresh`.
 * - metrics.ts     `RuntimeMetrics` (prom-client registry: reconcile_total/duration/errors, workqueue
 *                  depth/adds/retries/latency, informer events/errors/relists, status writes, events,
 *                  leader; `.gauge()/.counter()/.histogram()` for your own), `startMetricsServer({metrics,
 *                  port, readiness: {name: () => true | 'why not'}})` → /metrics, /healthz, /readyz.
 * - clock.ts       `Clock`, `realClock`, `FakeClock` (tests), `sleep(clock, ms, signal)`.
 * - jsondiff.ts    `deepEqual`, `mergePatchDiff`, `applyMergePatch`.
 */
export * from './clock';
export * from './errors';
export * from './client';
export * from './store';
export * from './informer';
export * from './ratelimit';
export * from './workqueue';
export * from './controller';
export * from './conditions';
export * from './jsondiff';
export * from './status';
export * from './events';
export * from './leasetime';
export * from './leaderelection';
export * from './heartbeat';
export * from './metrics';

import type { Informer } from './informer';

/** A /readyz check: ok once every informer has synced, else names the ones still listing. */
export function informersSynced(informers: readonly Informer<any>[]): () => true | string {
  return () => {
    const waiting = informers.filter((i) => !i.hasSynced()).map((i) => i.name);
    return waiting.length === 0 ? true : `not synced: ${waiting.join(', ')}`;
  };
}

/** Wait until every informer has synced; false if `timeoutMs` passes first. */
export async function waitForSync(informers: readonly Informer<any>[], timeoutMs: number): Promise<boolean> {
  const results = await Promise.all(informers.map((i) => i.waitForSync(timeoutMs)));
  return results.every(Boolean);
}
