// The dashboard's aggregates: host state from conditions (table), incremental totals equal a
// recount from scratch after any sequence of watch events (property), and the views' ordering.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Host, SecurityPolicy, VM } from '../../src/api';
import { FleetModel, hostState, poolOf, vmKey } from '../../src/ui/model';
import { liveReach } from '../../src/ui/reach';
import { fleetView, policiesView, problemsView, tenantsView, tenantView } from '../../src/ui/views';
import { host, policy, providerPolicy, baselinePolicy, tenant, vm } from '../policy/builders';

const cond = (type: string, status: 'True' | 'False', reason: string, message = '') => ({ type, status, reason, message, lastTransitionTime: '2026-01-01T00:00:00Z' });
const withConds = (h: Host, ...conditions: ReturnType<typeof cond>[]): Host => ({ ...h, status: { conditions } });

describe('hostState', () => {
  const h = host('h1');
  it.each([
    ['no status', h, 'NotReady', 'NoStatus'],
    ['agent lost', withConds(h, cond('Ready', 'False', 'AgentLost')), 'NotReady', 'AgentLost'],
    ['converged', withConds(h, cond('Ready', 'True', 'AgentHeartbeat'), cond('FilterConverged', 'True', 'Converged')), 'Healthy', ''],
    ['pending', withConds(h, cond('Ready', 'True', 'AgentHeartbeat'), cond('FilterConverged', 'False', 'Pending')), 'Converging', 'Pending'],
    ['apply failed', withConds(h, cond('Ready', 'True', 'AgentHeartbeat'), cond('FilterConverged', 'False', 'ApplyFailed')), 'ApplyFailed', 'ApplyFailed'],
    ['drift', withConds(h, cond('Ready', 'True', 'AgentHeartbeat'), cond('FilterConverged', 'False', 'DriftDetected')), 'Drift', 'DriftDetected'],
    ['too large', withConds(h, cond('Ready', 'True', 'AgentHeartbeat'), cond('FilterConverged', 'False', 'FilterTooLarge')), 'TooLarge', 'FilterTooLarge'],
  ])('%s', (_what, obj, state, reason) => {
    expect(hostState(obj as Host)).toEqual({ state, reason });
  });

  it('pool: the generator label, else the sorted tags', () => {
    expect(poolOf({ ...host('a', ['pci', 'gold']) })).toBe('gold+pci');
    expect(poolOf({ ...host('a'), metadata: { name: 'a', labels: { 'vmsafe.io/pool': 'pool-3' } } })).toBe('pool-3');
    expect(poolOf(host('a'))).toBe('(untagged)');
  });
});

const PHASES = ['Pending', 'Running', 'Quarantined', 'Off'] as const;
const vmArb = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd'),
  ns: fc.constantFrom('t1', 't2'),
  host: fc.option(fc.constantFrom('h1', 'h2', 'h3'), { nil: undefined }),
  phase: fc.constantFrom(...PHASES),
  nics: fc.integer({ min: 1, max: 3 }),
});
const opArb = fc.oneof(
  vmArb.map((v) => ({ op: 'set' as const, v })),
  vmArb.map((v) => ({ op: 'del' as const, v })),
);
type VmCase = { name: string; ns: string; host: string | undefined; phase: (typeof PHASES)[number]; nics: number };
function build(v: VmCase): VM {
  const b = vm(v.name).inTenant(v.ns);
  for (let i = 0; i < v.nics; i++) b.withIps(`10.0.0.${i + 1}`);
  const o = b.build();
  return { ...o, status: { phase: v.phase, ...(v.host ? { hostName: v.host } : {}) } };
}

