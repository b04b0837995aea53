// Table tests for the pure status decisions of Host (Ready, FilterConverged incl. TooLarge and a lost
// agent), Tenant (Ready by generation) and Tag (InUse), plus the policy's TooLarge and the applied
// view keeping a written version however many compiles retire it, and the VM event → Tag keys mapping.
import { describe, expect, it } from 'vitest';
import type { Host, HostFilter, SecurityPolicy, Tag, Tenant } from '../../src/api';
import { AppliedView } from '../../src/controllers/applied';
import { decidePolicyStatus, decideTagStatus, decideTenantStatus, type PolicyFacts, type TagCounts, type TenantCounts } from '../../src/controllers/decide-counts';
import { decideHostStatus, heartbeat, renewedInTime } from '../../src/controllers/decide-host';
import type { TooLargeFilter } from '../../src/controllers/too-large';
import { vmEventTags } from '../../src/controllers/tag';

const now = new Date('2026-01-01T00:00:10Z');
const condOf = (s: { conditions?: Array<{ type: string; status: string; reason: string; message: string; observedGeneration?: number }> }, t: string) => s.conditions!.find((c) => c.type === t)!;

describe('decideHostStatus', () => {
  const host = { apiVersion: 'vmsafe.io/v1alpha1', kind: 'Host', metadata: { name: 'h1', generation: 3 }, spec: {} } as unknown as Host;
  const lease = (renewedSecondsAgo: number) => ({ holderIdentity: 'h1', renewTime: new Date(now.getTime() - renewedSecondsAgo * 1000).toISOString(), leaseDurationSeconds: 8 });
  const filter = (spec: string, applied?: string, agent?: { status: string; reason: string; message: string }) =>
    ({ metadata: { name: 'h1' }, spec: { hash: spec }, status: { appliedHash: applied, conditions: agent ? [{ type: 'Applied', ...agent }] : [] } }) as unknown as HostFilter;
  const big: TooLargeFilter = { hash: 'hf-big', bytes: 2_000_000, limit: 1_572_864 };
  const cases: Array<{ name: string; lease?: ReturnType<typeof lease>; filter?: HostFilter; tooLarge?: TooLargeFilter; ready: [string, string]; conv: [string, string]; message?: string }> = [
    { name: 'heartbeating, applied the compiled filter', lease: lease(1), filter: filter('A', 'A'), ready: ['True', 'AgentHeartbeat'], conv: ['True', 'Converged'] },
    { name: 'no lease yet', filter: filter('A', 'A'), ready: ['False', 'NoHeartbeat'], conv: ['False', 'NoHeartbeat'] },
    {
      name: 'lease expired: what the agent reported applied is not counted on',
      lease: lease(9), filter: filter('A', 'A'), ready: ['False', 'AgentLost'], conv: ['False', 'AgentLost'],
      message: 'the agent is not reporting: nothing it applied (filter A) is counted on',
    },
    { name: 'no filter yet', lease: lease(1), ready: ['True', 'AgentHeartbeat'], conv: ['False', 'NotCompiled'] },
    { name: 'agent still applying', lease: lease(1), filter: filter('B', 'A'), ready: ['True', 'AgentHeartbeat'], conv: ['False', 'Pending'], message: 'waiting for the agent to apply B (applied: A)' },
    { name: 'a restarted agent holds nothing', lease: lease(1), filter: filter('B'), ready: ['True', 'AgentHeartbeat'], conv: ['False', 'Pending'], message: 'waiting for the agent to apply B' },
    { name: 'agent reports the apply failed', lease: lease(1), filter: filter('B', 'A', { status: 'False', reason: 'ApplyFailed', message: 'boom' }), ready: ['True', 'AgentHeartbeat'], conv: ['False', 'ApplyFailed'], message: 'boom' },
    {
      name: 'compiled filter too large to write: not converged though the written one is applied',
      lease: lease(1), filter: filter('A', 'A'), tooLarge: big, ready: ['True', 'AgentHeartbeat'], conv: ['False', 'TooLarge'],
      message: 'compiled filter hf-big is 2000000 bytes, over the 1572864-byte request limit; not written: the host keeps filter A',
    },
    {
      name: 'too large and never written: says the host has no filter',
      lease: lease(1), tooLarge: big, ready: ['True', 'AgentHeartbeat'], conv: ['False', 'TooLarge'],
      message: 'compiled filter hf-big is 2000000 bytes, over the 1572864-byte request limit; not written: the host has no filter applied',
    },
    { name: 'too large and the agent lost: the lost agent first', lease: lease(30), filter: filter('A', 'A'), tooLarge: big, ready: ['False', 'AgentLost'], conv: ['False', 'AgentLost'] },
  ];
  for (const c of cases)
    it(c.name, () => {
      const d = decideHostStatus({ host, lease: c.lease, filter: c.filter, compiled: undefined, allocated: { vms: 1, vnics: 2 }, tooLarge: c.tooLarge, now });
      const ready = condOf(d.status, 'Ready');
      const conv = condOf(d.status, 'FilterConverged');
      expect([ready.status, ready.reason]).toEqual(c.ready);
      expect([conv.status, conv.reason]).toEqual(c.conv);
      if (c.message) expect(conv.message).toBe(c.message);
      expect(d.ready).toBe(c.ready[0] === 'True');
      expect(d.status.observedGeneration).toBe(3);
      for (const x of d.status.conditions!) expect(x.observedGeneration).toBe(3);
    });
  it('heartbeat: Ready until the lease duration after the renewal, then rechecked', () => {
    expect(heartbeat(lease(7.5), now)).toMatchObject({ status: 'True', expiresInMs: 500 });
    expect(heartbeat(lease(8), now).status).toBe('False');
  });
  describe('renewedInTime: a renewal the scheduled recheck reads, no reconcile of its own', () => {
    const cases: Array<[string, ReturnType<typeof lease> | undefined, ReturnType<typeof lease> | undefined, boolean]> = [
      ['renewed before it expired, same holder', lease(5), lease(0), true],
      ['renewed after it expired (Ready goes True again)', lease(9), lease(0), false],
      ['another holder', lease(5), { ...lease(0), holderIdentity: 'other' }, false],
      ['the new lease expires sooner (a shorter duration)', lease(5), { ...lease(0), leaseDurationSeconds: 2 }, false],
      ['the first heartbeat', { holderIdentity: 'h1' } as ReturnType<typeof lease>, lease(0), false],
      ['no lease before', undefined, lease(0), false],
      ['the renewal time cleared', lease(5), { holderIdentity: 'h1' } as ReturnType<typeof lease>, false],
    ];
    for (const [name, a, b, want] of cases) it(`${name}: ${want}`, () => expect(renewedInTime(a, b, now.getTime())).toBe(want));
  });
});

