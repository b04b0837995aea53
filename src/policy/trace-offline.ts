// `vmsafe trace` from manifests at datacenter scale: read the manifests one file at a time keeping only
// decoded objects, place every VM (where the endpoints land depends on everyone), then compile only
// what the packets need: the endpoint VMs, the VMs that own the packets' addresses (peers match by
// address) and their hosts, with every Tenant, Tag and SecurityPolicy. A verdict depends on nothing
// else: the differential test (test/trace/trace-offline.test.ts) holds it to the full compile.
import type { Host, HostFilterSpec, SecurityPolicy, Tag, Tenant, VM } from '../api';
import { decode } from '../api';
import type { Classifier } from '../dataplane/types';
import { streamManifests } from '../manifests/load';
import type { Progress } from '../util/progress';
import { placeOffline, type Placement } from './offline';
import type { Endpoint, Packet } from './reference';
import { Tracer, type TraceWorld } from './tracer';

const KINDS = new Set(['Tenant', 'Tag', 'Host', 'VM', 'SecurityPolicy']);

/** Decode the vmsafe.io objects a trace needs; other kinds (Namespace, HostFilter…) are skipped. */
export async function loadTraceWorld(paths: readonly string[], progress?: Progress): Promise<{ world: TraceWorld; errors: string[] }> {
  const world = { tenants: [] as Tenant[], tags: [] as Tag[], hosts: [] as Host[], vms: [] as VM[], policies: [] as SecurityPolicy[] };
  const errors: string[] = [];
  let objects = 0;
  for await (const r of streamManifests(paths)) {
    for (const o of r.objects) {
      objects++;
      const kind = (o.object as { kind?: unknown })?.kind;
      const apiVersion = String((o.object as { apiVersion?: unknown })?.apiVersion ?? '');
      if (!apiVersion.startsWith('vmsafe.io/') || !KINDS.has(String(kind))) continue;
      const d = decode(o.object);
      if (!d.ok) {
        errors.push(`${o.file}:${o.line}: ${kind}: ${d.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join('; ')}`);
        continue;
      }
      if (kind === 'Tenant') world.tenants.push(d.value);
      else if (kind === 'Tag') world.tags.push(d.value);
      else if (kind === 'Host') world.hosts.push(d.value);
      else if (kind === 'VM') world.vms.push(d.value);
      else world.policies.push(d.value);
    }
    for (const e of r.errors) errors.push(`${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}`);
    progress?.update(() => `read ${r.progress.done}/${r.progress.total} files, ${objects.toLocaleString('en-US')} objects`);
  }
  return { world, errors };
}

const keyOf = (vm: VM) => `${vm.metadata.namespace ?? ''}/${vm.metadata.name}`;
const hostOf = (vm: VM) => vm.status?.hostName ?? vm.spec.hostName;

/**
 * The part of a placed world the packets' verdicts depend on: every Tenant, Tag and policy; the
 * endpoint VMs; every VM with a vNIC on one of the packets' addresses; every VM claiming an address
 * of those (address ownership); the hosts of those VMs.
 */
export function scopeFor(placed: TraceWorld, packets: readonly Packet[]): TraceWorld {
  const byKey = new Map(placed.vms.map((vm) => [keyOf(vm), vm]));
  const wanted = new Map<string, VM>();
  const ips = new Set<string>();
  const endpoint = (e: Endpoint) => {
    if ('ip' in e) {
      ips.add(e.ip);
      return;
    }
    const vm = byKey.get(e.vm);
    if (!vm) return; // the tracer reports the missing VM
    wanted.set(e.vm, vm);
    const nic = e.vnic === undefined ? vm.spec.vnics[0] : vm.spec.vnics.find((n) => n.name === e.vnic);
    if (nic) ips.add(nic.ip);
  };
  for (const p of packets) {
    endpoint(p.from);
    endpoint(p.to);
  }
  for (const vm of placed.vms) if (vm.spec.vnics.some((n) => ips.has(n.ip))) wanted.set(keyOf(vm), vm);
  // Whether those VMs own their addresses (ownership.ts) depends on who else claims any of their
  // addresses, not only the packets' ones: bring every such claimant (its own standing does not matter).
  const claimed = new Set([...wanted.values()].flatMap((vm) => vm.spec.vnics.map((n) => n.ip)));
  for (const vm of placed.vms) if (!wanted.has(keyOf(vm)) && vm.spec.vnics.some((n) => claimed.has(n.ip))) wanted.set(keyOf(vm), vm);
  const hostNames = new Set([...wanted.values()].map(hostOf).filter((h): h is string => h !== undefined));
  return {
    tenants: placed.tenants,
    tags: placed.tags,
    policies: placed.policies,
    hosts: placed.hosts.filter((h) => hostNames.has(h.metadata.name)),
    vms: placed.vms.filter((vm) => wanted.has(keyOf(vm))),
    ...(placed.providerNamespace !== undefined ? { providerNamespace: placed.providerNamespace } : {}),
  };
}

/** Place the world and build a tracer for these packets (pass `full` to compile every host, as before). */
export function offlineTracer(
  world: TraceWorld,
  packets: readonly Packet[],
  buildClassifier: (spec: HostFilterSpec) => Classifier,
  opts: { full?: boolean } = {},
): { placement: Placement; tracer: Tracer } {
  const placement = placeOffline(world);
  const placed = { ...world, vms: placement.vms };
  return { placement, tracer: new Tracer(opts.full ? placed : scopeFor(placed, packets), buildClassifier, {}, placement.policyCompiler) };
}
