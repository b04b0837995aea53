// Discovery documents: legacy (/api, /apis, /api/v1, /apis/G[/V]) and aggregated
// (apidiscovery.k8s.io/v2 APIGroupDiscoveryList on /api and /apis, what kubectl 1.32 asks for first).
import { apiVersionOf, sortVersions, type Registry, type ResourceDef } from './resources';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDoc(name: string, versions: string[]) {
  const sorted = sortVersions(versions);
  const gv = sorted.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: gv, preferredVersion: gv[0] };
}

export function apiGroupList(reg: Registry) {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: reg.groups().filter((g) => g.name !== '').map((g) => groupDoc(g.name, g.versions)),
  };
}

export function apiGroup(reg: Registry, group: string) {
  const g = reg.groups().find((x) => x.name === group);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g.name, g.versions) } : undefined;
}

function resourceEntry(d: ResourceDef) {
  const e: Record<string, unknown> = {
    name: d.plural,
    singularName: d.singular,
    namespaced: d.namespaced,
    kind: d.kind,
    verbs: VERBS,
  };
  if (d.shortNames.length) e.shortNames = d.shortNames;
  if (d.categories.length) e.categories = d.categories;
  return e;
}

export function apiResourceList(reg: Registry, group: string, version: string) {
  const defs = reg.inGroupVersion(group, version);
  if (defs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const d of defs.sort((a, b) => (a.plural < b.plural ? -1 : 1))) {
    resources.push(resourceEntry(d));
    if (d.statusSubresource)
      resources.push({ name: `${d.plural}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

export const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Does the Accept header ask for apidiscovery.k8s.io/v2 aggregated discovery? */
export function wantsAggregated(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const params = Object.fromEntries(part.split(';').slice(1).map((kv) => kv.trim().split('=') as [string, string]));
    const type = part.split(';')[0]!.trim();
    if (type === 'application/json' && params.g === 'apidiscovery.k8s.io' && params.v === 'v2' && params.as === 'APIGroupDiscoveryList') return true;
    if (type === 'application/json' && !params.as) return false; // plain JSON preferred first
  }
  return false;
}

function resourceDiscovery(d: ResourceDef) {
  const gvk = { group: d.group, version: d.version, kind: d.kind };
  const e: Record<string, unknown> = {
    resource: d.plural,
    responseKind: gvk,
    scope: d.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: d.singular,
    verbs: VERBS,
  };
  if (d.shortNames.length) e.shortNames = d.shortNames;
  if (d.categories.length) e.categories = d.categories;
  if (d.statusSubresource) e.subresources = [{ subresource: 'status', responseKind: gvk, verbs: ['get', 'patch', 'update'] }];
  return e;
}

/** APIGroupDiscoveryList for /api (core: true) or /apis. */
export function aggregatedDiscovery(reg: Registry, core: boolean) {
  const items = reg.groups()
    .filter((g) => (g.name === '') === core)
    .map((g) => ({
      metadata: { name: g.name, creationTimestamp: null },
      versions: sortVersions(g.versions).map((v) => ({
        version: v,
        resources: reg.inGroupVersion(g.name, v).sort((a, b) => (a.plural < b.plural ? -1 : 1)).map(resourceDiscovery),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
