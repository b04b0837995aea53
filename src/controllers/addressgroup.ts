// AddressGroup controller: the shards of shared address groups (see PolicyCompiler) as objects,
// created, updated or deleted to match the compiler; HostFilters naming a group wait for its shards
// (hostfilter.ts), so an agent never programs a rule against a group it cannot see yet.
import { API_VERSION, type AddressGroupShard, type AddressGroupShardSpec } from '../api';
import { Controller } from '../runtime/controller';
import { isNotFound } from '../runtime/errors';
import type { OperatorContext } from './context';

export const ADDRESS_GROUP_LABEL = 'vmsafe.io/address-group';

/**
 * Coalesce a burst of membership changes (cold start: VMs landing by the thousand) into one write per
 * shard every BUSY_COALESCE_MS; a shard quiet for QUIET_AFTER_MS is written after COALESCE_MS (a VM
 * created in a new /16 waits for its shard before its host's filter can name the group).
 */
const COALESCE_MS = 20;
const BUSY_COALESCE_MS = 200;
const QUIET_AFTER_MS = 1000;

export function desiredAddressGroup(name: string, spec: AddressGroupShardSpec): AddressGroupShard {
  return { apiVersion: API_VERSION, kind: 'AddressGroup', metadata: { name, labels: { [ADDRESS_GROUP_LABEL]: spec.group } }, spec };
}

export function addressGroupController(ctx: OperatorContext): Controller {
  const { world, feed, counters } = ctx;
  const rc = ctx.client.kind<AddressGroupShard>('AddressGroup');
  /** Hash last written per shard: our cache may not have seen our own write yet. */
  const written = ctx.writtenShards;
  /** When each shard was last written by us (a quiet shard is written sooner; see COALESCE_MS). */
  const lastWrite = new Map<string, number>();

  const reconcile = async (name: string) => {
    const desired = feed.compiler.shard(name);
    const current = world.addressGroups.get(name);
    if (!desired) {
      written.delete(name);
      lastWrite.delete(name);
      if (!current) return;
      try {
        await rc.delete(name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      return;
    }
    if (current?.spec.hash === desired.hash) {
      written.set(name, desired.hash);
      return;
    }
    if (current && written.get(name) === desired.hash) return;
    const obj = desiredAddressGroup(name, desired);
    if (!current) await rc.create(obj);
    else await rc.patch(name, { spec: desired });
    written.set(name, desired.hash);
    lastWrite.set(name, ctx.clock.now());
    counters.addressGroupWrites++;
    counters.largestObjectBytes = Math.max(counters.largestObjectBytes, Buffer.byteLength(JSON.stringify(obj)));
  };

  const c = new Controller({ name: 'addressgroup', reconcile, workers: 4, logger: ctx.log, metrics: ctx.metrics, clock: ctx.clock });
  feed.onShardsChanged((names) => {
    const now = ctx.clock.now();
    for (const n of names) {
      const last = lastWrite.get(n);
      c.enqueueAfter(n, last !== undefined && now - last < QUIET_AFTER_MS ? BUSY_COALESCE_MS : COALESCE_MS);
    }
  });
  // Someone else changed or deleted a shard, or one is left from an earlier term: level-based repair.
  c.watchMapped(world.addressGroups, (g) => [g.metadata.name]);
  return c;
}

/** Whether every shard of shared group `id` exists (written by us or seen in the cache). */
export function sharedGroupPresent(ctx: OperatorContext, id: string): boolean {
  for (const name of ctx.feed.compiler.shardNamesOf(id)) if (!ctx.writtenShards.has(name) && !ctx.world.addressGroups.get(name)) return false;
  return true;
}
