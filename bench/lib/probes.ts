// Latency probes on a converged system: a tenant policy edit (until every affected host reports the
// new filter applied) and a VM creation (until it is Running).
import type { SecurityPolicy, VM } from '../../src/api';
import { keyOf } from '../../src/runtime/client';
import { must, type Conn } from './http';
import { collectionPath, objectPath } from './load';
import type { Observer } from './observe';

export interface EditTarget {
  policy: SecurityPolicy;
  /** Hosts running the VMs the policy selects. */
  hosts: Set<string>;
}

/**
 * One tag-selecting policy per tenant, spread over the tenant list, at most `n`; the hosts that must
 * change are the hosts running the VMs it selects (all of the tenant's VMs in vmworld, where a tenant
 * has one VM; some of them in max, where a tenant's VMs have different roles).
 */
export function pickEditTargets(policies: readonly SecurityPolicy[], obs: Observer, n: number): EditTarget[] {
  const vmsByNs = new Map<string, VM[]>();
  for (const vm of obs.vms.list()) {
    const ns = vm.metadata.namespace ?? '';
    let l = vmsByNs.get(ns);
    if (!l) vmsByNs.set(ns, (l = []));
    l.push(vm);
  }
  const byNs = new Map<string, SecurityPolicy[]>();
  for (const p of policies) {
    if (p.spec.tier !== 'Tenant' || p.spec.ingress.length === 0) continue;
    const ns = p.metadata.namespace ?? '';
    let l = byNs.get(ns);
    if (!l) byNs.set(ns, (l = []));
    l.push(p);
  }
  const namespaces = [...byNs.keys()].sort();
  const stride = Math.max(1, Math.floor(namespaces.length / n));
  const out: EditTarget[] = [];
  for (let start = 0; start < stride && out.length < n; start++) {
    for (let i = start; i < namespaces.length && out.length < n; i += stride) {
      const ns = namespaces[i]!;
      const vms = (vmsByNs.get(ns) ?? []).filter((v) => v.status?.phase === 'Running');
      if (vms.length === 0) continue;
      const selects = (pol: SecurityPolicy, v: VM) => (pol.spec.appliesTo.tags ?? []).every((t) => v.spec.tags.includes(t));
      const p = byNs.get(ns)!.find((pol) => !pol.spec.appliesTo.tenants && !pol.spec.appliesTo.vmSelector && vms.some((v) => selects(pol, v)));
      if (!p) continue;
      if (out.some((o) => o.policy.metadata.namespace === ns)) continue;
      out.push({ policy: p, hosts: new Set(vms.filter((v) => selects(p, v)).map((v) => v.status!.hostName!)) });
    }
  }
  return out;
}

export interface EditResult {
  ms: number;
  /** Until the last affected host's new filter was seen (the operator's share of `ms`; the rest is the agents'). */
  compiledMs: number;
  expectedHosts: number;
  /** Distinct hosts whose HostFilter spec was rewritten for this edit. */
  hostsWritten: number;
  /** HostFilter spec writes in total (more than hostsWritten = a host written twice). */
  filterWrites: number;
  /** Hosts written that do not run the tenant's VMs, and tenant hosts not written. */
  extra: string[];
  missing: string[];
}

/**
 * Changes the port of the policy's first ingress rule, then waits until every expected host has a new
 * filter hash that its agent reports applied. Write counts are read after `settleMs` more, so that a
 * stray write to another host (or a second write) is seen.
 */
