// CustomResourceDefinitions generated from the zod schemas (the one source of truth).
//
// zod emits an OpenAPI 3.0 schema of the *input* type (so defaults appear and fields with a default
// are not required); `toStructural` then rewrites it into what kube-apiserver accepts as a
// structural schema and throws on anything it cannot express, so a schema change that the API
// server would reject fails `make crds` instead of a cluster install.
import { stringify } from 'yaml';
import { z } from 'zod';
import { CATEGORY, GROUP, KINDS, VERSION, type KindInfo } from './registry';

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps we emit. */
export interface JSONSchemaProps {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  nullable?: boolean;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  exclusiveMinimum?: boolean;
  maximum?: number;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: { rule: string; message?: string; fieldPath?: string; reason?: string }[];
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: { name: string; type: string; jsonPath: string; description?: string; priority?: number }[];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }[];
  };
}

// Keys copied as they are; everything else is either handled below or rejected.
const SCALAR_KEYS = [
  'description', 'format', 'nullable', 'default', 'enum', 'minimum', 'exclusiveMinimum', 'maximum',
  'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems',
  'minProperties', 'maxProperties',
] as const;
const EXTENSION_KEYS = [
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations',
] as const;
// JSON Schema keys with no meaning for (or no equivalent in) a CRD schema; dropping them loses nothing
// kube-apiserver could have enforced. `propertyNames` is always "string" for zod records.
const IGNORED_KEYS = new Set(['$schema', 'propertyNames', 'title', 'examples', 'id']);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

type Json = Record<string, unknown>;

function fail(path: string, msg: string): never {
  throw new Error(`CRD schema at ${path || '<root>'}: ${msg}`);
}

/** Rewrite one node of zod's OpenAPI 3.0 output into a structural CRD schema node. */
export function toStructural(node: Json, path = ''): JSONSchemaProps {
  for (const key of ['anyOf', 'oneOf', 'allOf', 'not', '$ref', '$defs', 'definitions', 'patternProperties'])
    if (key in node) fail(path, `"${key}" cannot be expressed structurally; restructure the zod schema`);
  if (node.uniqueItems === true) fail(path, 'uniqueItems is forbidden in CRDs (quadratic cost)');

  const out: JSONSchemaProps = {};
  const type = node.type;
  if (type !== undefined) {
    if (typeof type !== 'string' || !TYPES.has(type)) fail(path, `unsupported type ${JSON.stringify(type)}`);
    out.type = type as JSONSchemaProps['type'];
  }
  for (const key of SCALAR_KEYS) if (node[key] !== undefined) (out as Json)[key] = node[key];
  if ('const' in node) out.enum = [node.const];

  // zod bounds every int() by the JS safe-integer range; that says nothing to a Kubernetes user.
  if (out.type === 'integer') {
    if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
    if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  }

  const props = node.properties as Record<string, Json> | undefined;
  if (props) {
    out.properties = {};
    for (const [name, sub] of Object.entries(props)) out.properties[name] = toStructural(sub, `${path}.${name}`);
  }
  if (Array.isArray(node.required) && node.required.length > 0) out.required = [...(node.required as string[])];

  const extra = node.additionalProperties;
  if (extra !== undefined && extra !== false) {
    const open = extra === true || (typeof extra === 'object' && extra !== null && Object.keys(extra).length === 0);
    if (open) out['x-kubernetes-preserve-unknown-fields'] = true; // a looseObject: keep unknown fields
    else if (props) fail(path, 'properties and a typed additionalProperties are mutually exclusive');
    else out.additionalProperties = toStructural(extra as Json, `${path}.*`);
  }
  // additionalProperties: false (a strict object) is the pruning default; CRDs forbid writing it.

  if (node.items !== undefined) {
    if (Array.isArray(node.items)) fail(path, 'tuple items are not supported');
    out.items = toStructural(node.items as Json, `${path}[]`);
  }
  for (const key of EXTENSION_KEYS) if (node[key] !== undefined) (out as Json)[key] = node[key];

  for (const key of Object.keys(node)) {
    const known =
      key === 'type' || key === 'const' || key === 'properties' || key === 'required' ||
      key === 'additionalProperties' || key === 'items' ||
      (SCALAR_KEYS as readonly string[]).includes(key) || (EXTENSION_KEYS as readonly string[]).includes(key);
    if (!known && !IGNORED_KEYS.has(key)) fail(path, `unsupported keyword "${key}"`);
  }
  if (!out.type && !out['x-kubernetes-preserve-unknown-fields'] && !out['x-kubernetes-int-or-string'])
    fail(path, 'every node needs a type (or x-kubernetes-preserve-unknown-fields / int-or-string)');
  return orderKeys(out);
}

