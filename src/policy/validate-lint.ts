// The rule lint as a `vmsafe validate` linter: findings are warnings on the policy's field.
import { parseFieldPath } from '../manifests/load';
import { findingAt, type Finding } from '../validate/finding';
import type { Model } from '../validate/model';
import { lintPolicies } from './lint';

export function policyLinter(model: Model): Finding[] {
  const byKey = new Map(model.policies.map((e) => [`${e.value.metadata.namespace ?? ''}/${e.value.metadata.name}`, e]));
  const findings = lintPolicies({
    tenants: [...model.tenants.values()].map((e) => e.value),
    policies: model.policies.map((e) => e.value),
    vms: model.vms.map((e) => e.value),
    providerNamespace: model.providerNamespace,
  });
  const out: Finding[] = [];
  for (const f of findings) {
    const entry = byKey.get(f.policy);
    if (entry) out.push(findingAt(entry.src, parseFieldPath(f.path), f.message, 'warning'));
  }
  return out;
}
