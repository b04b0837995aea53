// Object metadata validation shared by every kind (names, labels, finalizers), in kube's wording.
import { cannotUnmarshal, type StatusCause } from './errors';
import type { Obj } from './store';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export type NameRule = 'subdomain' | 'label' | 'path';

export function nameErrors(name: string, rule: NameRule, field = 'metadata.name'): StatusCause[] {
  const bad = (detail: string): StatusCause[] => [
    { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(name)}: ${detail}`, field },
  ];
  if (rule === 'path') {
    if (name === '.' || name === '..') return bad(`may not be '${name}'`);
    if (/[/%]/.test(name)) return bad(`may not contain '/' or '%'`);
    return [];
  }
  if (rule === 'label') {
    if (name.length > 63 || !DNS1123_LABEL.test(name))
      return bad(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      );
    return [];
  }
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name))
    return bad(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  return [];
}

function qualifiedNameErrors(key: string, field: string): StatusCause[] {
  const parts = key.split('/');
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  const prefix = parts.length === 2 ? parts[0]! : undefined;
  const errs: string[] = [];
  if (parts.length > 2) errs.push("a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) errs.push('prefix part must be a lowercase RFC 1123 subdomain');
  if (!name || name.length > 63 || !QUALIFIED_NAME.test(name))
    errs.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  return errs.map((e) => ({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(key)}: ${e}`, field }));
}

