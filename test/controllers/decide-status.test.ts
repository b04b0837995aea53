// Table tests for the pure status decisions of issue 11: SecurityPolicy status (Realized by
// generation), the rejection overlay (last known good), and the applied view's "filter includes
// compile S" (what Realized by generation is measured with).
import { describe, expect, it } from 'vitest';
import type { SecurityPolicy } from '../../src/api';
import { AppliedView } from '../../src/controllers/applied';
import { decidePolicyStatus, type PolicyFacts } from '../../src/controllers/decide-counts';
import { decideRejection } from '../../src/controllers/rejection';
import { impactStatus } from '../../src/controllers/staged-impact';
import type { Diff } from '../../src/analyze';
import type { KubeObject } from '../../src/runtime/client';
import type { InvalidEntry } from '../../src/runtime/store';

const now = new Date('2026-01-01T00:00:00Z');
const policy = (generation: number, conditions: unknown[] = []) =>
  ({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', metadata: { name: 'p', namespace: 'acme', generation }, spec: {}, status: { conditions } }) as unknown as SecurityPolicy;
const facts = (f: Partial<PolicyFacts>): PolicyFacts => ({ rejection: null, compiled: true, vnics: 2, hostsDesired: 2, hostsRealized: 2, notRealized: [], warnings: [], ...f });

describe('decidePolicyStatus', () => {
  const cases: Array<{ name: string; f: Partial<PolicyFacts>; accepted: string; realized: [string, string] }> = [
    { name: 'all hosts applied the generation', f: {}, accepted: 'True', realized: ['True', 'Realized'] },
    { name: 'generation not compiled yet: never Realized', f: { compiled: false, hostsRealized: 2 }, accepted: 'True', realized: ['False', 'Compiling'] },
    { name: 'one host behind', f: { hostsRealized: 1, notRealized: ['h2'] }, accepted: 'True', realized: ['False', 'Pending'] },
    { name: 'rejected by tier rules', f: { rejection: 'Provider tier only in vmsafe-system' }, accepted: 'False', realized: ['False', 'NotAccepted'] },
    { name: 'selects nothing', f: { hostsDesired: 0, hostsRealized: 0, vnics: 0 }, accepted: 'True', realized: ['True', 'Realized'] },
    { name: 'staged, impact being computed: never Realized', f: { staged: { impact: undefined }, hostsDesired: 0, hostsRealized: 0 }, accepted: 'True', realized: ['False', 'Staged'] },
    { name: 'staged with its impact', f: { staged: { impact: { observedGeneration: 7, summary: 'enforcing would open ...' } } }, accepted: 'True', realized: ['False', 'Staged'] },
    { name: 'staged but rejected: the rejection wins', f: { staged: { impact: undefined }, rejection: 'Provider tier only in vmsafe-system' }, accepted: 'False', realized: ['False', 'NotAccepted'] },
  ];
  for (const c of cases)
    it(c.name, () => {
      const s = decidePolicyStatus(policy(7), facts(c.f), now);
      expect(s.observedGeneration).toBe(7);
      const get = (t: string) => s.conditions!.find((x) => x.type === t)!;
      expect(get('Accepted').status).toBe(c.accepted);
      expect([get('Realized').status, get('Realized').reason]).toEqual(c.realized);
      for (const x of s.conditions!) expect(x.observedGeneration).toBe(7); // every condition carries it
      // The impact is on the status only for a staged policy that has one.
      expect(s.impact).toEqual(c.f.staged?.impact);
    });
});

describe('impactStatus', () => {
  const diff = (d: Partial<Diff>): Diff => ({ opened: [], closed: [], outsideOpened: [], outsideClosed: [], vmsChanged: [], policiesChanged: [], hostsChanged: 0, hosts: [], ...d });
  const tcp = (from: number, to = from) => ({ protocol: 'TCP' as const, from, to });
  it('nothing changes', () => {
    expect(impactStatus(diff({}), policy(3), 3)).toEqual({
      observedGeneration: 3,
      summary: 'enforcing would open 0 tenant pair(s) and 0 from outside addresses, close 0 tenant pair(s) and 0 from outside addresses; 0 VM(s) on 0 host(s) would get a new filter program',
      vnics: 0, vmsChanged: 0, hostsChanged: 0,
    });
  });
  it('pairs and outside listed together, ports as text, span from the policy', () => {
    const s = impactStatus(diff({
      opened: [{ from: 'acme', to: 'globex', ports: [tcp(443), tcp(8000, 8099)] }],
      outsideClosed: [{ from: 'outside', to: 'acme', ports: [{ protocol: 'ICMP' }] }],
      vmsChanged: ['acme/a', 'globex/b'], hostsChanged: 1,
      policiesChanged: [{ policy: 'acme/p', vnicsBefore: 0, vnicsAfter: 4 }, { policy: 'acme/other', vnicsBefore: 1, vnicsAfter: 0 }],
    }), policy(3), 3);
    expect(s.opened).toEqual([{ from: 'acme', to: 'globex', ports: 'TCP/443, TCP/8000-8099' }]);
    expect(s.closed).toEqual([{ from: 'outside', to: 'acme', ports: 'ICMP' }]);
    expect([s.vnics, s.vmsChanged, s.hostsChanged]).toEqual([4, 2, 1]);
    expect(s.summary).toContain('open 1 tenant pair(s) and 0 from outside addresses, close 0 tenant pair(s) and 1 from outside');
  });
  it('lists at most 10 pairs but counts them all', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ from: `t${String(i).padStart(2, '0')}`, to: 'acme', ports: [tcp(22)] }));
    const s = impactStatus(diff({ opened: many }), policy(1), 1);
    expect(s.opened).toHaveLength(10);
    expect(s.summary).toContain('open 25 tenant pair(s)');
  });
});

