// What each dashboard view shows, computed from the model: pure functions returning plain JSON (the
// page renders it; the tests read it). Shapes are in ./page/types.ts, shared with the page.
import { condOf, HOST_STATES, PHASES, vmKey, type FleetModel } from './model';
import type { Tenant } from '../api';
import type { FleetView, HostView, PoliciesView, Problem, ProblemsView, TenantsView, TenantView } from './page/types';

const TIER_ORDER: Record<string, number> = { Provider: 0, Tenant: 1, Baseline: 2 };

export function fleetView(m: FleetModel): FleetView {
  const cells = [...m.cells.values()].sort((a, b) => a.pool.localeCompare(b.pool) || a.name.localeCompare(b.name, 'en', { numeric: true }));
  return { totals: m.totals(), cells, states: [...HOST_STATES], phases: [...PHASES] };
}

export function hostView(m: FleetModel, name: string): HostView | undefined {
  const h = m.hosts.get(name);
  if (!h) return undefined;
  const vms = [...m.vmsByHost.get(name)].map((k) => m.vms.get(k)!).filter(Boolean);
  return {
    name,
    cell: m.cells.get(name)!,
    tags: h.spec.tags ?? [],
    allocated: h.status?.allocated ?? { vms: 0, vnics: 0 },
    capacity: { vms: h.spec.capacity?.vms ?? 320, vnics: h.spec.capacity?.vnics ?? 3200 },
    filter: h.status?.filter ?? {},
    conditions: (h.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason ?? '', message: c.message ?? '' })),
    vms: vms
      .map((v) => ({ key: vmKey(v), phase: v.status?.phase ?? 'Pending', tenant: v.status?.tenant ?? v.metadata.namespace ?? '', program: v.status?.program ?? '', vnics: v.spec.vnics.length }))
      .sort((a, b) => a.key.localeCompare(b.key)),
    events: [...(m.events.get(`Host//${name}`) ?? [])].reverse(),
  };
}

/**
 * Tenants matching `q` (substring of name or display name), first `limit` by name. `derived`: Tenant
 * objects are not readable (a tenant admin), so the tenants are those of the VMs that are, by name.
 */
export function tenantsView(m: FleetModel, q: string, limit = 200, derived = false): TenantsView {
  const needle = q.trim().toLowerCase();
  const all = derived
    ? [...m.vmsByTenant.keys()].filter((n) => !m.tenants.has(n)).map((name) => ({ metadata: { name }, spec: {} }) as Tenant).concat([...m.tenants.values()])
    : [...m.tenants.values()];
  const hits = needle
    ? all.filter((t) => t.metadata.name.includes(needle) || (t.spec.displayName ?? '').toLowerCase().includes(needle))
    : all;
  hits.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, 'en', { numeric: true }));
  return {
    ...(derived ? { derived } : {}),
    total: all.length,
    matched: hits.length,
    tenants: hits.slice(0, limit).map((t) => ({
      name: t.metadata.name,
      displayName: t.spec.displayName ?? '',
      vms: m.vmsByTenant.count(t.metadata.name) || (t.status?.vms ?? 0),
      ready: condOf(t, 'Ready')?.status ?? 'Unknown',
    })),
  };
}

/**
 * One tenant. When its Tenant object is not readable but `derived` (Tenants are forbidden to this
 * user), the view is built from what is: its VMs (status.tenant) and the policies in their namespaces.
 */
export function tenantView(m: FleetModel, name: string, reach: TenantView['reach'], derived = false): TenantView | undefined {
  const t = m.tenants.get(name);
  const vms = [...m.vmsByTenant.get(name)].map((k) => m.vms.get(k)!).filter(Boolean);
  if (!t && !(derived && vms.length > 0)) return undefined;
  const namespaces = new Set(t ? (t.status?.namespaces ?? t.spec.namespaces ?? [name]) : vms.map((v) => v.metadata.namespace ?? ''));
  const policies = [...m.policies.values()].filter((p) => namespaces.has(p.metadata.namespace ?? '') || (p.spec.appliesTo?.tenants ?? []).includes(name));
  return {
    ...(t ? {} : { derived: true }),
    name,
    displayName: t?.spec.displayName ?? '',
    namespaces: [...namespaces].sort(),
    placementTags: t?.spec.placementTags ?? [],
    conditions: (t?.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason ?? '', message: c.message ?? '' })),
    vms: vms.map((v) => ({ key: vmKey(v), phase: v.status?.phase ?? 'Pending', host: v.status?.hostName ?? '' })).sort((a, b) => a.key.localeCompare(b.key)),
    policies: policies.map(policyRow).sort(policyOrder),
    reach,
  };
}

