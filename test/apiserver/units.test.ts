// Pure pieces of the API server: selectors, JSONPath, durations, structural schema handling,
// managed fields, patches, protobuf envelope decoding (the data dir: storage.test.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileJsonPath } from '../../src/apiserver/jsonpath';
import { fieldPaths, fromFieldsV1, serverSideApply, toFieldsV1, updateManagedFields } from '../../src/apiserver/managed';
import { mergePatch, mergePatchOwned, strategicMergePatch } from '../../src/apiserver/patch';
import { cloneJson } from '../../src/apiserver/clone';
import { stringifyWithMember } from '../../src/apiserver/api';
import { utf8Bytes } from '../../src/apiserver/http';
import { decodeK8sProtobuf } from '../../src/apiserver/protobuf';
import { sortVersions } from '../../src/apiserver/resources';
import { deepEqual } from '../../src/apiserver/validation';
import { scanJson } from '../../src/apiserver/jsonscan';
import { applyDefaults, causesFromAjv, compileValidator, fieldPath, listTypeCauses, prune } from '../../src/apiserver/schema';
import { parseFieldSelector, parseLabelSelector } from '../../src/apiserver/selectors';
import { humanDuration } from '../../src/apiserver/table';
import { Store } from '../../src/apiserver/store';

describe('label selectors', () => {
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['a=b', { a: 'b' }, true],
    ['a==b', { a: 'c' }, false],
    ['a!=b', {}, true],
    ['a!=b', { a: 'b' }, false],
    ['a in (x, y)', { a: 'y' }, true],
    ['a notin (x,y)', undefined, true],
    ['a notin (x,y)', { a: 'x' }, false],
    ['a', { a: '' }, true],
    ['!a', { a: '' }, false],
    ['a,b=c', { a: '1', b: 'c' }, true],
    ['n>3', { n: '4' }, true],
    ['n<3', { n: '4' }, false],
    ['example.com/tier=web', { 'example.com/tier': 'web' }, true],
  ];
  it.each(cases)('%s on %j is %s', (sel, labels, want) => {
    expect(parseLabelSelector(sel)!(labels)).toBe(want);
  });

  it('rejects malformed selectors with 400', () => {
    for (const bad of ['a=b c', 'in (x)', 'a=!b', '=b'])
      expect(() => parseLabelSelector(bad), bad).toThrow(expect.objectContaining({ code: 400 }));
  });

  it('treats an empty selector as match-all', () => {
    expect(parseLabelSelector('')).toBeUndefined();
  });

  it('equality and inequality on the same key are complements', () => {
    fc.assert(fc.property(fc.constantFrom('a', 'b', 'c'), fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }), (v, actual) => {
      const labels: Record<string, string> = actual === undefined ? {} : { k: actual };
      expect(parseLabelSelector(`k=${v}`)!(labels)).toBe(!parseLabelSelector(`k!=${v}`)!(labels));
    }));
  });
});

describe('field selectors', () => {
  it('matches supported fields and rejects others', () => {
    const supported = (f: string) => f === 'metadata.name' || f === 'involvedObject.kind';
    const m = parseFieldSelector('metadata.name=x,involvedObject.kind!=VM', supported)!.matcher;
    expect(m({ metadata: { name: 'x' }, involvedObject: { kind: 'Host' } })).toBe(true);
    expect(m({ metadata: { name: 'x' }, involvedObject: { kind: 'VM' } })).toBe(false);
    expect(() => parseFieldSelector('spec.x=1', supported)).toThrow('field label not supported: spec.x');
  });
});

describe('JSONPath for printer columns', () => {
  const obj = {
    status: { conditions: [{ type: 'Scheduled', status: 'True' }, { type: 'Ready', status: 'False' }], n: 3 },
    spec: { vnics: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] },
  };
  it.each([
    ['.status.conditions[?(@.type=="Ready")].status', ['False']],
    ['{.status.conditions[?(@.type!="Ready")].type}', ['Scheduled']],
    ['.spec.vnics[*].ip', ['10.0.0.1', '10.0.0.2']],
    ['.spec.vnics[1].ip', ['10.0.0.2']],
    ['.spec.vnics[-1].ip', ['10.0.0.2']],
    ['.status.n', [3]],
    ['.status.missing', []],
    ["['status']['n']", [3]],
  ])('%s', (expr, want) => {
    expect(compileJsonPath(expr)(obj)).toEqual(want);
  });
});

