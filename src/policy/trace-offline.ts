// `vmsafe trace` from manifests at datacenter scale: read the manifests one object at a time keeping
// only decoded objects (other tenants' policies without their rules), place the VMs that compete with
// the endpoints for hosts (where those land depends on them, not on the rest), then compile only what
// the packets need: the endpoint VMs, the
// VMs that own the packets' addresses (peers match by address) and their hosts, with every Tenant, Tag
// and SecurityPolicy. A verdict depends on nothing else: the differential tests
// (test/trace/trace-offline.test.ts) hold it to the full compile of the whole world.
import type { Host, HostFilterSpec, SecurityPolicy, Tag, Tenant, VM } from '../api';
import { decode, PROVIDER_NAMESPACE } from '../api';
import type { Classifier } from '../dataplane/types';
import { streamManifests } from '../manifests/load';
import type { Progress } from '../util/progress';
import { Inventory } from './inventory';
import { placeOffline, type Placement } from './offline';
import type { Endpoint, Packet } from './reference';
import { Tracer, type TraceWorld } from './tracer';

const KINDS = new Set(['Tenant', 'Tag', 'Host', 'VM', 'SecurityPolicy']);

export interface TraceLoad {
  world: TraceWorld;
  errors: string[];
  /** Namespaces whose policies were loaded without their rules (see `fullPoliciesIn`). */
  summarized: Set<string>;
}

/**
 * Decode the vmsafe.io objects a trace needs; other kinds (Namespace, HostFilter…) are skipped.
 * `fullPoliciesIn`: policies of other namespaces are checked in full but kept without their rules,
 * which is all placement reads of them (tier, priority, enforcement, appliesTo: who shares a program);
 * at 80,000 policies the rules are most of the bytes and of the heap.
 */
export async function loadTraceWorld(
  paths: readonly string[],
  progress?: Progress,
  opts: { fullPoliciesIn?: (namespace: string) => boolean } = {},
): Promise<TraceLoad> {
  const world = { tenants: [] as Tenant[], tags: [] as Tag[], hosts: [] as Host[], vms: [] as VM[], policies: [] as SecurityPolicy[] };
  const errors: string[] = [];
  const summarized = new Set<string>();
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
      else {
        const policy = d.value as SecurityPolicy;
        const ns = policy.metadata.namespace ?? '';
        if (!opts.fullPoliciesIn || opts.fullPoliciesIn(ns)) world.policies.push(policy);
        else {
          summarized.add(ns);
          world.policies.push({ ...policy, spec: { ...policy.spec, ingress: [], egress: [] } });
        }
      }
    }
    for (const e of r.errors) errors.push(`${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}`);
    progress?.update(() => `read ${r.progress.done}/${r.progress.total} files, ${objects.toLocaleString('en-US')} objects`);
  }
  return { world, errors, summarized };
}

/**
 * `loadTraceWorld` for these packets: full policies only where a verdict reads them (the provider
 * namespace, and every namespace of the endpoint VMs' tenants), the rest without rules. A tenant's
 * other namespaces are known only once Tenants are read: if any of them was summarized, read again.
 * A verdict depends on nothing else (the differential test in test/trace/trace-offline.test.ts).
 */
export async function loadTraceWorldFor(paths: readonly string[], packets: readonly Packet[], progress?: Progress): Promise<TraceLoad> {
  const endpoints = new Set(packets.flatMap((p) => [p.from, p.to]).flatMap((e) => ('vm' in e ? [e.vm.slice(0, e.vm.indexOf('/'))] : [])));
  const first = await loadTraceWorld(paths, progress, { fullPoliciesIn: (ns) => ns === PROVIDER_NAMESPACE || endpoints.has(ns) });
  const needed = new Set([PROVIDER_NAMESPACE, ...endpoints]);
  for (const t of first.world.tenants) {
    const own = Inventory.namespacesOf(t);
    if (own.some((ns) => endpoints.has(ns))) for (const ns of own) needed.add(ns);
  }
  if (![...first.summarized].some((ns) => needed.has(ns))) return first;
  return loadTraceWorld(paths, progress, { fullPoliciesIn: (ns) => needed.has(ns) });
}

const keyOf = (vm: VM) => `${vm.metadata.namespace ?? ''}/${vm.metadata.name}`;
const hostOf = (vm: VM) => vm.status?.hostName ?? vm.spec.hostName;

/**
 * "ns/name" → VM for the VMs a verdict on these packets reads: the endpoint VMs; every VM with a vNIC
 * on one of the packets' addresses; every VM claiming an address of those (address ownership).
 * Read from specs only, so it can be asked before placement.
 */
export function packetVms(vms: readonly VM[], packets: readonly Packet[]): Map<string, VM> {
  const byKey = new Map(vms.map((vm) => [keyOf(vm), vm]));
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
  for (const vm of vms) if (vm.spec.vnics.some((n) => ips.has(n.ip))) wanted.set(keyOf(vm), vm);
  // Whether those VMs own their addresses (ownership.ts) depends on who else claims any of their
  // addresses, not only the packets' ones: bring every such claimant (its own standing does not matter).
  const claimed = new Set([...wanted.values()].flatMap((vm) => vm.spec.vnics.map((n) => n.ip)));
  for (const vm of vms) if (!wanted.has(keyOf(vm)) && vm.spec.vnics.some((n) => claimed.has(n.ip))) wanted.set(keyOf(vm), vm);
  return wanted;
}

/** The part of a placed world the packets' verdicts depend on: every Tenant, Tag and policy; `packetVms` and their hosts. */
export function scopeFor(placed: TraceWorld, packets: readonly Packet[]): TraceWorld {
  const wanted = packetVms(placed.vms, packets);
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

/** Place the world and build a tracer for these packets (pass `full` to place every VM and compile every host). */
export function offlineTracer(
  world: TraceWorld,
  packets: readonly Packet[],
  buildClassifier: (spec: HostFilterSpec) => Classifier,
  opts: { full?: boolean } = {},
): { placement: Placement; tracer: Tracer } {
  // Only the VMs competing for hosts with those a verdict reads are placed (placeOffline's `for`).
  const placement = placeOffline(world, opts.full ? {} : { for: new Set(packetVms(world.vms, packets).keys()) });
  // The compiler handed over holds placement.policies: the Tracer's world must say the same.
  const placed = { ...world, vms: placement.vms, policies: placement.policies };
  return { placement, tracer: new Tracer(opts.full ? placed : scopeFor(placed, packets), buildClassifier, {}, placement.policyCompiler) };
}