describe('FleetModel', () => {
  it('incremental totals and per-host sets equal a recount after any sequence of events', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const m = new FleetModel();
        for (const h of ['h1', 'h2', 'h3']) m.setHost(host(h));
        for (const { op, v } of ops) {
          if (op === 'set') m.setVm(build(v));
          else m.deleteVm(`${v.ns}/${v.name}`);
        }
        const all = [...m.vms.values()];
        const t = m.totals();
        expect(t.vms).toBe(all.length);
        expect(t.vnics).toBe(all.reduce((n, v) => n + v.spec.vnics.length, 0));
        const byPhase: Record<string, number> = {};
        for (const v of all) byPhase[v.status!.phase!] = (byPhase[v.status!.phase!] ?? 0) + 1;
        expect(t.vmsByPhase).toEqual(byPhase);
        for (const h of ['h1', 'h2', 'h3']) {
          expect([...m.vmsByHost.get(h)].sort()).toEqual(all.filter((v) => v.status?.hostName === h).map(vmKey).sort());
          expect(m.cells.get(h)!.vms).toBe(m.vmsByHost.count(h));
        }
        for (const ns of ['t1', 't2']) expect(m.vmsByTenant.count(ns)).toBe(all.filter((v) => v.metadata.namespace === ns).length);
      }),
    );
  });

  it('reports which host cells a VM move touched, and the cell counts follow', () => {
    const m = new FleetModel();
    m.setHost(host('h1'));
    m.setHost(host('h2'));
    m.drain();
    const v = build({ name: 'a', ns: 't1', host: 'h1', phase: 'Running', nics: 1 });
    m.setVm(v);
    m.setVm({ ...v, status: { phase: 'Running', hostName: 'h2' } });
    expect([...m.drain().hosts].sort()).toEqual(['h1', 'h2']);
    const cells = Object.fromEntries(fleetView(m).cells.map((c) => [c.name, c.vms]));
    expect(cells).toEqual({ h1: 0, h2: 1 });
  });

  it('counts realized and not-accepted policies through updates and deletes', () => {
    const m = new FleetModel();
    const p = policy('t1', 'p');
    const realized: SecurityPolicy = { ...p, status: { conditions: [cond('Accepted', 'True', 'Accepted'), cond('Realized', 'True', 'Realized')] } };
    const rejected: SecurityPolicy = { ...p, status: { conditions: [cond('Accepted', 'False', 'InvalidSelector', 'spec.appliesTo: bad')] } };
    m.setPolicy(realized);
    expect(m.totals()).toMatchObject({ policies: 1, policiesRealized: 1, policiesNotAccepted: 0 });
    m.setPolicy(rejected);
    expect(m.totals()).toMatchObject({ policies: 1, policiesRealized: 0, policiesNotAccepted: 1 });
    expect(problemsView(m).problems).toEqual([{ kind: 'SecurityPolicy', name: 't1/p', problem: 'NotAccepted', reason: 'InvalidSelector', message: 'spec.appliesTo: bad' }]);
    m.deletePolicy('t1/p');
    expect(m.totals()).toMatchObject({ policies: 0, policiesRealized: 0, policiesNotAccepted: 0 });
  });
});

describe('views', () => {
  it('policies in evaluation order: tier, then priority, then name', () => {
    const m = new FleetModel();
    m.setPolicy(baselinePolicy('base', { priority: 1 }));
    m.setPolicy(policy('t1', 'b', { priority: 10 }));
    m.setPolicy(policy('t1', 'a', { priority: 10 }));
    m.setPolicy(providerPolicy('guard', { priority: 900 }));
    m.setPolicy(policy('t1', 'first', { priority: 5 }));
    expect(policiesView(m).policies.map((p) => `${p.tier}:${p.key}`)).toEqual([
      'Provider:vmsafe-system/guard', 'Tenant:t1/first', 'Tenant:t1/a', 'Tenant:t1/b', 'Baseline:vmsafe-system/base',
    ]);
  });

  it('problems worst first: NotReady hosts before quarantined VMs before unrealized policies', () => {
    const m = new FleetModel();
    m.setHost(withConds(host('h1'), cond('Ready', 'False', 'AgentLost', 'lease expired')));
    m.setHost(withConds(host('h2'), cond('Ready', 'True', 'AgentHeartbeat'), cond('FilterConverged', 'True', 'Converged')));
    m.setVm({ ...build({ name: 'q', ns: 't1', host: 'h2', phase: 'Quarantined', nics: 1 }) });
    m.setPolicy(policy('t1', 'p'));
    expect(problemsView(m).problems.map((p) => `${p.kind}/${p.name}/${p.problem}`)).toEqual(['Host/h1/NotReady', 'VM/t1/q/Quarantined', 'SecurityPolicy/t1/p/NotRealized']);
  });

  it('tenant search matches name or display name, sorted naturally, bounded', () => {
    const m = new FleetModel();
    for (let i = 1; i <= 12; i++) m.setTenant(tenant(`tenant-${i}`));
    m.setTenant({ ...tenant('zeta'), spec: { ...tenant('zeta').spec, displayName: 'Acme Corp' } });
    expect(tenantsView(m, 'acme').tenants.map((t) => t.name)).toEqual(['zeta']);
    const v = tenantsView(m, 'tenant-1', 2);
    expect(v).toMatchObject({ total: 13, matched: 4 });
    expect(v.tenants.map((t) => t.name)).toEqual(['tenant-1', 'tenant-10']);
  });
});

