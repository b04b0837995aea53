// Authentication: bearer token -> UserInfo. The admin token is system:masters (unchanged power),
// static users come from ApiServerOptions.users (like --token-auth-file), ServiceAccount tokens from
// TokenRequest. An unknown token is 401, never a downgrade to anonymous.
import { timingSafeEqual } from 'node:crypto';
import { AUTHENTICATED, MASTERS, SA_PREFIX, type UserInfo } from './types';
import { verifyToken } from './tokens';

export interface StaticUser {
  token: string;
  username: string;
  uid?: string;
  groups?: string[];
}

export const ADMIN_USER = 'vmsafe-admin';

export interface AuthnDeps {
  adminToken: string;
  users: StaticUser[];
  signingKey: Buffer;
  /** The uid of a ServiceAccount that exists now, undefined otherwise. */
  serviceAccountUid(namespace: string, name: string): string | undefined;
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export function withAuthenticated(groups: string[]): string[] {
  return groups.includes(AUTHENTICATED) ? groups : [...groups, AUTHENTICATED];
}

export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  const u: UserInfo = { username: `${SA_PREFIX}${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, AUTHENTICATED] };
  if (uid) u.uid = uid;
  return u;
}

export function authenticate(deps: AuthnDeps, authorization: string | undefined): UserInfo | undefined {
  const m = /^Bearer (\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const token = m[1]!;
  if (same(token, deps.adminToken)) return { username: ADMIN_USER, groups: [MASTERS, AUTHENTICATED] };
  for (const u of deps.users) if (same(token, u.token)) return { username: u.username, uid: u.uid, groups: withAuthenticated(u.groups ?? []) };
  const claims = verifyToken(deps.signingKey, token);
  if (!claims) return undefined;
  const k = claims['kubernetes.io'];
  if (deps.serviceAccountUid(k.namespace, k.serviceaccount.name) !== k.serviceaccount.uid) return undefined;
  const user = serviceAccountUser(k.namespace, k.serviceaccount.name, k.serviceaccount.uid);
  // A token bound to a node names it, as kube-apiserver's node-bound tokens do (the agent admission
  // policy reads it: an agent may write only its own host's objects).
  if (typeof k.node?.name === 'string') user.extra = { [NODE_NAME_EXTRA]: [k.node.name] };
  return user;
}

export const NODE_NAME_EXTRA = 'authentication.kubernetes.io/node-name';
