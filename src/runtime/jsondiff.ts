// Deep equality and RFC 7386 merge-patch diff for JSON values (status comparison and status writes).
import { deepEqual } from '../util/json-equal';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Structural equality of JSON values; object key order is irrelevant, array order matters; undefined fields are absent. */
export { deepEqual };

/**
 * The JSON merge patch that turns `from` into `to`: changed fields set, removed fields null, arrays
 * replaced whole. `undefined` when nothing differs. (Null values cannot be expressed by merge patch;
 * our statuses never hold them.)
 */
export function mergePatchDiff(from: unknown, to: unknown): Json | undefined {
  if (deepEqual(from, to)) return undefined;
  if (!isObject(from) || !isObject(to)) return (to === undefined ? null : to) as Json;
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(from)) {
    if (from[k] !== undefined && to[k] === undefined) patch[k] = null;
  }
  for (const k of Object.keys(to)) {
    if (to[k] === undefined) continue;
    const d = mergePatchDiff(from[k], to[k]);
    if (d !== undefined) patch[k] = d;
  }
  return patch;
}

/**
 * One merge patch that does what either of two does, for two patches toward the same value (from
 * mergePatchDiff of two bases to one target): it brings either base to the target.
 */
export function unionMergePatch(a: Json | undefined, b: Json | undefined): Json | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (!isObject(a) || !isObject(b)) return a; // both the target's value whole (or null): the same
  const out: Record<string, Json> = { ...(a as Record<string, Json>) };
  for (const [k, v] of Object.entries(b as Record<string, Json>)) out[k] = unionMergePatch(out[k], v)!;
  return out;
}

/** Apply an RFC 7386 merge patch (used by tests and by callers that want the expected result). */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
