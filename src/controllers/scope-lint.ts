// Lint warnings of a policy scope (a tenant's namespaces, or the provider namespace), reused while the
// scope's inputs are the very objects it was computed from.
//
// Why: the SecurityPolicy controller lints a policy together with its scope on every reconcile, and at
// a cold start each policy is reconciled 2-3 times while its realization moves: at vmworld 2.5 s of
// the operator's 55 s through the status storm, each time building an Inventory for the same specs.
// A status write's echo keeps the cached spec object (informer: shareUnchangedSpec), so identical
// references mean identical inputs; any spec, name or owner change computes afresh.
import type { SecurityPolicy, Tenant } from '../api';
import { lintPolicies, policyWarnings } from '../policy/lint';
import { LruMap } from '../util/lru-map';

/** Scopes remembered (oldest dropped first): one per tenant with policies at vmworld is 40,000. */
const SCOPES_KEPT = 50_000;
/** What a scope without warnings keeps: one shared empty map, not one of ~180 bytes per scope. */
const NO_WARNINGS: ReadonlyMap<string, readonly string[]> = new Map();

export class ScopeLint {
  private readonly memo = new LruMap<string, { inputs: unknown[]; warnings: ReadonlyMap<string, readonly string[]> }>();

  constructor(
    private readonly providerNamespace: string,
    private readonly limit = SCOPES_KEPT,
  ) {}

  /** Warnings by policy key ("namespace/name") for `policies` linted with their owner `owner`. */
  warnings(scope: string, owner: Tenant | undefined, policies: readonly SecurityPolicy[]): ReadonlyMap<string, readonly string[]> {
    // Everything lintPolicies reads: the owner's name and spec, each policy's namespace, name and spec.
    const inputs: unknown[] = [owner?.metadata.name, owner?.spec];
    for (const p of policies) inputs.push(p.metadata.namespace, p.metadata.name, p.spec);
    const kept = this.memo.get(scope);
    if (kept && sameRefs(kept.inputs, inputs)) return kept.warnings;
    const found = policyWarnings(lintPolicies({ tenants: owner ? [owner] : [], policies, providerNamespace: this.providerNamespace }));
    const warnings = found.size ? found : NO_WARNINGS;
    this.memo.set(scope, { inputs, warnings });
    if (this.memo.size > this.limit) this.memo.deleteOldest();
    return warnings;
  }

  get size(): number {
    return this.memo.size;
  }
}

function sameRefs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
