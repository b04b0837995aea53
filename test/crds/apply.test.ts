// The real kubectl against the embedded API server: the generated CRDs install, the examples apply in
// one go, printer columns and short names work, and the schema's defaults and patterns are enforced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { REPO_ROOT, startTestApiServer, type TestApiServer } from '../helpers/apiserver';

describe('kubectl apply -f crds/ && kubectl apply -f examples/', () => {
  let api: TestApiServer;
  beforeAll(async () => {
    api = await startTestApiServer({ crds: false });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('installs the CRDs and they become Established', async () => {
    const applied = await api.kubectl(['apply', '-f', join(REPO_ROOT, 'crds')]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout.trim().split('\n').sort()).toEqual(
      ['addressgroups', 'hostfilters', 'hosts', 'securitypolicies', 'tags', 'tenants', 'vms'].map(
        (p) => `customresourcedefinition.apiextensions.k8s.io/${p}.vmsafe.io created`,
      ),
    );
    const established = await api.kubectl(['wait', '--for', 'condition=established', 'crd', '--all', '--timeout=20s']);
    expect(established.code).toBe(0);
  });

  it('applies every example in one go', async () => {
    const r = await api.kubectl(['apply', '-f', join(REPO_ROOT, 'examples')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/ created$/gm)).toHaveLength(39);
  });

  it('lists them through the vmsafe category with printer columns and short names', async () => {
    const all = await api.kubectl(['get', 'vmsafe', '-A', '-o', 'name']);
    expect(all.stdout.trim().split('\n')).toHaveLength(34);
    const vms = await api.kubectl(['get', 'vmi', '-n', 'acme']);
    expect(vms.stdout.split('\n')[0]!.split(/\s+/)).toEqual(['NAME', 'TENANT', 'HOST', 'PHASE', 'PROTECTED', 'AGE']);
    const pol = await api.kubectl(['get', 'secpol', '-n', 'vmsafe-system', '-o', 'custom-columns=N:.metadata.name,T:.spec.tier', '--no-headers']);
    expect(pol.stdout.trim().split('\n').map((l) => l.split(/\s+/))).toEqual([
      ['baseline', 'Baseline'],
      ['deny-known-bad', 'Provider'],
      ['pci-guardrail', 'Provider'],
    ]);
  });

  it('defaults and validates on the server from the generated schema', async () => {
    const power = await api.kubectl(['get', 'vm', '-n', 'acme', 'web-1', '-o', 'jsonpath={.spec.powerState}']);
    expect(power.stdout).toBe('On');
    const bad = 'apiVersion: vmsafe.io/v1alpha1\nkind: VM\nmetadata: {name: bad, namespace: acme}\nspec:\n  vnics: [{name: eth0, network: acme-web, ip: 10.0.0.300, mac: "aa:bb:cc:dd:ee:ff"}]\n';
    const r = await api.kubectl(['apply', '-f', '-'], { input: bad });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.vnics[0].ip: Invalid value: "10.0.0.300"');
  });
});
