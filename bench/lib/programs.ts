// Distinct programs per host: what policy-aware placement buys. Offline, by planning the same
// datacenter twice with the batch scheduler (policy affinity on and off); live, from the HostFilters.
import type { HostFilter } from '../../src/api';
import type { Datacenter } from '../../src/gen';
import { hostState, scheduleBatch, vmNeeds } from '../../src/placement';
import { PolicyCompiler } from '../../src/policy/compile';
import { Inventory } from '../../src/policy/inventory';
import { PROVIDER_NAMESPACE } from '../../src/api';
import { round } from './stats';

export interface PerHost {
  hosts: number;
  mean: number;
  max: number;
}

function perHost(counts: Iterable<number>): PerHost {
  const xs = [...counts];
  return { hosts: xs.length, mean: round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)), max: Math.max(0, ...xs) };
}

export function offlinePrograms(dc: Datacenter): { policyAware: PerHost; leastAllocatedOnly: PerHost; unschedulable: { policyAware: number; leastAllocatedOnly: number } } {
  const compiler = PolicyCompiler.compileAll([...dc.tenants, ...dc.tags, ...dc.hosts, ...dc.policies], { providerNamespace: PROVIDER_NAMESPACE });
  const tenants = new Map(dc.tenants.flatMap((t) => Inventory.namespacesOf(t).map((ns) => [ns, t] as const)));
  const tagsByName = new Map(dc.tags.map((t) => [t.metadata.name, t]));
  const items = dc.vms.map((vm) => ({ needs: vmNeeds(vm, tenants.get(vm.metadata.namespace!), tagsByName), programKey: compiler.programKeyOf(vm) }));
  const hosts = dc.hosts.map((h) => hostState(h, { ready: true }));
  const plan = (policyAffinity: boolean) => scheduleBatch(items, hosts, { policyAffinity });
  const a = plan(true);
  const b = plan(false);
  return {
    policyAware: perHost([...a.programsByHost.values()].map((s) => s.size)),
    leastAllocatedOnly: perHost([...b.programsByHost.values()].map((s) => s.size)),
    unschedulable: { policyAware: a.unschedulable, leastAllocatedOnly: b.unschedulable },
  };
}

/** Programs per host in the live HostFilters (hosts carrying no VM left out). */
export function livePrograms(filters: Iterable<HostFilter>): PerHost {
  const counts: number[] = [];
  for (const f of filters) if (f.spec.bindings.length > 0) counts.push(new Set(f.spec.bindings.map((b) => b.program)).size);
  return perHost(counts);
}
