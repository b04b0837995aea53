// The RBAC authorizer as tables (kube's rule matching, binding scopes, subjects, aggregation), the
// URL -> attributes derivation, the 403 wording, and a property: no input makes it throw or allow
// what no rule grants.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requestAttributes } from '../../../src/apiserver/auth/attributes';
import { checkEscalation } from '../../../src/apiserver/auth/escalation';
import { forbiddenError } from '../../../src/apiserver/auth/forbidden';
import { authorize, ruleAllows, rulesFor, type RbacSource } from '../../../src/apiserver/auth/rbac';
import type { Attributes, UserInfo } from '../../../src/apiserver/auth/types';
import type { Obj } from '../../../src/apiserver/store';

function source(objs: Obj[]): RbacSource {
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  return {
    roles: (ns) => of('Role').filter((o) => o.metadata.namespace === ns),
    role: (ns, name) => of('Role').find((o) => o.metadata.namespace === ns && o.metadata.name === name),
    clusterRoles: () => of('ClusterRole'),
    clusterRole: (name) => of('ClusterRole').find((o) => o.metadata.name === name),
    roleBindings: (ns) => of('RoleBinding').filter((o) => o.metadata.namespace === ns),
    clusterRoleBindings: () => of('ClusterRoleBinding'),
  };
}

const cr = (name: string, rules: Obj[], labels?: Record<string, string>, aggregationRule?: Obj): Obj => ({ kind: 'ClusterRole', metadata: { name, labels }, rules, aggregationRule });
const rb = (ns: string, name: string, roleKind: string, role: string, subjects: Obj[]): Obj => ({ kind: 'RoleBinding', metadata: { namespace: ns, name }, roleRef: { kind: roleKind, name: role }, subjects });
const crb = (name: string, role: string, subjects: Obj[]): Obj => ({ kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { kind: 'ClusterRole', name: role }, subjects });

const WORLD = source([
  cr('tenant', [
    { apiGroups: ['vmsafe.io'], resources: ['vms', 'securitypolicies'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: ['vmsafe.io'], resources: ['vms/status'], verbs: ['get'] },
  ]),
  { kind: 'Role', metadata: { namespace: 'acme', name: 'one-secret' }, rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['db'], verbs: ['get'] }] },
  rb('acme', 'admins', 'ClusterRole', 'tenant', [{ kind: 'Group', name: 'acme-admins' }]),
  rb('acme', 'secret', 'Role', 'one-secret', [{ kind: 'User', name: 'carol' }]),
  rb('acme', 'robot', 'ClusterRole', 'tenant', [{ kind: 'ServiceAccount', name: 'robot' }]),
  cr('agent-status', [{ apiGroups: ['vmsafe.io'], resources: ['*/status'], verbs: ['update', 'patch'] }], { 'vmsafe.io/aggregate-to-agent': 'true' }),
  cr('agent-leases', [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] }], { 'vmsafe.io/aggregate-to-agent': 'true' }),
  cr('agent', [], undefined, { clusterRoleSelectors: [{ matchLabels: { 'vmsafe.io/aggregate-to-agent': 'true' } }] }),
  crb('agents', 'agent', [{ kind: 'Group', name: 'vmsafe:agents' }]),
  cr('metrics', [{ nonResourceURLs: ['/metrics', '/debug/*'], verbs: ['get'] }]),
  crb('metrics', 'metrics', [{ kind: 'User', name: 'prom' }]),
  // A RoleBinding cannot grant non-resource URLs (kube only visits ClusterRoleBindings for them).
  rb('acme', 'metrics', 'ClusterRole', 'metrics', [{ kind: 'User', name: 'dave' }]),
  cr('impersonator', [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['alice'] }]),
]);

const user = (username: string, groups: string[] = []): UserInfo => ({ username, groups: [...groups, 'system:authenticated'] });
const res = (verb: string, group: string, resource: string, namespace?: string, name?: string, subresource?: string): Attributes =>
  ({ kind: 'resource', verb, group, resource, namespace, name, subresource });

