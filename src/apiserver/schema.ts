// Structural-schema handling of custom resources, as apiextensions-apiserver does it:
// prune unknown fields, apply defaults, then validate (ajv) and report kube-style field causes.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import type { StatusCause } from './errors';
import { LruMap } from '../util/lru-map';
import { setOwn } from '../util/own-keys';

export type Schema = Record<string, any>;

const isPlainObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** ObjectMeta fields a server keeps; anything else under metadata is pruned. */
export const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
  'managedFields',
]);

const joinPath = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** The schema a structural schema declares for `key`: own properties only (a field named `constructor` is not Object's). */
export function declaredProperty(schema: Schema | undefined, key: string): Schema | undefined {
  const props = schema?.properties as Record<string, Schema> | undefined;
  return props && Object.hasOwn(props, key) ? props[key] : undefined;
}

/**
 * Removes fields the schema does not declare (in place) and returns their paths. Root keeps
 * apiVersion/kind/metadata; metadata keeps ObjectMeta's fields.
 */
export function prune(obj: Record<string, any>, schema: Schema | undefined): string[] {
  const unknown: string[] = [];
  if (!schema) return unknown;
  for (const key of Object.keys(obj)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if (key === 'metadata') {
      if (isPlainObject(obj.metadata))
        for (const mk of Object.keys(obj.metadata))
          if (!OBJECT_META_FIELDS.has(mk)) {
            delete obj.metadata[mk];
            unknown.push(`metadata.${mk}`);
          }
      continue;
    }
    const sub = declaredProperty(schema, key);
    if (sub) pruneValue(obj[key], sub, [key], unknown);
    else if (!schema['x-kubernetes-preserve-unknown-fields']) {
      delete obj[key];
      unknown.push(key);
    }
  }
  return unknown;
}

/**
 * `at` is the value's path as segments (names and indexes), made into text only for a field pruned:
 * a 150 KB HostFilter has none, and building every element's path text was most of prune's time.
 */
function pruneValue(value: unknown, schema: Schema, at: (string | number)[], unknown: string[]) {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items)
      for (let i = 0; i < value.length; i++) {
        at.push(i);
        pruneValue(value[i], items, at, unknown);
        at.pop();
      }
    return;
  }
  if (schema['x-kubernetes-embedded-resource']) {
    prune(value, schema);
    return;
  }
  const props = schema.properties as Record<string, Schema> | undefined;
  const addl = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (!props && addl === undefined && preserve) return;
  for (const key of Object.keys(value)) {
    const sub = declaredProperty(schema, key) ?? (isPlainObject(addl) ? addl : undefined);
    if (sub) {
      at.push(key);
      pruneValue((value as Record<string, unknown>)[key], sub, at, unknown);
      at.pop();
    } else if (!(preserve || addl === true)) {
      delete (value as Record<string, unknown>)[key];
      unknown.push(joinPath(pathText(at), key));
    }
  }
}

/** "spec.items[0].name" from ["spec", "items", 0, "name"]. */
function pathText(at: readonly (string | number)[]): string {
  let out = '';
  for (const seg of at) out = typeof seg === 'number' ? `${out}[${seg}]` : joinPath(out, seg);
  return out;
}

/**
 * Whether any schema below `schema` (through properties, items and additionalProperties, the edges
 * applyDefaults and listTypeCauses follow) satisfies `has`, remembered per schema node. A subtree
 * without a default or a list type is not walked at all: a 150 KB HostFilter spec has neither, and
 * walking it for nothing was 1.6 of the 13 ms the server spent per filter write.
 */
function subtreeFlag(memo: WeakMap<Schema, boolean>, has: (s: Schema) => boolean): (schema: Schema) => boolean {
  const below = (schema: Schema): boolean => {
    const known = memo.get(schema);
    if (known !== undefined) return known;
    memo.set(schema, false); // a recursive schema (not structural, but possible) ends here
    const children: Schema[] = [];
    if (isPlainObject(schema.properties)) children.push(...(Object.values(schema.properties) as Schema[]));
    if (isPlainObject(schema.items)) children.push(schema.items);
    if (isPlainObject(schema.additionalProperties)) children.push(schema.additionalProperties);
    const found = children.some((c) => isPlainObject(c) && (has(c) || below(c)));
    memo.set(schema, found);
    return found;
  };
  return below;
}

const defaultsBelow = subtreeFlag(new WeakMap(), (s) => s.default !== undefined);
const LIST_TYPES_CHECKED = new Set(['map', 'set']);
const hasListType = (s: Schema) => LIST_TYPES_CHECKED.has(s['x-kubernetes-list-type']);
const listTypesBelow = subtreeFlag(new WeakMap(), hasListType);

