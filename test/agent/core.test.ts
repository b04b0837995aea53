import { describe, expect, it } from 'vitest';
import type { HostFilter } from '../../src/api';
import { AgentCore } from '../../src/agent/core';
import { parseFaults } from '../../src/agent/faults';
import { buildLinearClassifier } from '../helpers/linear';

function filter(hash: string, generation = 1): HostFilter {
  return {
    apiVersion: 'vmsafe.io/v1alpha1',
    kind: 'HostFilter',
    metadata: { name: 'h1', generation },
    spec: {
      hostName: 'h1',
      hash,
      addressGroups: [],
      programs: [
        {
          id: 'p-1',
          egress: [{ tier: 'Default', rule: 'default-deny', action: 'Deny', peers: [], ports: [] }],
          ingress: [{ tier: 'Tenant', policy: 'acme/web', rule: 'http', action: 'Allow', peers: [], ports: [{ protocol: 'TCP', port: 80 }] }, { tier: 'Default', rule: 'default-deny', action: 'Deny', peers: [], ports: [] }],
        },
      ],
      bindings: [{ vm: 'acme/web-1', vnic: 'eth0', ip: '10.0.0.1', mac: 'aa:bb:cc:00:00:01', program: 'p-1' }],
    },
  };
}
const clock = () => new Date('2026-01-01T00:00:00Z');
const http = { vm: 'acme/web-1', vnic: 'eth0', direction: 'ingress' as const, remoteIp: '192.0.2.1', protocol: 'TCP' as const, port: 80 };

describe('AgentCore', () => {
  it('drops a spoofed egress source before any rule, counts it and reports the count (issue 12 attack 3)', () => {
    const open = filter('h-s');
    open.spec.programs[0]!.egress = [{ tier: 'Tenant', policy: 'acme/all-out', rule: 'all', action: 'Allow', peers: [], ports: [] }];
    const a = new AgentCore('h1', buildLinearClassifier, () => 1, clock);
    a.apply(open);
    const out = { vm: 'acme/web-1', vnic: 'eth0', direction: 'egress' as const, remoteIp: '10.20.0.5', protocol: 'TCP' as const, port: 443 };
    expect(a.classify({ ...out, localIp: '10.0.0.1', localMac: 'AA:BB:CC:00:00:01' })).toMatchObject({ verdict: 'Allow', rule: 'all' });
    expect(a.classify({ ...out, localIp: '10.10.0.11', localMac: 'aa:bb:cc:00:00:01' })).toEqual({ verdict: 'Deny', tier: 'Provider', policy: null, rule: 'spoofguard' });
    expect(a.classify({ ...out, localIp: '10.0.0.1', localMac: 'aa:bb:cc:00:00:02' })).toMatchObject({ verdict: 'Deny', rule: 'spoofguard' });
    expect(a.desiredStatus(open).counters).toMatchObject({ lookups: 3, allowed: 1, denied: 2, spoofed: 2 });
  });

  it('applies a filter and enforces it', () => {
    const a = new AgentCore('h1', buildLinearClassifier, () => 1, clock);
    expect(a.apply(filter('h-1'))).toEqual({ ok: true, hash: 'h-1' });
    expect(a.classify(http)).toMatchObject({ verdict: 'Allow', policy: 'acme/web', rule: 'http' });
    expect(a.classify({ ...http, port: 22 })).toMatchObject({ verdict: 'Deny', rule: 'default-deny' });
    const st = a.desiredStatus(filter('h-1'));
    expect(st).toMatchObject({ appliedHash: 'h-1', observedGeneration: 1, programs: 1, rules: 3, bindings: 1 });
    expect(st.conditions?.[0]).toMatchObject({ type: 'Applied', status: 'True', reason: 'Applied' });
    expect(st.counters).toMatchObject({ lookups: 2, allowed: 1, denied: 1, applies: 1 });
  });

  it('reports injected apply failures and keeps the previous filter', () => {
    const a = new AgentCore('h1', buildLinearClassifier, () => 0, clock);
    a.faults = parseFaults('{"applyFailureRate":1}').faults;
    const out = a.apply(filter('h-2'));
    expect(out).toMatchObject({ ok: false, reason: 'ApplyFailed' });
    const st = a.desiredStatus(filter('h-2'));
    expect(st.appliedHash).toBeUndefined();
    expect(st.conditions?.[0]).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
    expect(st.counters?.applyFailures).toBe(1);
  });

  it('detects drift and asks to be re-applied', () => {
    const a = new AgentCore('h1', buildLinearClassifier, () => 1, clock);
    a.apply(filter('h-1'));
    expect(a.auditDrift()).toBe(false);
    a.injectDrift();
    expect(a.classify(http)).toMatchObject({ verdict: 'Deny' });
    expect(a.auditDrift()).toBe(true);
    expect(a.needsApply(filter('h-1'))).toBe(true);
    expect(a.desiredStatus(filter('h-1')).conditions?.[0]).toMatchObject({ status: 'False', reason: 'DriftDetected' });
    a.apply(filter('h-1'));
    expect(a.classify(http)).toMatchObject({ verdict: 'Allow' });
    expect(a.counters.driftsDetected).toBe(1);
  });

  it('rejects a bad fault annotation with a reason', () => {
    expect(parseFaults('{"applyFailureRate":2}').error).toMatch(/applyFailureRate/);
    expect(parseFaults('nope').error).toMatch(/not JSON/);
    // A misspelt key is an error (reported as an Event by the fleet), not silently no fault.
    expect(parseFaults('{"stoped":true}')).toEqual({ faults: parseFaults(undefined).faults, error: 'unknown field(s): stoped' });
  });
});
