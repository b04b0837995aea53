// The authentication/authorization vocabulary of kube-apiserver: who is asking (UserInfo) and what
// they ask to do (Attributes), shared by the authenticator, the RBAC authorizer and the reviews.
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface NonResourceAttributes {
  verb: string;
  path: string;
}

export type Attributes = ({ kind: 'resource' } & ResourceAttributes) | ({ kind: 'nonResource' } & NonResourceAttributes);

export interface Decision {
  allowed: boolean;
  /** Why it was allowed (kube's RBAC reason); empty when denied, as RBAC gives no reason then. */
  reason: string;
}

export const MASTERS = 'system:masters';
export const AUTHENTICATED = 'system:authenticated';
export const UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS = 'system:anonymous';
export const SA_PREFIX = 'system:serviceaccount:';
