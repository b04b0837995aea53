// kube-apiserver's 403 wording (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters
// forbiddenMessage + apierrors.NewForbidden), so kubectl prints exactly what it prints for a cluster.
import { ApiError } from '../errors';
import type { Attributes } from './types';

export function forbiddenMessage(username: string, a: Attributes): string {
  if (a.kind === 'nonResource') return `User ${JSON.stringify(username)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const who = `User ${JSON.stringify(username)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.group)}`;
  return a.namespace ? `${who} in the namespace ${JSON.stringify(a.namespace)}` : `${who} at the cluster scope`;
}

export function forbiddenError(username: string, a: Attributes, reason = ''): ApiError {
  const msg = forbiddenMessage(username, a) + (reason ? `: ${reason}` : '');
  if (a.kind === 'nonResource') return new ApiError(403, 'Forbidden', `forbidden: ${msg}`, {});
  const gr = a.group ? `${a.resource}.${a.group}` : a.resource;
  const message = a.name ? `${gr} ${JSON.stringify(a.name)} is forbidden: ${msg}` : `${gr} is forbidden: ${msg}`;
  return new ApiError(403, 'Forbidden', message, { name: a.name || undefined, group: a.group || undefined, kind: a.resource });
}
