// A tenant whose manifests already exceed its quota: the operator would refuse the excess VMs.
import { findingAt, type Finding } from '../finding';
import type { Model } from '../model';

export function checkQuota(model: Model): Finding[] {
  const vms = new Map<string, number>();
  const vnics = new Map<string, number>();
  for (const v of model.vms) {
    const t = model.tenantOfNamespace.get(v.value.metadata.namespace!);
    if (t === undefined) continue;
    vms.set(t, (vms.get(t) ?? 0) + 1);
    vnics.set(t, (vnics.get(t) ?? 0) + v.value.spec.vnics.length);
  }
  const out: Finding[] = [];
  for (const [name, t] of model.tenants) {
    const q = t.value.spec.quota;
    const nVms = vms.get(name) ?? 0;
    const nNics = vnics.get(name) ?? 0;
    if (q?.vms !== undefined && nVms > q.vms)
      out.push(findingAt(t.src, ['spec', 'quota', 'vms'], `${nVms} VMs in the manifests exceed the quota of ${q.vms}`, 'warning'));
    if (q?.vnics !== undefined && nNics > q.vnics)
      out.push(findingAt(t.src, ['spec', 'quota', 'vnics'], `${nNics} vNICs in the manifests exceed the quota of ${q.vnics}`, 'warning'));
  }
  return out;
}
