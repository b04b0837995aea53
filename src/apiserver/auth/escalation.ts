// RBAC escalation prevention (kube's registry/rbac validation): a user may write a Role/ClusterRole
// only if it holds every permission in it (or has `escalate`), and a binding only if it holds every
// permission of the referenced role (or has `bind` on it). Without this, `create rolebindings`
// would be `cluster-admin`. Coverage follows kube's rule breakdown: each requested
// (verb, group, resource, name) or (verb, url) must be granted by one rule the user has in scope.
import { ApiError } from '../errors';
import type { Obj } from '../store';
import { applicableRules, clusterRoleRules, type PolicyRule, type RbacSource } from './rbac';
import { MASTERS, type UserInfo } from './types';

const arr = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const covers = (owner: string[], v: string) => owner.includes('*') || owner.includes(v);
const urlCovers = (owner: string[], u: string) => owner.some((o) => o === '*' || o === u || (o.endsWith('*') && u.startsWith(o.slice(0, -1))));

function ruleCovered(owned: PolicyRule[], r: PolicyRule): boolean {
  const verbs = arr(r.verbs);
  for (const verb of verbs) {
    for (const url of arr(r.nonResourceURLs))
      if (!owned.some((o) => covers(arr(o.verbs), verb) && urlCovers(arr(o.nonResourceURLs), url))) return false;
    for (const group of arr(r.apiGroups))
      for (const res of arr(r.resources)) {
        const names = arr(r.resourceNames);
        const ok = (name?: string) =>
          owned.some((o) => covers(arr(o.verbs), verb) && covers(arr(o.apiGroups), group) && covers(arr(o.resources), res) &&
            (arr(o.resourceNames).length === 0 || (name !== undefined && arr(o.resourceNames).includes(name))));
        if (names.length ? !names.every(ok) : !ok()) return false;
      }
  }
  return true;
}

export function ownedRules(src: RbacSource, user: UserInfo, namespace: string): PolicyRule[] {
  return [...applicableRules(src, user, namespace)].flatMap((x) => x.rules);
}

/** Rules a binding's roleRef grants; undefined (refused) when the role does not exist, as in kube. */
function roleRules(src: RbacSource, roleRef: Obj, namespace: string): PolicyRule[] | undefined {
  if (roleRef?.kind === 'ClusterRole') {
    const r = src.clusterRole(String(roleRef.name));
    return r ? clusterRoleRules(src, r) : undefined;
  }
  if (roleRef?.kind === 'Role' && namespace) {
    const r = src.role(namespace, String(roleRef.name));
    return r ? (Array.isArray(r.rules) ? (r.rules as PolicyRule[]) : []) : undefined;
  }
  return undefined;
}

const forbid = (kind: string, group: string, name: string, msg: string) =>
  new ApiError(403, 'Forbidden', `${kind}.${group} "${name}" is forbidden: ${msg}`, { name, group, kind });

/**
 * Throws 403 unless `user` may write `obj` (the RBAC object as it will be stored). `can` answers
 * the escalate/bind verbs through the authorizer.
 */
export function checkEscalation(
  src: RbacSource,
  user: UserInfo,
  resource: string,
  namespace: string | undefined,
  obj: Obj,
  can: (verb: string, resource: string, name: string) => boolean,
): void {
  if (user.groups.includes(MASTERS)) return;
  const ns = namespace ?? '';
  const name = String(obj?.metadata?.name ?? '');
  const G = 'rbac.authorization.k8s.io';
  if (resource === 'roles' || resource === 'clusterroles') {
    if (can('escalate', resource, name)) return;
    const owned = ownedRules(src, user, ns);
    const rules = Array.isArray(obj?.rules) ? (obj.rules as PolicyRule[]) : [];
    if (obj?.aggregationRule && resource === 'clusterroles')
      throw forbid(resource, G, name, `user ${JSON.stringify(user.username)} (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held: aggregationRule requires the escalate verb`);
    const missing = rules.filter((r) => !ruleCovered(owned, r));
    if (missing.length)
      throw forbid(resource, G, name, `user ${JSON.stringify(user.username)} (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${missing.map((r) => JSON.stringify(r)).join('\n')}`);
    return;
  }
  if (resource === 'rolebindings' || resource === 'clusterrolebindings') {
    const ref = obj?.roleRef ?? {};
    const refResource = ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
    if (can('bind', refResource, String(ref.name ?? ''))) return;
    const rules = roleRules(src, ref, ns);
    if (rules && rules.every((r) => ruleCovered(ownedRules(src, user, ns), r))) return;
    throw forbid(resource, G, name, `user ${JSON.stringify(user.username)} (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held`);
  }
}
