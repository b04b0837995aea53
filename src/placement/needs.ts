// From API objects to the placement model: a VM's required tags and needs, a host's offer.
import type { HostLike, HostState, Resources, TagLike, TenantLike, VmLike, VmNeeds } from './types';

export const DEFAULT_CAPACITY: Readonly<Resources> = { vms: 320, vnics: 3200 };

export interface RequiredTags {
  /** Sorted, unique. */
  tags: string[];
  /** VM tags without a Tag object (treated as Required so an unknown tag never loosens placement). Sorted. */
  unknown: string[];
}

/**
 * A VM's required tags: its tenant's placementTags (always required, whatever the Tag says) plus the
 * VM's own tags whose Tag has enforcement Required. A VM tag that names no Tag is treated as Required
 * and reported, because a typo must not silently lift a constraint.
 */
export function requiredTags(
  vm: VmLike,
  tenant: TenantLike | undefined,
  tagsByName: ReadonlyMap<string, TagLike>,
): RequiredTags {
  const tags = new Set<string>(tenant?.spec.placementTags ?? []);
  const unknown: string[] = [];
  for (const t of vm.spec.tags ?? []) {
    const tag = tagsByName.get(t);
    if (!tag) {
      unknown.push(t);
      tags.add(t);
    } else if ((tag.spec.enforcement ?? 'Required') === 'Required') tags.add(t);
  }
  return { tags: [...tags].sort(), unknown: [...new Set(unknown)].sort() };
}

/** Everything placement needs to know about a VM, computed once. */
export function vmNeeds(vm: VmLike, tenant: TenantLike | undefined, tagsByName: ReadonlyMap<string, TagLike>): VmNeeds {
  const req = requiredTags(vm, tenant, tagsByName);
  const networks = [...new Set(vm.spec.vnics.map((n) => n.network))].sort();
  const needs: VmNeeds = {
    key: `${vm.metadata.namespace ?? ''}/${vm.metadata.name}`,
    required: req.tags,
    unknownTags: req.unknown,
    networks,
    vnics: vm.spec.vnics.length,
  };
  if (vm.spec.hostName) needs.pinnedHost = vm.spec.hostName;
  return needs;
}

/** Ready condition True. */
export function isHostReady(host: HostLike): boolean {
  return host.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * The placement view of a Host. `ready` defaults to its Ready condition and `allocated` to
 * status.allocated; the VM controller passes its own live counts (VMs bound or migrating here).
 */
export function hostState(host: HostLike, opts: { ready?: boolean; allocated?: Resources } = {}): HostState {
  const networks = new Map<string, ReadonlySet<string>>();
  for (const n of host.spec.networks ?? []) networks.set(n.name, new Set(n.tags ?? []));
  return {
    name: host.metadata.name,
    ready: opts.ready ?? isHostReady(host),
    unschedulable: host.spec.unschedulable ?? false,
    tags: new Set(host.spec.tags ?? []),
    networks,
    capacity: {
      vms: host.spec.capacity?.vms ?? DEFAULT_CAPACITY.vms,
      vnics: host.spec.capacity?.vnics ?? DEFAULT_CAPACITY.vnics,
    },
    allocated: { ...(opts.allocated ?? host.status?.allocated ?? { vms: 0, vnics: 0 }) },
  };
}