describe('decideRejection', () => {
  const lastGood = policy(2) as unknown as KubeObject;
  const newest = { ...policy(3), metadata: { name: 'p', namespace: 'acme', generation: 3, resourceVersion: '9' } } as unknown as KubeObject;
  const invalid: InvalidEntry = { key: 'acme/p', raw: newest as InvalidEntry['raw'], errors: [{ path: 'spec.ingress[0].peers[0]', message: 'exactly one of vms, tenants, sameTenant, cidr must be set, got sameTenant, cidr' }] };
  const valid = (d: { desired: object }) => (d.desired as { conditions?: Array<{ type: string; status: string; message: string; observedGeneration?: number }> }).conditions?.find((c) => c.type === 'Valid');

  it('valid, never rejected: unchanged, no Valid condition', () => {
    const d = decideRejection(lastGood, { conditions: [] }, undefined, now);
    expect(d.current).toBe(lastGood);
    expect(valid(d)).toBeUndefined();
    expect(d.warn).toBeUndefined();
  });
  it('newest generation rejected, last good kept: targets the newest, names generation, field and what stays enforced, warns', () => {
    const d = decideRejection(lastGood, { conditions: [] }, invalid, now);
    expect(d.current).toBe(newest);
    expect(valid(d)).toMatchObject({ status: 'False', observedGeneration: 3 });
    expect(valid(d)!.message).toBe('generation 3 rejected: spec.ingress[0].peers[0]: exactly one of vms, tenants, sameTenant, cidr must be set, got sameTenant, cidr; generation 2 stays enforced');
    expect(d.warn).toBe(valid(d)!.message);
  });
  it('already reported for this generation: no second Warning', () => {
    const reported = { ...newest, status: { conditions: [{ type: 'Valid', status: 'False', reason: 'InvalidSpec', message: 'x', observedGeneration: 3, lastTransitionTime: '' }] } } as unknown as KubeObject;
    const d = decideRejection(lastGood, { conditions: [] }, { ...invalid, raw: reported as InvalidEntry['raw'] }, now);
    expect(d.warn).toBeUndefined();
  });
  it('never valid: nothing of it is enforced', () => {
    const d = decideRejection(newest, { conditions: [] }, invalid, now);
    expect(valid(d)!.message).toMatch(/; nothing of it is enforced$/);
  });
  it('valid again after a rejection: Valid=True at the new generation', () => {
    const fixed = policy(4, [{ type: 'Valid', status: 'False', reason: 'InvalidSpec', message: 'x', observedGeneration: 3, lastTransitionTime: '' }]) as unknown as KubeObject;
    const d = decideRejection(fixed, { conditions: (fixed.status as { conditions: unknown[] }).conditions }, undefined, now);
    expect(valid(d)).toMatchObject({ status: 'True', observedGeneration: 4 });
  });
});

describe('AppliedView.includes', () => {
  const v = new AppliedView();
  v.advance('h1', 'A', 1); // compile 1 made A current
  v.advance('h1', 'A', 3); // compile 3 left h1 unchanged
  v.advance('h1', 'B', 5); // compile 5 made B current: A was current through compile 4
  const cases: Array<[string | undefined, number, boolean]> = [
    ['B', 5, true], // current
    ['B', 9, true], // current includes every later compile
    ['A', 4, true], // A was still current at compile 4 (a policy taken in at 4 changed nothing on h1)
    ['A', 5, false], // compile 5 changed h1: A does not hold it
    ['C', 1, false], // never compiled here
    [undefined, 1, false], // nothing applied
  ];
  for (const [hash, seq, want] of cases) it(`${hash ?? 'nothing'} applied, compile ${seq}: ${want}`, () => expect(v.includes('h1', hash, seq)).toBe(want));
  it('an unknown host includes nothing', () => expect(v.includes('h2', 'B', 1)).toBe(false));
});

describe('AppliedView.moved: which objects an agent report can change', () => {
  const v = new AppliedView();
  v.advance('h1', 'A', 1);
  v.record('h1', 'A', new Map([['ns/a', 'p1'], ['ns/b', 'p2']]));
  v.advance('h1', 'B', 5); // A was current through compile 4
  v.record('h1', 'B', new Map([['ns/a', 'p1'], ['ns/b', 'p3'], ['ns/c', 'p1']]));
  v.advance('h1', 'D', 7); // compiled, its programs not recorded (evicted)
  const cases: Array<[string, string | undefined, string | undefined, number | undefined, string | undefined, boolean]> = [
    ['an input both versions hold, the same program', 'A', 'B', 1, 'ns/a', false],
    ['a policy compiled before both', 'A', 'B', 3, undefined, false],
    ['an input compiled at 5: only B holds it', 'A', 'B', 5, undefined, true],
    ['an input not compiled yet', 'A', 'B', undefined, 'ns/a', false],
    ['a VM whose program changed', 'A', 'B', 1, 'ns/b', true],
    ['a VM bound in B only', 'A', 'B', 1, 'ns/c', true],
    ['back to the older version: an input compiled at 5', 'B', 'A', 5, undefined, true],
    ['back to the older version: a VM whose program changed', 'B', 'A', 1, 'ns/b', true],
    ['the first report (nothing applied before)', undefined, 'B', 1, 'ns/a', true],
    ['a version never compiled here', 'A', 'C', 1, 'ns/a', true],
    ['a version whose programs are gone', 'B', 'D', 1, undefined, true],
  ];
  for (const [name, from, to, seq, vm, want] of cases) it(`${name}: ${want}`, () => expect(v.moved('h1', from, to, seq, vm)).toBe(want));
  it('an unknown host: true', () => expect(v.moved('h9', 'A', 'B', 1)).toBe(true));
});
