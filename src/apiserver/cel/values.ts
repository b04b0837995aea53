// JSON values -> CEL values, typed by the structural schema as kube does: `integer` is a CEL int
// (bigint), `number` a double, objects are maps (so `has(self.x)` tests presence), arrays lists.
// Keys such as `__proto__` stay plain data: objects become Maps, never prototype lookups.
import type { Schema } from '../schema';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function toCel(value: unknown, schema: Schema | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((item) => toCel(item, schema?.items));
  if (isObject(value)) {
    const props = schema?.properties as Record<string, Schema> | undefined;
    const addl = isObject(schema?.additionalProperties) ? (schema!.additionalProperties as Schema) : undefined;
    const out = new Map<string, unknown>();
    for (const key of Object.keys(value)) out.set(key, toCel(value[key], (props && Object.hasOwn(props, key) ? props[key] : undefined) ?? addl));
    return out;
  }
  if (typeof value === 'number') {
    const integer = schema?.type === 'integer' || (schema?.type !== 'number' && Number.isInteger(value));
    return integer && Number.isSafeInteger(value) ? BigInt(value) : value;
  }
  return value;
}

/** Number of values under (and including) `value`: the unit of the cost bound. */
export function countNodes(value: unknown): number {
  if (Array.isArray(value)) {
    let n = 1;
    for (const item of value) n += countNodes(item);
    return n;
  }
  if (isObject(value)) {
    let n = 1;
    for (const key of Object.keys(value)) n += countNodes(value[key]);
    return n;
  }
  return 1;
}
