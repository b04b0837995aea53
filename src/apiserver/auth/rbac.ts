// RBAC with kube-apiserver's semantics (plugin/pkg/auth/authorizer/rbac): ClusterRoleBindings apply
// everywhere, RoleBindings only in their namespace; rules match verb, API group, resource
// ("res/sub", "*/sub", "*"), resourceNames and nonResourceURLs ("/x/*" prefix). ClusterRole
// aggregation is resolved here at evaluation time (kube's controller writes the union into .rules;
// the verdict is the same). Everything is denied unless a rule allows it; masters bypass RBAC.
import type { Obj } from '../store';
import { type Attributes, type Decision, MASTERS, SA_PREFIX, type UserInfo } from './types';

export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** What the authorizer reads: the current RBAC objects. */
export interface RbacSource {
  roles(namespace: string): Obj[];
  role(namespace: string, name: string): Obj | undefined;
  clusterRoles(): Obj[];
  clusterRole(name: string): Obj | undefined;
  roleBindings(namespace: string): Obj[];
  clusterRoleBindings(): Obj[];
}

/**
 * Rules every authenticated user has in kube through its bootstrap policy (system:discovery,
 * system:basic-user, system:public-info-viewer bound to system:authenticated). Built in rather than
 * stored, so they cannot be deleted into a server nobody can use.
 */
