// HostFilter controller: one filter per Host, compiled incrementally; written only when its content
// hash changes, owned by its Host (garbage-collected with it).
import { API_VERSION, type HostFilter, type HostFilterSpec } from '../api';
import { isNotFound } from '../runtime/errors';
import { Controller, type ReconcileContext } from '../runtime/controller';
import type { OperatorContext } from './context';

/** Coalesce bursts (cold start: thousands of VM bindings a second) into one write per host. */
const COALESCE_MS = 20;

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
      return;
    }
    if (current && current.spec.hash === spec.hash) {
      written.delete(name);
      return;
    }
    if (current && written.get(name) === spec.hash) return;
    const desired = desiredHostFilter(spec, { name, uid: host.metadata.uid as string | undefined });
    const bytes = Buffer.byteLength(JSON.stringify(desired));
    if (!current) {
      await rc.create(desired);
      r.log.debug({ hash: spec.hash, bytes }, 'HostFilter created');
    } else {
      // Merge patch of the whole spec: the controller is the only writer of spec, so no precondition.
      await rc.patch(name, { spec });
      r.log.debug({ hash: spec.hash, from: current.spec.hash, bytes }, 'HostFilter updated');
    }
    written.set(name, spec.hash);
    countWrite(name, bytes);
  };

  const c = new Controller({ name: 'hostfilter', reconcile, workers: 4, logger: ctx.log, metrics: ctx.metrics, clock: ctx.clock });
  feed.onHostsChanged((hosts) => {
    for (const h of hosts) c.enqueueAfter(h, COALESCE_MS);
  });
  // Someone else changed or deleted a filter: put it back (level-based).
  c.watchMapped(world.filters, (f) => [f.metadata.name]);
  c.watchMapped(world.hosts, (h) => [h.metadata.name]);
  return c;
}
