// A hostile tenant or lightly privileged user against the API server: requests whose text the
// authorizer and the router must read alike (impersonated anonymous, watch spellings), DeleteOptions
// that must be honoured as sent (dryRun) or refused as kube refuses them (400, never a 500).
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startTestApiServer, type TestApiServer } from '../../helpers/apiserver';
import { waitFor } from '../../helpers/wait';

let t: TestApiServer;
const ALICE = 'alice-token-0123456789';
const EVE = 'eve-token-0123456789';
const LISTER = 'lister-token-0123456789';
const VMS = '/apis/vmsafe.io/v1alpha1/namespaces/acme/vms';

const vm = (name: string) => ({
  apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name, namespace: 'acme' },
  spec: { vnics: [{ name: 'eth0', network: 'prod', ip: '10.0.0.5', mac: '02:00:00:00:00:05' }] },
});

beforeAll(async () => {
  t = await startTestApiServer({
    users: [
      { token: ALICE, username: 'alice@acme', groups: ['acme-admins'] },
      // Allowed to see what anonymous sees (`kubectl --as system:anonymous`), nothing else.
      { token: EVE, username: 'eve', groups: [] },
      // May list ConfigMaps in acme, not watch them.
      { token: LISTER, username: 'lister', groups: [] },
    ],
  });
  await t.ok(['apply', '-f', join(REPO_ROOT, 'manifests/rbac-tenant-admin.yaml')]);
  for (const args of [
    ['create', 'namespace', 'acme'],
    ['create', 'rolebinding', 'acme-admins', '-n', 'acme', '--clusterrole', 'vmsafe-tenant-admin', '--group', 'acme-admins'],
    ['create', 'secret', 'generic', 'db', '-n', 'acme', '--from-literal', 'password=x'],
    ['create', 'clusterrole', 'see-as-anonymous', '--verb', 'impersonate', '--resource', 'users', '--resource-name', 'system:anonymous'],
    ['create', 'clusterrolebinding', 'eve-anonymous', '--clusterrole', 'see-as-anonymous', '--user', 'eve'],
    ['create', 'role', 'list-cm', '-n', 'acme', '--verb', 'list', '--resource', 'configmaps'],
    ['create', 'rolebinding', 'lister', '-n', 'acme', '--role', 'list-cm', '--user', 'lister'],
  ])
    await t.ok(args);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('the authorizer and the router read a request alike', () => {
  it('an impersonated system:anonymous is authorized as anonymous, not let through like a health check', async () => {
    const r = await t.kubectl(['--token', EVE, '--as', 'system:anonymous', 'get', 'secrets', '-n', 'acme', '-o', 'name']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Error from server (Forbidden): secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API group "" in the namespace "acme"');
    const del = await t.request('DELETE', '/api/v1/namespaces/acme/secrets/db', { token: EVE, headers: { 'Impersonate-User': 'system:anonymous' } });
    expect(del.status).toBe(403);
    expect((await t.request('GET', '/api/v1/namespaces/acme/secrets/db')).status).toBe(200);
    // The health endpoints stay public for a caller without a token.
    expect((await t.request('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it('watch=t (or any spelling the router takes for a watch) is authorized as a watch', async () => {
    expect((await t.request('GET', '/api/v1/namespaces/acme/configmaps', { token: LISTER })).status).toBe(200);
    for (const v of ['true', '1', 't', 'T', 'TRUE', 'True']) {
      const r = await t.request('GET', `/api/v1/namespaces/acme/configmaps?watch=${v}&timeoutSeconds=1`, { token: LISTER });
      expect(r.status, `watch=${v}`).toBe(403);
      expect(r.body.message).toBe('configmaps is forbidden: User "lister" cannot watch resource "configmaps" in API group "" in the namespace "acme"');
    }
  });
});

describe('DeleteOptions as sent', () => {
  beforeAll(() => t.ok(['--token', ALICE, 'create', '-f', '-'], JSON.stringify(vm('keep-me'))));

  it('kubectl delete --dry-run=server (dryRun in the DeleteOptions body) deletes nothing', async () => {
    const r = await t.kubectl(['--token', ALICE, 'delete', 'vm', 'keep-me', '-n', 'acme', '--dry-run=server']);
    expect(r.stdout.trim(), r.stderr).toBe('vm.vmsafe.io "keep-me" deleted (server dry run)');
    expect((await t.request('GET', `${VMS}/keep-me`, { token: ALICE })).status).toBe(200);
    const body = await t.request('DELETE', VMS, { body: { dryRun: ['All'] } });
    expect(body.status).toBe(200);
    expect((await t.request('GET', `${VMS}/keep-me`)).status).toBe(200);
  });

  it('a dryRun value other than All is refused, not taken for a real write', async () => {
    for (const [method, path, opts] of [
      ['DELETE', `${VMS}/keep-me?dryRun=all`, {}],
      ['DELETE', `${VMS}/keep-me`, { body: { dryRun: ['all'] } }],
      ['POST', `${VMS}?dryRun=yes`, { body: vm('never') }],
    ] as const) {
      const r = await t.request(method, path, { token: ALICE, ...opts });
      expect(r.status, `${method} ${path}`).toBe(422);
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'Invalid' });
      expect(r.body.message).toMatch(/^(Delete|Create)Options\.meta\.k8s\.io "" is invalid: dryRun: Unsupported value: \[\]string\{"(all|yes)"\}: supported values: "All"$/);
    }
    expect((await t.request('GET', `${VMS}/keep-me`)).status).toBe(200);
    expect((await t.request('GET', `${VMS}/never`)).status).toBe(404);
  });

  it('a body of null is no options; a member of the wrong type is Go\'s 400 naming the field', async () => {
    await t.ok(['--token', ALICE, 'create', '-f', '-'], JSON.stringify(vm('nulled')));
    expect((await t.request('DELETE', `${VMS}/nulled`, { token: ALICE, raw: 'null', headers: { 'Content-Type': 'application/json' } })).status).toBe(200);
    for (const [body, field] of [
      [{ propagationPolicy: { toString: 1 } }, 'DeleteOptions.propagationPolicy of type v1.DeletionPropagation'],
      [{ preconditions: { resourceVersion: { toString: 1 } } }, 'Preconditions.preconditions.resourceVersion of type string'],
      [{ preconditions: 'x' }, 'DeleteOptions.preconditions of type v1.Preconditions'],
      [{ orphanDependents: 'yes' }, 'DeleteOptions.orphanDependents of type bool'],
      [{ gracePeriodSeconds: 1.5 }, 'DeleteOptions.gracePeriodSeconds of type int64'],
      [{ dryRun: 'All' }, 'DeleteOptions.dryRun of type []string'],
    ] as const) {
      const r = await t.request('DELETE', `${VMS}/keep-me`, { token: ALICE, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.message).toContain(field);
    }
    expect((await t.request('GET', `${VMS}/keep-me`)).status).toBe(200);
  });

  it('property: no DeleteOptions body gets a 500 or deletes anything when it is refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          propagationPolicy: fc.oneof(fc.constantFrom('Foreground', 'Background', 'Orphan', 'x'), fc.jsonValue()),
          orphanDependents: fc.jsonValue(), gracePeriodSeconds: fc.jsonValue(), dryRun: fc.oneof(fc.constant(['All']), fc.jsonValue()),
          preconditions: fc.oneof(fc.record({ uid: fc.jsonValue(), resourceVersion: fc.jsonValue() }, { requiredKeys: [] }), fc.jsonValue()),
        }, { requiredKeys: [] }),
        async (opts) => {
          const r = await t.request('DELETE', `${VMS}/keep-me?dryRun=All`, { token: ALICE, body: opts });
          expect(r.status, JSON.stringify(opts)).toBeLessThan(500);
          expect(r.body?.kind, r.text).toBeDefined();
        },
      ),
      { numRuns: 150 },
    );
    expect((await t.request('GET', `${VMS}/keep-me`)).status).toBe(200);
  });
});

