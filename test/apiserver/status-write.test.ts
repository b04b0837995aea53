// Status-subresource writes share the stored spec instead of copying and re-validating it (statusWriteDef,
// like kube's CRD validation ratcheting): what they store and reject must be what a full validation
// gives, and a CRD change must send them back through the full schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver';

let t: TestApiServer;
beforeAll(async () => {
  t = await startTestApiServer();
  const c = await t.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd() });
  expect(c.status).toBe(201);
});
afterAll(async () => {
  await t?.close();
});

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const G = '/apis/example.io/v1/namespaces/default/gadgets';
const MERGE = { 'Content-Type': 'application/merge-patch+json' };

function crd(extraSpecProps: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'gadgets.example.io' },
    spec: {
      group: 'example.io', scope: 'Namespaced',
      names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
      versions: [{
        name: 'v1', served: true, storage: true, subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            required: ['spec'],
            // A root rule that reads the spec: it still runs on status writes.
            'x-kubernetes-validations': [{ rule: "!has(self.status) || !has(self.status.phase) || self.status.phase != 'Big' || self.spec.size >= 2", message: 'phase Big needs size >= 2' }],
            properties: {
              spec: {
                type: 'object',
                properties: {
                  size: { type: 'integer', minimum: 1 },
                  parts: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
                  ...extraSpecProps,
                },
              },
              status: { type: 'object', properties: { phase: { type: 'string', enum: ['Small', 'Big'] } } },
            },
          },
        },
      }],
    },
  };
}

const stored = (name: string) => t.server.store.get('example.io/gadgets', `default/${name}`)!;