describe('decideTenantStatus', () => {
  const tenant = (quota?: { vms?: number; vnics?: number }) =>
    ({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'Tenant', metadata: { name: 't', generation: 5 }, spec: { quota, placementTags: [], admins: [] } }) as unknown as Tenant;
  const counts = (c: Partial<TenantCounts>): TenantCounts => ({
    namespaces: ['t'], missingNamespaces: [], conflicts: [], vms: 2, vnics: 3, hosts: 2, policies: 1, unknownTags: [], compiled: true, notApplied: [], tooLarge: [], ...c,
  });
  const cases: Array<{ name: string; quota?: { vms?: number }; c: Partial<TenantCounts>; ready: [string, string]; message?: string }> = [
    { name: 'every host applied the generation', c: {}, ready: ['True', 'Ready'], message: '1 namespace(s), 2 VM(s)' },
    { name: 'callers without generations (compiled/notApplied absent): Ready', c: { compiled: undefined, notApplied: undefined, tooLarge: undefined }, ready: ['True', 'Ready'] },
    { name: 'namespace claimed by another tenant', c: { conflicts: ['t'] }, ready: ['False', 'NamespaceConflict'] },
    { name: 'namespace being created', c: { missingNamespaces: ['t'] }, ready: ['False', 'NamespacesPending'] },
    { name: 'unknown placement tag', c: { unknownTags: ['gold'] }, ready: ['False', 'UnknownTag'] },
    { name: 'over quota', quota: { vms: 1 }, c: {}, ready: ['False', 'QuotaExceeded'], message: '2 VMs > quota 1' },
    { name: 'generation not compiled yet', c: { compiled: false }, ready: ['False', 'Compiling'], message: 'generation 5 is not compiled yet' },
    { name: 'one host behind', c: { notApplied: ['h2'] }, ready: ['False', 'Pending'], message: '1 of 2 host(s) have not applied generation 5 yet: h2' },
    { name: 'a host behind because its filter is too large', c: { notApplied: ['h1', 'h2'], tooLarge: ['h2'] }, ready: ['False', 'TooLarge'], message: 'the filter of host(s) h2 is too large to write: generation 5 is not applied there' },
  ];
  for (const c of cases)
    it(c.name, () => {
      const s = decideTenantStatus(tenant(c.quota), counts(c.c), now);
      const r = condOf(s, 'Ready');
      expect([r.status, r.reason]).toEqual(c.ready);
      if (c.message) expect(r.message).toBe(c.message);
      expect(r.observedGeneration).toBe(5);
      expect(s.observedGeneration).toBe(5);
    });
});

