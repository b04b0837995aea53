// REST semantics of the embedded API server, checked over HTTPS like any client would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestApiServer, type TestApiServer } from '../helpers/apiserver';

let t: TestApiServer;
beforeAll(async () => {
  t = await startTestApiServer();
});
afterAll(async () => {
  await t?.close();
});

const VMS = '/apis/vmsafe.io/v1alpha1/namespaces/default/vms';
const vm = (name: string, extra: Record<string, any> = {}) => ({
  apiVersion: 'vmsafe.io/v1alpha1',
  kind: 'VM',
  metadata: { name, ...(extra.metadata ?? {}) },
  spec: { vnics: [{ name: 'eth0', network: 'prod', ip: '10.0.0.1', mac: '02:00:00:00:00:01' }], ...(extra.spec ?? {}) },
});
const cm = (name: string, ns = 'default', extra: Record<string, any> = {}) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...(extra.metadata ?? {}) }, data: extra.data ?? { a: '1' },
});

describe('auth, health, discovery', () => {
  it('rejects requests without the bearer token with a 401 Status', async () => {
    const r = await t.request('GET', '/api/v1/namespaces', { token: null });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await t.request('GET', '/api/v1/namespaces', { token: 'wrong' })).status).toBe(401);
  });

  it('serves health probes and version', async () => {
    for (const p of ['/healthz', '/livez', '/readyz']) {
      const r = await t.request('GET', p, { token: null });
      expect([r.status, r.text]).toEqual([200, 'ok']);
    }
    expect((await t.request('GET', '/version')).body).toMatchObject({ major: '1', minor: '32' });
  });

  it('lists groups and resources, including CRD-defined ones with short names and categories', async () => {
    const groups = (await t.request('GET', '/apis')).body;
    const names = groups.groups.map((g: any) => g.name);
    expect(names).toEqual(expect.arrayContaining(['vmsafe.io', 'coordination.k8s.io', 'events.k8s.io', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io']));
    const rl = (await t.request('GET', '/apis/vmsafe.io/v1alpha1')).body;
    const vms = rl.resources.find((r: any) => r.name === 'vms');
    expect(vms).toMatchObject({ kind: 'VM', namespaced: true, categories: ['vmsafe'], shortNames: ['vmi'] });
    expect(rl.resources.map((r: any) => r.name)).toContain('vms/status');
    const core = (await t.request('GET', '/api/v1')).body;
    expect(core.resources.map((r: any) => r.name)).toEqual(expect.arrayContaining(['namespaces', 'configmaps', 'secrets', 'serviceaccounts', 'events']));
  });

  it('serves aggregated discovery (apidiscovery.k8s.io/v2) when asked, legacy JSON otherwise', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    const r = await t.request('GET', '/apis', { headers: { Accept: accept } });
    expect(r.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    expect(r.body.kind).toBe('APIGroupDiscoveryList');
    const group = r.body.items.find((g: any) => g.metadata.name === 'vmsafe.io');
    const vms = group.versions[0].resources.find((x: any) => x.resource === 'vms');
    expect(vms).toMatchObject({ scope: 'Namespaced', singularResource: 'vm', categories: ['vmsafe'], responseKind: { group: 'vmsafe.io', version: 'v1alpha1', kind: 'VM' } });
    expect(vms.subresources).toEqual([expect.objectContaining({ subresource: 'status' })]);
    const core = (await t.request('GET', '/api', { headers: { Accept: accept } })).body;
    expect(core.items.map((g: any) => g.metadata.name)).toEqual(['']);
    const legacy = await t.request('GET', '/apis', { headers: { Accept: 'application/json' } });
    expect([legacy.headers['content-type'], legacy.body.kind]).toEqual(['application/json', 'APIGroupList']);
  });

  it('publishes OpenAPI v3 with the CRD schema and PATCH operations that accept fieldValidation', async () => {
    const index = (await t.request('GET', '/openapi/v3')).body;
    const url = index.paths['apis/vmsafe.io/v1alpha1'].serverRelativeURL as string;
    expect(url).toMatch(/\?hash=[0-9A-F]+$/);
    const doc = (await t.request('GET', url)).body;
    const schema = doc.components.schemas['io.vmsafe.v1alpha1.VM'];
    expect(schema['x-kubernetes-group-version-kind']).toEqual([{ group: 'vmsafe.io', kind: 'VM', version: 'v1alpha1' }]);
    expect(schema.properties.spec.properties.vnics.type).toBe('array');
    const patch = doc.paths['/apis/vmsafe.io/v1alpha1/namespaces/{namespace}/vms/{name}'].patch;
    expect(patch.parameters.map((p: any) => p.name)).toContain('fieldValidation');
  });
});

describe('CustomResourceDefinitions', () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.io' },
    spec: {
      group: 'example.io', scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
      versions: [{
        name: 'v1', served: true, storage: true, subresources: { status: {} },
        additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }],
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1, default: 3 } } }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
      }],
    },
  };
  const W = '/apis/example.io/v1/namespaces/default/widgets';

  it('installs a CRD: Established, discovery, validation, defaults; deleting it removes its objects', async () => {
    const c = await t.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
    expect(c.status).toBe(201);
    expect(c.body.status.conditions.find((x: any) => x.type === 'Established')).toMatchObject({ status: 'True' });
    expect(c.body.status.acceptedNames).toMatchObject({ kind: 'Widget', listKind: 'WidgetList' });
    expect((await t.request('GET', '/apis/example.io/v1')).body.resources.map((r: any) => r.name)).toEqual(['widgets', 'widgets/status']);
    const w = await t.request('POST', W, { body: { apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: {} } });
    expect(w.body.spec.size).toBe(3);
    const bad = await t.request('POST', W, { body: { apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w2' }, spec: { size: 0 } } });
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes[0]).toMatchObject({ field: 'spec.size', message: 'Invalid value: 0: spec.size in body should be greater than or equal to 1' });
    const wrongName = await t.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: { ...crd, metadata: { name: 'nope' } } });
    expect(wrongName.status).toBe(422);
    const d = await t.request('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.io');
    expect(d.status).toBe(200);
    expect((await t.request('GET', '/apis/example.io/v1')).status).toBe(404);
    expect((await t.request('GET', `${W}/w1`)).status).toBe(404);
    // Re-created, the old objects do not come back.
    await t.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
    expect((await t.request('GET', W)).body.items).toEqual([]);
  });
});