describe('humanDuration (apimachinery duration.HumanDuration)', () => {
  it.each([
    [-5000, '<invalid>'], [500, '0s'], [59_000, '59s'], [119_000, '119s'], [120_000, '2m'], [150_000, '2m30s'],
    [11 * 60_000, '11m'], [3 * 3600_000 + 5 * 60_000, '3h5m'], [9 * 3600_000, '9h'], [50 * 3600_000, '2d2h'],
    [30 * 86400_000, '30d'], [3 * 365 * 86400_000, '3y'],
  ])('%i ms -> %s', (ms, want) => expect(humanDuration(ms)).toBe(want));
});

describe('structural schema: prune, default, validate', () => {
  const schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        required: ['items'],
        properties: {
          mode: { type: 'string', enum: ['On', 'Off'], default: 'On' },
          items: {
            type: 'array', minItems: 1,
            items: { type: 'object', properties: { ip: { type: 'string', pattern: '^\\d+\\.\\d+$' }, port: { type: 'integer', default: 80, maximum: 100 } } },
          },
          free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          map: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
      status: { type: 'object', properties: { phase: { type: 'string' } } },
    },
  };

  it('prunes unknown fields at every level but keeps preserved and additionalProperties', () => {
    const o: any = { apiVersion: 'v', kind: 'K', metadata: { name: 'x', junk: 1 }, spec: { items: [{ ip: '1.2', extra: 1 }], free: { any: { thing: 1 } }, map: { k: 'v' }, nope: 1 }, top: 1 };
    expect(prune(o, schema).sort()).toEqual(['metadata.junk', 'spec.items[0].extra', 'spec.nope', 'top']);
    expect(o).toEqual({ apiVersion: 'v', kind: 'K', metadata: { name: 'x' }, spec: { items: [{ ip: '1.2' }], free: { any: { thing: 1 } }, map: { k: 'v' } } });
  });

  it('prunes fields named like Object methods: only declared properties are known', () => {
    const o: any = { apiVersion: 'v', kind: 'K', metadata: { name: 'x' }, spec: { constructor: 'x', toString: { a: 1 }, items: [{ ip: '1.2', hasOwnProperty: 1 }] }, valueOf: 2 };
    expect(prune(o, schema).sort()).toEqual(['spec.constructor', 'spec.items[0].hasOwnProperty', 'spec.toString', 'valueOf']);
    expect(o).toEqual({ apiVersion: 'v', kind: 'K', metadata: { name: 'x' }, spec: { items: [{ ip: '1.2' }] } });
  });

  it('prunes as the walk it replaced (path text built for every value), over random schemas and objects', () => {
    // The previous pruneValue, kept as the oracle: it built each value's path text on the way down.
    const isObj = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);
    const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
    const oldValue = (value: unknown, sch: any, path: string, unknown: string[]): void => {
      if (Array.isArray(value)) {
        if (sch.items) value.forEach((item, i) => oldValue(item, sch.items, `${path}[${i}]`, unknown));
        return;
      }
      if (!isObj(value)) return;
      if (sch['x-kubernetes-embedded-resource']) {
        prune(value, sch);
        return;
      }
      const addl = sch.additionalProperties;
      const preserve = sch['x-kubernetes-preserve-unknown-fields'] === true;
      if (!sch.properties && addl === undefined && preserve) return;
      for (const key of Object.keys(value)) {
        const sub = (sch.properties && Object.hasOwn(sch.properties, key) ? sch.properties[key] : undefined) ?? (isObj(addl) ? addl : undefined);
        if (sub) oldValue(value[key], sub, join(path, key), unknown);
        else if (!(preserve || addl === true)) {
          delete value[key];
          unknown.push(join(path, key));
        }
      }
    };
    const oldPrune = (obj: Record<string, any>, sch: any): string[] => {
      const unknown: string[] = [];
      for (const key of Object.keys(obj)) {
        if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue;
        const sub = sch.properties && Object.hasOwn(sch.properties, key) ? sch.properties[key] : undefined;
        if (sub) oldValue(obj[key], sub, key, unknown);
        else if (!sch['x-kubernetes-preserve-unknown-fields']) {
          delete obj[key];
          unknown.push(key);
        }
      }
      return unknown;
    };
    const key = fc.constantFrom('a', 'b', '', 'c.d', 'items');
    const { node } = fc.letrec<{ node: any }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant({}),
        fc.record({ type: fc.constant('array'), items: tie('node') }),
        fc.record(
          {
            type: fc.constant('object'),
            properties: fc.dictionary(key, tie('node'), { maxKeys: 3 }),
            additionalProperties: fc.oneof(fc.constant(true), fc.constant(false), tie('node')),
            'x-kubernetes-preserve-unknown-fields': fc.boolean(),
            'x-kubernetes-embedded-resource': fc.boolean(),
          },
          { requiredKeys: ['type'] },
        ),
      ),
    }));
    const value = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.constantFrom(1, 'x', null, true), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(key, tie('v'), { maxKeys: 4 })),
    })).v;
    fc.assert(
      fc.property(fc.dictionary(key, node, { maxKeys: 3 }), fc.boolean(), fc.dictionary(key, value, { maxKeys: 4 }), (properties, preserve, body) => {
        const sch = { type: 'object', properties, ...(preserve ? { 'x-kubernetes-preserve-unknown-fields': true } : {}) };
        const a = structuredClone(body);
        const b = structuredClone(body);
        expect(prune(a, sch)).toEqual(oldPrune(b, sch));
        expect(a).toEqual(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('applies defaults inside existing objects and list items only', () => {
    const o: any = { spec: { items: [{ ip: '1.2' }, { ip: '3.4', port: 8 }] } };
    applyDefaults(o, schema);
    expect(o.spec).toEqual({ mode: 'On', items: [{ ip: '1.2', port: 80 }, { ip: '3.4', port: 8 }] });
    const empty: any = {};
    applyDefaults(empty, schema);
    expect(empty).toEqual({});
  });

  it('reports each invalid field with kube-openapi wording', () => {
    const v = compileValidator(schema);
    expect(v({ spec: { mode: 'Maybe', items: [{ ip: 'x', port: 500 }, { port: 'a' }] } })).toBe(false);
    const causes = causesFromAjv(v.errors);
    const byField = Object.fromEntries(causes.map((c) => [c.field, c.message]));
    expect(byField['spec.mode']).toBe('Unsupported value: "Maybe": supported values: "On", "Off"');
    expect(byField['spec.items[0].ip']).toBe(`Invalid value: "x": spec.items[0].ip in body should match '^\\d+\\.\\d+$'`);
    expect(byField['spec.items[0].port']).toBe('Invalid value: 500: spec.items[0].port in body should be less than or equal to 100');
    expect(byField['spec.items[1].port']).toBe('Invalid value: "string": spec.items[1].port in body must be of type integer: "string"');
    v({ spec: {} });
    expect(causesFromAjv(v.errors)).toEqual([{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.items' }]);
  });

  it('map keys and schema keys named like Object members are data: list checks, map defaults and keywords see own keys only', () => {
    // Properties beside additionalProperties (not structural, which the server does not refuse): a map
    // key `constructor` took Object's constructor for its declared schema.
    const sets = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } } };
    expect(listTypeCauses({ constructor: ['x', 'x'], b: ['y', 'y'] }, sets).map((c) => c.field)).toEqual(['constructor[1]', 'b[1]']);
    const nested = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'object', properties: { n: { type: 'integer', default: 1 } } } };
    const o: any = { constructor: {}, b: {} };
    applyDefaults(o, nested);
    expect(o).toEqual({ constructor: { n: 1 }, b: { n: 1 } });
    // A `__proto__` key in a schema is an unknown keyword, not the prototype ajv reads keywords through.
    const v = compileValidator(JSON.parse('{"type":"object","properties":{"s":{"type":"string","__proto__":{"maxLength":1}}}}'));
    expect(v({ s: 'abc' })).toBe(true);
  });

  it('converts JSON pointers to kube field paths', () => {
    expect(fieldPath('/spec/vnics/0/ip')).toBe('spec.vnics[0].ip');
    expect(fieldPath('/metadata/labels/a~1b')).toBe('metadata.labels.a/b');
  });
});

