// Who owns what: namespaces belong to one tenant, VMs live in tenant namespaces, policy tiers stay
// in their namespaces, and a Tenant-tier policy selects only its own tenant's VMs.
import { findingAt, type Finding } from '../finding';
import { namespacesOf, type Model } from '../model';

export function checkTenancy(model: Model): Finding[] {
  const out: Finding[] = [];
  const owner = new Map<string, string>();
  for (const t of model.tenants.values()) {
    const explicit = t.value.spec.namespaces && t.value.spec.namespaces.length > 0;
    namespacesOf(t.value).forEach((ns, i) => {
      const path = explicit ? ['spec', 'namespaces', i] : ['metadata', 'name'];
      const first = owner.get(ns);
      if (first !== undefined)
        out.push(findingAt(t.src, path, `namespace "${ns}" is already owned by Tenant "${first}"`));
      else if (ns === model.providerNamespace)
        out.push(findingAt(t.src, path, `namespace "${ns}" is the provider namespace and cannot belong to a tenant`));
      else owner.set(ns, t.value.metadata.name);
    });
  }

  for (const v of model.vms) {
    const ns = v.value.metadata.namespace!;
    if (!model.tenantOfNamespace.has(ns))
      out.push(findingAt(v.src, ['metadata', 'namespace'], `namespace "${ns}" is not owned by any Tenant`));
  }

  for (const p of model.policies) {
    const ns = p.value.metadata.namespace!;
    const tier = p.value.spec.tier;
    if (tier !== 'Tenant') {
      if (ns !== model.providerNamespace)
        out.push(findingAt(p.src, ['spec', 'tier'], `tier ${tier} is only allowed in the provider namespace "${model.providerNamespace}"`));
      continue;
    }
    const tenant = model.tenantOfNamespace.get(ns);
    if (tenant === undefined) {
      const why = ns === model.providerNamespace ? 'the provider namespace holds only Provider and Baseline policies' : 'no Tenant owns it';
      out.push(findingAt(p.src, ['metadata', 'namespace'], `a Tenant-tier policy must live in a tenant namespace; "${ns}": ${why}`));
      continue;
    }
    (p.value.spec.appliesTo.tenants ?? []).forEach((name, i) => {
      if (name !== tenant)
        out.push(findingAt(p.src, ['spec', 'appliesTo', 'tenants', i], `a Tenant-tier policy of tenant "${tenant}" may only select its own VMs, not tenant "${name}"`));
    });
  }
  return out;
}
