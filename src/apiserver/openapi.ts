// OpenAPI v3 documents (/openapi/v3 and /openapi/v3/<api|apis/G/V>): CRD schemas for
// `kubectl explain`, and PATCH operations that declare `fieldValidation` so kubectl leaves
// validation to the server (fieldValidation=Strict) instead of validating client-side.
import { createHash } from 'node:crypto';
import { apiVersionOf, type Registry, type ResourceDef } from './resources';
import type { Schema } from './schema';
import { swaggerFromV3 } from './openapi-v2';

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const LIST_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';
const PATCH = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';
const STATUS = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';

const API_VERSION_DESC =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DESC =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';
const METADATA_DESC = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

const str = (description: string) => ({ type: 'string', description });
const objectMetaSchema = {
  description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
  type: 'object',
  properties: {
    name: str('Name must be unique within a namespace.'),
    generateName: str('GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided.'),
    namespace: str('Namespace defines the space within which each name must be unique.'),
    uid: str('UID is the unique in time and space value for this object.'),
    resourceVersion: str('An opaque value that represents the internal version of this object.'),
    generation: { type: 'integer', format: 'int64', description: 'A sequence number representing a specific generation of the desired state.' },
    creationTimestamp: { type: 'string', format: 'date-time', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' },
    deletionTimestamp: { type: 'string', format: 'date-time', description: 'DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.' },
    labels: { type: 'object', additionalProperties: { type: 'string', default: '' }, description: 'Map of string keys and values that can be used to organize and categorize (scope and select) objects.' },
    annotations: { type: 'object', additionalProperties: { type: 'string', default: '' }, description: 'Annotations is an unstructured key value map stored with a resource.' },
    finalizers: { type: 'array', items: { type: 'string', default: '' }, description: 'Must be empty before the object is deleted from the registry.', 'x-kubernetes-list-type': 'set' },
    ownerReferences: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, description: 'List of objects depended by this object.' },
    managedFields: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, description: 'ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.' },
  },
};

/** io.vmsafe.v1alpha1.VM, io.k8s.api.core.v1.Namespace, ... */
export function schemaName(d: { group: string; version: string; kind: string }): string {
  if (!d.group) return `io.k8s.api.core.${d.version}.${d.kind}`;
  if (!d.group.includes('.')) return `io.k8s.api.${d.group}.${d.version}.${d.kind}`;
  if (d.group.endsWith('.k8s.io')) return `io.k8s.api.${d.group.replace(/\.k8s\.io$/, '').split('.').reverse().join('.')}.${d.version}.${d.kind}`;
  return `${d.group.split('.').reverse().join('.')}.${d.version}.${d.kind}`;
}

function kindSchema(d: ResourceDef): Schema {
  const gvk = [{ group: d.group, kind: d.kind, version: d.version }];
  const base: Schema = d.schema
    ? structuredClone(d.schema)
    : { type: 'object', description: `${d.kind} (${apiVersionOf(d)})`, 'x-kubernetes-preserve-unknown-fields': true };
  base.type ??= 'object';
  base.properties = {
    ...(base.properties ?? {}),
    apiVersion: { ...str(API_VERSION_DESC), ...(base.properties?.apiVersion ?? {}) },
    kind: { ...str(KIND_DESC), ...(base.properties?.kind ?? {}) },
    metadata: { allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }], default: {}, description: METADATA_DESC },
  };
  base['x-kubernetes-group-version-kind'] = gvk;
  return base;
}

function listSchema(d: ResourceDef): Schema {
  return {
    type: 'object',
    description: `${d.listKind} is a list of ${d.kind}`,
    required: ['items'],
    properties: {
      apiVersion: str(API_VERSION_DESC),
      kind: str(KIND_DESC),
      items: { type: 'array', items: { $ref: `#/components/schemas/${schemaName(d)}` } },
      metadata: { allOf: [{ $ref: `#/components/schemas/${LIST_META}` }], default: {} },
    },
    'x-kubernetes-group-version-kind': [{ group: d.group, kind: d.listKind, version: d.version }],
  };
}

const qp = (name: string, description: string, type = 'string') => ({ name, in: 'query', description, schema: { type, uniqueItems: true } });