describe('managed fields', () => {
  it('round-trips field sets through FieldsV1', () => {
    const paths = fieldPaths({ apiVersion: 'v', kind: 'K', metadata: { name: 'n', labels: { a: '1' } }, spec: { x: 1, y: { z: [1] } }, status: { s: 1 } }, 'main', true);
    expect(toFieldsV1(paths)).toEqual({ 'f:metadata': { 'f:labels': { 'f:a': {} } }, 'f:spec': { 'f:x': {}, 'f:y': { 'f:z': {} } } });
    expect(fromFieldsV1(toFieldsV1(paths))).toEqual(paths);
  });

  it('transfers ownership of changed fields on update', () => {
    const now = '2026-01-01T00:00:00Z';
    const a = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { x: '1', y: '1' } };
    const mf1 = updateManagedFields(undefined, a, 'alice', 'main', false, now)!;
    expect(mf1).toHaveLength(1);
    const b = { ...a, metadata: { ...a.metadata, managedFields: mf1 }, data: { x: '2', y: '1' } };
    const mf2 = updateManagedFields(b as any, { ...b, data: { x: '2', y: '1', z: '3' } }, 'bob', 'main', false, now)!;
    const bob = mf2.find((m) => m.manager === 'bob')!;
    expect(bob.fieldsV1).toEqual({ 'f:data': { 'f:z': {} } });
    const mf3 = updateManagedFields({ ...b, metadata: { ...b.metadata, managedFields: mf2 } } as any, { ...b, data: { x: '9', y: '1', z: '3' } }, 'bob', 'main', false, now)!;
    expect(mf3.find((m) => m.manager === 'alice')!.fieldsV1).toEqual({ 'f:data': { 'f:y': {} } });
  });

  it('merges list-type=map lists per element and tracks element ownership', () => {
    const now = '2026-01-01T00:00:00Z';
    const schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            nics: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', properties: { name: { type: 'string' }, ip: { type: 'string' } } } },
          },
        },
      },
    };
    const cfg = (nics: object[]) => ({ apiVersion: 'x/v1', kind: 'K', metadata: { name: 'k' }, spec: { nics } });
    const a1 = serverSideApply(undefined, cfg([{ name: 'a', ip: '1' }]), 'alice', false, 'main', true, now, schema);
    const b1 = serverSideApply(a1, cfg([{ name: 'b', ip: '2' }]), 'bob', false, 'main', true, now, schema);
    expect(b1.spec.nics).toEqual([{ name: 'a', ip: '1' }, { name: 'b', ip: '2' }]);
    const bob = b1.metadata.managedFields.find((m: any) => m.manager === 'bob');
    expect(bob.fieldsV1).toEqual({ 'f:spec': { 'f:nics': { 'k:{"name":"b"}': { 'f:name': {}, 'f:ip': {} } } } });
    expect(() => serverSideApply(b1, cfg([{ name: 'b', ip: '9' }]), 'alice', false, 'main', true, now, schema)).toThrow(/conflict with "bob".*\.spec\.nics/);
    const a2 = serverSideApply(b1, cfg([]), 'alice', false, 'main', true, now, schema);
    expect(a2.spec.nics).toEqual([{ name: 'b', ip: '2' }]);
  });

  it('removes fields an applier stops applying, keeps fields others own', () => {
    const now = '2026-01-01T00:00:00Z';
    const cfg1 = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1', b: '2' } };
    const live1 = serverSideApply(undefined, cfg1, 'm', false, 'main', false, now);
    const live2 = serverSideApply(live1, { ...cfg1, data: { a: '1' } }, 'm', false, 'main', false, now);
    expect(live2.data).toEqual({ a: '1' });
  });
});

