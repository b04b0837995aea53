// Analysis of a world read from manifests: place VMs as the operator would, compile every host's
// filter, analyze the compiled filters (what the data path enforces, not what the objects say).
import { placeOffline } from '../policy/offline';
import { PolicyCompiler } from '../policy/compile';
import type { TraceWorld } from '../policy/tracer';
import type { HostFilterSpec } from '../api';
import { analyze, type Analysis } from './reach';

export interface CompiledWorld {
  filters: ReadonlyMap<string, HostFilterSpec>;
  tenantOf: (vm: string) => string | null;
  tenants: number;
}

export function compileWorld(world: TraceWorld, opts: { placed?: boolean } = {}): CompiledWorld {
  const vms = opts.placed ? world.vms : placeOffline(world).vms;
  const compiler = PolicyCompiler.compileAll([...world.tenants, ...world.tags, ...world.hosts, ...vms, ...world.policies], {
    providerNamespace: world.providerNamespace,
  });
  const inv = compiler.inventory;
  return { filters: compiler.specs(), tenantOf: (vm) => inv.ownerOf(vm.slice(0, vm.indexOf('/'))), tenants: world.tenants.length };
}

export function analyzeWorld(world: TraceWorld, opts: { placed?: boolean } = {}): Analysis & { compiled: CompiledWorld } {
  const compiled = compileWorld(world, opts);
  return { ...analyze({ filters: compiled.filters.values(), tenantOf: compiled.tenantOf, tenants: compiled.tenants }), compiled };
}
