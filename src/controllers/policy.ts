// SecurityPolicy controller: Accepted (tier/namespace/tenant rules), Realized (every host that must
// carry the policy reports a filter that has it), selected vNICs, and lint warnings.
import type { SecurityPolicy, Tenant } from '../api';
import { Inventory, policyRejection } from '../policy/inventory';
import { Controller } from '../runtime/controller';
import type { OperatorContext } from './context';
import { decidePolicyStatus } from './decide-counts';
import { SYSTEM_NAMESPACE } from './names';

const SPAN_COALESCE_MS = 200;

export type PolicyLinter = (p: SecurityPolicy, all: readonly SecurityPolicy[]) => string[];

export function policyController(ctx: OperatorContext, lint: PolicyLinter = () => []): Controller {
  const { world, feed } = ctx;
  /** Hosts whose applied filter has caught up with the compiled one. */
  const converged = (h: string) => {
    const f = world.filters.get(h);
    return !!f && f.status?.appliedHash === f.spec.hash && feed.compiler.spec(h)?.hash === f.spec.hash;
  };

  const reconcile = async (key: string) => {
    const p = world.policies.get(key);
    if (!p) return;
    const owner = world.tenantOfNamespace(p.metadata.namespace)?.metadata.name ?? null;
    const rejection = policyRejection(p, owner, SYSTEM_NAMESPACE);
    const span = rejection ? { vnics: 0, hosts: new Set<string>() } : feed.compiler.policySpan(key);
    const hosts = [...span.hosts].sort();
    const notRealized = hosts.filter((h) => !converged(h));
    const status = decidePolicyStatus(
      p,
      {
        rejection,
        vnics: span.vnics,
        hostsDesired: hosts.length,
        hostsRealized: hosts.length - notRealized.length,
        notRealized,
        warnings: rejection ? [] : lint(p, world.policies.list()),
      },
      new Date(ctx.clock.now()),
    );
    const before = p.status?.conditions?.find((c) => c.type === 'Accepted')?.status;
    await ctx.status.update('SecurityPolicy', p, status);
    if (rejection && before !== 'False') ctx.events.event(p, 'Warning', 'Rejected', rejection);
  };

  const c = new Controller({ name: 'securitypolicy', reconcile, workers: 2, logger: ctx.log, metrics: ctx.metrics, clock: ctx.clock });
  c.watchOwn(world.policies);
  // Spans move with compiles; realization moves with agents' reports. Both map to the policies on those hosts.
  const policiesOnHosts = (hosts: Iterable<string>) => {
    const keys = new Set<string>();
    for (const h of hosts) for (const k of feed.compiler.policiesOnHost(h)) keys.add(k);
    return keys;
  };
  feed.onHostsChanged((hosts) => {
    for (const k of policiesOnHosts(hosts)) c.enqueueAfter(k, SPAN_COALESCE_MS);
  });
  world.filters.on({
    update: (a, b) => {
      if (a.status?.appliedHash !== b.status?.appliedHash) for (const k of policiesOnHosts([b.metadata.name])) c.enqueueAfter(k, SPAN_COALESCE_MS);
    },
  });
  // Acceptance depends on namespace ownership: only a tenant's namespaces matter, not its counters.
  const inNamespaces = (t: Tenant) => Inventory.namespacesOf(t).flatMap((ns) => world.policies.store.keysByIndex('namespace', ns));
  world.tenants.on({
    add: (t) => inNamespaces(t).forEach((k) => c.enqueue(k)),
    update: (a, b) => {
      if (Inventory.namespacesOf(a).join() !== Inventory.namespacesOf(b).join()) [...inNamespaces(a), ...inNamespaces(b)].forEach((k) => c.enqueue(k));
    },
    delete: (t) => inNamespaces(t).forEach((k) => c.enqueue(k)),
  });
  return c;
}