describe('decideTagStatus', () => {
  const tag = { apiVersion: 'vmsafe.io/v1alpha1', kind: 'Tag', metadata: { name: 'gold', generation: 2 }, spec: {} } as unknown as Tag;
  const zero: TagCounts = { hosts: 0, vms: 0, networks: 0, tenants: 0, policies: 0 };
  const cases: Array<[string, Partial<TagCounts>, string, string]> = [
    ['nothing references it', {}, 'False', 'nothing references this tag'],
    ['hosts and VMs', { hosts: 2, vms: 3 }, 'True', 'referenced by 2 hosts, 3 vms'],
    ['only a policy', { policies: 1 }, 'True', 'referenced by 1 policies'],
    ['every kind', { hosts: 1, vms: 1, networks: 1, tenants: 1, policies: 1 }, 'True', 'referenced by 1 hosts, 1 vms, 1 networks, 1 tenants, 1 policies'],
  ];
  for (const [name, c, status, message] of cases)
    it(name, () => {
      const s = decideTagStatus(tag, { ...zero, ...c }, now);
      expect(condOf(s, 'InUse')).toMatchObject({ status, message, observedGeneration: 2 });
      expect(s).toMatchObject({ observedGeneration: 2, hosts: c.hosts ?? 0, vms: c.vms ?? 0, networks: c.networks ?? 0 });
    });
});

describe('decidePolicyStatus: TooLarge', () => {
  const policy = { apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', metadata: { name: 'p', namespace: 'acme', generation: 4 }, spec: {} } as unknown as SecurityPolicy;
  const facts = (f: Partial<PolicyFacts>): PolicyFacts => ({ rejection: null, compiled: true, vnics: 2, hostsDesired: 3, hostsRealized: 3, notRealized: [], warnings: [], ...f });
  it('a host behind because its filter is too large: TooLarge naming it', () => {
    const s = decidePolicyStatus(policy, facts({ hostsRealized: 1, notRealized: ['h2', 'h3'], tooLarge: [{ host: 'h3', detail: 'compiled filter X is 2 bytes' }] }), now);
    expect(condOf(s, 'Realized')).toMatchObject({
      status: 'False',
      reason: 'TooLarge',
      message: '2 of 3 host(s) not applied: the filter of host(s) h3 cannot be written (compiled filter X is 2 bytes); they keep enforcing their last filter',
      observedGeneration: 4,
    });
  });
  it('realized everywhere: a too-large entry elsewhere does not matter', () => {
    expect(condOf(decidePolicyStatus(policy, facts({ tooLarge: [] }), now), 'Realized').status).toBe('True');
  });
});

describe('AppliedView: a written version stays included however many compiles retire it', () => {
  it('the filter the agent holds while newer ones cannot be written', () => {
    const v = new AppliedView();
    v.advance('h1', 'W', 1);
    v.record('h1', 'W', new Map());
    v.wrote('h1', 'W');
    // 40 compiles change h1 (each too large to write, say): W is retired at compile 1.
    for (let s = 2; s <= 41; s++) v.advance('h1', `C${s}`, s);
    expect(v.includes('h1', 'W', 1)).toBe(true); // what compile 1 took in is still enforced by W
    expect(v.includes('h1', 'W', 2)).toBe(false);
    expect(v.includes('h1', 'C2', 2)).toBe(false); // an unwritten retired version is forgotten
  });
});

describe('vmEventTags: the Tag keys a VM event maps to', () => {
  const v = (...tags: string[]) => ({ spec: { tags } });
  const cases: Array<[string, ReturnType<typeof v>, ReturnType<typeof v> | undefined, string[]]> = [
    ['add or delete: its tags', v('web', 'db'), undefined, ['web', 'db']],
    ['add with a duplicate tag: once', v('web', 'web'), undefined, ['web']],
    ['tags unchanged (status-only update): none', v('web'), v('web'), []],
    ['reordered: none (no count changes)', v('web', 'db'), v('db', 'web'), []],
    ['a tag replaced: the old and the new', v('web'), v('app'), ['web', 'app']],
    ['a tag added: old and new', v('web'), v('web', 'db'), ['web', 'db']],
    ['all tags removed: the old ones', v('web', 'db'), v(), ['web', 'db']],
  ];
  for (const [name, a, b, want] of cases) it(name, () => expect(vmEventTags(a, b).sort()).toEqual([...want].sort()));
});