describe('create, get, list', () => {
  it('creates with uid, creationTimestamp, generation and defaults; 409 AlreadyExists after', async () => {
    const r = await t.request('POST', VMS, { body: vm('c1') });
    expect(r.status).toBe(201);
    expect(r.body.metadata).toMatchObject({ name: 'c1', namespace: 'default', generation: 1 });
    expect(r.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(r.body.spec.powerState).toBe('On');
    const again = await t.request('POST', VMS, { body: vm('c1') });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ reason: 'AlreadyExists', message: 'vms.vmsafe.io "c1" already exists' });
  });

  it('generates names from generateName', async () => {
    const r = await t.request('POST', VMS, { body: { ...vm(''), metadata: { generateName: 'gen-' } } });
    expect(r.status).toBe(201);
    expect(r.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it('refuses namespaced objects in a missing namespace with 404 NotFound', async () => {
    const r = await t.request('POST', '/apis/vmsafe.io/v1alpha1/namespaces/nope/vms', { body: vm('x') });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ reason: 'NotFound', message: 'namespaces "nope" not found' });
  });

  it('returns NotFound Status for missing objects and unknown paths', async () => {
    const r = await t.request('GET', `${VMS}/missing`);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'NotFound', details: { name: 'missing', group: 'vmsafe.io', kind: 'vms' } });
    expect((await t.request('GET', '/apis/nope.io/v1/things')).status).toBe(404);
  });

  it('filters by label selectors with every operator and by field selectors', async () => {
    const ns = '/api/v1/namespaces/default/configmaps';
    for (const [name, labels] of [['l1', { tier: 'web', env: 'prod' }], ['l2', { tier: 'db', env: 'prod' }], ['l3', { tier: 'web' }], ['l4', { size: '10' }]] as const)
      expect((await t.request('POST', ns, { body: cm(name, 'default', { metadata: { labels } }) })).status).toBe(201);
    const names = async (q: string) => (await t.request('GET', `${ns}?${q}`)).body.items.map((i: any) => i.metadata.name).filter((n: string) => /^l\d$/.test(n));
    expect(await names('labelSelector=tier%3Dweb')).toEqual(['l1', 'l3']);
    expect(await names('labelSelector=tier%3D%3Dweb,env')).toEqual(['l1']);
    expect(await names('labelSelector=tier!%3Dweb')).toEqual(['l2', 'l4']);
    expect(await names(`labelSelector=${encodeURIComponent('tier in (db, web),env notin (staging)')}`)).toEqual(['l1', 'l2', 'l3']);
    expect(await names(`labelSelector=${encodeURIComponent('!env')}`)).toEqual(['l3', 'l4']);
    expect(await names(`labelSelector=${encodeURIComponent('size>5')}`)).toEqual(['l4']);
    expect(await names(`labelSelector=${encodeURIComponent('size<5')}`)).toEqual([]);
    expect(await names('fieldSelector=metadata.name%3Dl2')).toEqual(['l2']);
    expect(await names('fieldSelector=metadata.name!%3Dl2,metadata.namespace%3Ddefault')).toEqual(['l1', 'l3', 'l4']);
    const bad = await t.request('GET', `${ns}?fieldSelector=data.a%3D1`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('field label not supported: data.a');
  });

  it('pages with limit/continue in key order', async () => {
    const path = '/api/v1/namespaces/kube-public/configmaps';
    for (let i = 0; i < 7; i++) await t.request('POST', path, { body: cm(`p${i}`, 'kube-public') });
    const seen: string[] = [];
    let cont = '';
    let pages = 0;
    let rv = '';
    do {
      const r = await t.request('GET', `${path}?limit=3${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      seen.push(...r.body.items.map((i: any) => i.metadata.name));
      if (pages === 0) {
        expect(r.body.metadata.remainingItemCount).toBe(5);
        rv = r.body.metadata.resourceVersion;
      } else expect(r.body.metadata.resourceVersion).toBe(rv);
      cont = r.body.metadata.continue ?? '';
      pages++;
    } while (cont);
    expect(pages).toBe(3);
    // kube-root-ca.crt: published by the server in every namespace, first in key order.
    expect(seen).toEqual(['kube-root-ca.crt', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  });

  it('sends a list larger than one written piece (64 KiB) whole and in key order, multi-byte text included', async () => {
    const path = '/api/v1/namespaces/kube-system/configmaps';
    const value = 'ünïcødé ✓ '.repeat(1_000); // ~11 KB in UTF-8, 10,000 characters
    for (let i = 0; i < 40; i++) expect((await t.request('POST', path, { body: cm(`big${String(i).padStart(2, '0')}`, 'kube-system', { data: { v: value } }) })).status).toBe(201);
    const r = await t.request('GET', path);
    const big = r.body.items.filter((i: any) => i.metadata.name.startsWith('big'));
    expect(big.map((i: any) => i.metadata.name)).toEqual(Array.from({ length: 40 }, (_, i) => `big${String(i).padStart(2, '0')}`));
    expect(big.every((i: any) => i.data.v === value)).toBe(true);
  });

  it('lists across namespaces with the cluster-wide path', async () => {
    await t.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } } });
    await t.request('POST', '/apis/vmsafe.io/v1alpha1/namespaces/other/vms', { body: vm('o1') });
    const all = (await t.request('GET', '/apis/vmsafe.io/v1alpha1/vms')).body.items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`);
    expect(all).toEqual(expect.arrayContaining(['default/c1', 'other/o1']));
  });
});

