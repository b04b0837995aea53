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

  it('re-applies idempotently: a second client-side apply is all unchanged, then server-side apply takes over without conflicts', async () => {
    const again = await api.kubectl(['apply', '-f', join(REPO_ROOT, 'examples')]);
    expect(again.code).toBe(0);
    const lines = again.stdout.trim().split('\n');
    expect(lines).toHaveLength(39);
    expect(lines.filter((l) => !l.endsWith(' unchanged'))).toEqual([]);
    const ssa = await api.kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'examples')]);
    expect(ssa.stderr).toBe('');
    expect(ssa.code).toBe(0);
    expect(ssa.stdout.trim().split('\n').filter((l) => !l.endsWith(' serverside-applied'))).toEqual([]);
    // And the server-side apply is itself repeatable (same field manager, same values).
    const ssa2 = await api.kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'examples')]);
    expect(ssa2.code).toBe(0);
  });

  it('keeps what was sent inside lists: no defaults inside atomic lists in any CRD', async () => {
    const { allCRDs } = await import('../../src/api/crd');
    const listDefaults: string[] = [];
    const walk = (s: any, path: string, inList: boolean) => {
      if (!s || typeof s !== 'object') return;
      if (inList && s.default !== undefined) listDefaults.push(path);
      if (s.items) walk(s.items, `${path}[]`, true);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`, inList);
    };
    for (const crd of allCRDs()) walk(crd.spec.versions[0]!.schema.openAPIV3Schema, crd.spec.names.kind, false);
    expect(listDefaults).toEqual([]);
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
