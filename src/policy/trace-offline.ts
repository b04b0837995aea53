// `vmsafe trace` from manifests at datacenter scale. Read every object but the policies, one at a time
// keeping only decoded objects; place the VMs that compete with the endpoints for hosts (where those
// land depends on them, not on the rest); read only the policies that can apply to those VMs; then
// compile only what the packets need: the endpoint VMs, the VMs that own the packets' addresses (peers
// match by address) and their hosts. A verdict depends on nothing else: the differential tests
// (test/trace/trace-offline.test.ts) hold it to the full compile of the whole world.
import type { Host, HostFilterSpec, SecurityPolicy, Tag, Tenant, VM } from '../api';
import { decode } from '../api';
import type { Classifier } from '../dataplane/types';
import { docIdentity } from '../manifests/doc-identity';
import { streamManifests } from '../manifests/load';
import type { Progress } from '../util/progress';
import { OfflinePlacer, placeOffline, type Placement } from './offline';
import type { Endpoint, Packet } from './reference';
import { Tracer, type TraceWorld } from './tracer';

const KINDS = new Set(['Tenant', 'Tag', 'Host', 'VM', 'SecurityPolicy']);

export interface TraceLoad {
  world: TraceWorld;
  errors: string[];
}

export interface TraceRead {
  /** SecurityPolicies to read, by namespace (default: all). */
  policiesIn?: (namespace: string) => boolean;
  /** Read the other kinds (Tenant, Tag, Host, VM); default true. */
  others?: boolean;
  /** File texts kept from an earlier read of the same paths (streamManifests' `texts`). */
  texts?: Map<string, string>;
}

/**
 * Decode the vmsafe.io objects a trace needs; other kinds (Namespace, HostFilter…) are skipped, unread
 * where the text tells what they are (docIdentity), like the policies `read` does not ask for.
 */
export async function loadTraceWorld(paths: readonly string[], progress?: Progress, read: TraceRead = {}): Promise<TraceLoad> {
  const world = { tenants: [] as Tenant[], tags: [] as Tag[], hosts: [] as Host[], vms: [] as VM[], policies: [] as SecurityPolicy[] };
  const errors: string[] = [];
  const others = read.others ?? true;
  const policiesIn = read.policiesIn ?? (() => true);
  const skip = (doc: string): boolean => {
    // No such word and no escape that could spell it: surely not a SecurityPolicy.
    const maybePolicy = doc.includes('SecurityPolicy') || doc.includes('\\');
    if (!others) {
      if (!maybePolicy) return true;
    } else if (!maybePolicy && !doc.includes('Namespace')) return false; // most documents: wanted, not worth a look
    const id = docIdentity(doc);
    if (!id) return false;
    if (!id.apiVersion.startsWith('vmsafe.io/') || !KINDS.has(id.kind)) return true;
    return id.kind === 'SecurityPolicy' ? !policiesIn(id.namespace ?? '') : !others;
  };
  let objects = 0;
  for await (const r of streamManifests(paths, { skip, ...(read.texts ? { texts: read.texts } : {}) })) {
    for (const o of r.objects) {
      objects++;
      const raw = o.object as { kind?: unknown; apiVersion?: unknown; metadata?: { namespace?: unknown } } | null;
      const kind = raw?.kind;
      const apiVersion = String(raw?.apiVersion ?? '');
      if (!apiVersion.startsWith('vmsafe.io/') || !KINDS.has(String(kind))) continue;
      if (kind === 'SecurityPolicy') {
        const ns = raw?.metadata?.namespace;
        if (typeof ns === 'string' && !policiesIn(ns)) continue;
        if (ns === undefined && !policiesIn('')) continue;
      } else if (!others) continue;
      const d = decode(o.object);
      if (!d.ok) {
        errors.push(`${o.file}:${o.line}: ${kind}: ${d.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join('; ')}`);
        continue;
      }
      if (kind === 'Tenant') world.tenants.push(d.value);
      else if (kind === 'Tag') world.tags.push(d.value);
      else if (kind === 'Host') world.hosts.push(d.value);
      else if (kind === 'VM') world.vms.push(d.value);
      else world.policies.push(d.value as SecurityPolicy);
    }
    for (const e of r.errors) errors.push(`${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.message}`);
    progress?.update(() => `read ${r.progress.done}/${r.progress.total} files, ${objects.toLocaleString('en-US')} objects`);
  }
  return { world, errors };
}

export type OfflineTrace = { errors: string[] } | { errors: []; world: TraceWorld; placement: Placement; tracer: Tracer };

/**
 * Read the manifests, place and compile what these packets' verdicts depend on. Two reads: every
 * object but the policies, which settles placement's scope (the VMs competing with the endpoints for
 * hosts); then the policies that can apply to those VMs and to the endpoints (their tenants'
 * namespaces and the provider's). Other policies are never read (`vmsafe validate` checks them all):
 * at vmworld scale that is 7 in 8 of them, and they are most of the bytes. A verdict depends on nothing
 * else (the differential tests in test/trace/trace-offline.test.ts hold it to the whole world).
 */
export async function offlineTrace(
  paths: readonly string[],
  packets: readonly Packet[],
  buildClassifier: (spec: HostFilterSpec) => Classifier,
  progress?: Progress,
): Promise<OfflineTrace> {
  // Each file is read from disk once: the texts (65 MiB at vmworld) stay for the reads after the first.
  const texts = new Map<string, string>();
  const first = await loadTraceWorld(paths, progress, { policiesIn: () => false, texts });
  if (first.errors.length > 0) return first;
  const placer = new OfflinePlacer(first.world, { for: new Set(packetVms(first.world.vms, packets).keys()) });
  const namespaces = placer.policyNamespaces();
  const second = await loadTraceWorld(paths, progress, { policiesIn: namespaces ? (ns) => namespaces.has(ns) : undefined, others: false, texts });
  if (second.errors.length > 0) return second;
  let world: TraceWorld = { ...first.world, policies: second.world.policies };
  let placement = placer.place(world.policies);
  if (placement.widened) {
    // An endpoint fits nowhere, and the why counts every host: place everything, with every policy.
    const all = await loadTraceWorld(paths, progress, { others: false, texts });
    if (all.errors.length > 0) return all;
    world = { ...first.world, policies: all.world.policies };
    placement = placeOffline(world);
  }
  return { errors: [], world, placement, tracer: tracerOf(world, placement, packets, buildClassifier) };
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
  return { placement, tracer: tracerOf(world, placement, packets, buildClassifier, opts.full) };
}

/** The tracer of a placed world: the placement's compiler, and the world it holds (its policies), scoped to the packets unless `full`. */
function tracerOf(world: TraceWorld, placement: Placement, packets: readonly Packet[], buildClassifier: (spec: HostFilterSpec) => Classifier, full = false): Tracer {
  const placed = { ...world, vms: placement.vms, policies: placement.policies };
  return new Tracer(full ? placed : scopeFor(placed, packets), buildClassifier, {}, placement.policyCompiler);
}