export function metadataErrors(meta: Obj, rule: NameRule): StatusCause[] {
  const causes: StatusCause[] = [];
  if (typeof meta.name === 'string') causes.push(...nameErrors(meta.name, rule));
  const labels = meta.labels;
  if (labels !== undefined && labels !== null) {
    if (typeof labels !== 'object' || Array.isArray(labels)) causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: must be a map', field: 'metadata.labels' });
    else
      for (const [k, v] of Object.entries(labels)) {
        causes.push(...qualifiedNameErrors(k, 'metadata.labels'));
        if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
            field: 'metadata.labels',
          });
      }
  }
  const ann = meta.annotations;
  if (ann !== undefined && ann !== null) {
    if (typeof ann !== 'object' || Array.isArray(ann)) causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: must be a map', field: 'metadata.annotations' });
    else {
      for (const [k, v] of Object.entries(ann)) {
        causes.push(...qualifiedNameErrors(k.toLowerCase(), 'metadata.annotations'));
        if (typeof v !== 'string') causes.push({ reason: 'FieldValueTypeInvalid', message: 'Invalid value: annotation values must be strings', field: `metadata.annotations.${k}` });
      }
      const size = Object.entries(ann).reduce((n, [k, v]) => n + k.length + String(v).length, 0);
      if (size > 256 * 1024) causes.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most 262144 bytes`, field: 'metadata.annotations' });
    }
  }
  const fins = meta.finalizers;
  if (fins !== undefined && fins !== null) {
    if (!Array.isArray(fins)) causes.push({ reason: 'FieldValueTypeInvalid', message: 'Invalid value: must be a list', field: 'metadata.finalizers' });
    else fins.forEach((f, i) => {
      if (typeof f !== 'string') causes.push({ reason: 'FieldValueTypeInvalid', message: 'Invalid value: must be a string', field: `metadata.finalizers[${i}]` });
      else causes.push(...qualifiedNameErrors(f, `metadata.finalizers[${i}]`));
    });
  }
  for (const [i, o] of (Array.isArray(meta.ownerReferences) ? meta.ownerReferences : []).entries()) {
    for (const f of ['apiVersion', 'kind', 'name', 'uid'])
      if (!o?.[f]) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `metadata.ownerReferences[${i}].${f}` });
  }
  return causes;
}

export { deepEqual } from '../util/json-equal';

/** ObjectMeta's fields besides labels, annotations and ownerReferences, with their Go types. */
const META_TYPES: [string, 'string' | 'int64' | '[]string' | '[]v1.ManagedFieldsEntry'][] = [
  ['name', 'string'], ['generateName', 'string'], ['namespace', 'string'], ['selfLink', 'string'], ['uid', 'string'],
  ['resourceVersion', 'string'], ['creationTimestamp', 'string'], ['deletionTimestamp', 'string'],
  ['generation', 'int64'], ['deletionGracePeriodSeconds', 'int64'], ['finalizers', '[]string'], ['managedFields', '[]v1.ManagedFieldsEntry'],
];

/**
 * Fields whose Go types kube decodes strictly (a wrong JSON type is a 400 decoding error there, not
 * something to store): ObjectMeta's, ConfigMap/Secret data. Returns Go's message or undefined.
 */
export function decodeTypeError(kind: string, obj: Obj): string | undefined {
  if (obj.metadata !== undefined && obj.metadata !== null && (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)))
    return cannotUnmarshal(obj.metadata, `${kind}.metadata`, 'v1.ObjectMeta');
  const meta = obj.metadata ?? {};
  // The rest of ObjectMeta: a uid of {"toString": {}} reached a template literal and threw (500).
  for (const [f, want] of META_TYPES) {
    const v = meta[f];
    if (v === undefined || v === null) continue;
    const ok = want === 'string' ? typeof v === 'string' : want === 'int64' ? Number.isInteger(v) : Array.isArray(v) && (want !== '[]string' || v.every((x) => typeof x === 'string'));
    if (!ok) return cannotUnmarshal(v, `ObjectMeta.metadata.${f}`, want);
  }
  for (const e of Array.isArray(meta.managedFields) ? meta.managedFields : []) {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return cannotUnmarshal(e, 'ObjectMeta.metadata.managedFields', 'v1.ManagedFieldsEntry');
    for (const f of ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'subresource'])
      if (e[f] !== undefined && e[f] !== null && typeof e[f] !== 'string') return cannotUnmarshal(e[f], `ManagedFieldsEntry.metadata.managedFields.${f}`, 'string');
  }
  const refs = meta.ownerReferences;
  if (refs !== undefined && refs !== null) {
    if (!Array.isArray(refs)) return cannotUnmarshal(refs, 'ObjectMeta.metadata.ownerReferences', '[]v1.OwnerReference');
    for (const r of refs) {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) return cannotUnmarshal(r, 'ObjectMeta.metadata.ownerReferences', 'v1.OwnerReference');
      for (const f of ['apiVersion', 'kind', 'name', 'uid'])
        if (r[f] !== undefined && typeof r[f] !== 'string') return cannotUnmarshal(r[f], `OwnerReference.metadata.ownerReferences.${f}`, 'string');
      for (const f of ['controller', 'blockOwnerDeletion'])
        if (r[f] !== undefined && r[f] !== null && typeof r[f] !== 'boolean') return cannotUnmarshal(r[f], `OwnerReference.metadata.ownerReferences.${f}`, 'bool');
    }
  }
  for (const f of ['annotations', 'labels']) {
    const m = meta[f];
    if (m !== undefined && m !== null && (typeof m !== 'object' || Array.isArray(m))) return cannotUnmarshal(m, `ObjectMeta.metadata.${f}`, 'map[string]string');
  }
  if (kind === 'ConfigMap' || kind === 'Secret') {
    for (const f of kind === 'Secret' ? ['data', 'stringData'] : ['data', 'binaryData']) {
      const m = obj[f];
      if (m === undefined || m === null) continue;
      const want = f === 'binaryData' || (kind === 'Secret' && f === 'data') ? '[]uint8' : 'string';
      if (typeof m !== 'object' || Array.isArray(m)) return cannotUnmarshal(m, `${kind}.${f}`, `map[string]${want}`);
      for (const v of Object.values(m)) if (typeof v !== 'string') return cannotUnmarshal(v, `${kind}.${f}`, want);
    }
  }
  return undefined;
}
