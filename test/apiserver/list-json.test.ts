// A list's JSON with the parts stored objects share serialized once (storedObjectJson): always the
// text JSON.stringify gives, whatever the members, their order, their values or how parts repeat.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSharedPart, keptKeyTexts, Store, storedObjectJson, type Obj } from '../../src/apiserver/store';

const tricky = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toJSON', '1', '0', 'managedFields', 'metadata', 'ü\u2028"\\', ''));
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    tricky,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(tricky, tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** As JSON.parse makes them: an own "__proto__" member stays a member. */
const parsed = <T>(v: T): T => JSON.parse(JSON.stringify(v));

describe('storedObjectJson', () => {
  it('is JSON.stringify of the stored object, with shared specs, statuses and managedFields entries among them', () => {
    let sharedSeen = 0;
    fc.assert(
      fc.property(
        // A few parts, each taken by several objects: what the store's interner shares.
        fc.array(json, { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ spec: fc.nat(), status: fc.nat(), entries: fc.array(fc.nat(), { maxLength: 3 }), extra: fc.dictionary(tricky, json, { maxKeys: 2 }), labels: fc.option(fc.dictionary(tricky, fc.string(), { maxKeys: 2 })) }), { minLength: 1, maxLength: 8 }),
        (pool, shapes) => {
          const store = new Store();
          const stored: Obj[] = [];
          shapes.forEach((sh, i) => {
            const part = (n: number) => parsed(pool[n % pool.length]);
            const metadata: Record<string, unknown> = { name: `o-${i}`, namespace: 'acme', managedFields: sh.entries.map((n) => ({ manager: 'm', fieldsV1: part(n) })) };
            if (sh.labels) metadata.labels = sh.labels;
            const obj = parsed({ apiVersion: 'v1', kind: 'Thing', ...sh.extra, metadata, spec: part(sh.spec), status: part(sh.status) }) as Obj;
            const rv = store.rv + 1;
            const text = JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } });
            stored.push(store.put('things', obj, { text, rv }));
          });
          for (const obj of stored) {
            expect(storedObjectJson(obj)).toBe(JSON.stringify(obj));
            if ([obj.spec, obj.status, ...(obj.metadata.managedFields ?? [])].some((p) => p && typeof p === 'object' && isSharedPart(p))) sharedSeen++;
          }
        },
      ),
      { numRuns: 500 },
    );
    expect(sharedSeen).toBeGreaterThan(200);
  });

  it('keeps the JSON of short member names only: a client\'s long names are quoted each time, never kept', () => {
    const long = (i: number) => `${i}-${'x'.repeat(100_000)}`;
    storedObjectJson({ metadata: { name: 'warm' }, spec: {} } as Obj);
    const before = keptKeyTexts();
    for (let i = 0; i < 20; i++) {
      const obj = { [long(i)]: 1, metadata: { name: 'n', [long(i)]: 'v' }, spec: {} } as unknown as Obj;
      expect(storedObjectJson(obj)).toBe(JSON.stringify(obj));
    }
    expect(keptKeyTexts()).toBe(before);
  });

  it('leaves out what JSON.stringify leaves out, and keeps the order of integer-like names', () => {
    const obj = { b: 1, 1: 'one', a: undefined, metadata: { name: 'x', managedFields: [{ a: 1 }, undefined], f: () => 1 }, 0: [undefined] } as unknown as Obj;
    expect(storedObjectJson(obj)).toBe(JSON.stringify(obj));
    const withToJson = { metadata: { toJSON: () => 'meta' }, spec: { toJSON: () => ({ s: 1 }) } } as unknown as Obj;
    expect(storedObjectJson(withToJson)).toBe(JSON.stringify(withToJson));
  });
});
