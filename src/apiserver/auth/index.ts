// Authentication + authorization for the embedded API server: one object the request pipeline
// calls twice (identify, then authorize) plus the review/token endpoints. Module map: authn.ts
// (tokens -> users), impersonate.ts, attributes.ts (URL -> verb/resource), rbac.ts (the authorizer),
// forbidden.ts (403 wording), reviews.ts (access/rules/self reviews, TokenRequest), tokens.ts (JWTs).
import type { IncomingMessage } from 'node:http';
import { unauthorized } from '../errors';
import { objectKey, type Store } from '../store';
import { authenticate, type AuthnDeps, type StaticUser } from './authn';
import { requestAttributes } from './attributes';
import { forbiddenError } from './forbidden';
import { impersonate } from './impersonate';
import { checkEscalation } from './escalation';
import { authorize, storeSource, type RbacSource } from './rbac';
import { review, reviewPath, type ReviewDeps } from './reviews';
import { ANONYMOUS, type Attributes, MASTERS, UNAUTHENTICATED, type UserInfo } from './types';

export type { StaticUser } from './authn';
export type { UserInfo, Attributes } from './types';
export { reviewPath } from './reviews';

export interface Auth {
  /** The (possibly impersonated) caller; throws 401 / 400 / 403 ApiErrors. Anonymous only for `publicPath`. */
  identify(req: IncomingMessage, publicPath: boolean): UserInfo;
  /** Throws kube's 403 unless the user may make this request. */
  authorizeRequest(user: UserInfo, method: string, path: string, query: URLSearchParams): Attributes;
  review: (p: NonNullable<ReturnType<typeof reviewPath>>, user: UserInfo, body: any) => any;
  /** Writes that need a look at the object (RBAC escalation prevention): true for RBAC objects by non-masters. */
  inspectsWrite(user: UserInfo, group: string): boolean;
  /** Throws 403 if writing `obj` (as it will be stored) would grant `user` more than it holds. */
  checkWrite(user: UserInfo, resource: string, namespace: string | undefined, obj: any): void;
  rbac: RbacSource;
}

/**
 * The caller of a public path (health, version) who sent no token: the one user authorizeRequest lets
 * through unchecked, known by identity. A user named system:anonymous by impersonation (or a token
 * file) is authorized by RBAC like anyone else; matching the name let it do everything.
 */
const PUBLIC_VISITOR: UserInfo = Object.freeze({ username: ANONYMOUS, groups: Object.freeze([UNAUTHENTICATED]) as string[] });

export function createAuth(opts: { adminToken: string; users?: StaticUser[]; signingKey: Buffer; store: Store }): Auth {
  const { store } = opts;
  const rbac = storeSource((key) => store.resources.get(key)?.objects.values() ?? [], (key, ns, name) => store.get(key, objectKey(ns, name)));
  const serviceAccount = (ns: string, name: string) => store.get('/serviceaccounts', objectKey(ns, name));
  const authn: AuthnDeps = {
    adminToken: opts.adminToken, users: opts.users ?? [], signingKey: opts.signingKey,
    serviceAccountUid: (ns, name) => serviceAccount(ns, name)?.metadata?.uid,
  };
  const reviewDeps: ReviewDeps = { rbac, authn, serviceAccount };
  return {
    rbac,
    identify(req, publicPath) {
      if (publicPath && !req.headers.authorization) return PUBLIC_VISITOR;
      const user = authenticate(authn, req.headers.authorization);
      if (!user) throw unauthorized();
      return impersonate(rbac, user, req);
    },
    authorizeRequest(user, method, path, query) {
      const a = requestAttributes(method, path, query);
      if (user === PUBLIC_VISITOR) return a; // only reached for the public health/version paths
      if (!authorize(rbac, user, a).allowed) throw forbiddenError(user.username, a);
      return a;
    },
    review: (p, user, body) => review(reviewDeps, p, user, body),
    inspectsWrite: (user, group) => group === 'rbac.authorization.k8s.io' && !user.groups.includes(MASTERS),
    checkWrite(user, resource, namespace, obj) {
      checkEscalation(rbac, user, resource, namespace, obj, (verb, res, name) =>
        authorize(rbac, user, { kind: 'resource', verb, group: 'rbac.authorization.k8s.io', resource: res, namespace, name }).allowed);
    },
  };
}