describe('access reviews', () => {
  it('a review member of the wrong type is a 400 naming it, not a 500', async () => {
    const ssar = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
    for (const [spec, field] of [
      [{ resourceAttributes: { verb: { toString: 1 }, resource: 'vms' } }, 'ResourceAttributes.spec.resourceAttributes.verb of type string'],
      [{ resourceAttributes: { verb: 'get', namespace: ['acme'] } }, 'ResourceAttributes.spec.resourceAttributes.namespace of type string'],
      [{ nonResourceAttributes: { path: { toString: 1 }, verb: 'get' } }, 'NonResourceAttributes.spec.nonResourceAttributes.path of type string'],
      [{ resourceAttributes: 'x' }, 'SelfSubjectAccessReviewSpec.spec.resourceAttributes of type v1.ResourceAttributes'],
    ] as const) {
      const r = await t.request('POST', ssar, { token: ALICE, body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec } });
      expect(r.status, JSON.stringify(spec)).toBe(400);
      expect(r.body.message).toContain(field);
    }
    const sar = await t.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { groups: 'acme-admins', resourceAttributes: { verb: 'get', resource: 'vms' } } },
    });
    expect(sar.status).toBe(400);
    expect(sar.body.message).toContain('SubjectAccessReviewSpec.spec.groups of type []string');
  });
});

