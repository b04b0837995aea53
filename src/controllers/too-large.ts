// Hosts whose compiled filter cannot be written: larger than the API server's request limit (etcd's
// 1.5 MiB). Owned by the HostFilter controller (it sets and clears entries); read by the Host and
// SecurityPolicy status decisions, which report FilterConverged=False / Realized=False reason TooLarge.
// And which tenant's growth made a filter too large (sizeCulprit): the HostFilter controller refuses
// that tenant's new policy generations (CompileFeed.refusePolicies) rather than hold the host's filter,
// which would stop every other tenant's changes on that host.
//
// Why report instead of splitting filters into several objects: the schema allows 1,000 rules x 100
// peers x 100 ports per direction per policy, so no object layout bounds every filter; a state the
// status names, with the host keeping (and the operator still counting on) its last written filter,
// is honest and needs no new object kind nor a second agent protocol.
import type { HostFilterSpec } from '../api';
import { MAX_OBJECT_BYTES } from '../api/limits';

/** The request limit the operator assumes (kube-apiserver over etcd: 1.5 MiB per object). */
export const REQUEST_LIMIT_BYTES = MAX_OBJECT_BYTES;

export interface TooLargeFilter {
  /** Hash of the compiled filter that could not be written. */
  hash: string;
  /** Its serialized size (as sent), and the limit it exceeded. */
  bytes: number;
  limit: number;
  /** The API server's message when it refused the write (undefined: refused before sending). */
  serverMessage?: string;
}

export class TooLargeFilters {
  private readonly byHost = new Map<string, TooLargeFilter>();
  private readonly listeners: Array<(host: string) => void> = [];

  /** A host entered or left the too-large state (listeners re-decide its status and its policies). */
  onChange(fn: (host: string) => void): void {
    this.listeners.push(fn);
  }

  set(host: string, t: TooLargeFilter): void {
    const prev = this.byHost.get(host);
    this.byHost.set(host, t);
    if (prev?.hash !== t.hash || prev.bytes !== t.bytes) for (const fn of this.listeners) fn(host);
  }

  clear(host: string): void {
    if (this.byHost.delete(host)) for (const fn of this.listeners) fn(host);
  }

  get(host: string): TooLargeFilter | undefined {
    return this.byHost.get(host);
  }

  hosts(): string[] {
    return [...this.byHost.keys()];
  }
}

/** Did the API server refuse a write because the object is too large (HTTP 413, or etcd's message)? */
export function isTooLarge(err: { code?: number; message?: string }): boolean {
  return err.code === 413 || /request is too large/i.test(err.message ?? '');
}

export const describeTooLarge = (t: TooLargeFilter): string =>
  `compiled filter ${t.hash} is ${t.bytes} bytes, over the ${t.limit}-byte request limit${t.serverMessage ? ` (${t.serverMessage})` : ''}`;

/**
 * Bytes of a host filter each tenant's VMs account for: the programs they are bound to (each counted
 * once per tenant; a program shared by tenants counts for each) and their bindings. Address groups
 * are left out: a program names them, and the largest ones are shared objects of their own.
 */
export function tenantShares(spec: HostFilterSpec, tenantOf: (namespace: string) => string | undefined): Map<string, number> {
  const programBytes = new Map(spec.programs.map((p) => [p.id, JSON.stringify(p).length]));
  const shares = new Map<string, { bytes: number; programs: Set<string> }>();
  for (const b of spec.bindings) {
    const tenant = tenantOf(b.vm.slice(0, b.vm.indexOf('/')));
    if (tenant === undefined) continue;
    let s = shares.get(tenant);
    if (!s) shares.set(tenant, (s = { bytes: 0, programs: new Set() }));
    s.bytes += JSON.stringify(b).length;
    if (!s.programs.has(b.program)) {
      s.programs.add(b.program);
      s.bytes += programBytes.get(b.program) ?? 0;
    }
  }
  return new Map([...shares].map(([t, s]) => [t, s.bytes]));
}

/**
 * The tenant whose changes made a host's filter too large: the one whose share grew most since the
 * filter the host has (`written`), if that tenant now holds more than an equal share of the limit (or
 * is the only tenant there: the growth can only be its own; its share leaves out address groups).
 * Otherwise none (the growth is nobody's in particular: provider policies, or a host simply full),
 * and the host keeps its last filter as before. Pure; ties go to the tenant named first.
 */
export function sizeCulprit(compiled: Map<string, number>, written: Map<string, number>, limit: number): string | undefined {
  if (compiled.size === 0) return undefined;
  const fair = limit / compiled.size;
  let best: { tenant: string; growth: number } | undefined;
  for (const [tenant, bytes] of [...compiled].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const growth = bytes - (written.get(tenant) ?? 0);
    if (growth > 0 && (bytes > fair || compiled.size === 1) && (!best || growth > best.growth)) best = { tenant, growth };
  }
  return best?.tenant;
}

/** A policy generation refused because it made a host's filter too large (see CompileFeed.refusePolicies). */
export interface PolicyRefusal {
  generation: number;
  host: string;
  bytes: number;
  limit: number;
  tenant: string;
  /** Generation of the policy the compiler holds instead (undefined: none, the policy is not compiled). */
  enforced?: number;
}

export const describeRefusal = (r: PolicyRefusal): string =>
  `generation ${r.generation} refused: spec: tenant ${r.tenant}'s policies would make the filter of host ${r.host} ${r.bytes} bytes, over the ${r.limit}-byte request limit; ${r.enforced === undefined ? 'nothing of it is enforced' : `generation ${r.enforced} stays enforced`}`;
