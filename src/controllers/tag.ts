// Tag controller: counts of what carries the tag, and in-use protection: the finalizer keeps a
// deleted Tag until nothing references it (finalizer edits are JSON patches with a `test`).
import type { Tag } from '../api';
import { Controller, type ReconcileContext } from '../runtime/controller';
import type { OperatorContext } from './context';
import { reportInvalid } from './rejection';
import { decideTagStatus, inUse, type TagCounts } from './decide-counts';
import { TAG_FINALIZER } from './names';
import { hostTags, policyTags } from './world';

const COUNTS_COALESCE_MS = 1000;

/**
 * The Tag keys a VM event maps to: its tags on add/delete; on update, the old and the new tags when
 * the set changed (a reorder or a status-only update changes no count), else none.
 */
export function vmEventTags(a: { spec: { tags: string[] } }, b?: { spec: { tags: string[] } }): string[] {
  if (!b) return [...new Set(a.spec.tags)];
  const before = new Set(a.spec.tags);
  const after = new Set(b.spec.tags);
  if (before.size === after.size && [...before].every((t) => after.has(t))) return [];
  return [...new Set([...before, ...after])];
}

/** JSON patch that sets the finalizer list from `current` to `next`, failing if it moved meanwhile. */
export function finalizerPatch(current: string[] | undefined, next: string[]): unknown[] {
  if (current === undefined) return [{ op: 'add', path: '/metadata/finalizers', value: next }];
  return [
    { op: 'test', path: '/metadata/finalizers', value: current },
    { op: 'replace', path: '/metadata/finalizers', value: next },
  ];
}

export function tagController(ctx: OperatorContext): Controller {
  const { world } = ctx;
  const rc = ctx.client.kind<Tag>('Tag');

  const countsOf = (name: string): TagCounts => {
    let networks = 0;
    let hosts = 0;
    for (const h of world.hosts.byIndex('tag', name)) {
      if (h.spec.tags.includes(name)) hosts++;
      networks += h.spec.networks.filter((n) => n.tags.includes(name)).length;
    }
    return {
      hosts,
      networks,
      vms: world.vms.store.countByIndex('tag', name),
      tenants: world.tenants.store.countByIndex('tag', name),
      policies: world.policies.store.countByIndex('tag', name),
    };
  };

  const reconcile = async (name: string, r: ReconcileContext) => {
    const tag = world.tags.get(name);
    if (!tag) {
      const invalid = world.tags.getInvalid(name);
      if (invalid) await reportInvalid(ctx, invalid, r);
      return;
    }
    const counts = countsOf(name);
    const fins = tag.metadata.finalizers;
    const has = fins?.includes(TAG_FINALIZER) ?? false;
    if (tag.metadata.deletionTimestamp) {
      if (inUse(counts)) {
        const status = decideTagStatus(tag, counts, new Date(ctx.clock.now()));
        status.conditions = status.conditions?.map((c) =>
          c.type === 'InUse' ? { ...c, reason: 'DeletionBlocked', message: `deletion waits: ${c.message}` } : c,
        );
        await ctx.status.update('Tag', tag, status);
        return;
      }
      if (has) {
        await rc.patch(name, finalizerPatch(fins, fins!.filter((f) => f !== TAG_FINALIZER)), 'json');
        r.log.info('tag no longer referenced; finalizer removed');
      }
      return;
    }
    if (!has) await rc.patch(name, finalizerPatch(fins, [...(fins ?? []), TAG_FINALIZER]), 'json');
    await ctx.status.update('Tag', tag, decideTagStatus(tag, counts, new Date(ctx.clock.now())));
  };

  const c = new Controller({ name: 'tag', reconcile, workers: 2, logger: ctx.log, metrics: ctx.metrics, clock: ctx.clock });
  // The echo of our own status write changes nothing this reconcile reads.
  c.watchOwn(world.tags, { skipUpdate: (a, b) => ctx.status.isOwnEcho('Tag', a, b) });
  // Handlers only map events to Tag keys; the reconcile recounts from the indexes (level-based). Tags
  // are listed by their own informer: the first lists of the kinds below map to nothing new.
  const counts = { delayMs: COUNTS_COALESCE_MS, skipInitialList: true };
  c.watchMapped(world.vms, (v) => vmEventTags(v), { ...counts, onUpdate: (a, b) => vmEventTags(a, b).length > 0 });
  c.watchMapped(world.hosts, hostTags, counts);
  c.watchMapped(world.tenants, (t) => t.spec.placementTags, counts);
  c.watchMapped(world.policies, policyTags, counts);
  return c;
}