function policyRow(p: import('../api').SecurityPolicy): PoliciesView['policies'][number] {
  const accepted = condOf(p, 'Accepted');
  const realized = condOf(p, 'Realized');
  return {
    key: `${p.metadata.namespace ?? ''}/${p.metadata.name}`,
    tier: p.spec.tier,
    priority: p.spec.priority ?? 0,
    accepted: accepted?.status ?? 'Unknown',
    realized: realized?.status ?? 'Unknown',
    reason: accepted?.status === 'False' ? (accepted.reason ?? '') : realized?.status !== 'True' ? (realized?.reason ?? '') : '',
    hostsDesired: p.status?.hosts?.desired ?? 0,
    hostsRealized: p.status?.hosts?.realized ?? 0,
    vnics: p.status?.vnics ?? 0,
  };
}

/** Evaluation order: tier, then (priority, name) as the semantics say. */
const policyOrder = (a: PoliciesView['policies'][number], b: PoliciesView['policies'][number]) =>
  (TIER_ORDER[a.tier] ?? 9) - (TIER_ORDER[b.tier] ?? 9) || a.priority - b.priority || a.key.localeCompare(b.key);

export function policiesView(m: FleetModel): PoliciesView {
  return { policies: [...m.policies.values()].map(policyRow).sort(policyOrder) };
}

const SEVERITY: Record<string, number> = { NotReady: 0, ApplyFailed: 1, TooLarge: 2, Quarantined: 3, NotAccepted: 4, Drift: 5, Pending: 6, NotRealized: 7, Converging: 8 };

/** Everything not healthy, worst first, with the reason from status. */
export function problemsView(m: FleetModel, limit = 2000): ProblemsView {
  const out: Problem[] = [];
  for (const c of m.cells.values()) {
    if (c.state === 'Healthy') continue;
    const h = m.hosts.get(c.name)!;
    const cond = condOf(h, c.state === 'NotReady' ? 'Ready' : 'FilterConverged');
    out.push({ kind: 'Host', name: c.name, problem: c.state, reason: c.reason, message: cond?.message ?? '' });
  }
  for (const v of m.vms.values()) {
    const phase = v.status?.phase ?? 'Pending';
    if (phase !== 'Pending' && phase !== 'Quarantined') continue;
    const cond = phase === 'Quarantined' ? condOf(v, 'PlacementCompliant') : condOf(v, 'Scheduled');
    out.push({ kind: 'VM', name: vmKey(v), problem: phase, reason: cond?.reason ?? '', message: cond?.message ?? '' });
  }
  for (const p of m.policies.values()) {
    const key = `${p.metadata.namespace ?? ''}/${p.metadata.name}`;
    const a = condOf(p, 'Accepted');
    const r = condOf(p, 'Realized');
    if (a?.status === 'False') out.push({ kind: 'SecurityPolicy', name: key, problem: 'NotAccepted', reason: a.reason ?? '', message: a.message ?? '' });
    else if (r?.status !== 'True') out.push({ kind: 'SecurityPolicy', name: key, problem: 'NotRealized', reason: r?.reason ?? 'NoStatus', message: r?.message ?? '' });
  }
  out.sort((a, b) => (SEVERITY[a.problem] ?? 9) - (SEVERITY[b.problem] ?? 9) || a.name.localeCompare(b.name, 'en', { numeric: true }));
  return { total: out.length, problems: out.slice(0, limit) };
}