function operations(d: ResourceDef, prefix: string): Record<string, Schema> {
  const gvk = { group: d.group, version: d.version, kind: d.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(d)}` };
  const ok = (schema: Schema) => ({ '200': { description: 'OK', content: { 'application/json': { schema } } } });
  const nsParam = d.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }] : [];
  const coll = `${prefix}${d.namespaced ? '/namespaces/{namespace}' : ''}/${d.plural}`;
  const item = `${coll}/{name}`;
  const writeParams = [
    qp('dryRun', 'When present, indicates that modifications should not be persisted.'),
    qp('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
    qp('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.'),
  ];
  const patchContent: Schema = {
    'application/json-patch+json': { schema: { $ref: `#/components/schemas/${PATCH}` } },
    'application/merge-patch+json': { schema: { $ref: `#/components/schemas/${PATCH}` } },
    'application/apply-patch+yaml': { schema: { $ref: `#/components/schemas/${PATCH}` } },
  };
  const op = (action: string, extra: Schema) => ({
    operationId: `${action}${d.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  });
  const paths: Record<string, Schema> = {
    [coll]: {
      parameters: nsParam,
      get: op('list', { parameters: [qp('labelSelector', 'label selector'), qp('fieldSelector', 'field selector'), qp('limit', 'limit', 'integer'), qp('continue', 'continue'), qp('watch', 'watch', 'boolean'), qp('resourceVersion', 'resourceVersion')], responses: ok({ $ref: `#/components/schemas/${schemaName({ ...d, kind: d.listKind })}` }) }),
      post: op('post', { parameters: writeParams, requestBody: { content: { '*/*': { schema: ref } }, required: true }, responses: ok(ref) }),
      delete: op('deletecollection', { responses: ok({ $ref: `#/components/schemas/${STATUS}` }) }),
    },
    [item]: {
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }, ...nsParam],
      get: op('get', { responses: ok(ref) }),
      put: op('put', { parameters: writeParams, requestBody: { content: { '*/*': { schema: ref } }, required: true }, responses: ok(ref) }),
      patch: op('patch', { parameters: [...writeParams, qp('force', 'Force is going to "force" Apply requests.', 'boolean')], requestBody: { content: patchContent, required: true }, responses: ok(ref) }),
      delete: op('delete', { parameters: [qp('propagationPolicy', 'Whether and how garbage collection will be performed.')], responses: ok(ref) }),
    },
  };
  if (d.statusSubresource) {
    paths[`${item}/status`] = {
      parameters: paths[item]!.parameters,
      get: op('get', { responses: ok(ref) }),
      put: op('put', { parameters: writeParams, requestBody: { content: { '*/*': { schema: ref } }, required: true }, responses: ok(ref) }),
      patch: op('patch', { parameters: [...writeParams, qp('force', 'force', 'boolean')], requestBody: { content: patchContent, required: true }, responses: ok(ref) }),
    };
  }
  return paths;
}

export function openApiV3Doc(reg: Registry, group: string, version: string): Schema | undefined {
  const defs = reg.inGroupVersion(group, version);
  if (defs.length === 0) return undefined;
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const schemas: Schema = {
    [OBJECT_META]: objectMetaSchema,
    [LIST_META]: { type: 'object', properties: { continue: { type: 'string' }, remainingItemCount: { type: 'integer' }, resourceVersion: { type: 'string' } } },
    [PATCH]: { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
    [STATUS]: { type: 'object', description: 'Status is a return value for calls that do not return other objects.', 'x-kubernetes-preserve-unknown-fields': true },
  };
  let paths: Schema = {};
  for (const d of defs) {
    schemas[schemaName(d)] = kindSchema(d);
    schemas[schemaName({ ...d, kind: d.listKind })] = listSchema(d);
    paths = { ...paths, ...operations(d, prefix) };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas, securitySchemes: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header' } } },
  };
}

/** Cache of serialized v3 documents, recomputed when the registry changes. */
export class OpenApiCache {
  private gen = -1;
  private docs = new Map<string, { json: string; hash: string }>();
  private v2json: string | undefined;

  constructor(private readonly reg: Registry) {}

  private refresh() {
    if (this.gen === this.reg.generation) return;
    this.docs.clear();
    this.v2json = undefined;
    for (const g of this.reg.groups())
      for (const v of g.versions) {
        const doc = openApiV3Doc(this.reg, g.name, v);
        if (!doc) continue;
        const json = JSON.stringify(doc);
        const hash = createHash('sha512').update(json).digest('hex').toUpperCase();
        this.docs.set(g.name ? `apis/${g.name}/${v}` : `api/${v}`, { json, hash });
      }
    this.gen = this.reg.generation;
  }

  index(): string {
    this.refresh();
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const [p, d] of this.docs) paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${d.hash}` };
    return JSON.stringify({ paths });
  }

  /** The Swagger 2.0 document (/openapi/v2) of every group, as JSON. */
  v2(): string {
    this.refresh();
    this.v2json ??= JSON.stringify(swaggerFromV3([...this.docs.values()].map((d) => JSON.parse(d.json))));
    return this.v2json;
  }

  doc(path: string): string | undefined {
    this.refresh();
    return this.docs.get(path)?.json;
  }
}
