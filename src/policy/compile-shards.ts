// Shared address groups' shards: a group with at least `sharedGroupMinAddresses` members is named by
// id in the HostFilters, and its members are written as cluster-scoped AddressGroup objects, one per
// /16. This table owns those shards: which exist, their content, which changed since the controller
// last looked (drain), and the groups currently shared, by id.
import type { AddressGroupShardSpec } from '../api';
import { contentHash, contentId, toCidrs } from './addresses';
import type { GroupEntry, Shard } from './compile-units';
import { selectorKey } from './selector';

export class ShardTable {
  /** Shards of shared groups by object name. */
  private readonly byName = new Map<string, AddressGroupShardSpec>();
  /** Shards touched since the last drain → their spec then (a group dropped and rebuilt in one apply touches but may not change them). */
  private dirty = new Map<string, AddressGroupShardSpec | undefined>();
  /** Shared groups by id. */
  private readonly sharedById = new Map<string, GroupEntry>();

  /** `tenantName`: a tenant's name from its interned id (shared ids are built from names). */
  constructor(private readonly tenantName: (id: number) => string | null | undefined) {}

  all(): ReadonlyMap<string, AddressGroupShardSpec> {
    return this.byName;
  }

  get(name: string): AddressGroupShardSpec | undefined {
    return this.byName.get(name);
  }

  /** Names of the shards of shared group `id` now. */
  namesOf(id: string): string[] {
    const g = this.sharedById.get(id);
    return g?.shards ? [...g.shards.values()].map((s) => s.name) : [];
  }

  /** Shard names created, changed or gone since the last call. */
  drain(): string[] {
    const out: string[] = [];
    for (const [name, then] of this.dirty) if (then?.hash !== this.byName.get(name)?.hash) out.push(name);
    this.dirty = new Map();
    return out.sort();
  }

  /** `g` is shared under its id from now on. */
  share(g: GroupEntry): string {
    const id = this.sharedIdOf(g);
    this.sharedById.set(id, g);
    return id;
  }

  /** Rebuild a shared group's changed /16 shards and record those whose members changed. */
  update(g: GroupEntry): void {
    // All /16s when newly shared or fully collected, else only those whose members moved.
    const tops = g.shards !== null && g.dirtyTops !== null ? g.dirtyTops : new Set([...g.members.tops(), ...(g.shards?.keys() ?? [])]);
    const shards = (g.shards ??= new Map<number, Shard>());
    const id = this.sharedIdOf(g);
    for (const top of tops) {
      const prev = shards.get(top);
      if (!g.members.hasTop(top)) {
        if (prev) this.remove(prev.name);
        shards.delete(top);
        continue;
      }
      const ips = Uint32Array.from(g.sortedIps(top));
      if (prev && prev.ips.length === ips.length && prev.ips.every((v, k) => v === ips[k])) continue;
      const addresses = toCidrs(ips);
      const name = `${id}-${top >>> 8}-${top & 255}`;
      const spec: AddressGroupShardSpec = { group: id, prefix: `${top >>> 8}.${top & 255}.0.0/16`, addresses, hash: contentHash(addresses.join(',')) };
      shards.set(top, { name, ips, spec });
      this.touch(name);
      this.byName.set(name, spec);
    }
  }

  /** A group no longer shared: its shards go. */
  drop(g: GroupEntry): void {
    if (!g.shards) return;
    for (const sh of g.shards.values()) this.remove(sh.name);
    g.shards = null;
    this.sharedById.delete(g.group.id);
  }

  /** A shared group's id: from its definition in names (tenant ids are interning order, not identity). */
  private sharedIdOf(g: GroupEntry): string {
    if (g.sharedId === undefined) {
      const { tenants, tags, selector } = g.def;
      const names = tenants === null ? '*' : tenants.map((t) => this.tenantName(t) ?? '').sort().join(',');
      g.sharedId = contentId('ags-', `shared\n${names}|${tags.join(',')}|${selectorKey(selector)}`);
    }
    return g.sharedId;
  }

  private touch(name: string): void {
    if (!this.dirty.has(name)) this.dirty.set(name, this.byName.get(name));
  }

  private remove(name: string): void {
    this.touch(name);
    this.byName.delete(name);
  }
}
