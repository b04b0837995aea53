// HostFilter controller: one filter per Host, compiled incrementally; written only when its content
// hash changes, owned by its Host (garbage-collected with it). A filter too large to write is
// reported, after refusing the growth of the tenant that made it so (see too-large.ts).
import { API_VERSION, type HostFilter, type HostFilterSpec } from '../api';
import { isNotFound, toApiError } from '../runtime/errors';
import { Controller, type ReconcileContext } from '../runtime/controller';
import { sharedGroupPresent } from './addressgroup';
import type { OperatorContext } from './context';
import { describeTooLarge, isTooLarge, REQUEST_LIMIT_BYTES, sizeCulprit, tenantShares, type TooLargeFilter } from './too-large';
import { inputKey } from './compile-feed';
import { AdaptiveConcurrency } from '../runtime/flowcontrol';

/**
 * Coalesce bursts (cold start: thousands of VM bindings a second) into one write per host. Only
 * while filters are being written fast (see BUSY_WRITES_PER_SECOND): an isolated change (a VM
 * created, a policy edited) is written at once, not 20 ms later, and a burst that starts on a quiet
 * fleet still coalesces behind its first write (a host's key is reconciled one at a time).
 */
const COALESCE_MS = 20;
/**
 * Per-host write pacing: a host written again within BURST_WINDOW_MS waits twice as long as last time
 * (from PACE_MIN_MS up to PACE_MAX_MS); a host quiet for that long is written after COALESCE_MS again.
 * An isolated change (a policy edit, a VM created) is not delayed; a cold start, where every host's
 * filter changes with each VM that lands, writes each host about once per PACE_MAX_MS instead of
 * dozens of times a second (each write is a large object the agent must rebuild its classifier for).
 */
const PACE_MIN_MS = 100;
const PACE_MAX_MS = 5000;
const BURST_WINDOW_MS = 5000;

/**
 * Filter writes in flight: from 4, halved when a write takes longer than SLOW_WRITE_MS, one more per
 * round of fast ones up to 8 (see AdaptiveConcurrency). More is slower, not faster: at a vmworld cold
 * start, 8 to 16 writes of 160 KB in flight had the last filter applied at 91 s, 4 to 8 at 70 s (the
 * server's CPU and GC go to concurrent large bodies, and agents fall behind applying them while the
 * VM status writes that follow each apply wait).
 */
const WRITES_INITIAL = 4;
const WRITES_MAX = 8;
const SLOW_WRITE_MS = 1000;
/** Recheck interval while a filter waits for its shared groups' shards to be written. */
const SHARDS_WAIT_MS = 50;

/** Writes in a row (each within BURST_WINDOW_MS of the previous) before pacing starts. */
const PACE_AFTER_STREAK = 3;
/**
 * Pacing applies only while filters are being written faster than this (all hosts, last second): a
 * cold start or a provider-wide change. One host taking a few VMs in a row while the rest is quiet
 * (people creating VMs) is written at once each time; pacing it cost those VMs seconds.
 */
const BUSY_WRITES_PER_SECOND = 16;

export interface PaceState {
  at: number;
  pace: number;
  /** Writes in a row, each within BURST_WINDOW_MS of the one before. */
  streak: number;
}

/** Delay before a changed host's filter is written: coalescing while busy, and the host's own pace. */
export function writeDelay(busy: boolean, paceLeftMs: number): number {
  return Math.max(busy ? COALESCE_MS : 0, paceLeftMs);
}

/** Delay before writing a host again, given its last write (a few quick writes in a row are free). */
export function nextPace(now: number, last: PaceState | undefined, busy = true): number {
  if (!busy || !last || now - last.at >= BURST_WINDOW_MS || last.streak < PACE_AFTER_STREAK) return 0;
  return Math.min(PACE_MAX_MS, Math.max(PACE_MIN_MS, last.pace * 2));
}

export function desiredHostFilter(spec: HostFilterSpec, owner: { name: string; uid?: string }): HostFilter {
  return {
    apiVersion: API_VERSION,
    kind: 'HostFilter',
    metadata: {
      name: spec.hostName,
      labels: { 'vmsafe.io/host': spec.hostName },
      ownerReferences: owner.uid
        ? [{ apiVersion: API_VERSION, kind: 'Host', name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true }]
        : [],
    },
    spec,
  };
}

/**
 * JSON.stringify of a desired filter and of its spec, the spec serialized once: the object's text (its
 * size, the body of a create) and the spec's (the body of a patch) share it. The spec is the last member.
 */
export function hostFilterText(desired: HostFilter): { object: string; spec: string } {
  const { spec: s, ...head } = desired;
  const spec = JSON.stringify(s);
  return { object: `${JSON.stringify(head).slice(0, -1)},"spec":${spec}}`, spec };
}