/** Applies `default`s where a property is absent (or null and not nullable), recursively, in place. */
export function applyDefaults(value: unknown, schema: Schema | undefined) {
  if (!schema || !defaultsBelow(schema)) return;
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applyDefaults(item, schema.items);
    return;
  }
  if (!isPlainObject(value)) return;
  const props = schema.properties as Record<string, Schema> | undefined;
  if (props) {
    for (const [key, sub] of Object.entries(props)) {
      // Own fields only: a property the schema names `__proto__` would otherwise default into
      // Object.prototype, and one named `constructor` would never get its default.
      const cur = Object.hasOwn(value, key) ? value[key] : undefined;
      if (sub.default !== undefined && (cur === undefined || (cur === null && !sub.nullable)))
        setOwn(value, key, structuredClone(sub.default));
      if (Object.hasOwn(value, key) && value[key] !== undefined) applyDefaults(value[key], sub);
    }
  }
  if (isPlainObject(schema.additionalProperties))
    for (const key of Object.keys(value)) if (!declaredProperty(schema, key)) applyDefaults(value[key], schema.additionalProperties);
}

/** OpenAPI v3 schema (with x-kubernetes-* extensions) -> JSON Schema ajv understands. */
export function toJsonSchema(schema: Schema): Schema {
  if (Array.isArray(schema)) return schema.map((s) => toJsonSchema(s)) as unknown as Schema;
  if (!isPlainObject(schema)) return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-') || k === 'nullable' || k === 'example' || k === 'externalDocs') continue;
    if (k === 'properties' || k === 'patternProperties' || k === 'definitions')
      out[k] = Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, toJsonSchema(pv)]));
    else if (k === 'items' || k === 'additionalProperties' || k === 'not') out[k] = isPlainObject(v) ? toJsonSchema(v) : v;
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = (v as Schema[]).map((s) => toJsonSchema(s));
    // A `__proto__` key is an (unknown) keyword, not the prototype of the schema ajv reads keywords from.
    else setOwn(out, k, v);
  }
  if (schema['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [...(out.anyOf ?? []), { type: 'integer' }, { type: 'string' }];
  }
  if (schema.nullable && typeof out.type === 'string') out.type = [out.type, 'null'];
  // Root and embedded metadata is validated by the server itself, not the schema.
  return out;
}

/**
 * Values remembered per pattern (oldest dropped first), and the longest value remembered: addresses,
 * CIDRs, MACs and DNS labels fit; at most ~7 MB per pattern however many values a tenant sends.
 */
const PATTERN_MEMO_ENTRIES = 32_768;
const PATTERN_MEMO_MAX_CHARS = 64;

/**
 * CRD `pattern`s run on RE2 semantics (linear time), as kube-apiserver's Go regexp does: a
 * backtracking engine lets one tenant's `^(a+)+$` freeze the whole server on a 31-character value.
 */
const re2 = Object.assign(
  (pattern: string) => {
    const re = RE2JS.compile(pattern);
    // A pattern is checked again for every value on every write of an object, though most values did
    // not change (a HostFilter's ~3,000 addresses, each version): answers are remembered per value.
    const seen = new LruMap<string, boolean>();
    const test = (s: string) => {
      const known = seen.get(s);
      if (known !== undefined) return known;
      const ok = re.matcher(s).find();
      // Longer values are checked each time, as before.
      if (s.length <= PATTERN_MEMO_MAX_CHARS) {
        seen.set(s, ok);
        if (seen.size > PATTERN_MEMO_ENTRIES) seen.deleteOldest();
      }
      return ok;
    };
    // ajv caches compiled patterns by toString(): it must be unique per pattern.
    return { test, toString: () => `re2:${pattern}` };
  },
  { code: 'require("re2js").RE2JS' },
);

// ownProperties: a field the schema names `constructor` or `toString` is present only when the object
// sets it (by default ajv reads `data.constructor`, Object's, so `type` failed and `required` passed).
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, verbose: true, ownProperties: true, code: { regExp: re2 } });

export function compileValidator(schema: Schema): ValidateFunction {
  const js = toJsonSchema(schema);
  if (js.properties?.metadata) js.properties = { ...js.properties, metadata: { type: 'object' } };
  return ajv.compile(js);
}

