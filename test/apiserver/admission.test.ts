// ValidatingAdmissionPolicies: the evaluator (pure, table tests over the policies we ship in
// manifests/admission.yaml) and the embedded server enforcing them on writes, as kube-apiserver does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { admit, policyErrors, type AdmissionAttributes, type UserInfo } from '../../src/apiserver/admission/policy';
import { REPO_ROOT, startTestApiServer, type TestApiServer } from '../helpers/apiserver';

const docs = parseAllDocuments(readFileSync(join(REPO_ROOT, 'manifests/admission.yaml'), 'utf8')).map((d) => d.toJS());
const policies = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicy');
const bindings = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicyBinding');

const admin: UserInfo = { username: 'vmsafe-admin', groups: ['system:masters', 'system:authenticated'] };
const tenantAdmin: UserInfo = { username: 'alice@acme.example', groups: ['system:authenticated'] };
const agent = (node?: string): UserInfo => ({
  username: 'system:serviceaccount:vmsafe-system:vmsafe-agent',
  groups: ['system:serviceaccounts', 'system:authenticated'],
  extra: node ? { 'authentication.kubernetes.io/node-name': [node] } : {},
});
const acmeNs = { metadata: { name: 'acme', labels: { 'vmsafe.io/tenant': 'acme' } } };
const policy = (tier: string, appliesTo?: object) => ({ metadata: { name: 'p' }, spec: { tier, ...(appliesTo ? { appliesTo } : {}) } });
const vm = (hostName?: string) => ({ metadata: { name: 'web-1' }, spec: { ...(hostName ? { hostName } : {}), vnics: [] } });

const attrs = (a: Partial<AdmissionAttributes>): AdmissionAttributes => ({
  operation: 'CREATE', group: 'vmsafe.io', version: 'v1alpha1', kind: 'SecurityPolicy', resource: 'securitypolicies',
  name: 'p', userInfo: tenantAdmin, dryRun: false, ...a,
});
const sp = (ns: string, obj: object, userInfo = tenantAdmin) =>
  attrs({ namespace: ns, object: obj, userInfo, namespaceObject: ns === 'acme' ? acmeNs : { metadata: { name: ns } } });
const vmReq = (obj: object, old: object | undefined, userInfo: UserInfo) =>
  attrs({ kind: 'VM', resource: 'vms', name: 'web-1', namespace: 'acme', operation: old ? 'UPDATE' : 'CREATE', object: obj, oldObject: old, userInfo, namespaceObject: acmeNs });
const hfStatus = (name: string, userInfo: UserInfo) =>
  attrs({ kind: 'HostFilter', resource: 'hostfilters', subResource: 'status', name, operation: 'UPDATE', object: { metadata: { name } }, oldObject: { metadata: { name } }, userInfo });