describe('patches', () => {
  it('merge patch follows RFC 7386', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1] }, { b: { c: null, e: 4 }, l: [2], n: null })).toEqual({ a: 1, b: { d: 3, e: 4 }, l: [2] });
  });

  /** Every object and array reachable from v. */
  const parts = (v: unknown, into = new Set<object>()): Set<object> => {
    if (v !== null && typeof v === 'object') {
      into.add(v);
      for (const x of Object.values(v)) parts(x, into);
    }
    return into;
  };
  const json = fc.jsonValue({ maxDepth: 4 });
  const object = fc.dictionary(fc.oneof(fc.constantFrom('a', 'b', 'spec', 'status', '__proto__'), fc.string({ maxLength: 3 })), json, { maxKeys: 5 });
  // A patch mixes nulls (deletions), nested objects (merged) and anything else (replaced).
  const patchOf: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
    patch: fc.dictionary(fc.oneof(fc.constantFrom('a', 'b', 'spec', 'status', '__proto__'), fc.string({ maxLength: 3 })), fc.oneof(fc.constant(null), json, tie('patch')), { maxKeys: 5 }),
  })).patch as fc.Arbitrary<Record<string, unknown>>;

  it('mergePatchOwned is mergePatch on a copy, key order included, and shares nothing with the stored object', () => {
    fc.assert(fc.property(object, patchOf, (stored, patch) => {
      const storedBefore = JSON.stringify(stored);
      const expected = JSON.stringify(mergePatch(cloneJson(stored), cloneJson(patch)));
      const got = mergePatchOwned(stored, cloneJson(patch));
      expect(JSON.stringify(got)).toBe(expected);
      expect(JSON.stringify(stored)).toBe(storedBefore);
      const storedParts = parts(stored);
      for (const p of parts(got)) expect(storedParts.has(p)).toBe(false);
    }));
  });

  it('mergePatchOwned takes what the patch sets as it is, copying only what it keeps', () => {
    const programs = [{ id: 'p1' }];
    const stored = { metadata: { name: 'h' }, spec: { programs: [{ id: 'old' }], hash: 'a', keep: { x: 1 } } };
    const got = mergePatchOwned(stored, { spec: { programs, hash: 'b' } }) as typeof stored;
    expect(got.spec.programs).toBe(programs);
    expect(got.spec.keep).toEqual({ x: 1 });
    expect(got.spec.keep).not.toBe(stored.spec.keep);
  });

  it('stringifyWithMember is JSON.stringify with one member already serialized', () => {
    fc.assert(fc.property(object, fc.constantFrom('spec', 'a', 'missing'), (obj, member) => {
      expect(stringifyWithMember(obj, member, JSON.stringify(obj[member]))).toBe(JSON.stringify(obj));
    }));
    expect(stringifyWithMember({ a: undefined, spec: 1 }, 'spec', '1')).toBe('{"spec":1}');
    expect(stringifyWithMember({}, 'spec', 'x')).toBe('{}');
  });

  it('strategic merge patch approximation honours kubectl directives', () => {
    const cur = { metadata: { labels: { a: '1' } }, spec: { finalizers: ['x', 'y'] }, rules: [{ name: 'r1', v: 1 }, { name: 'r2', v: 2 }] };
    const patched = strategicMergePatch(cur, {
      metadata: { labels: { b: '2' } }, '$setElementOrder/rules': [{ name: 'r1' }], '$deleteFromPrimitiveList/spec': [],
      rules: [{ name: 'r2', $patch: 'delete' }, { name: 'r1', v: 9 }],
    });
    expect(patched).toEqual({ metadata: { labels: { a: '1', b: '2' } }, spec: { finalizers: ['x', 'y'] }, rules: [{ name: 'r1', v: 9 }] });
  });
});

