// Every Tag and Tenant named anywhere must exist.
import type { Peer, SecurityPolicy } from '../../api';
import type { FieldPath } from '../../manifests/load';
import { findingAt, type Finding } from '../finding';
import type { Entry, Model } from '../model';

type Ref = { path: FieldPath; name: string };

function list(names: readonly string[] | undefined, base: FieldPath): Ref[] {
  return (names ?? []).map((name, i) => ({ path: [...base, i], name }));
}

/** Tag and Tenant names a policy mentions, with their field paths. */
function policyRefs(p: SecurityPolicy): { tags: Ref[]; tenants: Ref[] } {
  const tags = list(p.spec.appliesTo.tags, ['spec', 'appliesTo', 'tags']);
  const tenants = list(p.spec.appliesTo.tenants, ['spec', 'appliesTo', 'tenants']);
  for (const dir of ['ingress', 'egress'] as const) {
    p.spec[dir].forEach((rule, r) =>
      rule.peers.forEach((peer: Peer, i) => {
        const base = ['spec', dir, r, 'peers', i];
        tags.push(...list(peer.vms?.tags, [...base, 'vms', 'tags']));
        tenants.push(...list(peer.vms?.tenants, [...base, 'vms', 'tenants']));
        tenants.push(...list(peer.tenants, [...base, 'tenants']));
      }),
    );
  }
  return { tags, tenants };
}

export function checkReferences(model: Model): Finding[] {
  const out: Finding[] = [];
  const tagRefs = (e: Entry<unknown>, refs: Ref[]) => {
    for (const r of refs) if (!model.tags.has(r.name)) out.push(findingAt(e.src, r.path, `unknown Tag "${r.name}"`));
  };
  const tenantRefs = (e: Entry<unknown>, refs: Ref[]) => {
    for (const r of refs) if (!model.tenants.has(r.name)) out.push(findingAt(e.src, r.path, `unknown Tenant "${r.name}"`));
  };
  for (const t of model.tenants.values()) tagRefs(t, list(t.value.spec.placementTags, ['spec', 'placementTags']));
  for (const h of model.hosts.values()) {
    tagRefs(h, list(h.value.spec.tags, ['spec', 'tags']));
    h.value.spec.networks.forEach((n, i) => tagRefs(h, list(n.tags, ['spec', 'networks', i, 'tags'])));
  }
  for (const v of model.vms) tagRefs(v, list(v.value.spec.tags, ['spec', 'tags']));
  for (const p of model.policies) {
    const refs = policyRefs(p.value);
    tagRefs(p, refs.tags);
    tenantRefs(p, refs.tenants);
  }
  return out;
}