describe('validation', () => {
  it('rejects schema-invalid objects with 422 naming each field, and stores nothing', async () => {
    const bad = vm('bad', { spec: { powerState: 'Sideways', vnics: [{ name: 'eth0', network: 'prod', ip: '300.1.1.1', mac: 'zz' }] } });
    const r = await t.request('POST', VMS, { body: bad });
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe('Invalid');
    expect(r.body.details).toMatchObject({ name: 'bad', group: 'vmsafe.io', kind: 'VM' });
    const fields = r.body.details.causes.map((c: any) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.vnics[0].ip', 'spec.vnics[0].mac', 'spec.powerState']));
    const ip = r.body.details.causes.find((c: any) => c.field === 'spec.vnics[0].ip');
    expect(ip).toMatchObject({ reason: 'FieldValueInvalid' });
    expect(ip.message).toMatch(/^Invalid value: "300.1.1.1": spec.vnics\[0\].ip in body should match/);
    expect(r.body.message).toMatch(/^VM.vmsafe.io "bad" is invalid: \[/);
    expect((await t.request('GET', `${VMS}/bad`)).status).toBe(404);
  });

  it('rejects duplicate keys in list-type=map lists', async () => {
    const nic = { name: 'eth0', network: 'prod', ip: '10.0.0.1', mac: '02:00:00:00:00:01' };
    const r = await t.request('POST', VMS, { body: vm('dup', { spec: { vnics: [nic, { ...nic, mac: '02:00:00:00:00:02' }] } }) });
    expect(r.status).toBe(422);
    expect(r.body.details.causes).toContainEqual({ reason: 'FieldValueDuplicate', message: 'Duplicate value: map[string]interface {}{"name":"eth0"}', field: 'spec.vnics[1]' });
  });

  it('reports missing required fields and invalid names', async () => {
    const r = await t.request('POST', VMS, { body: { apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name: 'Bad_Name' }, spec: {} } });
    expect(r.status).toBe(422);
    const causes = r.body.details.causes;
    expect(causes).toEqual(expect.arrayContaining([
      expect.objectContaining({ field: 'spec.vnics', message: 'Required value', reason: 'FieldValueRequired' }),
      expect.objectContaining({ field: 'metadata.name' }),
    ]));
  });

  it('prunes unknown fields, or rejects them with fieldValidation=Strict', async () => {
    const body = vm('prune-me', { spec: { bogus: 1 } });
    const strict = await t.request('POST', `${VMS}?fieldValidation=Strict`, { body });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('strict decoding error: unknown field "spec.bogus"');
    const warn = await t.request('POST', `${VMS}?fieldValidation=Warn`, { body: { ...body, extra: true } });
    expect(warn.status).toBe(201);
    expect(String(warn.headers.warning)).toContain('unknown field \\"spec.bogus\\"');
    expect(warn.body.spec.bogus).toBeUndefined();
    expect(warn.body.extra).toBeUndefined();
  });

  it('refuses bodies over 3 MiB with 413 and objects over 1.5 MiB', async () => {
    const huge = await t.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm('huge', 'default', { data: { a: 'x'.repeat(3.2 * 1024 * 1024) } }) });
    expect(huge.status).toBe(413);
    expect(huge.body.reason).toBe('RequestEntityTooLarge');
    const big = await t.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm('big', 'default', { data: { a: 'x'.repeat(1.6 * 1024 * 1024) } }) });
    expect(big.status).toBe(413);
    const ok = await t.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm('ok', 'default', { data: { a: 'x'.repeat(1.4 * 1024 * 1024) } }) });
    expect(ok.status).toBe(201);
  });
});

