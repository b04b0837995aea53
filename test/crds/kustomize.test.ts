// manifests/ renders with the real kubectl (offline) into a least-privilege install of the operator.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KINDS } from '../../src/api';

const ROOT = join(__dirname, '..', '..');
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

let objects: Obj[] = [];
const find = (kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
};
/** Does any rule of a role grant `verb` on `group/resource`? */
const allows = (rules: Rule[], group: string, resource: string, verb: string) =>
  rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));

describe('manifests/ (kustomize)', () => {
  beforeAll(() => {
    const out = execFileSync('kubectl', ['kustomize', join(ROOT, 'manifests')], { encoding: 'utf8' });
    objects = parseAllDocuments(out).map((d) => d.toJS() as Obj);
  });

  it('puts every namespaced object in vmsafe-system', () => {
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
    // kustomize (5.5) does not know admission policies are cluster-scoped and stamps the namespace on
    // them; kube-apiserver (and the embedded server) clear it for cluster-scoped kinds, so it is harmless.
    const stampedAnyway = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    for (const o of objects) {
      if (stampedAnyway.has(o.kind)) continue;
      if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('vmsafe-system');
    }
    expect(find('Namespace', 'vmsafe-system')).toBeDefined();
  });

  it('ships the admission policies, each bound with validationActions Deny', () => {
    for (const name of ['vmsafe-policy-tiers', 'vmsafe-provider-pins', 'vmsafe-agent-own-host']) {
      expect(find('ValidatingAdmissionPolicy', name).spec.failurePolicy).toBe('Fail');
      expect(find('ValidatingAdmissionPolicyBinding', name).spec).toEqual({ policyName: name, validationActions: ['Deny'] });
    }
  });

  it('runs two leader-elected operator replicas with probes on 8081 and metrics on 8080', () => {
    const d = find('Deployment', 'vmsafe-operator');
    expect(d.spec.replicas).toBe(2);
    const c = d.spec.template.spec.containers[0];
    expect(c.args.slice(0, 2)).toEqual(['operator', '--leader-elect']);
    // Explicit bind addresses, when given, must agree with the declared ports.
    const flag = (name: string) => (c.args as string[]).find((a) => a.startsWith(`--${name}=`))?.split(':').pop();
    expect(flag('metrics-bind-address') ?? '8080').toBe('8080');
    expect(flag('health-probe-bind-address') ?? '8081').toBe('8081');
    expect(c.image).toBe('ghcr.io/vmsafe/vmsafe-operator:0.1.0');
    expect(c.ports).toEqual([
      { name: 'metrics', containerPort: 8080 },
      { name: 'probes', containerPort: 8081 },
    ]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'probes' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'probes' });
    expect(d.spec.template.spec.serviceAccountName).toBe('vmsafe-operator');
  });

  it('runs one agent per node, named after the node', () => {
    const ds = find('DaemonSet', 'vmsafe-agent');
    const c = ds.spec.template.spec.containers[0];
    expect(c.args).toEqual(['agent', '--host', '$(NODE_NAME)']);
    expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(ds.spec.template.spec.serviceAccountName).toBe('vmsafe-agent');
  });

  it('gives the operator what it needs and no wildcards', () => {
    const rules: Rule[] = find('ClusterRole', 'vmsafe-operator').rules;
    for (const k of KINDS) {
      for (const verb of ['get', 'list', 'watch']) expect(allows(rules, 'vmsafe.io', k.plural, verb), `${verb} ${k.plural}`).toBe(true);
      if (k.kind !== 'HostFilter' && k.kind !== 'AddressGroup') expect(allows(rules, 'vmsafe.io', `${k.plural}/status`, 'patch'), `${k.plural}/status`).toBe(true);
    }
    for (const res of ['hostfilters', 'addressgroups']) for (const verb of ['create', 'update', 'delete']) expect(allows(rules, 'vmsafe.io', res, verb), `${verb} ${res}`).toBe(true);
    expect(allows(rules, '', 'namespaces', 'create')).toBe(true);
    expect(allows(rules, 'rbac.authorization.k8s.io', 'rolebindings', 'create')).toBe(true);
    expect(allows(rules, '', 'events', 'create')).toBe(true);
    // Least privilege: no wildcards, no writes to what users own, no secrets.
    for (const r of rules) for (const f of [r.apiGroups, r.resources, r.verbs]) expect(f).not.toContain('*');
    for (const res of ['tenants', 'hosts', 'securitypolicies']) expect(allows(rules, 'vmsafe.io', res, 'update'), res).toBe(false);
    expect(rules.some((r) => r.resources.includes('secrets'))).toBe(false);
    const bind = rules.find((r) => r.verbs.includes('bind'))!;
    expect(bind.resourceNames).toEqual(['vmsafe-tenant-admin']);
    const election: Rule[] = find('Role', 'vmsafe-operator-leader-election').rules;
    expect(allows(election, 'coordination.k8s.io', 'leases', 'update')).toBe(true);
  });

  it('lets agents write HostFilter status but not HostFilters', () => {
    const rules: Rule[] = find('ClusterRole', 'vmsafe-agent').rules;
    expect(allows(rules, 'vmsafe.io', 'hostfilters', 'watch')).toBe(true);
    expect(allows(rules, 'vmsafe.io', 'hostfilters/status', 'patch')).toBe(true);
    expect(allows(rules, 'vmsafe.io', 'hostfilters', 'update')).toBe(false);
    expect(allows(rules, 'vmsafe.io', 'addressgroups', 'watch')).toBe(true);
    expect(allows(rules, 'vmsafe.io', 'addressgroups', 'update')).toBe(false);
    expect(allows(find('Role', 'vmsafe-agent-heartbeat').rules, 'coordination.k8s.io', 'leases', 'update')).toBe(true);
  });

  it('binds each role to its service account in vmsafe-system', () => {
    for (const [kind, name, sa] of [
      ['ClusterRoleBinding', 'vmsafe-operator', 'vmsafe-operator'],
      ['RoleBinding', 'vmsafe-operator-leader-election', 'vmsafe-operator'],
      ['ClusterRoleBinding', 'vmsafe-agent', 'vmsafe-agent'],
      ['RoleBinding', 'vmsafe-agent-heartbeat', 'vmsafe-agent'],
    ] as const) {
      const b = find(kind, name);
      expect(b.roleRef.name).toBe(name);
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: 'vmsafe-system' }]);
      find('ServiceAccount', sa);
    }
  });
});