describe('status writes', () => {
  it('keep the stored spec (shared, never copied or changed) and still validate status and root rules', async () => {
    expect((await t.request('POST', G, { body: { apiVersion: 'example.io/v1', kind: 'Gadget', metadata: { name: 'g1' }, spec: { size: 1, parts: [{ name: 'a' }] } } })).status).toBe(201);
    const before = stored('g1');
    const beforeCopy = structuredClone(before);

    const ok = await t.request('PATCH', `${G}/g1/status`, { body: { status: { phase: 'Small' } }, headers: MERGE });
    expect(ok.status).toBe(200);
    expect(ok.body.spec).toEqual({ size: 1, parts: [{ name: 'a' }] });
    expect(ok.body.status).toEqual({ phase: 'Small' });
    expect(ok.body.metadata.generation).toBe(1);
    const after = stored('g1');
    expect(after).not.toBe(before);
    expect(after.spec).toBe(before.spec);
    expect(before).toEqual(beforeCopy); // the older version is untouched

    const badEnum = await t.request('PATCH', `${G}/g1/status`, { body: { status: { phase: 'Huge' } }, headers: MERGE });
    expect(badEnum.status).toBe(422);
    expect(badEnum.body.details.causes.map((c: { field: string }) => c.field)).toContain('status.phase');
    const badRule = await t.request('PATCH', `${G}/g1/status`, { body: { status: { phase: 'Big' } }, headers: MERGE });
    expect(badRule.status).toBe(422);
    expect(badRule.body.message).toContain('phase Big needs size >= 2');
    expect(stored('g1')).toBe(after);

    // A spec write goes through the full schema as always.
    const badSpec = await t.request('PATCH', `${G}/g1`, { body: { spec: { size: 0 } }, headers: MERGE });
    expect(badSpec.status).toBe(422);
    expect((await t.request('PATCH', `${G}/g1`, { body: { spec: { size: 2 } }, headers: MERGE })).body.metadata.generation).toBe(2);
    expect((await t.request('PATCH', `${G}/g1/status`, { body: { status: { phase: 'Big' } }, headers: MERGE })).status).toBe(200);
  });

  it('a merge patch of /status that names spec changes neither the stored spec nor the version before it', async () => {
    expect((await t.request('POST', G, { body: { apiVersion: 'example.io/v1', kind: 'Gadget', metadata: { name: 'g3' }, spec: { size: 3, parts: [{ name: 'a' }, { name: 'b' }] } } })).status).toBe(201);
    const before = stored('g3');
    const beforeCopy = structuredClone(before);
    const r = await t.request('PATCH', `${G}/g3/status`, { body: { spec: { size: 9, parts: null }, status: { phase: 'Big' } }, headers: MERGE });
    expect(r.status).toBe(200);
    expect([r.body.spec, r.body.status]).toEqual([{ size: 3, parts: [{ name: 'a' }, { name: 'b' }] }, { phase: 'Big' }]);
    expect(stored('g3').spec).toBe(before.spec);
    expect(before).toEqual(beforeCopy);
    const again = await t.request('PATCH', `${G}/g3/status`, { body: { spec: { parts: [{ name: 'z' }] }, status: { phase: null } }, headers: MERGE });
    expect([again.body.spec.parts, again.body.status]).toEqual([[{ name: 'a' }, { name: 'b' }], {}]);
    expect(before).toEqual(beforeCopy);
  });

  it('of a large object splice the stored spec\'s text, which a spec change replaces (never served stale)', async () => {
    // Over 64 KB serialized: the kind's specs are then serialized apart and their text reused (Api.serialize).
    const parts = (tag: string) => Array.from({ length: 4000 }, (_, i) => ({ name: `${tag}-${String(i).padStart(5, '0')}` }));
    const served = async () => {
      const r = await t.request('GET', `${G}/big`);
      expect(r.text).toBe(JSON.stringify(stored('big')));
      return r.body;
    };
    expect((await t.request('POST', G, { body: { apiVersion: 'example.io/v1', kind: 'Gadget', metadata: { name: 'big' }, spec: { size: 1, parts: parts('a') } } })).status).toBe(201);
    expect((await t.request('PATCH', `${G}/big/status`, { body: { status: { phase: 'Small' } }, headers: MERGE })).status).toBe(200);
    expect((await served()).spec.parts[0].name).toBe('a-00000');
    expect((await t.request('PATCH', `${G}/big`, { body: { spec: { size: 2, parts: parts('b') } }, headers: MERGE })).status).toBe(200);
    expect((await t.request('PATCH', `${G}/big/status`, { body: { status: { phase: 'Big' } }, headers: MERGE })).status).toBe(200);
    const now = await served();
    expect([now.spec.size, now.spec.parts[0].name, now.spec.parts.length, now.status.phase]).toEqual([2, 'b-00000', 4000, 'Big']);
    // The root rule still reads the spliced spec: size 1 with phase Big is refused.
    expect((await t.request('PATCH', `${G}/big`, { body: { spec: { size: 1 } }, headers: MERGE })).status).toBe(422);
  });

  it('after the CRD changes, validate the whole object again (new defaults reach the spec)', async () => {
    expect((await t.request('POST', G, { body: { apiVersion: 'example.io/v1', kind: 'Gadget', metadata: { name: 'g2' }, spec: { size: 3 } } })).status).toBe(201);
    expect((await t.request('PATCH', `${G}/g2/status`, { body: { status: { phase: 'Small' } }, headers: MERGE })).status).toBe(200);
    const cur = (await t.request('GET', `${CRDS}/gadgets.example.io`)).body;
    const next = crd({ color: { type: 'string', default: 'red' } });
    const u = await t.request('PUT', `${CRDS}/gadgets.example.io`, { body: { ...next, metadata: { ...next.metadata, resourceVersion: cur.metadata.resourceVersion } } });
    expect(u.status).toBe(200);
    const r = await t.request('PATCH', `${G}/g2/status`, { body: { status: { phase: 'Big' } }, headers: MERGE });
    expect(r.status).toBe(200);
    expect(r.body.spec).toEqual({ size: 3, color: 'red' });
    expect(r.body.status).toEqual({ phase: 'Big' });
  });
});