describe('update, patch, status', () => {
  it('updates with optimistic concurrency: stale resourceVersion is 409 Conflict', async () => {
    const created = (await t.request('POST', VMS, { body: vm('u1') })).body;
    const upd = await t.request('PUT', `${VMS}/u1`, { body: { ...created, spec: { ...created.spec, powerState: 'Off' } } });
    expect(upd.status).toBe(200);
    expect(upd.body.metadata.generation).toBe(2);
    expect(Number(upd.body.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    const stale = await t.request('PUT', `${VMS}/u1`, { body: created });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'Conflict', message: 'Operation cannot be fulfilled on vms.vmsafe.io "u1": the object has been modified; please apply your changes to the latest version and try again' });
    const noRv = await t.request('PUT', `${VMS}/u1`, { body: { ...upd.body, metadata: { ...upd.body.metadata, resourceVersion: undefined } } });
    expect(noRv.status).toBe(422);
  });

  it('bumps generation only on spec changes and skips no-op writes', async () => {
    const c = (await t.request('POST', VMS, { body: vm('g1') })).body;
    const lab = await t.request('PATCH', `${VMS}/g1`, { raw: JSON.stringify({ metadata: { labels: { a: 'b' } } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(lab.body.metadata.generation).toBe(1);
    const same = await t.request('PATCH', `${VMS}/g1`, { raw: JSON.stringify({ metadata: { labels: { a: 'b' } } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(same.body.metadata.resourceVersion).toBe(lab.body.metadata.resourceVersion);
    const spec = await t.request('PATCH', `${VMS}/g1`, { raw: JSON.stringify({ spec: { tags: ['x'] } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(spec.body.metadata.generation).toBe(2);
    expect(c.metadata.uid).toBe(spec.body.metadata.uid);
  });

  it('ignores status on the main resource and spec on /status', async () => {
    await t.request('POST', VMS, { body: { ...vm('s1'), status: { phase: 'Running' } } });
    const got = (await t.request('GET', `${VMS}/s1`)).body;
    expect(got.status).toBeUndefined();
    const st = await t.request('PUT', `${VMS}/s1/status`, { body: { ...got, spec: { ...got.spec, powerState: 'Off' }, status: { phase: 'Running', observedGeneration: 1 } } });
    expect(st.status).toBe(200);
    expect(st.body.status.phase).toBe('Running');
    expect(st.body.spec.powerState).toBe('On');
    expect(st.body.metadata.generation).toBe(1);
    const main = await t.request('PUT', `${VMS}/s1`, { body: { ...st.body, status: { phase: 'Off' } } });
    expect(main.body.status.phase).toBe('Running');
    const sp = await t.request('PATCH', `${VMS}/s1/status`, { raw: JSON.stringify({ status: { phase: 'Quarantined' } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(sp.body.status.phase).toBe('Quarantined');
  });

  it('applies JSON patch with test, failing as 422 when the test does not hold', async () => {
    await t.request('POST', VMS, { body: vm('j1') });
    const ok = await t.request('PATCH', `${VMS}/j1`, {
      raw: JSON.stringify([{ op: 'test', path: '/spec/powerState', value: 'On' }, { op: 'add', path: '/metadata/finalizers', value: ['vmsafe.io/x'] }]),
      headers: { 'Content-Type': 'application/json-patch+json' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.metadata.finalizers).toEqual(['vmsafe.io/x']);
    const fail = await t.request('PATCH', `${VMS}/j1`, {
      raw: JSON.stringify([{ op: 'test', path: '/metadata/finalizers', value: [] }, { op: 'remove', path: '/metadata/finalizers' }]),
      headers: { 'Content-Type': 'application/json-patch+json' },
    });
    expect(fail.status).toBe(422);
    expect((await t.request('GET', `${VMS}/j1`)).body.metadata.finalizers).toEqual(['vmsafe.io/x']);
    await t.request('PATCH', `${VMS}/j1`, { raw: '[{"op":"remove","path":"/metadata/finalizers"}]', headers: { 'Content-Type': 'application/json-patch+json' } });
  });

  it('uses a resourceVersion in a merge patch as a precondition', async () => {
    const c = (await t.request('POST', VMS, { body: vm('m1') })).body;
    await t.request('PATCH', `${VMS}/m1`, { raw: '{"spec":{"tags":["a"]}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
    const r = await t.request('PATCH', `${VMS}/m1`, { raw: JSON.stringify({ metadata: { resourceVersion: c.metadata.resourceVersion }, spec: { tags: ['b'] } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(r.status).toBe(409);
  });

  it('answers strategic merge patch on custom resources with 415, and accepts it on built-ins', async () => {
    await t.request('POST', VMS, { body: vm('smp') });
    const r = await t.request('PATCH', `${VMS}/smp`, { raw: '{"spec":{"tags":["a"]}}', headers: { 'Content-Type': 'application/strategic-merge-patch+json' } });
    expect(r.status).toBe(415);
    expect(r.body.reason).toBe('UnsupportedMediaType');
    await t.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm('smp') });
    const b = await t.request('PATCH', '/api/v1/namespaces/default/configmaps/smp', { raw: '{"data":{"b":"2"},"$setElementOrder/x":[]}', headers: { 'Content-Type': 'application/strategic-merge-patch+json' } });
    expect(b.status).toBe(200);
    expect(b.body.data).toEqual({ a: '1', b: '2' });
  });

  it('server-side applies with field managers: create, conflict (409), force', async () => {
    const cfg = { apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name: 'ssa' }, spec: { tags: ['a'], vnics: vm('x').spec.vnics } };
    const apply = (body: object, manager: string, force = false) =>
      t.request('PATCH', `${VMS}/ssa?fieldManager=${manager}${force ? '&force=true' : ''}`, { raw: JSON.stringify(body), headers: { 'Content-Type': 'application/apply-patch+yaml' } });
    const c = await apply(cfg, 'alice');
    expect(c.status).toBe(201);
    expect(c.body.metadata.managedFields[0]).toMatchObject({ manager: 'alice', operation: 'Apply', fieldsType: 'FieldsV1' });
    expect(c.body.metadata.managedFields[0].fieldsV1).toMatchObject({ 'f:spec': { 'f:tags': {}, 'f:vnics': {} } });
    const conflict = await apply({ ...cfg, spec: { ...cfg.spec, tags: ['b'] } }, 'bob');
    expect(conflict.status).toBe(409);
    expect(conflict.body.message).toBe('Apply failed with 1 conflict: conflict with "alice" using vmsafe.io/v1alpha1: .spec.tags');
    expect(conflict.body.details.causes[0]).toMatchObject({ reason: 'FieldManagerConflict', field: '.spec.tags' });
    const forced = await apply({ ...cfg, spec: { ...cfg.spec, tags: ['b'] } }, 'bob', true);
    expect(forced.status).toBe(200);
    expect(forced.body.spec.tags).toEqual(['b']);
    // alice stops applying spec.tags' owner? bob owns it now; alice dropping hostName removes it
    const withHost = await apply({ ...cfg, spec: { ...cfg.spec, hostName: 'h1' } }, 'alice');
    expect(withHost.status).toBe(409); // alice still applies tags ['a'] which bob owns now
    const aliceNoTags = await apply({ ...cfg, spec: { vnics: cfg.spec.vnics, hostName: 'h1' } }, 'alice');
    expect(aliceNoTags.body.spec).toMatchObject({ hostName: 'h1', tags: ['b'] });
    const dropHost = await apply({ ...cfg, spec: { vnics: cfg.spec.vnics } }, 'alice');
    expect(dropHost.body.spec.hostName).toBeUndefined();
    expect(dropHost.body.spec.tags).toEqual(['b']);
  });
});

describe('delete, finalizers, garbage collection, namespaces', () => {
  it('keeps an object with finalizers until they are removed', async () => {
    await t.request('POST', VMS, { body: vm('f1', { metadata: { finalizers: ['vmsafe.io/hold'] } }) });
    const d = await t.request('DELETE', `${VMS}/f1`);
    expect(d.status).toBe(200);
    expect(d.body.metadata.deletionTimestamp).toBeTruthy();
    const still = (await t.request('GET', `${VMS}/f1`)).body;
    expect(still.metadata.deletionTimestamp).toBeTruthy();
    const addFin = await t.request('PATCH', `${VMS}/f1`, { raw: '{"metadata":{"finalizers":["vmsafe.io/hold","vmsafe.io/more"]}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(addFin.status).toBe(422);
    await t.request('PATCH', `${VMS}/f1`, { raw: '{"metadata":{"finalizers":null}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect((await t.request('GET', `${VMS}/f1`)).status).toBe(404);
  });

  it('checks delete preconditions', async () => {
    const c = (await t.request('POST', VMS, { body: vm('pre') })).body;
    const r = await t.request('DELETE', `${VMS}/pre`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'nope' } } });
    expect(r.status).toBe(409);
    const ok = await t.request('DELETE', `${VMS}/pre`, { body: { preconditions: { uid: c.metadata.uid } } });
    expect(ok.status).toBe(200);
  });

  it('collects dependents in the background and in the foreground, and orphans on request', async () => {
    const owner = async (name: string) => (await t.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm(name) })).body;
    const dep = async (name: string, o: any) =>
      t.request('POST', '/api/v1/namespaces/default/configmaps', {
        body: cm(name, 'default', { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata.name, uid: o.metadata.uid, blockOwnerDeletion: true }] } }),
      });
    const get = (n: string) => t.request('GET', `/api/v1/namespaces/default/configmaps/${n}`);

    const bg = await owner('gc-bg');
    await dep('gc-bg-d', bg);
    await t.request('DELETE', '/api/v1/namespaces/default/configmaps/gc-bg');
    await eventually(async () => (await get('gc-bg-d')).status === 404, 5000, 'background GC');

    const fg = await owner('gc-fg');
    await dep('gc-fg-d', fg);
    await t.request('PATCH', '/api/v1/namespaces/default/configmaps/gc-fg-d', { raw: '{"metadata":{"finalizers":["x/hold"]}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
    const del = await t.request('DELETE', '/api/v1/namespaces/default/configmaps/gc-fg', { body: { propagationPolicy: 'Foreground' } });
    expect(del.status).toBe(200);
    await eventually(async () => (await get('gc-fg-d')).body?.metadata?.deletionTimestamp, 5000, 'dependent marked');
    const ownerNow = (await get('gc-fg')).body;
    expect(ownerNow.metadata.finalizers).toContain('foregroundDeletion');
    await t.request('PATCH', '/api/v1/namespaces/default/configmaps/gc-fg-d', { raw: '{"metadata":{"finalizers":null}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
    await eventually(async () => (await get('gc-fg')).status === 404, 5000, 'foreground owner gone');

    const or = await owner('gc-or');
    await dep('gc-or-d', or);
    await t.request('DELETE', '/api/v1/namespaces/default/configmaps/gc-or?propagationPolicy=Orphan');
    await eventually(async () => (await get('gc-or')).status === 404, 5000, 'orphaning owner gone');
    const orphan = (await get('gc-or-d')).body;
    expect(orphan.metadata.ownerReferences).toBeUndefined();
  });

  it('collects a dependent whose owner does not exist', async () => {
    const r = await t.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: cm('dangling', 'default', { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '00000000-0000-0000-0000-000000000000' }] } }),
    });
    expect(r.status).toBe(201);
    await eventually(async () => (await t.request('GET', '/api/v1/namespaces/default/configmaps/dangling')).status === 404, 5000, 'dangling dependent collected');
  });

  it('deletes a namespace with its contents (waiting for their finalizers)', async () => {
    await t.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } } });
    await t.request('POST', '/api/v1/namespaces/doomed/configmaps', { body: cm('c', 'doomed') });
    await t.request('POST', '/apis/vmsafe.io/v1alpha1/namespaces/doomed/vms', { body: vm('v', { metadata: { finalizers: ['vmsafe.io/hold'] } }) });
    const d = await t.request('DELETE', '/api/v1/namespaces/doomed');
    expect(d.body.status.phase).toBe('Terminating');
    await eventually(async () => (await t.request('GET', '/api/v1/namespaces/doomed/configmaps/c')).status === 404, 5000, 'contents deleted');
    const immortal = await t.request('DELETE', '/api/v1/namespaces/kube-system');
    expect([immortal.status, immortal.body.message]).toEqual([403, 'namespaces "kube-system" is forbidden: this namespace may not be deleted']);
    const blocked = await t.request('POST', '/api/v1/namespaces/doomed/configmaps', { body: cm('late', 'doomed') });
    expect(blocked.status).toBe(403);
    expect((await t.request('GET', '/api/v1/namespaces/doomed')).status).toBe(200);
    await t.request('PATCH', '/apis/vmsafe.io/v1alpha1/namespaces/doomed/vms/v', { raw: '{"metadata":{"finalizers":null}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
    await eventually(async () => (await t.request('GET', '/api/v1/namespaces/doomed')).status === 404, 5000, 'namespace gone');
  });

  it('deletes collections by selector', async () => {
    for (const n of ['dc1', 'dc2', 'dc3']) await t.request('POST', '/api/v1/namespaces/kube-system/configmaps', { body: cm(n, 'kube-system', { metadata: { labels: { batch: n === 'dc3' ? 'b' : 'a' } } }) });
    const r = await t.request('DELETE', '/api/v1/namespaces/kube-system/configmaps?labelSelector=batch%3Da');
    expect(r.status).toBe(200);
    expect(r.body.kind).toBe('ConfigMapList');
    expect(r.body.items.map((i: any) => i.metadata.name)).toEqual(['dc1', 'dc2']);
    const left = (await t.request('GET', '/api/v1/namespaces/kube-system/configmaps?labelSelector=batch')).body.items.map((i: any) => i.metadata.name);
    expect(left).toEqual(['dc3']);
  });
});

describe('tables, events, misc', () => {
  it('renders Table output from additionalPrinterColumns, evaluating filters', async () => {
    await t.request('POST', VMS, { body: vm('tbl') });
    await t.request('PATCH', `${VMS}/tbl/status`, {
      raw: JSON.stringify({ status: { phase: 'Running', hostName: 'h1', conditions: [{ type: 'Protected', status: 'True', reason: 'Applied', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } }),
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    const r = await t.request('GET', `${VMS}?fieldSelector=metadata.name%3Dtbl`, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    expect(r.body.kind).toBe('Table');
    const cols = r.body.columnDefinitions.map((c: any) => c.name);
    expect(cols[0]).toBe('Name');
    expect(cols).toEqual(expect.arrayContaining(['Host', 'Phase', 'Protected', 'Age']));
    const row = r.body.rows[0];
    const cell = (n: string) => row.cells[cols.indexOf(n)];
    expect([cell('Name'), cell('Host'), cell('Phase'), cell('Protected')]).toEqual(['tbl', 'h1', 'Running', 'True']);
    expect(cell('Age')).toMatch(/^\d+s$/);
    expect(row.object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'tbl', namespace: 'default' } });
  });

  it('answers a write with PartialObjectMetadata when asked (as kube-apiserver does), and stores the whole object', async () => {
    const accept = { Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json' };
    const created = await t.request('POST', VMS, { body: vm('pom'), headers: accept });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'pom', namespace: 'default' } });
    expect(created.body.spec).toBeUndefined();
    const patched = await t.request('PATCH', `${VMS}/pom/status`, {
      raw: JSON.stringify({ status: { phase: 'Running', hostName: 'h1' } }),
      headers: { 'Content-Type': 'application/merge-patch+json', ...accept },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.kind).toBe('PartialObjectMetadata');
    expect(patched.body.status).toBeUndefined();
    expect(patched.body.metadata.resourceVersion).not.toBe(created.body.metadata.resourceVersion);
    const stored = (await t.request('GET', `${VMS}/pom`)).body;
    expect([stored.kind, stored.spec.vnics[0].ip, stored.status.phase]).toEqual(['VM', '10.0.0.1', 'Running']);
  });

  it('serves core and events.k8s.io Events from one storage', async () => {
    const ev = {
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e1', namespace: 'default' },
      eventTime: '2026-01-01T00:00:00.000000Z', reportingController: 'vmsafe.io/operator', reportingInstance: 'op-1',
      action: 'Schedule', reason: 'Scheduled', note: 'placed on h1', type: 'Normal', regarding: { kind: 'VM', name: 'tbl', namespace: 'default' },
    };
    expect((await t.request('POST', '/apis/events.k8s.io/v1/namespaces/default/events', { body: ev })).status).toBe(201);
    const core = (await t.request('GET', '/api/v1/namespaces/default/events/e1')).body;
    expect(core).toMatchObject({ apiVersion: 'v1', message: 'placed on h1', involvedObject: { kind: 'VM', name: 'tbl' }, reportingComponent: 'vmsafe.io/operator' });
    const back = (await t.request('GET', '/apis/events.k8s.io/v1/namespaces/default/events/e1')).body;
    expect(back).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'placed on h1', regarding: { name: 'tbl' } });
    const byObj = (await t.request('GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dtbl')).body.items;
    expect(byObj.map((e: any) => e.metadata.name)).toEqual(['e1']);
  });

  it('stores Leases, RBAC objects, Secrets and ServiceAccounts', async () => {
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'op' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } };
    expect((await t.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', { body: lease })).status).toBe(201);
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'vmsafe:viewer' }, rules: [{ apiGroups: ['vmsafe.io'], resources: ['vms'], verbs: ['get'] }] };
    expect((await t.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { body: role })).status).toBe(201);
    const sec = await t.request('POST', '/api/v1/namespaces/default/secrets', { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'dg==' }, stringData: { s: 'hi' } } });
    expect(sec.body.type).toBe('Opaque');
    expect(sec.body.data).toEqual({ k: 'dg==', s: 'aGk=' });
    expect(sec.body.stringData).toBeUndefined();
    const typo = await t.request('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typo', lables: {} }, dat: {} } });
    expect(typo.status).toBe(400);
    expect(typo.body.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dat", unknown field "metadata.lables"');
    expect((await t.request('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' } } })).status).toBe(201);
  });

  it('refuses data changes of immutable ConfigMaps', async () => {
    await t.request('POST', '/api/v1/namespaces/default/configmaps', { body: { ...cm('frozen'), immutable: true } });
    const r = await t.request('PATCH', '/api/v1/namespaces/default/configmaps/frozen', { raw: '{"data":{"a":"2"}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set');
    const labels = await t.request('PATCH', '/api/v1/namespaces/default/configmaps/frozen', { raw: '{"metadata":{"labels":{"ok":"yes"}}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(labels.status).toBe(200);
  });

  it('counts writes per resource for tests and benchmarks', () => {
    const c = t.server.writeCounts('vmsafe.io/vms');
    expect(c.creates).toBeGreaterThan(5);
    expect(c.updates).toBeGreaterThan(3);
  });
});