describe('views when Tenants are not readable (a tenant admin)', () => {
  const m = new FleetModel();
  m.setVm(build({ name: 'a', ns: 't1', host: 'h1', phase: 'Running', nics: 1 }));
  m.setVm(build({ name: 'b', ns: 't1', host: undefined, phase: 'Pending', nics: 1 }));
  m.setVm(build({ name: 'c', ns: 't2', host: 'h2', phase: 'Running', nics: 1 }));
  m.setPolicy(policy('t1', 'p'));
  m.setPolicy(policy('t3', 'q'));
  const reach = { available: false as const, why: 'analyzer not available' };

  it('the tenants list is the tenants of the readable VMs, marked derived; without that flag it is empty', () => {
    expect(tenantsView(m, '', 200, true)).toMatchObject({ derived: true, total: 2, tenants: [{ name: 't1', vms: 2 }, { name: 't2', vms: 1 }] });
    expect(tenantsView(m, '', 200, false)).toEqual({ total: 0, matched: 0, tenants: [] });
  });

  it("a tenant's view is built from its VMs and the policies in their namespaces, only when derived", () => {
    const v = tenantView(m, 't1', reach, true)!;
    expect(v.derived).toBe(true);
    expect(v.vms.map((x) => x.key)).toEqual(['t1/a', 't1/b']);
    expect(v.policies.map((p) => p.key)).toEqual(['t1/p']);
    expect(v.conditions).toEqual([]);
    expect(tenantView(m, 't1', reach, false)).toBeUndefined();
    expect(tenantView(m, 't3', reach, true)).toBeUndefined();
  });
});

describe('liveReach', () => {
  it('refuses on incomplete inputs and above the size limit, and analyzes once per change (at most every interval)', () => {
    const m = new FleetModel();
    m.setVm(build({ name: 'a', ns: 't1', host: 'h1', phase: 'Running', nics: 1 }));
    m.setVm(build({ name: 'b', ns: 't2', host: 'h1', phase: 'Running', nics: 1 }));
    let version = 1;
    let clock = 0;
    let why: string | undefined = 'Reachability needs every Tenant';
    const r = liveReach({ version: () => version, incomplete: () => why, maxVms: 1, minIntervalMs: 1000, now: () => clock });
    expect(r(m, 't1')).toEqual({ available: false, why: 'Reachability needs every Tenant' });
    why = undefined;
    expect(r(m, 't1')).toEqual({ available: false, why: '2 VMs is more than the dashboard analyzes in place (1): run vmsafe analyze --live' });
    const r2 = liveReach({ version: () => version, incomplete: () => undefined, minIntervalMs: 1000, now: () => clock });
    const first = r2(m, 't1');
    expect(first).toMatchObject({ available: true, at: new Date(0).toISOString(), reaches: [], reachedBy: [] });
    version++;
    clock = 500; // changed, but within the interval: the same analysis, with its time
    expect(r2(m, 't1')).toMatchObject({ at: new Date(0).toISOString() });
    clock = 1500;
    expect(r2(m, 't1')).toMatchObject({ at: new Date(1500).toISOString() });
  });
});
