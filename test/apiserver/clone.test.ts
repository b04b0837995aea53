// cloneJson (the API server's copy of stored objects before a write) against structuredClone over
// generated JSON, hostile keys included: equal, deep (no shared structure), never touching prototypes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cloneJson } from '../../src/apiserver/clone';

const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true }), fc.string(), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
})).value;

/** Every object and array reachable from v. */
function containers(v: unknown, out = new Set<object>()): Set<object> {
  if (v !== null && typeof v === 'object') {
    out.add(v);
    for (const x of Object.values(v)) containers(x, out);
  }
  return out;
}

describe('cloneJson', () => {
  it('serializes like a structuredClone copy, plain objects only, and shares no object or array with its source', () => {
    fc.assert(
      fc.property(json, (v) => {
        const c = cloneJson(v);
        // Compared as JSON text: matchers treat an own "constructor" key as the object's type.
        expect(JSON.stringify(c)).toBe(JSON.stringify(structuredClone(v)));
        const src = containers(v);
        for (const o of containers(c)) {
          expect(src.has(o)).toBe(false);
          expect(Object.getPrototypeOf(o)).toBe(Array.isArray(o) ? Array.prototype : Object.prototype);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps __proto__ as an own data key and leaves the prototype alone', () => {
    const v = JSON.parse('{"__proto__":{"polluted":true},"a":[{"__proto__":1}]}');
    const c = cloneJson(v);
    expect(Object.getPrototypeOf(c)).toBe(Object.prototype);
    expect(Object.keys(c)).toEqual(['__proto__', 'a']);
    expect((c as any).polluted).toBeUndefined();
    expect(({} as any).polluted).toBeUndefined();
    expect(JSON.stringify(c)).toBe(JSON.stringify(v));
  });
});
