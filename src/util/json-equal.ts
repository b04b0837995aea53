// Structural equality of JSON values, shared by the API server (no-op writes, managed fields) and
// the operator's runtime (status diffs, echo detection): both compare parsed JSON in hot paths.

/**
 * Deep equality independent of key order (objects from different clients order keys differently).
 * Members holding scalars are compared before any member is descended into: a HostFilter's new `hash`
 * (its last member) is found at once instead of after its whole 150 KB spec. No arrays are allocated.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const isArray = Array.isArray(a);
  if (isArray !== Array.isArray(b)) return false;
  if (isArray) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (scalarsDiffer(x[i], y[i])) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  // Own members with a value (undefined counts as absent); own members of b only: {"__proto__": {}}
  // is not equal to {"x": {}} (b.__proto__, Object.prototype, is an empty object).
  let members = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    members++;
    if (!Object.hasOwn(y, k) || scalarsDiffer(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) members--;
  if (members !== 0) return false;
  for (const k in x) {
    const v = x[k];
    if (v !== null && typeof v === 'object' && Object.hasOwn(x, k) && !deepEqual(v, y[k])) return false;
  }
  return true;
}

/** Two values that differ at the top, where one of them is not an object (so no descent can make them equal). */
function scalarsDiffer(u: unknown, v: unknown): boolean {
  return u !== v && (u === null || v === null || typeof u !== 'object' || typeof v !== 'object');
}
