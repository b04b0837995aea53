// The virtual, create-only APIs of authorization.k8s.io and authentication.k8s.io
// (SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview,
// SelfSubjectReview, TokenReview) and the ServiceAccount `token` subresource (TokenRequest).
// Nothing here is stored; each answer is computed from the caller and the RBAC objects.
import { randomUUID } from 'node:crypto';
import { badRequest, cannotUnmarshal, invalid, notFound } from '../errors';
import type { Obj } from '../store';
import { authenticate, type AuthnDeps, serviceAccountUser, withAuthenticated } from './authn';
import { authorize, type RbacSource, rulesFor } from './rbac';
import { API_AUDIENCE, ISSUER, signToken } from './tokens';
import type { Attributes, UserInfo } from './types';

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A review endpoint: group, resource, whether namespaced. */
export interface ReviewPath {
  group: string;
  resource: string;
  namespace?: string;
  /** ServiceAccount name for serviceaccounts/token. */
  name?: string;
  subresource?: string;
}

const REVIEWS: Record<string, string[]> = {
  'authorization.k8s.io': ['selfsubjectaccessreviews', 'subjectaccessreviews', 'selfsubjectrulesreviews', 'localsubjectaccessreviews'],
  'authentication.k8s.io': ['selfsubjectreviews', 'tokenreviews'],
};

/** Recognises a review / token path from its split parts (after /api or /apis), else undefined. */
export function reviewPath(group: string, version: string, rest: string[]): ReviewPath | undefined {
  if (group === '' && version === 'v1' && rest.length === 5 && rest[0] === 'namespaces' && rest[2] === 'serviceaccounts' && rest[4] === 'token')
    return { group: '', resource: 'serviceaccounts', namespace: rest[1], name: rest[3], subresource: 'token' };
  // Own keys only: a group named "__proto__" or "constructor" is a path segment, not a review group.
  const resources = version === 'v1' && Object.hasOwn(REVIEWS, group) ? REVIEWS[group]! : undefined;
  if (!resources) return undefined;
  if (rest.length === 1 && resources.includes(rest[0]!) && rest[0] !== 'localsubjectaccessreviews') return { group, resource: rest[0]! };
  if (rest.length === 3 && rest[0] === 'namespaces' && rest[2] === 'localsubjectaccessreviews' && group === 'authorization.k8s.io')
    return { group, resource: rest[2], namespace: rest[1] };
  return undefined;
}

const REVIEW_KINDS: Record<string, string> = {
  selfsubjectaccessreviews: 'SelfSubjectAccessReview', subjectaccessreviews: 'SubjectAccessReview', localsubjectaccessreviews: 'LocalSubjectAccessReview',
  selfsubjectrulesreviews: 'SelfSubjectRulesReview', selfsubjectreviews: 'SelfSubjectReview', tokenreviews: 'TokenReview', serviceaccounts: 'TokenRequest',
};

export interface ReviewDeps {
  rbac: RbacSource;
  authn: AuthnDeps;
  serviceAccount(namespace: string, name: string): Obj | undefined;
}

const isSet = (v: unknown) => v !== undefined && v !== null;

/**
 * Go's decoding error (400) for a review spec member of the wrong JSON type: String() of an object
 * whose toString is no function threw (a 500 any authenticated user could cause).
 */