const lease = (name: string, userInfo: UserInfo) =>
  attrs({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', resource: 'leases', name, namespace: 'vmsafe-system', operation: 'UPDATE', object: { metadata: { name } }, oldObject: { metadata: { name } }, userInfo });

describe('ValidatingAdmissionPolicy evaluation (manifests/admission.yaml)', () => {
  it('ships policies whose expressions all compile', () => {
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(['vmsafe-agent-own-host', 'vmsafe-policy-tiers', 'vmsafe-provider-pins']);
    for (const p of policies) expect(policyErrors(p)).toEqual([]);
  });

  it.each([
    ['a Tenant-tier policy in a tenant namespace', sp('acme', policy('Tenant')), undefined],
    ['a Tenant-tier policy selecting its own tenant', sp('acme', policy('Tenant', { tenants: ['acme'] })), undefined],
    ['a Provider-tier policy in the provider namespace', sp('vmsafe-system', policy('Provider'), admin), undefined],
    ['a Provider-tier policy in a tenant namespace (even by an admin)', sp('acme', policy('Provider'), admin),
      "ValidatingAdmissionPolicy 'vmsafe-policy-tiers' with binding 'vmsafe-policy-tiers' denied request: tier Provider is allowed only in the provider namespace vmsafe-system, not in acme"],
    ['a Baseline-tier policy in a tenant namespace', sp('acme', policy('Baseline')), expect.stringContaining('tier Baseline is allowed only')],
    ['a Tenant-tier policy selecting another tenant', sp('acme', policy('Tenant', { tenants: ['globex'] })), expect.stringContaining('may select only its own tenant')],
    ['a Tenant-tier policy in an unlabelled namespace selecting tenants', sp('other', policy('Tenant', { tenants: ['acme'] })), expect.stringContaining('may select only its own tenant')],
    ['a tenant admin creating an unpinned VM', vmReq(vm(), undefined, tenantAdmin), undefined],
    ['a tenant admin pinning a VM', vmReq(vm('esx-gold-01'), undefined, tenantAdmin), expect.stringContaining('only the provider may pin a VM')],
    ['a tenant admin moving a pin', vmReq(vm('esx-gold-02'), vm('esx-gold-01'), tenantAdmin), expect.stringContaining('only the provider may pin')],
    ['a tenant admin editing a pinned VM without touching the pin', vmReq(vm('esx-gold-01'), vm('esx-gold-01'), tenantAdmin), undefined],
    ['the provider pinning a VM', vmReq(vm('esx-gold-01'), undefined, admin), undefined],
    ['an agent writing its own HostFilter status', hfStatus('esx-gold-01', agent('esx-gold-01')), undefined],
    ["an agent writing another host's HostFilter status", hfStatus('esx-gold-02', agent('esx-gold-01')),
      expect.stringContaining('an agent may write only its own host: hostfilters esx-gold-02 is not of node esx-gold-01')],
    ['an agent token bound to no node', hfStatus('esx-gold-01', agent()), expect.stringContaining('(token not bound to a node)')],
    ['an agent renewing its own Lease', lease('agent-esx-gold-01', agent('esx-gold-01')), undefined],
    ["an agent renewing another host's Lease", lease('agent-esx-gold-02', agent('esx-gold-01')), expect.stringContaining('leases agent-esx-gold-02 is not of node esx-gold-01')],
    ['the operator (not an agent) renewing its leader Lease', lease('vmsafe-operator', { username: 'system:serviceaccount:vmsafe-system:vmsafe-operator', groups: [] }), undefined],
  ])('%s', (_name, request, want) => {
    const d = admit(request, policies, bindings);
    if (want === undefined) expect(d).toBeUndefined();
    else expect(d).toMatchObject({ code: 403, reason: 'Forbidden', message: want });
  });

  it('matches subresources and operations exactly: HostFilter spec writes are not agent-checked here (RBAC denies them)', () => {
    expect(admit({ ...hfStatus('esx-gold-02', agent('esx-gold-01')), subResource: undefined }, policies, bindings)).toBeUndefined();
    expect(admit({ ...lease('agent-x', agent('esx-gold-01')), operation: 'CONNECT' }, policies, bindings)).toBeUndefined();
  });

  it('denies when a validation fails to evaluate under failurePolicy Fail, and never throws on any object', () => {
    const d = admit(sp('acme', { metadata: { name: 'p' }, spec: {} }), policies, bindings);
    expect(d).toMatchObject({ code: 403, message: expect.stringContaining("resulted in error") });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('acme', 'vmsafe-system', 'x'), (spec, ns) => {
        const r = admit(sp(ns, { metadata: { name: 'p' }, spec } as object), policies, bindings);
        if (r) expect(r.message).toMatch(/^ValidatingAdmissionPolicy 'vmsafe-policy-tiers'/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('ValidatingAdmissionPolicy enforced by the embedded server', () => {
  let t: TestApiServer;
  beforeAll(async () => {
    t = await startTestApiServer();
    const r = await t.kubectl(['apply', '-f', join(REPO_ROOT, 'manifests/admission.yaml')]);
    expect(r.stderr).toBe('');
    await t.kubectl(['create', 'namespace', 'acme']);
    await t.kubectl(['create', 'namespace', 'vmsafe-system']);
  });
  afterAll(async () => {
    await t?.close();
  });

  const provider = (ns: string) => ({
    apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', metadata: { name: 'guard', namespace: ns },
    spec: { tier: 'Provider', egress: [{ name: 'deny', action: 'Deny', peers: [{ cidr: { cidr: '192.0.2.0/24' } }] }] },
  });

  it('refuses a Provider-tier policy outside vmsafe-system with kubectl, in kube-apiserver words, and stores nothing', async () => {
    const r = await t.kubectl(['apply', '-f', '-'], { input: JSON.stringify(provider('acme')) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `securitypolicies.vmsafe.io "guard" is forbidden: ValidatingAdmissionPolicy 'vmsafe-policy-tiers' with binding 'vmsafe-policy-tiers' denied request: tier Provider is allowed only in the provider namespace vmsafe-system, not in acme`,
    );
    expect((await t.request('GET', '/apis/vmsafe.io/v1alpha1/namespaces/acme/securitypolicies/guard')).status).toBe(404);
    const ok = await t.kubectl(['apply', '-f', '-'], { input: JSON.stringify(provider('vmsafe-system')) });
    expect(ok.code).toBe(0);
  });

  it('serves the policies to kubectl get, and refuses one whose expression does not compile', async () => {
    const r = await t.kubectl(['get', 'validatingadmissionpolicies']);
    expect(r.stdout).toMatch(/vmsafe-policy-tiers\s+2\s+<unset>/);
    const bad = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'bad' }, spec: { validations: [{ expression: 'object.spec ==' }] } };
    const res = await t.request('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', { body: bad });
    expect(res.status).toBe(422);
    expect(res.body.details.causes[0]).toMatchObject({ field: 'spec.validations[0].expression' });
  });
});