export const AUTHENTICATED_RULES: PolicyRule[] = [
  {
    verbs: ['get'],
    nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/version', '/version/', '/openapi', '/openapi/*'],
  },
  { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
  { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
];
const BUILTIN_SOURCE = 'ClusterRole "system:basic-user"';

// Stored objects are validated loosely; a malformed field matches nothing rather than throwing.
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const has = (list: unknown, v: string) => arr(list).some((x) => x === '*' || x === v);

export function ruleAllows(a: Attributes, r: PolicyRule): boolean {
  if (!has(r.verbs, a.verb)) return false;
  if (a.kind === 'nonResource') {
    return arr(r.nonResourceURLs).some((u) => typeof u === 'string' && (u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1)))));
  }
  if (!has(r.apiGroups, a.group)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resOk = arr(r.resources).some((x) => x === '*' || x === combined || (!!a.subresource && x === `*/${a.subresource}`));
  if (!resOk) return false;
  const names = arr(r.resourceNames);
  if (!names.length) return true;
  return !!a.name && names.includes(a.name);
}

export function subjectMatches(s: Obj, user: UserInfo, bindingNamespace: string): boolean {
  switch (s?.kind) {
    case 'User':
      return typeof s.name === 'string' && s.name === user.username;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return !!ns && user.username === `${SA_PREFIX}${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

function selectorMatches(sel: Obj, labels: Record<string, string>): boolean {
  // Own labels only: `Exists` on a key named `constructor` matched every ClusterRole (Object's).
  const label = (k: any) => (Object.hasOwn(labels, k) ? labels[k] : undefined);
  const ml = sel?.matchLabels;
  for (const [k, v] of Object.entries(ml && typeof ml === 'object' ? ml : {})) if (label(k) !== v) return false;
  for (const e of arr(sel?.matchExpressions) as Obj[]) {
    const val = label(e?.key);
    const values = arr(e?.values);
    if (e.operator === 'In' && !(val !== undefined && values.includes(val))) return false;
    if (e.operator === 'NotIn' && val !== undefined && values.includes(val)) return false;
    if (e.operator === 'Exists' && val === undefined) return false;
    if (e.operator === 'DoesNotExist' && val !== undefined) return false;
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) return false;
  }
  return true;
}

const ruleList = (v: unknown): PolicyRule[] => arr(v).filter((r): r is PolicyRule => !!r && typeof r === 'object');

/** A ClusterRole's rules, with those of the ClusterRoles its aggregationRule selects. */
export function clusterRoleRules(src: RbacSource, role: Obj, seen = new Set<string>()): PolicyRule[] {
  const name = role.metadata?.name as string;
  if (seen.has(name)) return [];
  seen.add(name);
  const rules = ruleList(role.rules);
  const selectors = arr(role.aggregationRule?.clusterRoleSelectors) as Obj[];
  if (selectors.length) {
    for (const other of src.clusterRoles()) {
      if (other.metadata?.name === name) continue;
      const labels = other.metadata?.labels ?? {};
      // An empty selector matches nothing in the aggregation controller (labels.Nothing for nil).
      if (selectors.some((s) => (s?.matchLabels || s?.matchExpressions) && selectorMatches(s, labels))) rules.push(...clusterRoleRules(src, other, seen));
    }
  }
  return rules;
}

function describe(kind: string, b: Obj, roleKind: string, roleName: string, user: UserInfo, subject: Obj): string {
  const ns = b.metadata?.namespace ? `/${b.metadata.namespace}` : '';
  const sub = subject.kind === 'ServiceAccount' ? `ServiceAccount "${subject.name}/${subject.namespace || b.metadata?.namespace}"` : `${subject.kind} "${subject.name}"`;
  void user;
  return `RBAC: allowed by ${kind} "${b.metadata?.name}${ns}" of ${roleKind} "${roleName}" to ${sub}`;
}

/** Each (rules, source description) that applies to the user in the namespace ("" = cluster scope). */
export function* applicableRules(src: RbacSource, user: UserInfo, namespace: string): Generator<{ rules: PolicyRule[]; why: string }> {
  if (user.groups.includes('system:authenticated')) yield { rules: AUTHENTICATED_RULES, why: `RBAC: allowed by ${BUILTIN_SOURCE}` };
  for (const b of src.clusterRoleBindings()) {
    const subject = (arr(b.subjects) as Obj[]).find((s) => subjectMatches(s, user, ''));
    if (!subject || b.roleRef?.kind !== 'ClusterRole' || typeof b.roleRef.name !== 'string') continue;
    const role = src.clusterRole(b.roleRef.name);
    if (role) yield { rules: clusterRoleRules(src, role), why: describe('ClusterRoleBinding', b, 'ClusterRole', b.roleRef.name, user, subject) };
  }
  if (!namespace) return;
  for (const b of src.roleBindings(namespace)) {
    const subject = (arr(b.subjects) as Obj[]).find((s) => subjectMatches(s, user, namespace));
    if (!subject || typeof b.roleRef?.name !== 'string') continue;
    const kind = b.roleRef.kind;
    const role = kind === 'ClusterRole' ? src.clusterRole(b.roleRef.name) : kind === 'Role' ? src.role(namespace, b.roleRef.name) : undefined;
    if (!role) continue;
    yield { rules: kind === 'ClusterRole' ? clusterRoleRules(src, role) : ruleList(role.rules), why: describe('RoleBinding', b, kind, b.roleRef.name, user, subject) };
  }
}

export function authorize(src: RbacSource, user: UserInfo, a: Attributes): Decision {
  if (user.groups.includes(MASTERS)) return { allowed: true, reason: '' };
  // Non-resource URLs are only granted cluster-wide (kube visits no RoleBindings for them).
  const ns = a.kind === 'resource' ? (a.namespace ?? '') : '';
  for (const { rules, why } of applicableRules(src, user, ns)) {
    if (rules.some((r) => ruleAllows(a, r))) return { allowed: true, reason: why };
  }
  return { allowed: false, reason: '' };
}

/** SelfSubjectRulesReview: the rules that apply in a namespace, as kube lists them. */
export function rulesFor(src: RbacSource, user: UserInfo, namespace: string): { resourceRules: PolicyRule[]; nonResourceRules: PolicyRule[] } {
  const resourceRules: PolicyRule[] = [];
  const nonResourceRules: PolicyRule[] = [];
  if (user.groups.includes(MASTERS)) {
    resourceRules.push({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
    nonResourceRules.push({ verbs: ['*'], nonResourceURLs: ['*'] });
  }
  for (const { rules } of applicableRules(src, user, namespace)) {
    for (const r of rules) {
      if (!Array.isArray(r.verbs)) continue;
      if (Array.isArray(r.nonResourceURLs) && r.nonResourceURLs.length) nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
      if (Array.isArray(r.resources) && r.resources.length) {
        const out: PolicyRule = { verbs: r.verbs, apiGroups: arr(r.apiGroups) as string[], resources: r.resources };
        if (Array.isArray(r.resourceNames) && r.resourceNames.length) out.resourceNames = r.resourceNames;
        resourceRules.push(out);
      }
    }
  }
  return { resourceRules, nonResourceRules };
}

/** An RbacSource over the embedded store. */
export function storeSource(get: (key: string) => Iterable<Obj>, one: (key: string, ns: string | undefined, name: string) => Obj | undefined): RbacSource {
  const all = (key: string) => [...get(key)];
  return {
    roles: (ns) => all('rbac.authorization.k8s.io/roles').filter((o) => o.metadata?.namespace === ns),
    role: (ns, name) => one('rbac.authorization.k8s.io/roles', ns, name),
    clusterRoles: () => all('rbac.authorization.k8s.io/clusterroles'),
    clusterRole: (name) => one('rbac.authorization.k8s.io/clusterroles', undefined, name),
    roleBindings: (ns) => all('rbac.authorization.k8s.io/rolebindings').filter((o) => o.metadata?.namespace === ns),
    clusterRoleBindings: () => all('rbac.authorization.k8s.io/clusterrolebindings'),
  };
}
