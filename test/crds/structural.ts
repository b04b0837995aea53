// An offline checker for the CRD rules kube-apiserver enforces on apiextensions.k8s.io/v1 (see
// apiextensions-apiserver pkg/apis/apiextensions/validation and pkg/apiserver/schema): structural
// schemas, forbidden keywords, x-kubernetes-* markers, defaults, names, subresources and printer
// columns. It returns human-readable violations; an empty list means the CRD would be accepted.

type Json = Record<string, any>;

// Every field of JSONSchemaProps in apiextensions/v1.
const ALLOWED_KEYS = new Set([
  'id', '$schema', '$ref', 'description', 'type', 'format', 'title', 'default', 'maximum', 'exclusiveMaximum',
  'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems',
  'multipleOf', 'enum', 'maxProperties', 'minProperties', 'required', 'items', 'allOf', 'oneOf', 'anyOf', 'not',
  'properties', 'additionalProperties', 'patternProperties', 'dependencies', 'additionalItems', 'definitions',
  'externalDocs', 'example', 'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys', 'x-kubernetes-list-type', 'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
const FORBIDDEN = {
  id: 'id is not supported',
  $ref: '$ref is not supported',
  $schema: '$schema is not supported',
  additionalItems: 'additionalItems is not supported',
  patternProperties: 'patternProperties is not supported',
  definitions: 'definitions is not supported',
  dependencies: 'dependencies is not supported',
} as const;
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const JUNCTORS = ['allOf', 'anyOf', 'oneOf', 'not'] as const;
// Inside a junctor only value validations may appear (structural schema rule 3).
const NOT_IN_JUNCTOR = ['type', 'default', 'description', 'nullable', 'additionalProperties', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type'];
const PRINTER_TYPES = new Set(['integer', 'number', 'string', 'boolean', 'date']);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// ObjectMeta fields a printer column may point at even though metadata is schemaless in a CRD.
const META_FIELDS = new Set(['name', 'namespace', 'labels', 'annotations', 'creationTimestamp', 'deletionTimestamp', 'generation', 'uid', 'resourceVersion', 'finalizers', 'ownerReferences', 'generateName']);

interface Ctx {
  path: string;
  root: boolean;
  inMeta: boolean;
  inJunctor: boolean;
  defaultsForbidden?: string;
}

export function checkSchema(schema: Json, errors: string[], ctx: Ctx = { path: 'openAPIV3Schema', root: true, inMeta: false, inJunctor: false }): void {
  const at = (k?: string) => (k ? `${ctx.path}.${k}` : ctx.path);
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    errors.push(`${at()}: must be a schema object`);
    return;
  }
  for (const k of Object.keys(schema)) if (!ALLOWED_KEYS.has(k)) errors.push(`${at(k)}: unknown field "${k}"`);
  for (const [k, msg] of Object.entries(FORBIDDEN)) if (k in schema) errors.push(`${at(k)}: ${msg}`);
  if (schema.uniqueItems === true) errors.push(`${at('uniqueItems')}: uniqueItems cannot be set to true`);

  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'];
  if (preserve !== undefined && preserve !== true) errors.push(`${at('x-kubernetes-preserve-unknown-fields')}: must be true or undefined`);

  // Rule 1: every node is typed, except int-or-string and preserve-unknown-fields nodes.
  if (ctx.inJunctor) {
    for (const k of NOT_IN_JUNCTOR) if (k in schema) errors.push(`${at(k)}: must not be set inside ${ctx.path.split('.').find((p) => /^(allOf|anyOf|oneOf|not)/.test(p)) ?? 'a junctor'}`);
  } else if (intOrString) {
    if (schema.type !== undefined) errors.push(`${at('type')}: must be empty when x-kubernetes-int-or-string is true`);
  } else if (schema.type === undefined) {
    if (preserve !== true) errors.push(`${at('type')}: must not be empty for specified object fields`);
  }
  if (schema.type !== undefined) {
    if (schema.type === 'null') errors.push(`${at('type')}: type cannot be set to null, use nullable as an alternative`);
    else if (!TYPES.has(schema.type)) errors.push(`${at('type')}: unsupported type ${JSON.stringify(schema.type)}`);
  }

  if (schema.additionalProperties !== undefined) {
    if (schema.additionalProperties === false) errors.push(`${at('additionalProperties')}: additionalProperties cannot be set to false`);
    else if (schema.properties && Object.keys(schema.properties).length > 0)
      errors.push(`${at('additionalProperties')}: additionalProperties and properties are mutual exclusive`);
    if (ctx.root) errors.push(`${at('additionalProperties')}: not allowed at the resource root`);
    if (typeof schema.additionalProperties === 'object')
      checkSchema(schema.additionalProperties, errors, { ...ctx, path: at('additionalProperties'), root: false });
  }
  if ((schema.properties || schema.additionalProperties) && schema.type !== undefined && schema.type !== 'object')
    errors.push(`${at('type')}: must be object when properties are set`);
  if (schema.items !== undefined) {
    if (Array.isArray(schema.items)) errors.push(`${at('items')}: items must be a schema object and not an array`);
    else checkSchema(schema.items, errors, { ...ctx, path: at('items'), root: false });
    if (!ctx.inJunctor && schema.type !== 'array') errors.push(`${at('type')}: must be array when items is set`);
  } else if (schema.type === 'array' && !ctx.inJunctor) {
    errors.push(`${at('items')}: must be specified for arrays (structural schema)`);
  }

  checkValueValidation(schema, errors, at);
  checkListAndMapTypes(schema, errors, at);

  if (schema.default !== undefined) {
    if (ctx.root) errors.push(`${at('default')}: must not be set at the root`);
    else if (ctx.defaultsForbidden) errors.push(`${at('default')}: must not be set ${ctx.defaultsForbidden}`);
    else for (const e of validateValue(schema.default, schema, 'default')) errors.push(`${at('default')}: ${e}`);
  }

  if (ctx.root) checkRootInvariants(schema, errors, at);

  for (const [name, sub] of Object.entries<Json>(schema.properties ?? {})) {
    const meta = ctx.root && ['metadata', 'apiVersion', 'kind'].includes(name);
    checkSchema(sub, errors, {
      ...ctx,
      path: at(`properties.${name}`),
      root: false,
      inMeta: ctx.inMeta || meta,
      defaultsForbidden: meta ? `in top-level ${name}` : ctx.defaultsForbidden,
    });
  }
  for (const j of JUNCTORS) {
    const list = j === 'not' ? (schema.not ? [schema.not] : []) : (schema[j] ?? []);
    list.forEach((sub: Json, i: number) => {
      const p = j === 'not' ? at('not') : at(`${j}[${i}]`);
      // int-or-string's anyOf [{type: integer}, {type: string}] is the one allowed use of type inside a junctor.
      const intOrStringBranch = intOrString && Object.keys(sub).length === 1 && (sub.type === 'integer' || sub.type === 'string');
      if (!intOrStringBranch) checkSchema(sub, errors, { ...ctx, path: p, root: false, inJunctor: true });
      checkJunctorHasCounterpart(sub, schema, errors, p);
    });
  }
}

/** Rule 2: properties and items inside a junctor must also be specified outside it. */
function checkJunctorHasCounterpart(inner: Json, outer: Json, errors: string[], path: string) {
  for (const name of Object.keys(inner.properties ?? {}))
    if (!outer.properties?.[name]) errors.push(`${path}.properties.${name}: must have a corresponding property outside of the junctor`);
  if (inner.items && !outer.items) errors.push(`${path}.items: must have a corresponding items outside of the junctor`);
}

function checkValueValidation(schema: Json, errors: string[], at: (k?: string) => string) {
  const t = schema.type;
  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum) || schema.enum.length === 0) errors.push(`${at('enum')}: must be a non-empty list`);
    else if (t) schema.enum.forEach((v: unknown, i: number) => {
      if (!matchesType(v, t)) errors.push(`${at(`enum[${i}]`)}: ${JSON.stringify(v)} is not of type ${t}`);
    });
  }
  if (schema.pattern !== undefined) {
    if (t && t !== 'string') errors.push(`${at('pattern')}: only valid for strings`);
    try {
      new RegExp(schema.pattern);
    } catch {
      errors.push(`${at('pattern')}: does not compile`);
    }
    // Go's RE2 has no lookaround or backreferences.
    if (/\(\?[=!<]|\\[1-9]/.test(schema.pattern)) errors.push(`${at('pattern')}: uses a construct RE2 does not support`);
  }
  for (const k of ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'])
    if (schema[k] !== undefined && !(Number.isInteger(schema[k]) && schema[k] >= 0)) errors.push(`${at(k)}: must be a non-negative integer`);
  for (const k of ['exclusiveMinimum', 'exclusiveMaximum'])
    if (schema[k] !== undefined && typeof schema[k] !== 'boolean') errors.push(`${at(k)}: must be a boolean in OpenAPI v3.0`);
  if (schema.required !== undefined) {
    if (!Array.isArray(schema.required)) errors.push(`${at('required')}: must be a list`);
    else for (const r of schema.required)
      if (schema.properties && !schema.properties[r]) errors.push(`${at('required')}: "${r}" is not a property`);
  }
}

function checkListAndMapTypes(schema: Json, errors: string[], at: (k?: string) => string) {
  const listType = schema['x-kubernetes-list-type'];
  const keys = schema['x-kubernetes-list-map-keys'];
  if (listType !== undefined) {
    if (!['atomic', 'set', 'map'].includes(listType)) errors.push(`${at('x-kubernetes-list-type')}: unsupported value ${listType}`);
    if (schema.type !== 'array') errors.push(`${at('type')}: must be array if x-kubernetes-list-type is specified`);
  }
  if (keys !== undefined && listType !== 'map') errors.push(`${at('x-kubernetes-list-type')}: must be map if x-kubernetes-list-map-keys is non-empty`);
  if (listType === 'map') {
    const item = schema.items;
    if (!Array.isArray(keys) || keys.length === 0) errors.push(`${at('x-kubernetes-list-map-keys')}: must not be empty if x-kubernetes-list-type is map`);
    if (!item || item.type !== 'object') errors.push(`${at('items.type')}: must be object if x-kubernetes-list-type is map`);
    else for (const k of keys ?? []) {
      const p = item.properties?.[k];
      if (!p) errors.push(`${at('x-kubernetes-list-map-keys')}: "${k}" is not an item property`);
      else {
        if (p.type === 'array' || p.type === 'object') errors.push(`${at(`items.properties.${k}`)}: map keys must be scalars`);
        if (!(item.required ?? []).includes(k) && p.default === undefined)
          errors.push(`${at(`items.properties.${k}`)}: a list-map key must be required or have a default`);
        if (p.nullable) errors.push(`${at(`items.properties.${k}`)}: a list-map key cannot be nullable`);
      }
    }
  }
  const rules = schema['x-kubernetes-validations'];
  if (rules !== undefined) {
    if (!Array.isArray(rules)) errors.push(`${at('x-kubernetes-validations')}: must be a list`);
    else rules.forEach((r: Json, i: number) => {
      const rp = at(`x-kubernetes-validations[${i}]`);
      if (typeof r.rule !== 'string' || r.rule.trim() === '') errors.push(`${rp}.rule: rule is not specified`);
      if (r.message !== undefined && (typeof r.message !== 'string' || r.message.trim() === '' || /[\r\n]/.test(r.message)))
        errors.push(`${rp}.message: must be non-empty and on one line`);
      if (typeof r.rule === 'string' && /[\r\n]/.test(r.rule) && !r.message) errors.push(`${rp}.message: must be specified if rule contains line breaks`);
      if (r.fieldPath !== undefined && !resolveJSONPath(schema, r.fieldPath).schema) errors.push(`${rp}.fieldPath: must be a valid path`);
      if (r.reason !== undefined && !['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate'].includes(r.reason))
        errors.push(`${rp}.reason: unsupported value`);
      // Properties named in has(self.x) / self.x must exist, or CEL compilation fails on the server.
      for (const m of (r.rule ?? '').matchAll(/self\.([A-Za-z_][A-Za-z0-9_]*)/g))
        if (!schema.properties?.[m[1]!]) errors.push(`${rp}.rule: self.${m[1]} is not a property`);
    });
  }
  const mapType = schema['x-kubernetes-map-type'];
  if (mapType !== undefined) {
    if (schema.type !== 'object') errors.push(`${at('type')}: must be object if x-kubernetes-map-type is specified`);
    if (!['atomic', 'granular'].includes(mapType)) errors.push(`${at('x-kubernetes-map-type')}: unsupported value ${mapType}`);
  }
  if (schema['x-kubernetes-embedded-resource'] === true) {
    if (schema.type !== 'object') errors.push(`${at('type')}: must be object if x-kubernetes-embedded-resource is true`);
    if (!schema.properties && schema['x-kubernetes-preserve-unknown-fields'] !== true)
      errors.push(`${at('properties')}: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields`);
  }
}

function checkRootInvariants(schema: Json, errors: string[], at: (k?: string) => string) {
  if (schema.type !== 'object') errors.push(`${at('type')}: must be object at the root`);
  for (const k of ['nullable', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'anyOf', 'oneOf', 'allOf', 'not'])
    if (k in schema) errors.push(`${at(k)}: not allowed at the root`);
  const props = schema.properties ?? {};
  for (const k of ['apiVersion', 'kind'])
    if (props[k] && props[k].type !== 'string') errors.push(`${at(`properties.${k}.type`)}: must be string`);
  const meta = props.metadata;
  if (meta) {
    // Only name and generateName may be constrained; anything else in metadata is rejected.
    const { type, properties, ...rest } = meta;
    if (type !== undefined && type !== 'object') errors.push(`${at('properties.metadata.type')}: must be object`);
    if (Object.keys(rest).length > 0 || Object.keys(properties ?? {}).some((k) => k !== 'name' && k !== 'generateName'))
      errors.push(`${at('properties.metadata')}: must not specify anything other than name and generateName`);
  }
}

function matchesType(v: unknown, t: string): boolean {
  switch (t) {
    case 'string': return typeof v === 'string';
    case 'integer': return Number.isInteger(v);
    case 'number': return typeof v === 'number';
    case 'boolean': return typeof v === 'boolean';
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    default: return false;
  }
}

/** A default must validate against its schema and survive pruning (no unknown fields). */
export function validateValue(v: unknown, s: Json, path: string): string[] {
  const errs: string[] = [];
  if (v === null) return s.nullable ? [] : [`${path}: null is not allowed`];
  if (s.type && !matchesType(v, s.type)) return [`${path}: ${JSON.stringify(v)} is not of type ${s.type}`];
  if (s.enum && !s.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(v))) errs.push(`${path}: not in enum`);
  if (typeof v === 'number') {
    if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) errs.push(`${path}: below minimum`);
    if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) errs.push(`${path}: above maximum`);
  }
  if (typeof v === 'string') {
    if (s.pattern && !new RegExp(s.pattern).test(v)) errs.push(`${path}: does not match pattern`);
    if (s.maxLength !== undefined && v.length > s.maxLength) errs.push(`${path}: too long`);
    if (s.minLength !== undefined && v.length < s.minLength) errs.push(`${path}: too short`);
  }
  if (Array.isArray(v)) {
    if (s.maxItems !== undefined && v.length > s.maxItems) errs.push(`${path}: too many items`);
    if (s.minItems !== undefined && v.length < s.minItems) errs.push(`${path}: too few items`);
    v.forEach((x, i) => errs.push(...validateValue(x, s.items ?? {}, `${path}[${i}]`)));
  } else if (typeof v === 'object') {
    const o = v as Json;
    for (const r of s.required ?? []) if (!(r in o)) errs.push(`${path}.${r}: required`);
    for (const [k, x] of Object.entries(o)) {
      const sub = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
      if (sub) errs.push(...validateValue(x, sub, `${path}.${k}`));
      else if (s['x-kubernetes-preserve-unknown-fields'] !== true) errs.push(`${path}.${k}: unknown field would be pruned`);
    }
  }
  return errs;
}

