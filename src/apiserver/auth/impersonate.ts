// Impersonation (Impersonate-User / Impersonate-Group / Impersonate-Uid, i.e. kubectl --as/--as-group):
// each requested identity needs the `impersonate` verb on users / groups / serviceaccounts / uids,
// checked like kube's WithImpersonation filter, with its 403 wording.
import type { IncomingMessage } from 'node:http';
import { badRequest } from '../errors';
import { forbiddenError } from './forbidden';
import { authorize, type RbacSource } from './rbac';
import { AUTHENTICATED, SA_PREFIX, type Attributes, type UserInfo } from './types';

function headerList(req: IncomingMessage, name: string): string[] {
  const v = req.headers[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : String(v).split(',')).map((s) => s.trim()).filter(Boolean);
}

/** The effective user: `user` itself when nothing is impersonated. Throws 400/403 ApiErrors. */
export function impersonate(src: RbacSource, user: UserInfo, req: IncomingMessage): UserInfo {
  const names = headerList(req, 'impersonate-user');
  const groups = headerList(req, 'impersonate-group');
  const uids = headerList(req, 'impersonate-uid');
  const extras = Object.keys(req.headers).filter((h) => h.startsWith('impersonate-extra-'));
  if (!names.length && !groups.length && !uids.length && !extras.length) return user;
  if (!names.length) throw badRequest(`requested ${[...groups.map((g) => `group ${g}`), ...uids.map((u) => `uid ${u}`)].join(', ') || 'extra'} without impersonating a user`);
  if (names.length > 1 || uids.length > 1) throw badRequest('only one Impersonate-User and one Impersonate-Uid may be given');
  const username = names[0]!;
  const check = (a: Attributes) => {
    if (!authorize(src, user, a).allowed) throw forbiddenError(user.username, a);
  };
  const out: UserInfo = { username, groups: [] };
  if (username.startsWith(SA_PREFIX)) {
    const [ns, name] = username.slice(SA_PREFIX.length).split(':');
    check({ kind: 'resource', verb: 'impersonate', group: '', resource: 'serviceaccounts', namespace: ns, name });
    // kube adds the ServiceAccount groups when none are impersonated explicitly.
    if (!groups.length) out.groups.push('system:serviceaccounts', `system:serviceaccounts:${ns}`);
  } else check({ kind: 'resource', verb: 'impersonate', group: '', resource: 'users', name: username });
  for (const g of groups) {
    check({ kind: 'resource', verb: 'impersonate', group: '', resource: 'groups', name: g });
    out.groups.push(g);
  }
  if (uids.length) {
    check({ kind: 'resource', verb: 'impersonate', group: 'authentication.k8s.io', resource: 'uids', name: uids[0] });
    out.uid = uids[0];
  }
  const extra: [string, string[]][] = [];
  for (const h of extras) {
    const key = decodeURIComponent(h.slice('impersonate-extra-'.length));
    for (const v of headerList(req, h)) check({ kind: 'resource', verb: 'impersonate', group: 'authentication.k8s.io', resource: 'userextras', subresource: key, name: v });
    extra.push([key, headerList(req, h)]);
  }
  // fromEntries defines each key: an extra named `__proto__` is a key, not the object's prototype.
  if (extra.length) out.extra = Object.fromEntries(extra);
  // Everyone but anonymous is authenticated (kube adds the group if missing).
  if (username !== 'system:anonymous' && !out.groups.includes(AUTHENTICATED)) out.groups.push(AUTHENTICATED);
  return out;
}