export function hostFilterController(ctx: OperatorContext): Controller {
  const { world, feed, counters } = ctx;
  const rc = ctx.client.kind<HostFilter>('HostFilter');

  const countWrite = (host: string, bytes: number) => {
    counters.hostFilterWrites++;
    counters.hostFilterWritesByHost.set(host, (counters.hostFilterWritesByHost.get(host) ?? 0) + 1);
    counters.largestObjectBytes = Math.max(counters.largestObjectBytes, bytes);
  };

  /** Hash last written per host: our cache may not have seen our own write yet. */
  const written = new Map<string, string>();
  /** Serialized size of each host's current desired filter (a paced filter is checked many times). */
  const sizes = new Map<string, { hash: string; bytes: number }>();

  const reconcile = async (name: string, r: ReconcileContext) => {
    const host = world.hosts.get(name);
    const current = world.filters.get(name);
    const spec = host ? feed.compiler.spec(name) : undefined;
    if (!host || !spec) {
      // Host gone: the API server's garbage collector removes the filter through its ownerReference;
      // delete directly too in case the owner reference was lost.
      if (current && !host) {
        try {
          await rc.delete(name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      written.delete(name);
      sizes.delete(name);
      feed.tooLarge.clear(name);
      return;
    }
    if (current && current.spec.hash === spec.hash) {
      written.delete(name);
      feed.tooLarge.clear(name);
      feed.applied.wrote(name, spec.hash);
      return;
    }
    if (current && written.get(name) === spec.hash) return;
    // Refused once for its size: the same content would be refused again (a new hash is tried anew).
    if (feed.tooLarge.get(name)?.hash === spec.hash) return;
    // A shared group's shards go first: the agent must find the members of every group it programs.
    for (const g of spec.addressGroups) if (g.shared && !sharedGroupPresent(ctx, g.id)) return { requeueAfter: SHARDS_WAIT_MS };
    // Paced (see nextPace): other triggers (the agent's status write) must not bypass it.
    const paceWait = current ? paceLeft(name) : 0;
    if (paceWait > 0) return { requeueAfter: paceWait };
    const desired = desiredHostFilter(spec, { name, uid: host.metadata.uid as string | undefined });
    // Serialized once for its size and, if it goes out now, as the request body.
    let text = sizes.get(name)?.hash === spec.hash ? undefined : hostFilterText(desired);
    if (text) sizes.set(name, { hash: spec.hash, bytes: Buffer.byteLength(text.object) });
    const bytes = sizes.get(name)!.bytes;
    // Over the request limit it can never be written: not sent (a 1.5 MB request refused each time),
    // reported (see too-large.ts). The host keeps its last written filter, so what it enforced stays.
    if (bytes > REQUEST_LIMIT_BYTES) {
      // A tenant's own growth is refused, so that no tenant can stop the host taking everyone else's
      // changes; the compile that follows enqueues the host again.
      if (current && refuseCulprit(name, spec, current, bytes, r)) return; // recompiled, or our write's echo awaited
      return refuseTooLarge(name, { hash: spec.hash, bytes, limit: REQUEST_LIMIT_BYTES }, r);
    }
    const slot = flow.tryAcquire();
    if (slot === undefined) {
      // Woken when a slot frees (no polling: 512 hosts re-checking every few ms is its own load).
      waitingForSlot.add(name);
      return;
    }
    const started = performance.now();
    let failed = true;
    try {
      // The 160 KB the server returns is not parsed: the watch brings the object to the cache.
      text ??= hostFilterText(desired);
      if (!current) {
        await rc.create(desired, { discardResponse: true, bodyText: text.object });
        r.log.debug({ hash: spec.hash, bytes }, 'HostFilter created');
      } else {
        // Merge patch of the whole spec: the controller is the only writer of spec, so no precondition.
        await rc.patch(name, { spec }, 'merge', { discardResponse: true, bodyText: `{"spec":${text.spec}}` });
        r.log.debug({ hash: spec.hash, from: current.spec.hash, bytes }, 'HostFilter updated');
      }
      failed = false;
    } catch (err) {
      // The server's limit counts what it stores (metadata, status, managed fields): it may refuse a
      // filter under our estimate. Same state, with its message.
      const e = toApiError(err);
      if (!isTooLarge(e)) throw err;
      failed = false;
      return refuseTooLarge(name, { hash: spec.hash, bytes, limit: REQUEST_LIMIT_BYTES, serverMessage: e.message }, r);
    } finally {
      flow.release(slot, performance.now() - started, failed);
      wakeWaiters();
    }
    feed.tooLarge.clear(name);
    written.set(name, spec.hash);
    feed.applied.wrote(name, spec.hash);
    countWrite(name, bytes);
    const now = ctx.clock.now();
    const last = paced.get(name);
    const streak = last && now - last.at < BURST_WINDOW_MS ? last.streak + 1 : 1;
    paced.set(name, { at: now, pace: nextPace(now, last), streak });
    recentWrites.push(now);
  };

  /**
   * The tenant whose growth made `host`'s compiled filter too large (sizeCulprit), if any: its
   * policies on the host whose generation the written filter does not hold yet are refused (each keeps
   * its last accepted generation). Only against a written filter this term compiled (it knows which
   * generations that one holds); otherwise, and when nothing can be refused, false. True as well while
   * the cache lags our own last write: growth is measured from what the host has, and the echo
   * enqueues the host again.
   */
  const refuseCulprit = (host: string, spec: HostFilterSpec, current: HostFilter, bytes: number, r: ReconcileContext): boolean => {
    const ours = written.get(host);
    if (ours !== undefined && ours !== current.spec.hash) return true;
    if (!feed.applied.knowsEpoch(host, current.spec.hash)) return false;
    const tenantOf = (ns: string) => world.tenantOfNamespace(ns)?.metadata.name;
    const culprit = sizeCulprit(tenantShares(spec, tenantOf), tenantShares(current.spec, tenantOf), REQUEST_LIMIT_BYTES);
    if (culprit === undefined) return false;
    const pending: string[] = [];
    for (const key of feed.compiler.policiesOnHost(host)) {
      const p = world.policies.get(key);
      if (!p || tenantOf(p.metadata.namespace ?? '') !== culprit) continue;
      const at = feed.compiledAt(inputKey('SecurityPolicy', p.metadata), p.metadata.generation);
      if (at !== undefined && !feed.applied.includes(host, current.spec.hash, at)) pending.push(key);
    }
    const refused = feed.refusePolicies(pending.sort(), { host, bytes, limit: REQUEST_LIMIT_BYTES, tenant: culprit });
    if (refused.length === 0) return false;
    r.log.warn({ tenant: culprit, policies: refused, bytes, limit: REQUEST_LIMIT_BYTES }, 'policy generations refused: they make the HostFilter too large');
    return true;
  };

  const refuseTooLarge = (name: string, t: TooLargeFilter, r: ReconcileContext) => {
    const first = feed.tooLarge.get(name)?.hash !== t.hash;
    feed.tooLarge.set(name, t);
    if (!first) return;
    r.log.warn({ hash: t.hash, bytes: t.bytes, limit: t.limit }, 'HostFilter too large to write; the host keeps its last filter');
    const host = world.hosts.get(name);
    const kept = world.filters.get(name)?.spec.hash;
    if (host) ctx.events.event(host, 'Warning', 'FilterTooLarge', `${describeTooLarge(t)}: not written; ${kept ? `the host keeps filter ${kept}` : 'the host has no filter'}`);
  };

  /** Filter writes in flight, following the API server's response times. */
  const flow = new AdaptiveConcurrency({ initial: WRITES_INITIAL, max: WRITES_MAX, min: 1, slowMs: SLOW_WRITE_MS });
  /** Hosts whose write found no free slot, in arrival order: enqueued again as slots free. */
  const waitingForSlot = new Set<string>();
  const wakeWaiters = () => {
    let free = flow.limit - flow.inflight;
    for (const h of waitingForSlot) {
      if (free-- <= 0) break;
      waitingForSlot.delete(h);
      c.enqueue(h);
    }
  };
  /** When each host was last written, and the pace then (see nextPace). */
  const paced = new Map<string, PaceState>();
  /** Filter writes of the last second, oldest first (see BUSY_WRITES_PER_SECOND). */
  const recentWrites: number[] = [];
  const busy = (now: number) => {
    while (recentWrites.length > 0 && recentWrites[0]! <= now - 1000) recentWrites.shift();
    return recentWrites.length >= BUSY_WRITES_PER_SECOND;
  };
  /** How long `host` must still wait before its next write (0 = now). */
  const paceLeft = (host: string) => {
    const last = paced.get(host);
    if (!last) return 0;
    const now = ctx.clock.now();
    return Math.max(0, last.at + nextPace(now, last, busy(now)) - now);
  };

  const c = new Controller({ name: 'hostfilter', reconcile, workers: WRITES_MAX, logger: ctx.log, metrics: ctx.metrics, clock: ctx.clock });
  feed.onHostsChanged((hosts) => {
    const fast = busy(ctx.clock.now());
    for (const h of hosts) c.enqueueAfter(h, writeDelay(fast, paceLeft(h)));
  });
  // Someone else changed or deleted a filter: put it back (level-based).
  c.watchMapped(world.filters, (f) => [f.metadata.name]);
  c.watchMapped(world.hosts, (h) => [h.metadata.name]);
  return c;
}
