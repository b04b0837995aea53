// Request -> authorization attributes, derived from the URL alone as kube's RequestInfoFactory does
// (so an unknown resource is 403 for someone who may not touch it, 404 only for who may): GET on a
// collection is list (watch with ?watch or /watch/), DELETE on a collection is deletecollection, a
// namespace's own path carries its name as the namespace, and a list/watch narrowed by
// fieldSelector=metadata.name=X is authorized for the name X (resourceNames rules, kubectl get X -w).
import { isTrueValue } from '../query';
import type { Attributes } from './types';

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const VERBS: Record<string, string> = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

export function requestAttributes(method: string, path: string, query: URLSearchParams): Attributes {
  const parts = path.split('/').slice(1).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else return { kind: 'nonResource', verb: (method === 'HEAD' ? 'head' : method.toLowerCase()), path };
  let watch = false;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  let name = rest[1];
  const subresource = rest.length > 2 ? rest.slice(2).join('/') : undefined;
  let verb = (Object.hasOwn(VERBS, method) ? VERBS[method] : undefined) ?? method.toLowerCase();
  // Every spelling the router serves as a watch (watch=t, True, ...): a list-only user was served one.
  if (watch || (method === 'GET' && isTrueValue(query.get('watch')))) verb = 'watch';
  if (name === undefined) {
    if (verb === 'get') verb = 'list';
    if (verb === 'delete') verb = 'deletecollection';
    if (verb === 'list' || verb === 'watch') {
      const m = /(?:^|,)\s*metadata\.name\s*==?\s*([^,]+)/.exec(query.get('fieldSelector') ?? '');
      if (m) name = m[1]!.trim();
    }
  }
  const a: Attributes = { kind: 'resource', verb, group, resource };
  if (subresource) a.subresource = subresource;
  if (namespace) a.namespace = namespace;
  if (name) a.name = name;
  return a;
}