// A fixed key order keeps the generated YAML readable and diffs small.
const KEY_ORDER = [
  'description', 'type', 'format', 'nullable', 'default', 'enum', 'minimum', 'exclusiveMinimum', 'maximum',
  'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems',
  'minProperties', 'maxProperties', 'required', 'properties', 'additionalProperties', 'items', ...EXTENSION_KEYS,
];
function orderKeys(s: JSONSchemaProps): JSONSchemaProps {
  const out: Json = {};
  for (const k of KEY_ORDER) if ((s as Json)[k] !== undefined) out[k] = (s as Json)[k];
  return out as JSONSchemaProps;
}

/** The openAPIV3Schema of one kind: apiVersion/kind plain strings, metadata left to the server. */
/**
 * Drop `default` anywhere inside a list's items. Lists are atomic: a default the server fills into an
 * item makes the stored list differ from the applied one, so `kubectl apply` reports `configured` on
 * every run and a later server-side apply conflicts with the client-side manager (Kubernetes API
 * conventions: no defaults inside atomic lists). The zod schemas still fill these defaults when a
 * controller decodes an object, so the meaning is unchanged; only the stored form keeps what was sent.
 */
export function withoutListDefaults(s: JSONSchemaProps, inList = false): JSONSchemaProps {
  const out: JSONSchemaProps = { ...s };
  if (inList) delete out.default;
  if (s.items) out.items = withoutListDefaults(s.items, true);
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, withoutListDefaults(v, inList)]));
  if (s.additionalProperties && typeof s.additionalProperties === 'object') out.additionalProperties = withoutListDefaults(s.additionalProperties, inList);
  return out;
}

export function openAPISchemaFor(info: KindInfo): JSONSchemaProps {
  const json = z.toJSONSchema(info.schema, { io: 'input', target: 'openapi-3.0', cycles: 'throw', reused: 'inline' });
  const root = json as unknown as Json;
  const props = (root.properties ?? {}) as Record<string, Json>;
  const properties: Record<string, JSONSchemaProps> = {
    apiVersion: {
      description: 'APIVersion defines the versioned schema of this representation of an object.',
      type: 'string',
    },
    kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
    // kube-apiserver owns ObjectMeta: a CRD may only constrain name/generateName, so we say nothing.
    metadata: { type: 'object' },
  };
  for (const name of ['spec', 'status']) {
    const sub = props[name];
    if (sub) properties[name] = withoutListDefaults(toStructural(sub, `.${name}`));
  }
  const required = ((root.required as string[] | undefined) ?? []).filter((r) => r === 'spec');
  return orderKeys({ description: info.description, type: 'object', ...(required.length ? { required } : {}), properties });
}

export function crdFor(info: KindInfo): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${info.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: info.kind,
        listKind: `${info.kind}List`,
        plural: info.plural,
        singular: info.singular,
        shortNames: [...info.shortNames],
        categories: [CATEGORY],
      },
      scope: info.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: info.printerColumns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: openAPISchemaFor(info) },
        },
      ],
    },
  };
}

/** Every CRD, in registry order. */
export function allCRDs(): CustomResourceDefinition[] {
  return KINDS.map(crdFor);
}

/** File name of a CRD inside crds/. */
export const crdFileName = (crd: CustomResourceDefinition) => `${crd.metadata.name}.yaml`;

const HEADER = '# Generated by `make crds` from the zod schemas in src/api. Do not edit by hand.\n';

/** The committed text of a CRD file: deterministic, no line folding. */
export function crdYaml(crd: CustomResourceDefinition): string {
  return HEADER + stringify(crd, { version: '1.1', lineWidth: 0, minContentWidth: 0 });
}
