// partsJson (the store's serializer) against JSON.stringify: same text for any JSON object, whatever
// parts are frozen (shared), however often they were met before, and with a member given as text.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keepTextOf, partsJson } from '../../src/apiserver/parts-json';
import { TreeInterner } from '../../src/util/tree-intern';

const keys = fc.oneof(fc.constantFrom('metadata', 'spec', 'status', 'managedFields', 'labels', '__proto__', '1', 'a"b'), fc.string({ maxLength: 4 }));
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null), fc.boolean(), fc.double(), fc.string({ maxLength: 6 }), fc.constant(undefined),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(keys, tie('v'), { maxKeys: 4 }),
  ),
})).v;
const object = fc.dictionary(keys, value, { maxKeys: 6 });
/** An object with a metadata object and parts to share (or not). */
const stored = fc.record({ top: object, metadata: object, spec: value, status: value });

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const c of Object.values(v)) deepFreeze(c);
    Object.freeze(v);
  }
  return v;
}

/** Frozen and known to be shared, as the store's interner leaves a part several objects hold. */
function share<T>(v: T): T {
  if (v !== null && typeof v === 'object') keepTextOf(deepFreeze(v));
  return v;
}

describe('partsJson', () => {
  it('is JSON.stringify for any object, met once or many times, its parts frozen or not', () => {
    fc.assert(
      fc.property(fc.array(stored, { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (parts, freeze) => {
        // Several objects sharing the same spec, status and metadata members (as the store's interner makes them).
        const objects = parts.map((p, i) => {
          const o: Record<string, unknown> = { ...p.top, metadata: { ...p.metadata, labels: parts[0]!.metadata }, spec: parts[0]!.spec, status: p.status };
          if (freeze[i % 8]) share(parts[0]!.spec);
          if (freeze[(i + 3) % 8]) share(parts[0]!.metadata);
          if (freeze[(i + 5) % 8]) deepFreeze(p.status);
          return o;
        });
        for (let round = 0; round < 3; round++) for (const o of objects) expect(partsJson(o)).toBe(JSON.stringify(o));
      }),
    );
  });

  it('reads a part that is not frozen afresh each time (only frozen parts cannot change)', () => {
    const spec: Record<string, unknown> = { x: 1 };
    keepTextOf(spec);
    const o = { metadata: { name: 'a' }, spec };
    for (let round = 0; round < 3; round++) {
      spec.x = round;
      expect(partsJson(o)).toBe(`{"metadata":{"name":"a"},"spec":{"x":${round}}}`);
    }
  });

  it('takes a given member as text, and leaves it out when the object has none', () => {
    fc.assert(
      fc.property(object, fc.constantFrom('spec', 'a', 'missing'), (obj, member) => {
        const text = JSON.stringify(obj[member]);
        if (text === undefined) return;
        expect(partsJson(obj, { member, text })).toBe(JSON.stringify(obj));
      }),
    );
    expect(partsJson({ a: undefined, spec: 1 }, { member: 'spec', text: '1' })).toBe('{"spec":1}');
    expect(partsJson({}, { member: 'spec', text: 'x' })).toBe('{}');
  });

  it('serializes stored objects whose parts the store shared exactly as before', () => {
    const trees = new TreeInterner();
    const mf = (t: string) => [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: t, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:x': {} } } }];
    const objs = [1, 2, 3].map((i) => ({
      apiVersion: 'vmsafe.io/v1alpha1',
      kind: 'Tag',
      metadata: { name: `t${i}`, resourceVersion: String(i), managedFields: mf(i < 3 ? 'T1' : 'T2'), labels: { a: 'b' } },
      spec: { x: i % 2 },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    }));
    const shared: object[] = [];
    for (const o of objs) trees.shareParts(o, (p) => (shared.push(p), keepTextOf(p)));
    expect(objs[0]!.metadata.managedFields).toBe(objs[1]!.metadata.managedFields);
    // Found again: t2's managedFields, labels and status, t3's labels, spec (t1's) and status.
    expect(shared).toEqual([objs[0]!.status, objs[0]!.metadata.labels, objs[0]!.metadata.managedFields, objs[0]!.spec, objs[0]!.status, objs[0]!.metadata.labels]);
    expect(Object.isFrozen(objs[0]!.spec)).toBe(true);
    for (let round = 0; round < 3; round++) for (const o of objs) expect(partsJson(o)).toBe(JSON.stringify(o));
  });

  it('leaves arrays and objects with toJSON to JSON.stringify', () => {
    const arr = [1, { a: 2 }] as unknown as Record<string, unknown>;
    expect(partsJson(arr)).toBe('[1,{"a":2}]');
    const withToJson = { a: 1, toJSON: () => ({ b: 2 }) };
    expect(partsJson(withToJson)).toBe('{"b":2}');
  });
});
