// The real /usr/bin/kubectl against the embedded API server: every acceptance scenario of issue 3,
// each asserting kubectl's output. One server for the whole file.
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRD_DIR, REPO_ROOT, eventually, startTestApiServer, waitForLine, type TestApiServer } from '../helpers/apiserver';
import { join } from 'node:path';

let t: TestApiServer;
beforeAll(async () => {
  // No CRDs preinstalled: `kubectl apply -f crds/` installs them, as a user would.
  t = await startTestApiServer({ crds: false });
});
afterAll(async () => {
  await t?.close();
});

const ok = (args: string[], input?: string) => t.ok(args, input);
const EXAMPLES = join(REPO_ROOT, 'examples');

describe('kubectl against the embedded API server', () => {
  it('applies crds/ and examples/ client-side, and re-applies without changes to the VMs', async () => {
    const first = await t.kubectl(['apply', '-f', CRD_DIR, '-f', EXAMPLES]);
    // As on a real cluster, kinds whose CRD is created in the same run cannot be mapped yet.
    expect(first.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/vms.vmsafe.io created');
    expect(first.stdout).toContain('namespace/acme created');
    expect(first.stderr).toContain('no matches for kind "VM" in version "vmsafe.io/v1alpha1"\nensure CRDs are installed first');
    const out = await eventually(async () => {
      const r = await t.kubectl(['apply', '-f', CRD_DIR, '-f', EXAMPLES]);
      return r.code === 0 ? r.stdout : undefined;
    }, 20_000, 'apply to succeed');
    expect(out).toMatch(/vm\.vmsafe\.io\/web-1 (created|unchanged)/);
    expect(out).toMatch(/namespace\/acme (created|unchanged)/);
    const again = await ok(['apply', '-f', EXAMPLES]);
    expect(again).toContain('vm.vmsafe.io/web-1 unchanged');
    expect(again).toContain('tenant.vmsafe.io/acme unchanged');
  });

  it('prints our printer columns for vms -A', async () => {
    const out = await ok(['get', 'vms', '-A']);
    const [header, ...rows] = out.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAMESPACE', 'NAME', 'TENANT', 'HOST', 'PHASE', 'PROTECTED', 'AGE']);
    expect(rows.some((r) => /^acme\s+web-1\s+\d+s$/.test(r))).toBe(true);
    const wide = await ok(['get', 'vms', '-n', 'acme', '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/POWER/);
  });

  it('lists every kind with `get vmsafe` (the category)', async () => {
    const out = await ok(['get', 'vmsafe', '-A']);
    for (const s of ['vm.vmsafe.io/web-1', 'tag.vmsafe.io/gold', 'host.vmsafe.io/', 'tenant.vmsafe.io/acme', 'securitypolicy.vmsafe.io/'])
      expect(out).toContain(s);
  });

  it('prints -o yaml with server-set metadata and defaults', async () => {
    const obj = YAML.parse(await ok(['get', 'vm', 'web-1', '-n', 'acme', '-o', 'yaml']));
    expect(obj).toMatchObject({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name: 'web-1', namespace: 'acme', generation: 1 }, spec: { powerState: 'On' } });
    expect(obj.metadata.uid).toBeTruthy();
  });

  it('filters with -l label selectors', async () => {
    const names = async (sel: string) => (await ok(['get', 'vms', '-A', '-l', sel, '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').filter(Boolean).sort();
    expect(await names('app=storefront')).toEqual(['web-1', 'web-2']);
    expect(await names('app in (storefront,checkout),env=prod')).toEqual(expect.arrayContaining(['app-1', 'web-1', 'web-2']));
    expect(await names('app notin (storefront),env=prod')).not.toContain('web-1');
  });

  it('sees a change with get -w', async () => {
    const w = t.kubectlSpawn(['get', 'vm', 'web-2', '-n', 'acme', '-w', '-o', 'custom-columns=NAME:.metadata.name,POWER:.spec.powerState']);
    try {
      await waitForLine(w, /^web-2\s+On$/, 15_000);
      await ok(['patch', 'vm', 'web-2', '-n', 'acme', '--type=merge', '-p', '{"spec":{"powerState":"Off"}}']);
      await waitForLine(w, /^web-2\s+Off$/, 15_000);
    } finally {
      w.kill();
    }
  });

  it('patches with --type=merge and --type=json (with test)', async () => {
    expect(await ok(['patch', 'vm', 'web-2', '-n', 'acme', '--type=merge', '-p', '{"spec":{"powerState":"On"}}'])).toContain('vm.vmsafe.io/web-2 patched');
    const jp = '[{"op":"test","path":"/spec/powerState","value":"On"},{"op":"add","path":"/metadata/labels/patched","value":"json"}]';
    expect(await ok(['patch', 'vm', 'web-2', '-n', 'acme', '--type=json', '-p', jp])).toContain('patched');
    expect(await ok(['get', 'vm', 'web-2', '-n', 'acme', '-o', 'jsonpath={.metadata.labels.patched}'])).toBe('json');
    const failed = await t.kubectl(['patch', 'vm', 'web-2', '-n', 'acme', '--type=json', '-p', '[{"op":"test","path":"/spec/powerState","value":"Off"}]']);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('test failed');
    const smp = await t.kubectl(['patch', 'vm', 'web-2', '-n', 'acme', '-p', '{"spec":{"powerState":"Off"}}']);
    expect(smp.code).not.toBe(0);
    expect(smp.stderr).toContain('application/strategic-merge-patch+json is not supported');
  });

  it('reports a stale update as 409 Conflict', async () => {
    const stale = await ok(['get', 'vm', 'web-1', '-n', 'acme', '-o', 'yaml']);
    await ok(['label', 'vm', 'web-1', '-n', 'acme', 'bumped=yes']);
    const r = await t.kubectl(['replace', '-f', '-'], { input: stale });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Error from server (Conflict)');
    expect(r.stderr).toContain('the object has been modified; please apply your changes to the latest version and try again');
  });

  it('rejects an invalid VM with 422 naming the field, creating nothing', async () => {
    const bad = `apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: broken, namespace: acme}
spec:
  vnics: [{name: eth0, network: acme-web, ip: 10.10.0.999, mac: "00:50:56:0a:00:99"}]
`;
    const r = await t.kubectl(['apply', '-f', '-'], { input: bad });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('The VM "broken" is invalid');
    expect(r.stderr).toContain('spec.vnics[0].ip: Invalid value: "10.10.0.999"');
    const get = await t.kubectl(['get', 'vm', 'broken', '-n', 'acme']);
    expect(get.stderr).toContain('vms.vmsafe.io "broken" not found');
    // kubectl validates through the server (fieldValidation=Strict): unknown fields are errors.
    const unknown = await t.kubectl(['apply', '-f', '-'], { input: bad.replace('10.10.0.999', '10.10.0.99').replace('spec:\n', 'spec:\n  bogus: 1\n') });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('strict decoding error: unknown field "spec.bogus"');
    const lenient = await t.kubectl(['apply', '--validate=false', '-f', '-'], { input: bad.replace('10.10.0.999', '10.10.0.99').replace('spec:\n', 'spec:\n  bogus: 1\n') });
    expect(lenient.stdout).toContain('vm.vmsafe.io/broken created');
    expect(await ok(['get', 'vm', 'broken', '-n', 'acme', '-o', 'jsonpath={.spec.bogus}'])).toBe('');
    await ok(['delete', 'vm', 'broken', '-n', 'acme']);
  });

  it('applies server-side with field managers', async () => {
    const doc = `apiVersion: vmsafe.io/v1alpha1
kind: Tag
metadata: {name: ssa-tag}
spec: {description: applied server-side, enforcement: Preferred}
`;
    expect(await ok(['apply', '--server-side', '-f', '-'], doc)).toContain('tag.vmsafe.io/ssa-tag serverside-applied');
    const obj = YAML.parse(await ok(['get', 'tag', 'ssa-tag', '-o', 'yaml', '--show-managed-fields']));
    expect(obj.metadata.managedFields[0]).toMatchObject({ manager: 'kubectl', operation: 'Apply' });
    const conflict = await t.kubectl(['apply', '--server-side', '--field-manager=other', '-f', '-'], { input: doc.replace('Preferred', 'Required') });
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('conflict with "kubectl"');
    expect(await ok(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], doc.replace('Preferred', 'Required'))).toContain('serverside-applied');
    expect(await ok(['get', 'tag', 'ssa-tag', '-o', 'jsonpath={.spec.enforcement}'])).toBe('Required');
  });

  it('takes over client-side-applied objects with apply --server-side (no conflicts, managers migrated)', async () => {
    const out = await ok(['apply', '--server-side', '-f', join(EXAMPLES, '60-vms.yaml')]);
    expect(out).toContain('vm.vmsafe.io/web-2 serverside-applied');
    const obj = YAML.parse(await ok(['get', 'vm', 'web-2', '-n', 'acme', '-o', 'yaml', '--show-managed-fields']));
    const managers = obj.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`);
    expect(managers).toContain('kubectl/Apply');
    const kubectlApply = obj.metadata.managedFields.find((m: any) => m.manager === 'kubectl');
    expect(Object.keys(kubectlApply.fieldsV1['f:spec']['f:vnics'])).toEqual(['k:{"name":"eth0"}']);
    const rv = obj.metadata.resourceVersion;
    await ok(['apply', '--server-side', '-f', join(EXAMPLES, '60-vms.yaml')]);
    expect(await ok(['get', 'vm', 'web-2', '-n', 'acme', '-o', 'jsonpath={.metadata.resourceVersion}'])).toBe(rv);
  });

  it('waits on a finalizer during delete, finishing when it is removed', async () => {
    await ok(['patch', 'tag', 'ssa-tag', '--type=merge', '-p', '{"metadata":{"finalizers":["vmsafe.io/in-use"]}}']);
    const del = t.kubectl(['delete', 'tag', 'ssa-tag', '--timeout=20s'], { timeoutMs: 25_000 });
    await eventually(async () => (await ok(['get', 'tag', 'ssa-tag', '-o', 'jsonpath={.metadata.deletionTimestamp}'])).length > 0, 10_000, 'deletionTimestamp');
    let finished = false;
    void del.then(() => (finished = true));
    await new Promise((r) => setImmediate(r));
    expect(finished).toBe(false);
    await ok(['patch', 'tag', 'ssa-tag', '--type=json', '-p', '[{"op":"test","path":"/metadata/finalizers","value":["vmsafe.io/in-use"]},{"op":"remove","path":"/metadata/finalizers"}]']);
    const r = await del;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tag.vmsafe.io "ssa-tag" deleted');
    expect((await t.kubectl(['get', 'tag', 'ssa-tag'])).stderr).toContain('not found');
  });

  it('waits for a condition', async () => {
    const wait = t.kubectl(['wait', '--for=condition=Protected', 'vm/web-1', '-n', 'acme', '--timeout=20s'], { timeoutMs: 25_000 });
    const status = { status: { phase: 'Running', conditions: [{ type: 'Protected', status: 'True', reason: 'FilterApplied', message: 'applied', lastTransitionTime: '2026-01-01T00:00:00Z' }] } };
    await ok(['patch', 'vm', 'web-1', '-n', 'acme', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    const r = await wait;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('vm.vmsafe.io/web-1 condition met');
    const row = (await ok(['get', 'vm', 'web-1', '-n', 'acme', '--no-headers'])).trim();
    expect(row).toMatch(/^web-1\s+Running\s+True\s+\d+s$/);
  });

  it('explains vm.spec from the published schema', async () => {
    const out = await ok(['explain', 'vm.spec']);
    expect(out).toMatch(/KIND:\s+VM/);
    expect(out).toMatch(/GROUP:\s+vmsafe.io/);
    expect(out).toContain('vnics');
    expect(out).toContain('powerState');
  });

  it('creates built-ins with kubectl generators (protobuf bodies) and deletes a namespace with its contents', async () => {
    expect(await ok(['create', 'namespace', 'scratch'])).toContain('namespace/scratch created');
    expect(await ok(['create', 'configmap', 'c1', '-n', 'scratch', '--from-literal=k=v'])).toContain('configmap/c1 created');
    expect(await ok(['create', 'secret', 'generic', 's1', '-n', 'scratch', '--from-literal=p=q'])).toContain('secret/s1 created');
    expect(await ok(['get', 'secret', 's1', '-n', 'scratch', '-o', 'jsonpath={.type} {.data.p}'])).toBe('Opaque cQ==');
    expect(await ok(['delete', 'namespace', 'scratch', '--timeout=20s'])).toContain('namespace "scratch" deleted');
    expect((await t.kubectl(['get', 'configmap', 'c1', '-n', 'scratch'])).stderr).toContain('not found');
  });
});
