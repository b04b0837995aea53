// Reading and writing JSON members whose names come from input. `obj[name]` with a name such as
// "constructor" reads Object's member, and `obj["__proto__"] = v` sets the prototype instead of a
// member (dropping the data, or polluting every object when obj is Object.prototype itself).

/** The own member `k` of `o`, or undefined (never an inherited one). */
export function ownValue(o: object, k: PropertyKey): any {
  return Object.hasOwn(o, k) ? (o as Record<PropertyKey, unknown>)[k] : undefined;
}

/** Sets member `k` of `o` as JSON.parse would: `__proto__` is defined as a plain data member. */
export function setOwn(o: object, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else (o as Record<string, unknown>)[k] = v;
}