export async function editPolicy(conn: Conn, obs: Observer, target: EditTarget, port: number, settleMs: number, timeoutMs: number): Promise<EditResult> {
  const p = target.policy;
  const before = new Map(obs.filterSpecWrites);
  const hashBefore = new Map([...target.hosts].map((h) => [h, obs.filters.get(h)?.spec.hash]));
  const ingress = p.spec.ingress.map((r, i) => (i === 0 ? { ...r, ports: [{ protocol: 'TCP', port }] } : r));
  const done = () => {
    for (const h of target.hosts) {
      const f = obs.filters.get(h);
      if (!f || f.spec.hash === hashBefore.get(h) || f.status?.appliedHash !== f.spec.hash) return false;
    }
    return true;
  };
  const t0 = performance.now();
  await must(conn, 'PATCH', objectPath('SecurityPolicy', p.metadata.name, p.metadata.namespace), { spec: { ingress } }, { contentType: 'application/merge-patch+json' });
  await obs.waitUntil(`edit of ${keyOf(p)} applied on ${target.hosts.size} hosts`, done, timeoutMs, () => obs.describe());
  const ms = performance.now() - t0;
  const compiledMs = Math.max(...[...target.hosts].map((h) => (obs.filterSpecSeenAt.get(h) ?? t0) - t0));
  await new Promise((r) => setTimeout(r, settleMs));
  const written: string[] = [];
  let writes = 0;
  for (const [h, n] of obs.filterSpecWrites) {
    const d = n - (before.get(h) ?? 0);
    if (d > 0) {
      written.push(h);
      writes += d;
    }
  }
  return {
    ms,
    compiledMs,
    expectedHosts: target.hosts.size,
    hostsWritten: written.length,
    filterWrites: writes,
    extra: written.filter((h) => !target.hosts.has(h)),
    missing: [...target.hosts].filter((h) => !written.includes(h)),
  };
}

/** A new one-vNIC VM in `namespace` like its neighbours (same role tag), timed until Running. */
export interface CreateResult {
  /** POST to Running, as the observer saw it. */
  ms: number;
  host: string;
  /** When the host's new filter was seen, and seen applied by its agent (ms after the POST), if after it. */
  filterSeenMs?: number;
  filterAppliedMs?: number;
}

export async function createVm(conn: Conn, obs: Observer, namespace: string, tags: string[], i: number, timeoutMs: number, ipInBlock?: string): Promise<CreateResult> {
  const name = `bench-vm-${i}`;
  // Tenants own their addressBlocks: a VM outside its tenant's block is refused (AddressNotOwned).
  const ip = ipInBlock ?? `172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255}`;
  const mac = `02:bb:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  const vm = {
    apiVersion: 'vmsafe.io/v1alpha1',
    kind: 'VM',
    metadata: { name, namespace },
    spec: { tags, vnics: [{ name: 'eth0', network: 'prod', ip, mac }], powerState: 'On' },
  };
  const key = `${namespace}/${name}`;
  const t0 = performance.now();
  await must(conn, 'POST', collectionPath('VM', namespace), vm);
  await obs.waitUntil(`VM ${key} Running`, () => obs.runningAt.has(key), timeoutMs, () => JSON.stringify(obs.vms.get(key)?.status ?? {}));
  const host = obs.vms.get(key)!.status!.hostName!;
  const after = (at: number | undefined) => (at !== undefined && at >= t0 ? at - t0 : undefined);
  return { ms: obs.runningAt.get(key)! - t0, host, filterSeenMs: after(obs.filterSpecSeenAt.get(host)), filterAppliedMs: after(obs.filterAppliedAt.get(host)) };
}

/**
 * One no-op PATCH round trip (`{}` as a merge patch): the API server decodes, validates and compares
 * it like any write and stores nothing. The floor every write-then-watch latency stands on.
 */
export async function noopPatch(conn: Conn, kind: string, name: string, namespace?: string): Promise<number> {
  const t0 = performance.now();
  await must(conn, 'PATCH', objectPath(kind, name, namespace), {}, { contentType: 'application/merge-patch+json' });
  return performance.now() - t0;
}

/** The highest address of an IPv4 CIDR that is not in `used` (undefined when every one is). */
export function freeAddress(cidr: string, used: ReadonlySet<string>): string | undefined {
  const [base, bits] = cidr.split('/') as [string, string];
  const n = base.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  for (let k = size - 2; k >= 1; k--) {
    const v = n + k;
    const ip = [24, 16, 8, 0].map((sh) => Math.floor(v / 2 ** sh) % 256).join('.');
    if (!used.has(ip)) return ip;
  }
  return undefined;
}