describe('protobuf envelope', () => {
  // Bytes of `kubectl create namespace demo` (k8s\0 + runtime.Unknown{typeMeta, raw=Namespace}).
  const enc = (field: number, payload: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2, payload.length]), payload]);
  it('decodes a Namespace body as kubectl sends it', () => {
    const meta = enc(1, Buffer.from('demo'));
    const ns = Buffer.concat([enc(1, meta), enc(2, Buffer.alloc(0)), enc(3, Buffer.alloc(0))]);
    const typeMeta = Buffer.concat([enc(1, Buffer.from('v1')), enc(2, Buffer.from('Namespace'))]);
    const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), enc(1, typeMeta), enc(2, ns), enc(3, Buffer.alloc(0)), enc(4, Buffer.alloc(0))]);
    expect(decodeK8sProtobuf(body)).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' }, spec: {} });
  });
  it('rejects bodies without the envelope with 415', () => {
    expect(() => decodeK8sProtobuf(Buffer.from('{}'))).toThrow(expect.objectContaining({ code: 415 }));
  });
});

describe('versions and WAL', () => {
  it('orders versions the way discovery prefers them', () => {
    expect(sortVersions(['v1alpha1', 'v2', 'v1beta1', 'v1', 'v1beta2'])).toEqual(['v2', 'v1', 'v1beta2', 'v1beta1', 'v1alpha1']);
  });

  it('bounds watch history by count and by bytes; evicted versions are too old to resume from', () => {
    const store = new Store(1000, 10_000);
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 30; i++) store.put('/configmaps', { metadata: { name: `c${i}`, namespace: 'd' }, data: { big } });
    const r = store.res('/configmaps');
    expect(r.history.length).toBeLessThan(10);
    expect(r.eventsAfter(1)).toBeUndefined();
    expect(r.eventsAfter(store.rv - 1)!.map((e) => e.rv)).toEqual([store.rv]);
    const small = new Store(5);
    for (let i = 0; i < 20; i++) small.put('/configmaps', { metadata: { name: 'c', namespace: 'd' }, data: { i: String(i) } });
    expect(small.res('/configmaps').history.length).toBeLessThanOrEqual(6);
    expect(small.res('/configmaps').eventsAfter(small.rv - 3)).toHaveLength(3);
  });
});

