// Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902, with `test`), and an
// approximation of strategic merge patch for built-ins (merge patch that honours the $-directives
// kubectl sends and merges lists of objects by "name").
import jsonpatch from 'fast-json-patch';
import { cloneJson } from './clone';
import { ApiError } from './errors';
import type { Obj } from './store';
import { ownValue, setOwn } from '../util/own-keys';

const isPlainObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);
// `__proto__` and `constructor` are plain keys in a patch: members are read with ownValue, written with setOwn.

/** RFC 7386 merge patch. Shares what it keeps of `target` and copies what the patch sets. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  return mergeWith(target, patch, (kept) => kept, cloneJson);
}

/**
 * mergePatch(cloneJson(stored), patch) without the copies it throws away: what the patch sets is the
 * patch's own value (a request body parsed for this write, owned by nobody else), and a stored value
 * it replaces is not copied first. What it leaves is copied, so the result shares nothing with
 * `stored` and the write may change it in place. The operator's HostFilter write is a merge patch of
 * the whole ~160 KB spec: it was copied from the store and then again from the patch.
 */
export function mergePatchOwned(stored: unknown, patch: unknown): unknown {
  return mergeWith(stored, patch, cloneJson, (set) => set);
}

/** Merge patch, with what becomes of the values it keeps from `target` and of those it sets. */
function mergeWith(target: unknown, patch: unknown, keep: (v: unknown) => unknown, take: (v: unknown) => unknown): unknown {
  if (!isPlainObject(patch)) return take(patch);
  const base = isPlainObject(target) ? target : {};
  const out: Record<string, any> = {};
  for (const k of Object.keys(base)) {
    if (!Object.hasOwn(patch, k)) setOwn(out, k, keep(base[k]));
    else if (patch[k] !== null) setOwn(out, k, mergeWith(base[k], patch[k], keep, take));
  }
  for (const k of Object.keys(patch)) {
    if (!Object.hasOwn(base, k) && patch[k] !== null) setOwn(out, k, mergeWith(undefined, patch[k], keep, take));
  }
  return out;
}

export function jsonPatch(target: Obj, ops: unknown): Obj {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp');
  try {
    const res = jsonpatch.applyPatch(cloneJson(target), ops as Parameters<typeof jsonpatch.applyPatch>[1], true, false);
    return res.newDocument as Obj;
  } catch (e) {
    const err = e as { name?: string; message?: string; operation?: { op?: string; path?: string } };
    if (err.name === 'TEST_OPERATION_FAILED') {
      throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${err.operation?.path ?? ''} failed: test failed`);
    }
    const msg = String(err.message ?? e).split('\n')[0];
    throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${msg}`);
  }
}

/** Strategic merge patch, approximated: enough for kubectl's client-side apply of built-ins. */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, any> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/') || k === '$retainKeys' || k === '$patch') continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = ownValue(out, field);
      if (Array.isArray(cur) && Array.isArray(v)) setOwn(out, field, cur.filter((x: unknown) => !v.includes(x)));
      continue;
    }
    if (v === null) delete out[k];
    else if (Array.isArray(v) && Array.isArray(ownValue(out, k)) && v.every((x) => isPlainObject(x) && typeof x.name === 'string')) {
      setOwn(out, k, mergeNamedList(ownValue(out, k), v));
    } else {
      const merged = strategicMergePatch(ownValue(out, k), v);
      if (merged === undefined) delete out[k];
      else setOwn(out, k, merged);
    }
  }
  return out;
}

function mergeNamedList(cur: unknown[], patch: Record<string, any>[]): unknown[] {
  const out = [...cur];
  for (const item of patch) {
    const i = out.findIndex((x) => isPlainObject(x) && x.name === item.name);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = strategicMergePatch(out[i], item);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Record<string, any> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) setOwn(out, k, stripDirectives(x));
  return out;
}