/**
 * Resolve a printer-column JSONPath (the subset kubectl columns use: `.a.b`, `[0]`, `[*]`,
 * `[?(@.f=="x")]`) against the schema; returns the schema of the selected node or an error.
 */
export function resolveJSONPath(root: Json, jsonPath: string): { schema?: Json; error?: string } {
  const tokens = jsonPath.match(/\.[A-Za-z0-9_-]+|\[[^\]]*\]/g);
  if (!jsonPath.startsWith('.') || !tokens || tokens.join('') !== jsonPath) return { error: `cannot parse JSONPath ${jsonPath}` };
  let s: Json = root;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (i === 1 && tokens[0] === '.metadata') {
      const f = tok.slice(1);
      if (!META_FIELDS.has(f)) return { error: `metadata has no field ${f}` };
      return { schema: { type: f === 'generation' ? 'integer' : 'string' } };
    }
    if (tok.startsWith('.')) {
      const name = tok.slice(1);
      const next = s.properties?.[name] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
      if (!next) {
        if (s['x-kubernetes-preserve-unknown-fields'] === true) return { schema: {} };
        return { error: `${jsonPath}: no field "${name}"` };
      }
      s = next;
    } else {
      if (s.type !== 'array' || !s.items) return { error: `${jsonPath}: ${tok} applied to a non-array` };
      const filter = tok.match(/^\[\?\(@\.([A-Za-z0-9_]+)\s*==\s*("[^"]*"|'[^']*'|\d+)\)\]$/);
      if (filter && !s.items.properties?.[filter[1]!]) return { error: `${jsonPath}: filter field "${filter[1]}" is not an item property` };
      if (!filter && !/^\[(\d+|\*)\]$/.test(tok)) return { error: `${jsonPath}: unsupported subscript ${tok}` };
      s = s.items;
    }
  }
  return { schema: s };
}

const TYPE_FOR_COLUMN: Record<string, string[]> = {
  integer: ['integer'],
  number: ['number', 'integer'],
  string: ['string'],
  boolean: ['boolean'],
  date: ['string'],
};

/** Everything kube-apiserver checks on a CRD that matters for ours. */
export function checkCRD(crd: Json): string[] {
  const errors: string[] = [];
  if (crd.apiVersion !== 'apiextensions.k8s.io/v1') errors.push(`apiVersion: must be apiextensions.k8s.io/v1`);
  if (crd.kind !== 'CustomResourceDefinition') errors.push(`kind: must be CustomResourceDefinition`);
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  if (crd.metadata?.name !== `${names.plural}.${spec.group}`) errors.push(`metadata.name: must be spec.names.plural+"."+spec.group`);
  for (const k of ['plural', 'singular'])
    if (!DNS_LABEL.test(names[k] ?? '')) errors.push(`spec.names.${k}: must be a lower-case DNS-1035 label`);
  for (const sn of names.shortNames ?? []) if (!DNS_LABEL.test(sn)) errors.push(`spec.names.shortNames: ${sn} is not a DNS label`);
  if (!/^[A-Z][A-Za-z0-9]*$/.test(names.kind ?? '')) errors.push(`spec.names.kind: must be CamelCase`);
  if (names.listKind !== `${names.kind}List`) errors.push(`spec.names.listKind: must be ${names.kind}List`);
  if (!['Namespaced', 'Cluster'].includes(spec.scope)) errors.push(`spec.scope: must be Namespaced or Cluster`);
  const versions: Json[] = spec.versions ?? [];
  if (versions.filter((v) => v.storage).length !== 1) errors.push('spec.versions: exactly one version must be the storage version');
  for (const v of versions) {
    const vp = `spec.versions[${v.name}]`;
    const schema = v.schema?.openAPIV3Schema;
    if (!schema) {
      errors.push(`${vp}.schema.openAPIV3Schema: required`);
      continue;
    }
    checkSchema(schema, errors, { path: `${vp}.schema.openAPIV3Schema`, root: true, inMeta: false, inJunctor: false });
    if (!v.subresources || typeof v.subresources.status !== 'object') errors.push(`${vp}.subresources.status: must be present`);
    else if (!schema.properties?.status) errors.push(`${vp}: status subresource without a status schema`);
    const seen = new Set<string>();
    for (const col of v.additionalPrinterColumns ?? []) {
      const cp = `${vp}.additionalPrinterColumns[${col.name}]`;
      if (!col.name) errors.push(`${cp}.name: required`);
      if (seen.has(col.name)) errors.push(`${cp}.name: duplicate`);
      seen.add(col.name);
      if (!PRINTER_TYPES.has(col.type)) errors.push(`${cp}.type: must be one of ${[...PRINTER_TYPES].join(', ')}`);
      if (col.priority !== undefined && !(Number.isInteger(col.priority) && col.priority >= 0)) errors.push(`${cp}.priority: must be a non-negative integer`);
      const r = resolveJSONPath(schema, col.jsonPath ?? '');
      if (r.error) errors.push(`${cp}.jsonPath: ${r.error}`);
      else if (r.schema?.type && !TYPE_FOR_COLUMN[col.type]?.includes(r.schema.type))
        errors.push(`${cp}.type: column type ${col.type} does not fit schema type ${r.schema.type}`);
    }
  }
  return errors;
}
