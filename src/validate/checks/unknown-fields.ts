// Fields the schema does not know. zod drops them silently and the API server prunes them, so a typo
// such as `hostname:` for `hostName:` would lose the pin without a word; kubectl's default strict field
// validation rejects them, and so do we. Checked against the generated CRD schema (same source).
import { API_VERSION, KIND_BY_NAME } from '../../api';
import { openAPISchemaFor, type JSONSchemaProps } from '../../api/crd';
import type { LoadedObject } from '../../manifests/load';
import { findingAt, type Finding } from '../finding';

// ObjectMeta fields a manifest may carry (the CRD schema leaves metadata to the server).
const OBJECT_META = new Set([
  'name', 'generateName', 'namespace', 'labels', 'annotations', 'uid', 'resourceVersion', 'generation',
  'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'finalizers', 'ownerReferences',
  'managedFields', 'selfLink',
]);

const schemas = new Map<string, JSONSchemaProps>();
function schemaFor(kind: string): JSONSchemaProps | undefined {
  const info = KIND_BY_NAME.get(kind);
  if (!info) return undefined;
  let s = schemas.get(kind);
  if (!s) schemas.set(kind, (s = openAPISchemaFor(info)));
  return s;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// One path stack for the whole walk, copied only for a finding: at 200,000 objects a new array per
// visited field was most of this check's time and a good share of validate's garbage.
function walk(value: unknown, schema: JSONSchemaProps, path: (string | number)[], out: (path: (string | number)[]) => void) {
  if (schema['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    const items = schema.items;
    if (!items) return;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walk(value[i], items, path, out);
      path.pop();
    }
    return;
  }
  if (!isObject(value)) return;
  for (const key of Object.keys(value)) {
    // Own properties only: a field named `constructor` or `toString` is unknown, not Object's.
    const child = (schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined) ?? schema.additionalProperties;
    path.push(key);
    if (child) walk(value[key], child, path, out);
    else if (schema.properties) out([...path]);
    path.pop();
  }
}

export function checkUnknownFields(objects: readonly LoadedObject[]): Finding[] {
  const out: Finding[] = [];
  for (const src of objects) unknownFieldsOf(src, out);
  return out;
}

/** One object's unknown fields, appended to `out`. */
export function unknownFieldsOf(src: LoadedObject, out: Finding[]): void {
  const o = src.object;
  if (!isObject(o) || o.apiVersion !== API_VERSION || typeof o.kind !== 'string') return;
  const schema = schemaFor(o.kind);
  if (!schema) return;
  const report = (path: (string | number)[]) => out.push(findingAt(src, path, 'unknown field'));
  walk(o, schema, [], report);
  if (isObject(o.metadata)) for (const k of Object.keys(o.metadata)) if (!OBJECT_META.has(k)) report(['metadata', k]);
}
