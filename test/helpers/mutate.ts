// One member of a JSON object changed, for fuzz tests that start from valid objects: every path of a
// value, and a deep copy with the member at a path (or a new key under it) set, as a client's JSON
// body would carry it (a key `__proto__` is an own member).

/** Paths to every member of `v` (objects and arrays), the root included. */
export function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

/** A deep copy of `o` with the member at `path` (plus `key`, when given) set to `value`. */
export function mutate<T>(o: T, path: (string | number)[], key: string | undefined, value: unknown): T {
  const copy = JSON.parse(JSON.stringify(o)) as T;
  const target = [...path, ...(key === undefined ? [] : [key])];
  if (target.length === 0) return copy;
  let parent: any = copy;
  for (const p of target.slice(0, -1)) {
    if (parent[p] === null || typeof parent[p] !== 'object') parent[p] = {};
    parent = parent[p];
  }
  const last = target[target.length - 1]!;
  // A name on a list is no JSON member (and "length" is the list's own): leave the object as it was.
  if (Array.isArray(parent) && typeof last !== 'number') return copy;
  // JSON-parsed, as a client's body is: a key `__proto__` is a member.
  Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}
