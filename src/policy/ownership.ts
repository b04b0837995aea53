// Who owns what (issue 12), as pure functions of the objects: which Tenant owns a namespace, which
// vNIC may be bound to its address. The operator, `vmsafe validate` and the offline paths ask these.
//
// Decisions (DESIGN rule 0 and issue 12; documented in the README "Ownership" section):
// - Order of claims: creationTimestamp, then name (offline manifests carry no timestamps, so name
//   order decides there). An object without a timestamp comes after every one with one.
// - Namespaces: the first Tenant to claim a namespace keeps it; later claimants get a conflict.
// - Addresses: a vNIC's IP must lie inside its tenant's addressBlocks (AddressNotOwned otherwise).
//   A Tenant without blocks (compatibility) may use only addresses outside every other tenant's
//   blocks: a tenant that owns a block never loses an address to one that owns none. A VM whose
//   namespace no tenant owns owns no address.
// - Of the vNICs that pass that test, the first binder of an IP keeps it (VM order as above, then
//   vNIC order); every later one is AddressConflict. A vNIC that failed the block test never takes
//   an address away from anyone.
import type { Tenant, VM } from '../api';
import { parseCidr, parseIPv4 } from '../dataplane/ip';

type Meta = { metadata: { name: string; namespace?: string; creationTimestamp?: string } };

/** Oldest first; no timestamp = after all that have one; then namespace/name. */
export function byCreation(a: Meta, b: Meta): number {
  const ta = a.metadata.creationTimestamp;
  const tb = b.metadata.creationTimestamp;
  if (ta !== tb) {
    if (ta === undefined) return 1;
    if (tb === undefined) return -1;
    const d = Date.parse(ta) - Date.parse(tb);
    if (d) return d; // 0 or NaN (unparsable): fall back to the text
    return ta < tb ? -1 : 1;
  }
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

// ---------------------------------------------------------------- namespaces
/** A tenant's namespaces: spec.namespaces, or one named after the tenant. */
export const claimedNamespaces = (t: Tenant): string[] => (t.spec.namespaces?.length ? t.spec.namespaces : [t.metadata.name]);

export interface NamespaceConflict {
  tenant: string;
  namespace: string;
  /** The tenant that keeps it. */
  owner: string;
}

export interface NamespaceOwnership {
  owners: Map<string, string>;
  conflicts: NamespaceConflict[];
}

/** First claimant keeps each namespace; the provider namespace belongs to no tenant. */
export function namespaceOwnership(tenants: readonly Tenant[], providerNamespace: string): NamespaceOwnership {
  const owners = new Map<string, string>();
  const conflicts: NamespaceConflict[] = [];
  for (const t of [...tenants].sort(byCreation)) {
    for (const ns of claimedNamespaces(t)) {
      if (ns === providerNamespace) continue;
      const owner = owners.get(ns);
      if (owner === undefined) owners.set(ns, t.metadata.name);
      else if (owner !== t.metadata.name) conflicts.push({ tenant: t.metadata.name, namespace: ns, owner });
    }
  }
  return { owners, conflicts };
}

// ---------------------------------------------------------------- address blocks
export interface BlockOverlap {
  tenant: string;
  index: number;
  block: string;
  /** The other tenant's block it overlaps (the other tenant is the older claimant). */
  otherTenant: string;
  otherIndex: number;
  otherBlock: string;
}

/** Blocks of different tenants that share an address; reported on the later tenant. */
export function blockOverlaps(tenants: readonly Tenant[]): BlockOverlap[] {
  // Every block in claim order; each is checked against the earlier ones through an index sorted by
  // start (all pairs would be 40,000 x 40,000 at datacenter scale).
  const all: { tenant: string; index: number; block: string; lo: number; hi: number; order: number }[] = [];
  for (const t of [...tenants].sort(byCreation))
    (t.spec.addressBlocks ?? []).forEach((block, index) => {
      const [lo, hi] = parseCidr(block);
      all.push({ tenant: t.metadata.name, index, block, lo, hi, order: all.length });
    });
  const byStart = [...all].sort((a, b) => a.lo - b.lo || a.order - b.order);
  const maxHi: number[] = [];
  for (let i = 0; i < byStart.length; i++) maxHi.push(Math.max(byStart[i]!.hi, i > 0 ? maxHi[i - 1]! : -Infinity));
  const out: BlockOverlap[] = [];
  for (const b of all) {
    let lo = 0;
    let hi = byStart.length; // first index starting after b ends
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byStart[mid]!.lo <= b.hi) lo = mid + 1;
      else hi = mid;
    }
    const earlier: typeof all = [];
    for (let i = lo - 1; i >= 0 && maxHi[i]! >= b.lo; i--) {
      const o = byStart[i]!;
      if (o.order < b.order && o.tenant !== b.tenant && o.hi >= b.lo) earlier.push(o);
    }
    earlier.sort((x, y) => x.order - y.order);
    for (const o of earlier) out.push({ tenant: b.tenant, index: b.index, block: b.block, otherTenant: o.tenant, otherIndex: o.index, otherBlock: o.block });
  }
  return out;
}

// ---------------------------------------------------------------- vNIC addresses
export type AddressReason = 'AddressNotOwned' | 'AddressConflict';

export interface AddressRefusal {
  /** "namespace/name" of the VM, vNIC name and index, the address. */
  vm: string;
  vnic: string;
  index: number;
  ip: string;
  reason: AddressReason;
  message: string;
}

/** Key of a (vm, vnic) in the result maps. */
export const vnicKey = (vm: string, vnic: string): string => `${vm}\u0000${vnic}`;