describe('access reviews: property', () => {
  it('no SelfSubjectAccessReview or TokenRequest spec gets a 500', async () => {
    await t.ok(['create', 'serviceaccount', 'robot', '-n', 'acme']);
    // Any JSON, and an object whose toString is no function (String() of it throws).
    const value = fc.oneof(fc.jsonValue(), fc.constant({ toString: 1 }));
    const attrs = fc.dictionary(fc.constantFrom('verb', 'resource', 'group', 'namespace', 'name', 'path', 'subresource'), value);
    await fc.assert(
      fc.asyncProperty(
        fc.record({ resourceAttributes: fc.oneof(attrs, fc.jsonValue()), nonResourceAttributes: fc.oneof(attrs, fc.jsonValue()), audiences: fc.oneof(fc.array(value), value), expirationSeconds: fc.jsonValue() }, { requiredKeys: [] }),
        async (spec) => {
          for (const path of ['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', '/api/v1/namespaces/acme/serviceaccounts/robot/token']) {
            const r = await t.request('POST', path, { token: path.includes('token') ? undefined : ALICE, body: { spec } });
            expect(r.status, `${path} ${JSON.stringify(spec)}: ${r.text}`).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('watches a tenant opens and never reads', () => {
  it('do not each buffer the whole initial list in the server (8 unread watches of 25 MB hold well under 64 MB)', async () => {
    const big = 'a'.repeat(250_000);
    for (let i = 0; i < 100; i++) {
      const o = vm(`big-${String(i).padStart(3, '0')}`);
      (o.metadata as Record<string, unknown>).annotations = { 'example.com/pad': big };
      const r = await t.request('POST', '/apis/vmsafe.io/v1alpha1/namespaces/acme/vms', { token: ALICE, body: o });
      expect(r.status, r.text).toBe(201);
    }
    const before = process.memoryUsage().arrayBuffers;
    const open: { destroy(): void }[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        await new Promise<void>((done, fail) => {
          const req = httpsRequest(new URL(`${VMS}?watch=1`, t.url), { headers: { Authorization: `Bearer ${ALICE}` }, ca: t.server.caCert }, (res) => {
            res.pause(); // a client that never reads
            done();
          });
          req.on('error', fail);
          req.end();
          open.push(req);
        });
      }
      // Headers come first; what the server then writes ahead of the reader is what it holds.
      const grown = await waitFor('the server to settle its watch writes', async () => {
        const a = process.memoryUsage().arrayBuffers;
        await new Promise<void>((r) => setImmediate(r));
        return process.memoryUsage().arrayBuffers === a ? a - before : undefined;
      });
      expect(grown).toBeLessThan(64 * 1024 * 1024);
    } finally {
      for (const r of open) r.destroy();
    }
    // The tenant's own watch still gets everything when it reads.
    const list = await t.request('GET', `${VMS}?watch=1&timeoutSeconds=1`, { token: ALICE });
    expect(list.text.split('\n').filter((l) => l.includes('"ADDED"')).length).toBeGreaterThanOrEqual(100);
  }, 60_000);

  it('live events written while the initial events wait for the reader come after them, once', async () => {
    const lines: string[] = [];
    let buf = '';
    const req = httpsRequest(new URL(`${VMS}?watch=1&timeoutSeconds=20`, t.url), { headers: { Authorization: `Bearer ${ALICE}` }, ca: t.server.caCert });
    try {
      await new Promise<void>((done, fail) => {
        req.on('response', (res) => {
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            buf += d;
            const parts = buf.split('\n');
            buf = parts.pop()!;
            lines.push(...parts);
          });
          done();
        });
        req.on('error', fail);
        req.end();
      });
      // Written as soon as the watch is established, while most of its 25 MB is still unsent.
      const p = await t.request('PATCH', `${VMS}/big-099`, { token: ALICE, raw: '{"metadata":{"labels":{"touched":"yes"}}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
      expect(p.status).toBe(200);
      await waitFor('the MODIFIED event', () => lines.some((l) => l.startsWith('{"type":"MODIFIED"')));
      const types = lines.map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
      const modified = types.findIndex((e) => e.type === 'MODIFIED');
      expect(types.slice(0, modified).filter((e) => e.type === 'ADDED' && e.object.metadata.name.startsWith('big-')).length).toBe(100);
      expect(types.filter((e) => e.type === 'MODIFIED').length).toBe(1);
    } finally {
      req.destroy();
    }
  }, 60_000);
});

describe('ownerReferences across tenants', () => {
  it("a tenant's object naming another tenant's object as owner (by a leaked uid) neither blocks its foreground deletion nor becomes its dependent", async () => {
    await t.ok(['create', 'namespace', 'globex']);
    const victim = (await t.request('POST', '/apis/vmsafe.io/v1alpha1/namespaces/globex/vms', { body: { ...vm('victim'), metadata: { name: 'victim', namespace: 'globex' } } })).body;
    const child = (await t.request('POST', '/apis/vmsafe.io/v1alpha1/namespaces/globex/vms', {
      body: { ...vm('child'), metadata: { name: 'child', namespace: 'globex', ownerReferences: [{ apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', name: 'victim', uid: victim.metadata.uid }] } },
    })).body;
    expect(child.metadata.uid).toBeDefined();
    // The uid is all acme's admin needs; the reference names the owner as if it were in acme.
    const hold = { ...vm('hold'), metadata: { name: 'hold', namespace: 'acme', finalizers: ['example.com/hold'], ownerReferences: [{ apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', name: 'victim', uid: victim.metadata.uid, blockOwnerDeletion: true }] } };
    const made = await t.request('POST', VMS, { token: ALICE, body: hold });
    expect(made.status, made.text).toBe(201);
    // Like kube's garbage collector: a namespaced owner must be in the dependent's namespace, else the
    // reference is absent and the dependent is collected (its finalizer keeps it, being deleted).
    await waitFor('acme/hold to be collected', async () => (await t.request('GET', `${VMS}/hold`)).body?.metadata?.deletionTimestamp, { timeoutMs: 5_000 });
    // Its legitimate dependent is untouched by that.
    expect((await t.request('GET', '/apis/vmsafe.io/v1alpha1/namespaces/globex/vms/child')).body.metadata.deletionTimestamp).toBeUndefined();
    const del = await t.request('DELETE', '/apis/vmsafe.io/v1alpha1/namespaces/globex/vms/victim', { body: { propagationPolicy: 'Foreground' } });
    expect(del.status).toBe(200);
    await waitFor('globex/victim to be deleted', async () => (await t.request('GET', '/apis/vmsafe.io/v1alpha1/namespaces/globex/vms/victim')).status === 404, { timeoutMs: 5_000 });
    await waitFor('globex/child to be deleted with it', async () => (await t.request('GET', '/apis/vmsafe.io/v1alpha1/namespaces/globex/vms/child')).status === 404, { timeoutMs: 5_000 });
    expect((await t.request('GET', `${VMS}/hold`)).body.metadata.finalizers).toEqual(['example.com/hold']);
  });

  it('a reference whose kind or name does not match the object of that uid is no reference to it', async () => {
    const owner = (await t.request('POST', VMS, { body: vm('real-owner') })).body;
    const r = await t.request('POST', VMS, { token: ALICE, body: { ...vm('mislabelled'), metadata: { name: 'mislabelled', namespace: 'acme', finalizers: ['example.com/hold'], ownerReferences: [{ apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', name: 'not-the-owner', uid: owner.metadata.uid, blockOwnerDeletion: true }] } } });
    expect(r.status).toBe(201);
    expect((await t.request('DELETE', `${VMS}/real-owner`, { body: { propagationPolicy: 'Foreground' } })).status).toBe(200);
    await waitFor('acme/real-owner to be deleted', async () => (await t.request('GET', `${VMS}/real-owner`)).status === 404, { timeoutMs: 5_000 });
  });
});

describe('continue tokens', () => {
  it('a forged token whose version is no positive integer is 400, never served as the list resourceVersion', async () => {
    for (const rv of ['1e999', '0', '-5', '1.5', '9007199254740993']) {
      const cont = Buffer.from(`{"rv":${rv},"start":""}`).toString('base64');
      const r = await t.request('GET', `${VMS}?limit=1&continue=${encodeURIComponent(cont)}`, { token: ALICE });
      expect(r.status, `rv ${rv}: ${r.text}`).toBe(400);
      expect(r.body.message).toBe('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
    }
    for (const name of ['page-a', 'page-b']) await t.request('POST', VMS, { token: ALICE, body: vm(name) });
    const first = await t.request('GET', `${VMS}?limit=1`, { token: ALICE });
    const next = await t.request('GET', `${VMS}?limit=1&continue=${encodeURIComponent(first.body.metadata.continue)}`, { token: ALICE });
    expect(next.status).toBe(200);
    expect(next.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
  });
});
