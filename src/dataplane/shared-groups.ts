// Live member sets of shared address groups, fed shard by shard (AddressGroup objects): what a
// classifier consults for a group too large to repeat in every HostFilter, like an ipset.
import type { AddressGroupShardSpec } from '../api';
import { parseCidr } from './ip';
import type { SharedGroups } from './types';

export class SharedGroupSets implements SharedGroups {
  private readonly sets = new Map<string, Set<number>>();
  /** Shard name → what it last contributed. */
  private readonly shards = new Map<string, { group: string; hash: string; ips: number[] }>();

  membersOf(id: string): ReadonlySet<number> {
    let s = this.sets.get(id);
    if (!s) this.sets.set(id, (s = new Set()));
    return s;
  }

  /** Shard name → content hash, for every shard held. */
  shardHashes(): Map<string, string> {
    return new Map([...this.shards].map(([name, s]) => [name, s.hash]));
  }

  /** Put a shard, or remove it (null). Returns the group whose members changed, if any. */
  put(name: string, spec: AddressGroupShardSpec | null): string | undefined {
    const old = this.shards.get(name);
    if (spec && old && old.group === spec.group && old.hash === spec.hash) return undefined;
    if (old) {
      const set = this.sets.get(old.group);
      // Shards of one group are disjoint (one /16 each), so removing this shard's members is exact.
      if (set) for (const ip of old.ips) set.delete(ip);
      this.shards.delete(name);
    }
    if (!spec) return old?.group;
    const ips: number[] = [];
    for (const a of spec.addresses) {
      const [lo, hi] = parseCidr(a);
      for (let ip = lo; ip <= hi; ip++) ips.push(ip);
    }
    const set = this.membersOf(spec.group) as Set<number>;
    for (const ip of ips) set.add(ip);
    this.shards.set(name, { group: spec.group, hash: spec.hash, ips });
    return spec.group;
  }

}
