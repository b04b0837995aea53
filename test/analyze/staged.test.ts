// Staged policies: not enforced (compiler input and reference evaluator), trace shows the staged
// verdict beside the enforced one, and stagedImpact says what enforcing it would open or close.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { stagedImpact } from '../../src/analyze';
import { analyzeWorld } from '../../src/analyze/world';
import { decode } from '../../src/api';
import { run as trace } from '../../src/cli/commands/trace';
import type { TraceWorld } from '../../src/policy/tracer';
import { host, providerPolicy, tenant, vm } from '../policy/builders';

const open = (enforcement: 'Enforced' | 'Staged') =>
  providerPolicy('a-to-b', {
    enforcement,
    appliesTo: { tenants: ['a', 'b'] },
    egress: [{ name: 'out', action: 'Allow', peers: [{ tenants: ['b'] }], ports: [{ protocol: 'TCP', port: 443 }] }],
    ingress: [{ name: 'in', action: 'Allow', peers: [{ tenants: ['a'] }], ports: [{ protocol: 'TCP', port: 443 }] }],
  });
const world = (enforcement: 'Enforced' | 'Staged'): TraceWorld => ({
  tenants: [tenant('a'), tenant('b')],
  tags: [],
  hosts: [host('h0'), host('h1')],
  vms: [vm('x').inTenant('a').withIps('10.0.0.1').onHost('h0').build(), vm('y').inTenant('b').withIps('10.0.0.2').onHost('h1').build()],
  policies: [open(enforcement)],
});

describe('staged policies', () => {
  it('default to Enforced and accept Staged', () => {
    const d = decode({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', metadata: { name: 'p', namespace: 'a' }, spec: {} });
    expect(d.ok && (d.value as { spec: { enforcement: string } }).spec.enforcement).toBe('Enforced');
    const bad = decode({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', metadata: { name: 'p', namespace: 'a' }, spec: { enforcement: 'Audit' } });
    expect(bad.ok).toBe(false);
  });

  it('are not enforced; enforcing one is what stagedImpact reports', () => {
    expect(analyzeWorld(world('Staged'), { placed: true }).result.pairs).toEqual([]);
    expect(analyzeWorld(world('Enforced'), { placed: true }).result.pairs.map((p) => [p.from, p.to])).toEqual([['a', 'b']]);
    const impact = stagedImpact(world('Staged'), { namespace: 'vmsafe-system', name: 'a-to-b' }, { placed: true });
    expect(impact.opened).toEqual([{ from: 'a', to: 'b', ports: [{ protocol: 'TCP', from: 443, to: 443 }] }]);
    expect(impact.closed).toEqual([]);
    expect(impact.vmsChanged).toEqual(['a/x', 'b/y']);
    expect(impact.hosts.map((h) => h.host)).toEqual(['h0', 'h1']);
    expect(impact.policiesChanged).toEqual([{ policy: 'vmsafe-system/a-to-b', vnicsBefore: 0, vnicsAfter: 2 }]);
    // An enforced policy changes nothing when "enforced".
    expect(stagedImpact(world('Enforced'), { namespace: 'vmsafe-system', name: 'a-to-b' }, { placed: true }).hostsChanged).toBe(0);
  });

  it('vmsafe trace shows the staged verdict beside the enforced one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmsafe-staged-'));
    const w = world('Staged');
    writeFileSync(join(dir, 'all.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...w.tenants, ...w.hosts, ...w.vms, ...w.policies] }));
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    try {
      expect(await trace(['-f', dir, '--from', 'a/x', '--to', 'b/y', '--protocol', 'TCP', '--port', '443', '-o', 'json'])).toBe(0);
    } finally {
      spy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
    const v = JSON.parse(out);
    expect(v.verdict).toBe('Deny');
    expect(v.staged.verdict).toBe('Allow');
    expect(v.staged.egress).toEqual({ verdict: 'Allow', tier: 'Provider', policy: 'vmsafe-system/a-to-b', rule: 'out' });
  });
});