function specTypeError(kind: string, spec: Obj): string | undefined {
  const at = (struct: string, path: string, v: unknown, type: string) => cannotUnmarshal(v, `${struct}.${path}`, type);
  for (const [member, struct, fields] of [
    ['resourceAttributes', 'ResourceAttributes', ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name']],
    ['nonResourceAttributes', 'NonResourceAttributes', ['path', 'verb']],
  ] as const) {
    const a: Obj = spec[member];
    if (!isSet(a)) continue;
    if (typeof a !== 'object' || Array.isArray(a)) return at(`${kind}Spec`, `spec.${member}`, a, `v1.${struct}`);
    for (const f of fields) if (isSet(a[f]) && typeof a[f] !== 'string') return at(struct, `spec.${member}.${f}`, a[f], 'string');
  }
  if (isSet(spec.user) && typeof spec.user !== 'string') return at(`${kind}Spec`, 'spec.user', spec.user, 'string');
  if (isSet(spec.groups) && !(Array.isArray(spec.groups) && spec.groups.every((g: unknown) => typeof g === 'string')))
    return at(`${kind}Spec`, 'spec.groups', spec.groups, '[]string');
  if (isSet(spec.namespace) && typeof spec.namespace !== 'string') return at(`${kind}Spec`, 'spec.namespace', spec.namespace, 'string');
  if (isSet(spec.token) && typeof spec.token !== 'string') return at(`${kind}Spec`, 'spec.token', spec.token, 'string');
  if (isSet(spec.audiences) && !(Array.isArray(spec.audiences) && spec.audiences.every((g: unknown) => typeof g === 'string')))
    return at(`${kind}Spec`, 'spec.audiences', spec.audiences, '[]string');
  return undefined;
}

function attributesOf(kind: string, spec: Obj): Attributes {
  const r = spec?.resourceAttributes;
  const n = spec?.nonResourceAttributes;
  if (!!r === !!n)
    throw invalid('authorization.k8s.io', kind, '', [{ reason: 'FieldValueInvalid', field: 'spec.resourceAttributes', message: `Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified` }]);
  if (n) return { kind: 'nonResource', verb: String(n.verb ?? ''), path: String(n.path ?? '') };
  const a: Attributes = { kind: 'resource', verb: String(r.verb ?? ''), group: String(r.group ?? ''), resource: String(r.resource ?? '') };
  if (r.subresource) a.subresource = String(r.subresource);
  if (r.namespace) a.namespace = String(r.namespace);
  if (r.name) a.name = String(r.name);
  return a;
}

function accessStatus(d: { allowed: boolean; reason: string }): Obj {
  const s: Obj = { allowed: d.allowed };
  if (d.reason) s.reason = d.reason;
  return s;
}

/** Answers one review (201 with the object, like kube). `body` is the decoded request object. */
export function review(deps: ReviewDeps, p: ReviewPath, user: UserInfo, body: Obj): Obj {
  const apiVersion = `${p.group || 'v1'}${p.group ? '/v1' : ''}`;
  const spec: Obj = body?.spec ?? {};
  const kind = REVIEW_KINDS[p.resource];
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw badRequest(cannotUnmarshal(spec, `${kind}.spec`, `v1.${kind}Spec`));
  const typeError = specTypeError(kind!, spec);
  if (typeError) throw badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: ${typeError}`);
  const meta = { creationTimestamp: null, ...(body?.metadata ?? {}) };
  switch (p.resource) {
    case 'selfsubjectaccessreviews':
      return { kind: 'SelfSubjectAccessReview', apiVersion, metadata: meta, spec, status: accessStatus(authorize(deps.rbac, user, attributesOf('SelfSubjectAccessReview', spec))) };
    case 'subjectaccessreviews':
    case 'localsubjectaccessreviews': {
      const kind = p.resource === 'subjectaccessreviews' ? 'SubjectAccessReview' : 'LocalSubjectAccessReview';
      if (!spec.user && !(spec.groups ?? []).length)
        throw invalid('authorization.k8s.io', kind, '', [{ reason: 'FieldValueRequired', field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified' }]);
      const a = attributesOf(kind, spec);
      if (p.namespace && a.kind === 'resource' && a.namespace !== p.namespace)
        throw invalid('authorization.k8s.io', kind, '', [{ reason: 'FieldValueInvalid', field: 'spec.resourceAttributes.namespace', message: `Invalid value: "${a.namespace ?? ''}": must match metadata.namespace` }]);
      // Like kube, a SubjectAccessReview evaluates exactly the user and groups given (no implicit groups).
      const subject: UserInfo = { username: String(spec.user ?? ''), groups: (spec.groups ?? []).map(String) };
      return { kind, apiVersion, metadata: p.namespace ? { ...meta, namespace: p.namespace } : meta, spec, status: accessStatus(authorize(deps.rbac, subject, a)) };
    }
    case 'selfsubjectrulesreviews': {
      const { resourceRules, nonResourceRules } = rulesFor(deps.rbac, user, String(spec.namespace ?? ''));
      return { kind: 'SelfSubjectRulesReview', apiVersion, metadata: meta, spec, status: { resourceRules, nonResourceRules, incomplete: false } };
    }
    case 'selfsubjectreviews': {
      const userInfo: Obj = { username: user.username, groups: user.groups };
      if (user.uid) userInfo.uid = user.uid;
      if (user.extra) userInfo.extra = user.extra;
      return { kind: 'SelfSubjectReview', apiVersion, metadata: meta, status: { userInfo } };
    }
    case 'tokenreviews': {
      const who = authenticate(deps.authn, `Bearer ${String(spec.token ?? '')}`);
      const status: Obj = { authenticated: !!who, user: {} };
      if (who) status.user = { username: who.username, ...(who.uid ? { uid: who.uid } : {}), groups: withAuthenticated(who.groups) };
      status.audiences = [API_AUDIENCE];
      if (!who) status.error = 'invalid bearer token';
      return { kind: 'TokenReview', apiVersion, metadata: meta, spec, status };
    }
    case 'serviceaccounts':
      return tokenRequest(deps, p, body);
  }
  throw new Error(`unknown review ${p.resource}`);
}

const MIN_EXPIRATION = 600;
const MAX_EXPIRATION = 2 ** 32;
const DEFAULT_EXPIRATION = 3600;

function tokenRequest(deps: ReviewDeps, p: ReviewPath, body: Obj): Obj {
  const sa = deps.serviceAccount(p.namespace!, p.name!);
  if (!sa) throw notFound({ group: '', resource: 'serviceaccounts' }, p.name!);
  const spec: Obj = { ...(body?.spec ?? {}) };
  const exp = spec.expirationSeconds === undefined || spec.expirationSeconds === null ? DEFAULT_EXPIRATION : spec.expirationSeconds;
  if (!Number.isInteger(exp) || exp < MIN_EXPIRATION)
    throw invalid('authentication.k8s.io', 'TokenRequest', p.name!, [{ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${JSON.stringify(exp)}: may not specify a duration less than 10 minutes` }]);
  if (exp > MAX_EXPIRATION)
    throw invalid('authentication.k8s.io', 'TokenRequest', p.name!, [{ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${exp}: may not specify a duration larger than 2^32 seconds` }]);
  const audiences: string[] = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences.map(String) : [API_AUDIENCE];
  // Bound to a Node (kube's node-bound tokens): the token carries the node's name. This server keeps
  // no Node objects (hosts are vmsafe Hosts), so the name is taken as given; only an identity allowed
  // to create tokens for the ServiceAccount can ask.
  const bound = spec.boundObjectRef;
  if (bound !== undefined && bound !== null && (typeof bound !== 'object' || bound.kind !== 'Node' || typeof bound.name !== 'string' || !bound.name))
    throw invalid('authentication.k8s.io', 'TokenRequest', p.name!, [{ reason: 'FieldValueNotSupported', field: 'spec.boundObjectRef.kind', message: `Unsupported value: ${JSON.stringify(bound?.kind ?? null)}: supported values: "Node" (with a name)` }]);
  const iat = Math.floor(Date.now() / 1000);
  const token = signToken(deps.authn.signingKey, {
    iss: ISSUER, sub: serviceAccountUser(p.namespace!, p.name!).username, aud: audiences, exp: iat + exp, iat, nbf: iat, jti: randomUUID(),
    'kubernetes.io': { namespace: p.namespace!, serviceaccount: { name: p.name!, uid: sa.metadata.uid }, ...(bound ? { node: { name: String(bound.name) } } : {}) },
  });
  return {
    kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: p.name, namespace: p.namespace, creationTimestamp: now() },
    spec: { ...spec, audiences, expirationSeconds: exp, boundObjectRef: spec.boundObjectRef ?? null },
    status: { token, expirationTimestamp: new Date((iat + exp) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
  };
}