describe('authorize', () => {
  const alice = user('alice', ['acme-admins']);
  const cases: [string, UserInfo, Attributes, boolean][] = [
    ['tenant admin lists VMs in its namespace', alice, res('list', 'vmsafe.io', 'vms', 'acme'), true],
    ['tenant admin watches VMs', alice, res('watch', 'vmsafe.io', 'vms', 'acme'), true],
    ['...but not in another namespace', alice, res('list', 'vmsafe.io', 'vms', 'globex'), false],
    ['...nor cluster-wide', alice, res('list', 'vmsafe.io', 'vms'), false],
    ['...nor deletecollection (not granted)', alice, res('deletecollection', 'vmsafe.io', 'vms', 'acme'), false],
    ['vms does not grant vms/status', alice, res('update', 'vmsafe.io', 'vms', 'acme', 'web', 'status'), false],
    ['vms/status get is granted', alice, res('get', 'vmsafe.io', 'vms', 'acme', 'web', 'status'), true],
    ['group match is exact', user('alice', ['acme-admins2']), res('list', 'vmsafe.io', 'vms', 'acme'), false],
    ['resourceNames: the named secret', user('carol'), res('get', '', 'secrets', 'acme', 'db'), true],
    ['resourceNames: another secret', user('carol'), res('get', '', 'secrets', 'acme', 'other'), false],
    ['resourceNames: never a list', user('carol'), res('list', '', 'secrets', 'acme'), false],
    ['ServiceAccount subject, namespace from the binding', user('system:serviceaccount:acme:robot'), res('create', 'vmsafe.io', 'vms', 'acme'), true],
    ['ServiceAccount of another namespace', user('system:serviceaccount:globex:robot'), res('create', 'vmsafe.io', 'vms', 'acme'), false],
    ['aggregated ClusterRole: */status', user('agent-1', ['vmsafe:agents']), res('patch', 'vmsafe.io', 'hostfilters', undefined, 'h1', 'status'), true],
    ['aggregated ClusterRole: */status is not the resource', user('agent-1', ['vmsafe:agents']), res('patch', 'vmsafe.io', 'hostfilters', undefined, 'h1'), false],
    ['aggregated ClusterRole: verb *', user('agent-1', ['vmsafe:agents']), res('delete', 'coordination.k8s.io', 'leases', 'vmsafe-system', 'x'), true],
    ['nonResourceURL exact', user('prom'), { kind: 'nonResource', verb: 'get', path: '/metrics' }, true],
    ['nonResourceURL prefix', user('prom'), { kind: 'nonResource', verb: 'get', path: '/debug/vmsafe/writes' }, true],
    ['nonResourceURL verb', user('prom'), { kind: 'nonResource', verb: 'post', path: '/metrics' }, false],
    ['nonResourceURL via RoleBinding is not granted', user('dave'), { kind: 'nonResource', verb: 'get', path: '/metrics' }, false],
    ['discovery for every authenticated user', user('nobody'), { kind: 'nonResource', verb: 'get', path: '/apis/vmsafe.io/v1alpha1' }, true],
    ['self reviews for every authenticated user', user('nobody'), res('create', 'authorization.k8s.io', 'selfsubjectaccessreviews'), true],
    ['not without system:authenticated', { username: 'x', groups: [] }, res('create', 'authorization.k8s.io', 'selfsubjectaccessreviews'), false],
    ['masters may do anything', { username: 'root', groups: ['system:masters'] }, res('deletecollection', '', 'secrets', 'kube-system'), true],
    ['a binding to a missing role grants nothing', user('eve'), res('get', '', 'secrets', 'acme', 'db'), false],
  ];
  it.each(cases)('%s', (_, u, a, allowed) => {
    expect(authorize(WORLD, u, a).allowed).toBe(allowed);
  });

  it('gives kube\'s reason for an allow', () => {
    expect(authorize(WORLD, alice, res('get', 'vmsafe.io', 'vms', 'acme', 'web')).reason).toBe(
      'RBAC: allowed by RoleBinding "admins/acme" of ClusterRole "tenant" to Group "acme-admins"',
    );
  });

  it('lists the rules that apply in a namespace (SelfSubjectRulesReview)', () => {
    const r = rulesFor(WORLD, alice, 'acme');
    expect(r.resourceRules).toContainEqual({ verbs: ['get'], apiGroups: ['vmsafe.io'], resources: ['vms/status'] });
    expect(rulesFor(WORLD, alice, 'globex').resourceRules.some((x) => x.resources?.includes('vms'))).toBe(false);
  });

  it('aggregation selects by own labels: a label key named like an Object member is not on every ClusterRole', () => {
    const admin = cr('admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
    const labelled = cr('toString-labelled', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }], { toString: 'yes' });
    const bob = user('bob');
    const world = (sel: Obj) => source([admin, labelled, cr('agg', [], undefined, { clusterRoleSelectors: [sel] }), crb('agg', 'agg', [{ kind: 'User', name: 'bob' }])]);
    const secrets = res('get', '', 'secrets', 'acme', 'db');
    const configmaps = res('get', '', 'configmaps', 'acme', 'x');
    // `Exists constructor` aggregated every ClusterRole (cluster-admin's `*` included).
    for (const key of ['constructor', 'hasOwnProperty', 'valueOf'])
      expect(authorize(world({ matchExpressions: [{ key, operator: 'Exists' }] }), bob, secrets).allowed).toBe(false);
    // ...and `DoesNotExist` none.
    expect(authorize(world({ matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }), bob, secrets).allowed).toBe(true);
    // An own label of that name still selects its role, and only it.
    const own = world({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] });
    expect([authorize(own, bob, configmaps).allowed, authorize(own, bob, secrets).allowed]).toEqual([true, false]);
  });
});

