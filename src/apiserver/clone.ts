// Deep copy of JSON data (stored objects, request bodies). Every write copies the stored object before
// patching it; structuredClone spent ~10x the time of this walk there (it serializes through V8's
// value serializer), and was the largest self-time of a status PATCH in the API server's profile.
import { setOwn } from '../util/own-keys';
type Json = null | boolean | number | string | undefined | Json[] | { [k: string]: Json };

/** A deep copy of plain JSON-like data: own enumerable keys, `__proto__` kept as plain data. */
export function cloneJson<T>(v: T): T {
  return copy(v as Json) as T;
}

function copy(v: Json): Json {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const a: Json[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) a[i] = copy(v[i]);
    return a;
  }
  const out: { [k: string]: Json } = {};
  for (const k of Object.keys(v)) {
    setOwn(out, k, copy(v[k]));
  }
  return out;
}
