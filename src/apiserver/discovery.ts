// Legacy discovery documents (/api, /apis, /api/v1, /apis/G[/V]). kubectl 1.32 asks for aggregated
// discovery first; answering with plain application/json makes client-go fall back to these.
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
