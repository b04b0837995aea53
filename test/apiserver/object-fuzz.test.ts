// Mutated vmsafe.io and built-in objects against the API server with our CRDs (schema, defaults, CEL rules):
// whatever a client sends gets an answer under 500, and nothing reaches Object.prototype. Starts from
// the examples (valid objects of every kind) and changes one member per request, so most requests get
// past the JSON and schema layers into defaulting, CEL, managedFields and status handling.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startTestApiServer, type TestApiServer } from '../helpers/apiserver';
import { mutate, paths } from '../helpers/mutate';
import { protoGuard } from '../helpers/proto-guard';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };
const PLURAL: Record<string, string> = {
  Tag: 'tags', Tenant: 'tenants', Host: 'hosts', SecurityPolicy: 'securitypolicies', VM: 'vms',
  ConfigMap: 'configmaps', Secret: 'secrets', ServiceAccount: 'serviceaccounts', Lease: 'leases', Role: 'roles', RoleBinding: 'rolebindings',
};
const examples = readdirSync(join(REPO_ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => loadAll(readFileSync(join(REPO_ROOT, 'examples', f), 'utf8')) as Obj[])
  .filter((o) => o && typeof o === 'object');
const namespaces = examples.filter((o) => o.kind === 'Namespace');
// Built-in kinds the operator, the agents and tenants write, in a namespace of the examples.
const builtins: Obj[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'acme', labels: { a: 'b' } }, data: { k: 'v' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'acme' }, type: 'Opaque', data: { k: 'dg==' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'acme' } },
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'lease', namespace: 'acme' }, spec: { holderIdentity: 'h', leaseDurationSeconds: 15, renewTime: '2026-01-01T00:00:00.000000Z' } },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'role', namespace: 'acme' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'acme' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'role' }, subjects: [{ kind: 'User', name: 'u' }] },
];
// One example of each vmsafe.io kind, and of those built-ins: the fuzz writes over them again and again.
const seeds = [...['Tag', 'Tenant', 'Host', 'SecurityPolicy', 'VM'].map((k) => examples.find((o) => o.kind === k)!), ...builtins];
const collection = (o: Obj) => `/${o.apiVersion === 'v1' ? 'api' : 'apis'}/${o.apiVersion}/${o.metadata.namespace ? `namespaces/${o.metadata.namespace}/` : ''}${PLURAL[o.kind]}`;

let s: TestApiServer;
beforeAll(async () => {
  s = await startTestApiServer();
  for (const ns of namespaces) expect((await s.request('POST', '/api/v1/namespaces', { body: ns })).status).toBe(201);
  for (const o of seeds) expect((await s.request('POST', collection(o), { body: o })).status, `${o.kind} ${o.metadata.name}`).toBe(201);
});
afterAll(() => s.close());

describe('what the fuzz found: a member of the wrong type is a 400, not a 500', () => {
  const tag = () => seeds.find((o) => o.kind === 'Tag')!;
  const cases: [string, string, (live: Obj) => unknown, string][] = [
    ['POST', '', (o) => ({ ...o, metadata: { name: 'wrong-av' }, apiVersion: { toString: null } }), 'application/json'],
    ['PUT', '/status', (o) => ({ ...o, metadata: { ...o.metadata, uid: { toString: null } } }), 'application/json'],
    ['PUT', '', (o) => ({ ...o, metadata: { ...o.metadata, generation: 'one' } }), 'application/json'],
    ['PATCH', '', () => ({ metadata: { name: { toString: {} } } }), 'application/merge-patch+json'],
    ['PATCH', '?fieldManager=f', (o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: -1 }), 'application/apply-patch+yaml'],
    ['PUT', '', (o) => ({ ...o, metadata: { ...o.metadata, managedFields: [{ manager: 'm', operation: 'Update', apiVersion: { toString: 1 }, fieldsType: 'FieldsV1', fieldsV1: {} }] } }), 'application/json'],
  ];
  it.each(cases)('%s %s', async (method, suffix, body, type) => {
    const o = tag();
    const live = (await s.request('GET', `${collection(o)}/${o.metadata.name}`)).body as Obj;
    const url = method === 'POST' ? collection(o) : `${collection(o)}/${o.metadata.name}${suffix}`;
    const r = await s.request(method, url, { raw: JSON.stringify(body(live)), headers: { 'Content-Type': type } });
    expect(r.status, r.text.slice(0, 200)).toBe(400);
    expect((await s.request('GET', `${collection(o)}/${o.metadata.name}`)).body).toEqual(live);
  });
});

describe('fuzz: vmsafe.io and built-in objects with one member changed', () => {
  it('every create, update, patch, apply and status write answers under 500, and Object.prototype is untouched', async () => {
    const key = fc.option(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'x-kubernetes', 'status', 'spec', 'metadata', 'name', ''), fc.string({ maxLength: 6 })), { nil: undefined });
    const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(null, '', -1, 2 ** 31, 1e400 as number, '0.0.0.0/0', '10.0.0.1', 'Allow', 'Deny', 'TCP', [], {}));
    const how = fc.constantFrom('create', 'update', 'merge', 'json-patch', 'apply', 'status');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(seeds.length - 1), fc.nat(), key, value, how, async (which, pick, k, v, method) => {
        const seed = seeds[which]!;
        const live = (await s.request('GET', `${collection(seed)}/${seed.metadata.name}`)).body as Obj;
        const all = paths(live).filter((p) => p[0] !== 'metadata' || p.length <= 2);
        const mutated = mutate(live, all[pick % all.length]!, k, v);
        const name = `fuzz-${n++}`;
        const url = `${collection(seed)}/${seed.metadata.name}`;
        const json = { 'Content-Type': 'application/json' };
        const undo = protoGuard();
        let r;
        if (method === 'create') {
          const body = JSON.stringify({ ...mutated, metadata: { ...(mutated.metadata as object), name, resourceVersion: undefined } });
          r = await s.request('POST', collection(seed), { raw: body, headers: json });
        } else if (method === 'update') r = await s.request('PUT', url, { raw: JSON.stringify(mutated), headers: json });
        else if (method === 'merge') r = await s.request('PATCH', url, { raw: JSON.stringify(mutated), headers: { 'Content-Type': 'application/merge-patch+json' } });
        else if (method === 'json-patch') {
          const path = `/${all[pick % all.length]!.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}${k === undefined ? '' : `/${k}`}`;
          r = await s.request('PATCH', url, { raw: JSON.stringify([{ op: 'add', path, value: v }]), headers: { 'Content-Type': 'application/json-patch+json' } });
        } else if (method === 'apply') r = await s.request('PATCH', `${url}?fieldManager=fuzz&force=true`, { raw: JSON.stringify(mutated), headers: { 'Content-Type': 'application/apply-patch+yaml' } });
        else r = await s.request('PUT', `${url}/status`, { raw: JSON.stringify(mutated), headers: json });
        expect(undo(), `${method} ${JSON.stringify(k)} -> Object.prototype`).toEqual([]);
        expect(r.status, `${method} ${seed.kind} at ${JSON.stringify(all[pick % all.length])} key ${JSON.stringify(k)} value ${JSON.stringify(v)?.slice(0, 80)} -> ${r.text.slice(0, 200)}`).toBeLessThan(500);
      }),
      { numRuns: 1000 },
    );
    // Every seed is still served.
    for (const o of seeds) expect((await s.request('GET', `${collection(o)}/${o.metadata.name}`)).status).toBe(200);
  }, 120_000);
});
