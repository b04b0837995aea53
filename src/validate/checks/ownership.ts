// Address ownership (issue 12): tenants' addressBlocks do not overlap, a vNIC's IP lies inside its
// tenant's blocks, no IP is bound by two vNICs (on different networks too: policies match peers by
// address alone). The rules are src/policy/ownership.ts; this turns them into findings.
import { addressOwnership, blockOverlaps } from '../../policy/ownership';
import { findingAt, type Finding } from '../finding';
import type { Model } from '../model';

export function checkOwnership(model: Model): Finding[] {
  const out: Finding[] = [];
  const tenants = [...model.tenants.values()];
  for (const o of blockOverlaps(tenants.map((t) => t.value)))
    out.push(findingAt(model.tenants.get(o.tenant)!.src, ['spec', 'addressBlocks', o.index], `${o.block} overlaps ${o.otherBlock} of Tenant "${o.otherTenant}"`));
  // A tenant without blocks is worth a warning once blocks are in use (it can take any address the
  // others do not own); in a world without any blocks addresses are unowned and first-binder only.
  const anyBlocks = tenants.some((t) => t.value.spec.addressBlocks?.length);
  for (const t of tenants)
    if (anyBlocks && !t.value.spec.addressBlocks?.length)
      out.push(findingAt(t.src, ['spec'], "no addressBlocks: its vNICs may use only addresses outside every other tenant's blocks", 'warning'));

  const vms = model.vms.map((e) => e.value);
  const srcOf = new Map(model.vms.map((e) => [`${e.value.metadata.namespace}/${e.value.metadata.name}`, e]));
  const r = addressOwnership(tenants.map((t) => t.value), vms, (ns) => model.tenantOfNamespace.get(ns));
  for (const refusal of r.refused.values()) {
    const e = srcOf.get(refusal.vm)!;
    // A VM outside any tenant is already an error (checkTenancy); a conflict on the same network is
    // the duplicate-IP error of checkAddresses. Neither is said twice.
    if (refusal.message.includes('belongs to no Tenant')) continue;
    if (refusal.reason === 'AddressConflict') {
      const holder = r.holders.get(refusal.ip)!;
      const holderNic = srcOf.get(holder.vm)!.value.spec.vnics.find((n) => n.name === holder.vnic)!;
      if (holderNic.network === e.value.spec.vnics[refusal.index]!.network) continue;
    }
    out.push(findingAt(e.src, ['spec', 'vnics', refusal.index, 'ip'], `${refusal.reason}: ${refusal.message}`));
  }
  return out;
}