describe('deepEqual (validation.ts): order-free JSON equality without allocating', () => {
  // The definition it replaced, kept as the oracle: own keys with a value, any order, arrays in order.
  const oracle = (a: unknown, b: unknown): boolean => {
    if (a === b) return true;
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => oracle(x, (b as unknown[])[i]));
    const ka = Object.keys(a).filter((k) => (a as any)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as any)[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && oracle((a as any)[k], (b as any)[k]));
  };
  const reorder = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(reorder) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)])) : v;

  it('agrees with the oracle on arbitrary JSON, on reordered copies and on near misses', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(deepEqual(a, b)).toBe(oracle(a, b));
        expect(deepEqual(a, reorder(structuredClone(a)))).toBe(true);
        expect(deepEqual({ x: a, y: 1 }, { x: a, y: 2 })).toBe(false);
        expect(deepEqual([a, b], [a, b])).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('treats undefined members as absent and only own members of either side as present', () => {
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(true);
    expect(deepEqual({ a: undefined }, { b: undefined })).toBe(true);
    expect(deepEqual(JSON.parse('{"__proto__":{}}'), { x: {} })).toBe(false);
    expect(deepEqual({ x: {} }, JSON.parse('{"__proto__":{}}'))).toBe(false);
    expect(deepEqual(JSON.parse('{"__proto__":{"a":1}}'), JSON.parse('{"__proto__":{"a":1}}'))).toBe(true);
    expect(deepEqual([1, { a: [2] }], [1, { a: [3] }])).toBe(false);
    expect(deepEqual({ a: null }, { a: {} })).toBe(false);
    expect(deepEqual([], {})).toBe(false);
  });
});

describe('schema walks skip subtrees that cannot matter', () => {
  // Deep list types and defaults, next to a large subtree with neither (like a HostFilter spec).
  const schema = {
    type: 'object',
    properties: {
      spec: { type: 'object', properties: { rules: { type: 'array', items: { type: 'object', properties: { cidr: { type: 'string' }, ports: { type: 'array', items: { type: 'integer' } } } } } } },
      status: {
        type: 'object',
        properties: {
          conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object', properties: { type: { type: 'string' }, n: { type: 'integer', default: 0 } } } },
          byHost: { type: 'object', additionalProperties: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } } },
        },
      },
    },
  };

  it('still finds duplicates and fills defaults below, and nothing in the subtree without them', () => {
    const spec = { rules: [{ cidr: '10.0.0.0/8', ports: [1, 1] }, { cidr: '10.0.0.0/8', ports: [1, 1] }] };
    const o: any = { spec, status: { conditions: [{ type: 'A' }, { type: 'A', n: 2 }], byHost: { h: ['x', 'x'] } } };
    expect(listTypeCauses(o, schema).map((c) => c.field)).toEqual(['status.conditions[1]', 'status.byHost.h[1]']);
    applyDefaults(o, schema);
    expect(o.status.conditions).toEqual([{ type: 'A', n: 0 }, { type: 'A', n: 2 }]);
    expect(o.spec).toEqual({ rules: [{ cidr: '10.0.0.0/8', ports: [1, 1] }, { cidr: '10.0.0.0/8', ports: [1, 1] }] });
    expect(listTypeCauses(spec, schema.properties.spec)).toEqual([]);
  });

  it('a pattern answers the same for a value seen before (its answers are remembered)', () => {
    const v = compileValidator({ type: 'object', properties: { ip: { type: 'string', pattern: '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$' } } });
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.string({ maxLength: 20 })), (ip) => {
        const first = v({ ip });
        expect(v({ ip })).toBe(first);
        expect(first).toBe(/^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/u.test(ip));
      }),
      { numRuns: 300 },
    );
  });
});