/** "/spec/vnics/0/ip" -> "spec.vnics[0].ip" */
export function fieldPath(instancePath: string): string {
  let out = '';
  for (const raw of instancePath.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return '"array"';
  if (typeof v === 'object') return '"object"';
  return String(v);
}

const typeName = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;

/** ajv errors -> details.causes in kube-openapi's wording. */
export function causesFromAjv(errors: ErrorObject[] | null | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  const add = (c: StatusCause) => {
    const k = `${c.field}\n${c.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      causes.push(c);
    }
  };
  // anyOf/oneOf report every branch; keep the summary only.
  for (const e of errors ?? []) {
    const field = fieldPath(e.instancePath);
    const p = e.params as Record<string, any>;
    const data = e.data;
    switch (e.keyword) {
      case 'required':
        add({ reason: 'FieldValueRequired', message: 'Required value', field: field ? `${field}.${p.missingProperty}` : p.missingProperty });
        break;
      case 'type':
        add({ reason: 'FieldValueTypeInvalid', message: `Invalid value: "${typeName(data)}": ${field} in body must be of type ${p.type}: "${typeName(data)}"`, field });
        break;
      case 'enum':
        add({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${show(data)}: supported values: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`, field });
        break;
      case 'pattern':
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(data)}: ${field} in body should match '${p.pattern}'`, field });
        break;
      case 'minimum':
      case 'exclusiveMinimum':
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(data)}: ${field} in body should be greater than ${e.keyword === 'minimum' ? 'or equal to ' : ''}${p.limit}`, field });
        break;
      case 'maximum':
      case 'exclusiveMaximum':
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(data)}: ${field} in body should be less than ${e.keyword === 'maximum' ? 'or equal to ' : ''}${p.limit}`, field });
        break;
      case 'minLength':
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(data)}: ${field} in body should be at least ${p.limit} chars long`, field });
        break;
      case 'maxLength':
        add({ reason: 'FieldValueTooLong', message: `Too long: may not be more than ${p.limit} bytes`, field });
        break;
      case 'minItems':
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${Array.isArray(data) ? data.length : 0}: ${field} in body should have at least ${p.limit} items`, field });
        break;
      case 'maxItems':
        add({ reason: 'FieldValueTooMany', message: `Too many: ${Array.isArray(data) ? data.length : 0}: must have at most ${p.limit} items`, field });
        break;
      case 'uniqueItems':
        add({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${show(Array.isArray(data) ? data[p.j] : data)}`, field: `${field}[${p.j}]` });
        break;
      case 'minProperties':
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(data)}: ${field} in body should have at least ${p.limit} properties`, field });
        break;
      case 'maxProperties':
        add({ reason: 'FieldValueTooMany', message: `Too many: ${isPlainObject(data) ? Object.keys(data).length : 0}: must have at most ${p.limit} items`, field });
        break;
      case 'oneOf':
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(data)}: ${field} in body must validate one and only one schema (oneOf)`, field });
        break;
      case 'anyOf':
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(data)}: ${field} in body must validate at least one schema (anyOf)`, field });
        break;
      case 'not':
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(data)}: ${field} in body should not validate the schema`, field });
        break;
      default:
        add({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(data)}: ${field} in body ${e.message ?? 'is invalid'}`, field });
    }
  }
  // When anyOf/oneOf failed, the per-branch errors of the same field are noise.
  const summarized = new Set(causes.filter((c) => /\((anyOf|oneOf)\)$/.test(c.message)).map((c) => c.field));
  return causes.filter((c) => !summarized.has(c.field) || /\((anyOf|oneOf)\)$/.test(c.message));
}

/**
 * x-kubernetes-list-type checks ajv cannot express: unique keys in list-type=map lists, unique
 * items in list-type=set lists (FieldValueDuplicate, like the structural schema validator).
 */
export function listTypeCauses(value: unknown, schema: Schema | undefined, path = ''): StatusCause[] {
  if (!schema || value === null || typeof value !== 'object' || !(hasListType(schema) || listTypesBelow(schema))) return [];
  const out: StatusCause[] = [];
  if (Array.isArray(value)) {
    const listType = schema['x-kubernetes-list-type'];
    const keys: string[] | undefined = schema['x-kubernetes-list-map-keys'];
    if (listType === 'map' && keys?.length) {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        if (!isPlainObject(item)) return;
        const key = JSON.stringify(Object.fromEntries(keys.map((k) => [k, item[k]])));
        if (seen.has(key)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: map[string]interface {}${key}`, field: `${path}[${i}]` });
        seen.add(key);
      });
    } else if (listType === 'set') {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(item);
        if (seen.has(key)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${key}`, field: `${path}[${i}]` });
        seen.add(key);
      });
    }
    if (schema.items) value.forEach((item, i) => out.push(...listTypeCauses(item, schema.items, `${path}[${i}]`)));
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    if (path === '' && k === 'metadata') continue;
    const sub = declaredProperty(schema, k) ?? (isPlainObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
    if (sub) out.push(...listTypeCauses(v, sub, joinPath(path, k)));
  }
  return out;
}