export interface AddressOwnership {
  /** ip → the vNIC that holds it ("ns/name" and vNIC name). */
  holders: Map<string, { vm: string; vnic: string }>;
  /** The vNICs that may not be bound, by vnicKey. */
  refused: Map<string, AddressRefusal>;
}

/**
 * Which vNIC addresses are bindable. `tenantOfNamespace` is the namespace owner (see
 * namespaceOwnership). Every vNIC of every VM given is judged: callers pass the VMs that want
 * binding (e.g. placed ones); the result never depends on input order.
 */
export function addressOwnership(
  tenants: readonly Tenant[],
  vms: readonly VM[],
  tenantOfNamespace: (ns: string) => string | null | undefined,
): AddressOwnership {
  const blocksOf = new Map<string, Block[]>();
  for (const t of tenants) blocksOf.set(t.metadata.name, tenantBlocks(t));
  // Asked only for a tenant without blocks, so any block found is another tenant's.
  const anyBlock = blockIndex(blocksOf);
  const otherBlock = (_tenant: string, ip: number) => anyBlock(ip);

  const holders = new Map<string, { vm: string; vnic: string }>();
  const refused = new Map<string, AddressRefusal>();
  for (const vm of [...vms].sort(byCreation)) {
    const key = `${vm.metadata.namespace ?? ''}/${vm.metadata.name}`;
    const tenant = tenantOfNamespace(vm.metadata.namespace ?? '') ?? null;
    vm.spec.vnics.forEach((nic, index) => {
      const refuse = (reason: AddressReason, message: string) => refused.set(vnicKey(key, nic.name), { vm: key, vnic: nic.name, index, ip: nic.ip, reason, message });
      const notOwned = blockRefusal(vm.metadata.namespace ?? '', nic.ip, tenant, tenant === null ? [] : (blocksOf.get(tenant) ?? []), otherBlock);
      if (notOwned) return refuse('AddressNotOwned', notOwned);
      const holder = holders.get(nic.ip);
      if (holder) return refuse('AddressConflict', conflictMessage(nic.ip, holder));
      holders.set(nic.ip, { vm: key, vnic: nic.name });
    });
  }
  return { holders, refused };
}

// ---------------------------------------------------------------- shared by the batch and incremental forms
export interface Block {
  block: string;
  range: [number, number];
}

export const tenantBlocks = (t: Tenant): Block[] => (t.spec.addressBlocks ?? []).map((block) => ({ block, range: parseCidr(block) }));

/**
 * Why a vNIC of a VM in `namespace` may not use `ipText` by the block rules (null: it may). `own` are
 * the blocks of the VM's tenant (null tenant: no tenant owns the namespace); `otherBlock` finds a block
 * of another tenant holding the address.
 */
export function blockRefusal(
  namespace: string,
  ipText: string,
  tenant: string | null,
  own: readonly Block[],
  otherBlock: (tenant: string, ip: number) => { tenant: string; block: string } | undefined,
): string | null {
  if (tenant === null) return `${ipText}: namespace "${namespace}" belongs to no Tenant`;
  const ip = parseIPv4(ipText);
  if (own.length > 0) {
    if (own.some((b) => ip >= b.range[0] && ip <= b.range[1])) return null;
    return `${ipText} is outside Tenant "${tenant}"'s addressBlocks (${own.map((b) => b.block).join(', ')})`;
  }
  const b = otherBlock(tenant, ip);
  return b ? `${ipText} is inside Tenant "${b.tenant}"'s addressBlock ${b.block}` : null;
}

export const conflictMessage = (ip: string, holder: { vm: string; vnic: string }): string => `${ip} is already bound by ${holder.vm} (${holder.vnic})`;

/** The tenant that owns a namespace among those claiming it: the first by creation (then name). */
export function firstClaimant<T extends Meta>(claimants: Iterable<T>): T | undefined {
  let best: T | undefined;
  for (const t of claimants) if (best === undefined || byCreation(t, best) < 0) best = t;
  return best;
}

/**
 * The first block (in tenant order, then block order) that contains an address, in O(log n) for
 * disjoint blocks: a tenant without blocks asks this for each of its vNICs, and a scan of every
 * tenant's blocks per vNIC is quadratic at datacenter scale (40,000 tenants x 70,000 vNICs).
 */
export function blockIndex(blocksOf: ReadonlyMap<string, readonly Block[]>): (ip: number) => { tenant: string; block: string } | undefined {
  const all: { tenant: string; block: string; lo: number; hi: number; order: number }[] = [];
  for (const [tenant, blocks] of blocksOf) blocks.forEach((b, i) => all.push({ tenant, block: b.block, lo: b.range[0], hi: b.range[1], order: i }));
  // Overlapping blocks (validate reports them): the answer is the first by tenant name, then by the
  // tenant's own block order, so it does not depend on the order tenants were seen in (a batch and the
  // incremental book agree).
  all.sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : a.order - b.order));
  all.forEach((x, i) => (x.order = i));
  all.sort((a, b) => a.lo - b.lo || a.order - b.order);
  // maxHi[i]: the highest end among all[0..i], so the backward scan stops once nothing earlier can reach ip.
  const maxHi: number[] = [];
  for (let i = 0; i < all.length; i++) maxHi.push(Math.max(all[i]!.hi, i > 0 ? maxHi[i - 1]! : -Infinity));
  return (ip) => {
    let lo = 0;
    let hi = all.length; // first index with start > ip
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]!.lo <= ip) lo = mid + 1;
      else hi = mid;
    }
    let best: (typeof all)[number] | undefined;
    for (let i = lo - 1; i >= 0 && maxHi[i]! >= ip; i--) if (all[i]!.hi >= ip && (!best || all[i]!.order < best.order)) best = all[i];
    return best;
  };
}