describe('scanJson: depth and duplicate keys in one pass', () => {
  // The char-by-char scanner it replaced, kept as the oracle.
  const oracle = (text: string) => {
    const keys: (Set<string> | null)[] = [];
    const path: string[] = [];
    let depth = 0;
    let max = 0;
    const duplicates: string[] = [];
    let expectKey = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        let j = i + 1;
        let escaped = false;
        for (; j < text.length; j++) {
          const d = text.charCodeAt(j);
          if (d === 0x5c) {
            j++;
            escaped = true;
          } else if (d === 0x22) break;
        }
        if (keys.length > 0 && keys[keys.length - 1] !== null && expectKey) {
          let key = text.slice(i + 1, j);
          if (escaped) {
            try {
              key = JSON.parse(text.slice(i, j + 1)) as string;
            } catch {
              /* as written */
            }
          }
          const set = keys[keys.length - 1]!;
          if (set.has(key)) duplicates.push([...path.slice(0, -1), key].join('.'));
          set.add(key);
          path[path.length - 1] = key;
          expectKey = false;
        }
        i = j;
      } else if (c === 0x7b || c === 0x5b) {
        depth++;
        if (depth > max) max = depth;
        keys.push(c === 0x7b ? new Set() : null);
        path.push('');
        expectKey = c === 0x7b;
      } else if (c === 0x7d || c === 0x5d) {
        depth--;
        keys.pop();
        path.pop();
      } else if (c === 0x2c) expectKey = keys.length > 0 && keys[keys.length - 1] !== null;
    }
    return { depth: max, duplicates };
  };
  // JSON texts whose objects may repeat a key, written plainly or escaped ("\u0061" is "a"), with
  // quotes and backslashes inside strings; objects of up to 40 members (past the scanner's switch to a Set).
  const key = fc.constantFrom('a', 'b', '\\u0061', 'a\\"b', 'c\\\\', 'x\\\\\\"y', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'k10', 'k11', 'k12', 'k13', 'k14', 'k15', 'k16', 'k17');
  const { text } = fc.letrec<{ text: string }>((tie) => ({
    text: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom('1', 'null', '"s"', '"q\\"uote"', '"\\\\"', '"[{"'),
      fc.array(tie('text'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
      fc.array(fc.tuple(key, tie('text')), { maxLength: 40 }).map((ms) => `{${ms.map(([k, v]) => `"${k}":${v}`).join(',')}}`),
    ),
  }));

  it('finds what the char-by-char scan found, on texts with repeated, escaped and many keys', () => {
    fc.assert(
      fc.property(text, (t) => {
        expect(scanJson(t)).toEqual(oracle(t));
      }),
      { numRuns: 400 },
    );
  });

  it('names a duplicate by its path, escaped keys unescaped, and stops past the depth limit', () => {
    expect(scanJson('{"spec":{"a":1,"\\u0061":2}}').duplicates).toEqual(['spec.a']);
    expect(scanJson('{"a\\"":1,"a\\"":2}').duplicates).toEqual(['a"']);
    expect(scanJson('[[[[1]]]]', 3).depth).toBe(4);
    expect(scanJson('{"s":"}]\\\\","t":1,"t":2}').duplicates).toEqual(['t']);
  });
});

describe('utf8Bytes', () => {
  it('is Buffer.from of the joined texts when no surrogate pair is split between them (lone surrogates, non-ASCII, large texts)', () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constant(''), fc.constant('\ud800'), fc.constant('x'.repeat(5000) + 'é'));
    fc.assert(
      // Each text is encoded on its own: a surrogate pair split between two texts is two lone halves.
      fc.property(fc.array(text, { maxLength: 4 }).filter((ts) => ts.every((t, i) => i === 0 || !(/[\ud800-\udbff]$/.test(ts[i - 1]!) && /^[\udc00-\udfff]/.test(t)))), (texts) => {
        expect(utf8Bytes(...texts).equals(Buffer.from(texts.join('')))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