describe('request attributes from the URL', () => {
  const q = (s = '') => new URLSearchParams(s);
  it.each([
    ['GET', '/apis/vmsafe.io/v1alpha1/namespaces/acme/vms', '', res('list', 'vmsafe.io', 'vms', 'acme')],
    ['GET', '/apis/vmsafe.io/v1alpha1/namespaces/acme/vms', 'watch=true', res('watch', 'vmsafe.io', 'vms', 'acme')],
    ['GET', '/apis/vmsafe.io/v1alpha1/watch/namespaces/acme/vms', '', res('watch', 'vmsafe.io', 'vms', 'acme')],
    ['GET', '/apis/vmsafe.io/v1alpha1/namespaces/acme/vms', 'fieldSelector=metadata.name%3Dweb', res('list', 'vmsafe.io', 'vms', 'acme', 'web')],
    ['DELETE', '/apis/vmsafe.io/v1alpha1/namespaces/acme/vms', '', res('deletecollection', 'vmsafe.io', 'vms', 'acme')],
    ['PATCH', '/apis/vmsafe.io/v1alpha1/hostfilters/h1/status', '', res('patch', 'vmsafe.io', 'hostfilters', undefined, 'h1', 'status')],
    ['GET', '/api/v1/namespaces/acme', '', res('get', '', 'namespaces', 'acme', 'acme')],
    ['PUT', '/api/v1/namespaces/acme/finalize', '', res('update', '', 'namespaces', 'acme', 'acme', 'finalize')],
    ['POST', '/api/v1/namespaces/acme/serviceaccounts/robot/token', '', res('create', '', 'serviceaccounts', 'acme', 'robot', 'token')],
  ] as [string, string, string, Attributes][])('%s %s?%s', (m, p, s, want) => {
    const got = requestAttributes(m, p, q(s));
    expect(got).toEqual(JSON.parse(JSON.stringify(want)));
  });
  it('treats discovery paths as non-resource', () => {
    expect(requestAttributes('GET', '/apis/vmsafe.io/v1alpha1', q())).toEqual({ kind: 'nonResource', verb: 'get', path: '/apis/vmsafe.io/v1alpha1' });
  });
});

describe('403 wording', () => {
  it.each([
    [res('list', '', 'secrets', 'acme'), 'secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "acme"'],
    [res('get', 'vmsafe.io', 'hosts', undefined, 'h1'), 'hosts.vmsafe.io "h1" is forbidden: User "alice" cannot get resource "hosts" in API group "vmsafe.io" at the cluster scope'],
    [res('patch', 'vmsafe.io', 'vms', 'acme', 'web', 'status'), 'vms.vmsafe.io "web" is forbidden: User "alice" cannot patch resource "vms/status" in API group "vmsafe.io" in the namespace "acme"'],
    [{ kind: 'nonResource', verb: 'get', path: '/metrics' } as Attributes, 'forbidden: User "alice" cannot get path "/metrics"'],
  ] as [Attributes, string][])('%j', (a, msg) => {
    const e = forbiddenError('alice', a);
    expect([e.code, e.reason, e.message]).toEqual([403, 'Forbidden', msg]);
  });
});

