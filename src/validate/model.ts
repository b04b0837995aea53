// Decode every loaded object once and index the vmsafe.io ones for the cross-object checks.
import { isScalar } from 'yaml';
import { decode, GROUP, KIND_BY_NAME, PROVIDER_NAMESPACE } from '../api';
import type { Host, HostFilter, SecurityPolicy, Tag, Tenant, VM } from '../api';
import { nodeAt, parseFieldPath, type LoadedObject } from '../manifests/load';
import { findingAt, type Finding } from './finding';

/** One decoded object and where it came from. */
export interface Entry<T> {
  src: LoadedObject;
  value: T;
}

export interface Model {
  tags: Map<string, Entry<Tag>>;
  tenants: Map<string, Entry<Tenant>>;
  hosts: Map<string, Entry<Host>>;
  vms: Entry<VM>[];
  policies: Entry<SecurityPolicy>[];
  hostFilters: Entry<HostFilter>[];
  /** Namespace -> owning tenant (first owner wins; a second owner is reported). */
  tenantOfNamespace: Map<string, string>;
  providerNamespace: string;
}

export function emptyModel(providerNamespace = PROVIDER_NAMESPACE): Model {
  return {
    tags: new Map(),
    tenants: new Map(),
    hosts: new Map(),
    vms: [],
    policies: [],
    hostFilters: [],
    tenantOfNamespace: new Map(),
    providerNamespace,
  };
}

/** A tenant's namespaces: spec.namespaces, or one named after the tenant. */
export function namespacesOf(t: Tenant): string[] {
  return t.spec.namespaces && t.spec.namespaces.length > 0 ? t.spec.namespaces : [t.metadata.name];
}

const isVmsafe = (o: unknown) =>
  typeof (o as { apiVersion?: unknown }).apiVersion === 'string' &&
  ((o as { apiVersion: string }).apiVersion.startsWith(`${GROUP}/`) || (o as { apiVersion: string }).apiVersion === GROUP);

/**
 * Schema-check every object and build the model from the valid vmsafe.io ones. Objects of other
 * API groups (Namespace, ConfigMap, ...) are accepted and ignored.
 */
export function buildModel(objects: readonly LoadedObject[], providerNamespace?: string): { model: Model; findings: Finding[] } {
  const model = emptyModel(providerNamespace);
  const findings: Finding[] = [];
  for (const src of objects) addToModel(model, src, findings);
  finishModel(model);
  return { model, findings };
}

/**
 * Schema-check one object and, when it is a valid vmsafe.io object, add it to the model. The model
 * keeps `keep` as the object's source (default `src`): a caller streaming many objects passes a
 * stand-in that remembers where the object came from but not the object itself.
 */
export function addToModel(model: Model, src: LoadedObject, findings: Finding[], keep: () => LoadedObject = () => src): void {
  const o = src.object;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    findings.push(findingAt(src, [], 'a manifest must be an object with apiVersion, kind and metadata'));
    return;
  }
  const missing = ['apiVersion', 'kind'].filter((k) => typeof (o as Record<string, unknown>)[k] !== 'string');
  if (missing.length > 0) {
    findings.push(findingAt(src, [], `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required`));
    return;
  }
  if (!isVmsafe(o)) return;
  const decoded = decode(o);
  if (!decoded.ok) {
    for (const e of decoded.errors) {
      const path = parseFieldPath(e.path);
      findings.push(findingAt(src, path, e.message + yaml11Hint(src, path)));
    }
    return;
  }
  const info = KIND_BY_NAME.get(decoded.value.kind)!;
  if (info.namespaced && !decoded.value.metadata.namespace) {
    findings.push(findingAt(src, ['metadata', 'namespace'], `required field is missing (${info.kind} is namespaced)`));
    return;
  }
  add(model, { src: keep(), value: decoded.value });
}

/** Derived indexes, once every object is in. */
export function finishModel(model: Model): void {
  for (const t of model.tenants.values())
    for (const ns of namespacesOf(t.value))
      if (!model.tenantOfNamespace.has(ns) && ns !== model.providerNamespace) model.tenantOfNamespace.set(ns, t.value.metadata.name);
}

function add(model: Model, e: Entry<any>) {
  const name: string = e.value.metadata.name;
  switch (e.value.kind as string) {
    case 'Tag': if (!model.tags.has(name)) model.tags.set(name, e); break;
    case 'Tenant': if (!model.tenants.has(name)) model.tenants.set(name, e); break;
    case 'Host': if (!model.hosts.has(name)) model.hosts.set(name, e); break;
    case 'VM': model.vms.push(e); break;
    case 'SecurityPolicy': model.policies.push(e); break;
    case 'HostFilter': model.hostFilters.push(e); break;
  }
}

const YAML11_BOOL = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;

/** kubectl reads YAML 1.1: a bare On/Off/yes/no is a boolean there. Say so when that bit. */
function yaml11Hint(src: LoadedObject, path: (string | number)[]): string {
  const node = nodeAt(src, path);
  if (!isScalar(node) || typeof node.value !== 'boolean' || node.type !== 'PLAIN') return '';
  const text = (node as { source?: unknown }).source;
  if (typeof text !== 'string' || !YAML11_BOOL.test(text)) return '';
  return ` (YAML reads an unquoted ${text} as a boolean: write "${text}")`;
}