describe('property: hostile RBAC objects never crash the authorizer nor grant beyond their rules', () => {
  const word = fc.constantFrom('', '*', 'get', 'list', 'vms', 'vms/status', '*/status', 'vmsafe.io', 'acme', 'alice', '/metrics', '/*');
  const junk = fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.array(word), fc.dictionary(word, word));
  const rule = fc.record({ verbs: fc.oneof(fc.array(word), junk), apiGroups: fc.oneof(fc.array(word), junk), resources: fc.oneof(fc.array(word), junk), resourceNames: fc.oneof(fc.array(word), junk), nonResourceURLs: fc.oneof(fc.array(word), junk) }, { requiredKeys: [] });
  const subject = fc.record({ kind: fc.constantFrom('User', 'Group', 'ServiceAccount', 'Bogus'), name: word, namespace: fc.option(word) }, { requiredKeys: [] });
  const attrs = fc.oneof(
    fc.record({ kind: fc.constant('resource' as const), verb: word, group: word, resource: word, namespace: fc.option(word, { nil: undefined }), name: fc.option(word, { nil: undefined }), subresource: fc.option(word, { nil: undefined }) }),
    fc.record({ kind: fc.constant('nonResource' as const), verb: word, path: word }),
  );
  it('holds', () => {
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 4 }), fc.array(subject, { maxLength: 3 }), fc.oneof(junk, fc.record({ kind: fc.constantFrom('ClusterRole', 'Role'), name: fc.oneof(word, junk) })), attrs, word, (rules, subjects, roleRef, a, name) => {
        const objs: Obj[] = [
          { kind: 'ClusterRole', metadata: { name: 'r' }, rules: rules as Obj[], aggregationRule: { clusterRoleSelectors: [{}] } },
          { kind: 'ClusterRoleBinding', metadata: { name: 'b' }, roleRef: roleRef ?? { kind: 'ClusterRole', name: 'r' }, subjects },
          { kind: 'RoleBinding', metadata: { namespace: 'acme', name: 'b' }, roleRef: { kind: 'ClusterRole', name: 'r' }, subjects },
        ];
        const u = user(name);
        const d = authorize(source(objs), u, a as Attributes);
        rulesFor(source(objs), u, 'acme');
        if (d.allowed && !(a.kind === 'nonResource' || a.resource.endsWith('reviews'))) {
          expect((rules as Obj[]).some((r) => ruleAllows(a as Attributes, r))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('escalation prevention', () => {
  const world = source([
    cr('tenant', [{ apiGroups: ['vmsafe.io'], resources: ['vms'], verbs: ['get', 'list'] }]),
    cr('admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]),
    cr('rbac-writer', [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ['create', 'update', 'patch'] }]),
    cr('binder', [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['admin'] }]),
    rb('acme', 'w', 'ClusterRole', 'rbac-writer', [{ kind: 'User', name: 'mallory' }, { kind: 'User', name: 'op' }]),
    rb('acme', 't', 'ClusterRole', 'tenant', [{ kind: 'User', name: 'mallory' }]),
    crb('b', 'binder', [{ kind: 'User', name: 'op' }]),
  ]);
  const can = (u: UserInfo) => (verb: string, resource: string, name: string) =>
    authorize(world, u, { kind: 'resource', verb, group: 'rbac.authorization.k8s.io', resource, namespace: 'acme', name }).allowed;
  const check = (u: UserInfo, resource: string, obj: Obj) => () => checkEscalation(world, u, resource, 'acme', obj, can(u));
  const mallory = user('mallory');
  const binding = (role: string) => ({ metadata: { name: 'x', namespace: 'acme' }, roleRef: { kind: 'ClusterRole', name: role }, subjects: [{ kind: 'User', name: 'mallory' }] });
  it.each([
    ['a role within what it holds', mallory, 'roles', { metadata: { name: 'r' }, rules: [{ apiGroups: ['vmsafe.io'], resources: ['vms'], verbs: ['get'] }] }, true],
    ['a role with more verbs', mallory, 'roles', { metadata: { name: 'r' }, rules: [{ apiGroups: ['vmsafe.io'], resources: ['vms'], verbs: ['delete'] }] }, false],
    ['a role with a wildcard', mallory, 'roles', { metadata: { name: 'r' }, rules: [{ apiGroups: ['vmsafe.io'], resources: ['*'], verbs: ['get'] }] }, false],
    ['a binding to a role it holds', mallory, 'rolebindings', binding('tenant'), true],
    ['a binding to cluster-admin-like role', mallory, 'rolebindings', binding('admin'), false],
    ['a binding with the bind verb on that role', user('op'), 'rolebindings', binding('admin'), true],
    ['masters', { username: 'root', groups: ['system:masters'] }, 'rolebindings', binding('admin'), true],
  ] as [string, UserInfo, string, Obj, boolean][])('%s', (_, u, resource, obj, ok) => {
    if (ok) expect(check(u, resource, obj)).not.toThrow();
    else expect(check(u, resource, obj)).toThrow(/is forbidden: user ".*" \(groups=.*\) is attempting to grant RBAC permissions not currently held/);
  });
});
