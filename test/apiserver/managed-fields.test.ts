// updateManagedFields against a reference: the straightforward algorithm it replaced (every path of
// every entry checked against every changed path, values read by walking each path), run side by
// side over random sequences of writes by several managers, main and status.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldPaths, fromFieldsV1, toFieldsV1, updateManagedFields, type ManagedFieldsEntry } from '../../src/apiserver/managed';
import { deepEqual } from '../../src/apiserver/validation';

type Obj = Record<string, any>;
const SEP = '\u0000';
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Conditions are a list-map keyed by type; `items` an atomic list; `m` a granular map. */
const SCHEMA = {
  type: 'object',
  properties: {
    spec: { type: 'object', properties: { a: {}, m: { type: 'object', additionalProperties: {} }, items: { type: 'array' } } },
    status: {
      type: 'object',
      properties: {
        phase: {},
        m: { type: 'object', additionalProperties: {} },
        conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object', properties: { type: {}, status: {}, reason: {} } } },
      },
    },
  },
};

// ------------------------------------------------------------------ the reference (previous code)
function step(cur: any, seg: string): { parent: any; key: string | number } | undefined {
  if (seg.startsWith('f:')) return isObj(cur) ? { parent: cur, key: seg.slice(2) } : undefined;
  if (seg.startsWith('k:') && Array.isArray(cur)) {
    const want = JSON.parse(seg.slice(2)) as Obj;
    const i = cur.findIndex((it) => isObj(it) && Object.entries(want).every(([k, v]) => deepEqual(Object.hasOwn(it, k) ? it[k] : undefined, v)));
    return i >= 0 ? { parent: cur, key: i } : undefined;
  }
  return undefined;
}
function valueAt(obj: unknown, path: string): unknown {
  let cur: any = obj;
  for (const seg of path.split(SEP)) {
    const s = step(cur, seg);
    if (!s) return undefined;
    cur = Object.hasOwn(s.parent, s.key) ? s.parent[s.key] : undefined;
  }
  return cur;
}
const overlaps = (p: string, q: string) => p === q || p.startsWith(q + SEP) || q.startsWith(p + SEP);
const same = (e: ManagedFieldsEntry, m: string, sub: string | undefined) => e.manager === m && e.operation === 'Update' && (e.subresource ?? undefined) === sub;

function reference(oldObj: Obj | undefined, newObj: Obj, manager: string, scope: 'main' | 'status', now: string): ManagedFieldsEntry[] | undefined {
  const managed = oldObj?.metadata?.managedFields;
  const entries = (Array.isArray(managed) ? managed : [])
    .filter((m: unknown): m is ManagedFieldsEntry => isObj(m) && typeof m.manager === 'string')
    .map((e: ManagedFieldsEntry) => ({ e, paths: fromFieldsV1(e.fieldsV1), dirty: false }));
  const newPaths = fieldPaths(newObj, scope, true, SCHEMA);
  const oldPaths = oldObj ? fieldPaths(oldObj, scope, true, SCHEMA) : new Set<string>();
  const changed = [...newPaths].filter((p) => !oldPaths.has(p) || !deepEqual(valueAt(oldObj, p) as any, valueAt(newObj, p) as any));
  const removed = [...oldPaths].filter((p) => !newPaths.has(p));
  if (changed.length === 0 && removed.length === 0) return managed;
  const sub = scope === 'status' ? 'status' : undefined;
  for (const x of entries)
    for (const p of [...x.paths]) {
      if (removed.some((r) => overlaps(r, p)) && !newPaths.has(p)) {
        x.paths.delete(p);
        x.dirty = true;
      } else if (changed.some((c) => overlaps(c, p)) && !same(x.e, manager, sub)) {
        x.paths.delete(p);
        x.dirty = true;
      }
    }
  let mine = entries.find((x) => same(x.e, manager, sub));
  if (!mine) {
    const e: ManagedFieldsEntry = { manager, operation: 'Update', apiVersion: newObj.apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: {} };
    if (sub) e.subresource = sub;
    mine = { e, paths: new Set(), dirty: false };
    entries.push(mine);
  }
  mine.e = { ...mine.e, time: now, apiVersion: newObj.apiVersion };
  let pathsChanged = false;
  for (const p of [...mine.paths])
    if (changed.some((c) => overlaps(c, p) && c !== p)) {
      mine.paths.delete(p);
      pathsChanged = true;
    }
  for (const c of changed)
    if (!mine.paths.has(c)) {
      mine.paths.add(c);
      pathsChanged = true;
    }
  if (pathsChanged || !mine.e.fieldsV1 || Object.keys(mine.e.fieldsV1).length === 0) mine.dirty = true;
  const out = entries.filter((x) => x.paths.size > 0).map((x) => (x.dirty ? { ...x.e, fieldsV1: toFieldsV1(x.paths) } : x.e));
  return out.length ? out : undefined;
}

// ------------------------------------------------------------------ random writes
const scalar = fc.oneof(fc.constantFrom('x', 'y', ''), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.constant(null));
const smallMap = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'a.b'), fc.oneof(scalar, fc.dictionary(fc.constantFrom('p', 'q'), scalar, { maxKeys: 2 })), { maxKeys: 3 });
const condition = fc.record({ type: fc.constantFrom('Ready', 'Accepted', 'Realized'), status: fc.constantFrom('True', 'False'), reason: fc.option(fc.constantFrom('A', 'B'), { nil: undefined }) }, { requiredKeys: ['type', 'status'] });
const spec = fc.record({ a: scalar, m: smallMap, items: fc.array(scalar, { maxLength: 3 }) }, { requiredKeys: [] });
// Duplicate condition types on purpose: a leaf under a repeated list-map key is read as the first element's.
const status = fc.record({ phase: scalar, m: smallMap, conditions: fc.array(condition, { maxLength: 4 }) }, { requiredKeys: [] });
const write = fc.record({ manager: fc.constantFrom('alice', 'bob', 'vmsafe-operator'), scope: fc.constantFrom<'main' | 'status'>('main', 'status'), spec, status, labels: fc.option(smallMap, { nil: undefined }) });
/** Entries a client wrote itself: odd fieldsV1 included (null, a list, only "."). */
const odd = fc.array(
  fc.record({
    manager: fc.constantFrom('alice', 'kubectl'),
    operation: fc.constantFrom('Update', 'Apply'),
    apiVersion: fc.constant('t/v1'),
    time: fc.constant('2026-01-01T00:00:00Z'),
    fieldsType: fc.constant('FieldsV1'),
    fieldsV1: fc.oneof(fc.constant(null), fc.constant([]), fc.constant({ '.': {} }), fc.constant({ 'f:status': { 'f:phase': {} } }), fc.constant({ 'f:spec': { 'f:m': { 'f:a': {} } } })),
  }),
  { maxLength: 2 },
);

describe('updateManagedFields', () => {
  it('agrees with the reference over random sequences of writes', () => {
    fc.assert(
      fc.property(odd, fc.array(write, { minLength: 1, maxLength: 6 }), (start, writes) => {
        let cur: Obj = { apiVersion: 't/v1', kind: 'T', metadata: { name: 'n', ...(start.length ? { managedFields: start } : {}) } };
        writes.forEach((w, i) => {
          const next: Obj = structuredClone(cur);
          if (w.scope === 'main') {
            next.spec = w.spec;
            if (w.labels) next.metadata.labels = w.labels;
            else delete next.metadata.labels;
          } else next.status = w.status;
          const now = `2026-01-01T00:00:0${i}Z`;
          const want = reference(cur, next, w.manager, w.scope, now);
          const got = updateManagedFields(cur as any, next as any, w.manager, w.scope, true, now, SCHEMA);
          expect(got).toEqual(want);
          if (got) next.metadata.managedFields = got;
          else delete next.metadata.managedFields;
          cur = next;
        });
      }),
      { numRuns: 1000 },
    );
  });

  // Values the writer already owns alone are compared only when nothing else changed (outcomeIgnores):
  // one writer rewriting the same spec with an atomic list the same or changed, beside entries that
  // share its fields, name fields below them, or are its own duplicates.
  it('agrees with the reference when a writer rewrites values it may own alone', () => {
    const entry = (manager: string, fieldsV1: unknown, operation = 'Update', subresource?: string) =>
      ({ manager, operation, apiVersion: 't/v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1, ...(subresource ? { subresource } : {}) }) as ManagedFieldsEntry;
    const others = fc.array(
      fc.record({
        manager: fc.constantFrom('alice', 'vmsafe-operator'),
        operation: fc.constantFrom('Update', 'Apply'),
        subresource: fc.option(fc.constant('status'), { nil: undefined }),
        fieldsV1: fc.constantFrom<unknown>({ 'f:spec': { 'f:items': {} } }, { 'f:spec': { 'f:a': {} } }, { 'f:spec': { 'f:items': { 'f:x': {} } } }, { 'f:spec': {} }, { 'f:status': { 'f:phase': {} } }, null),
      }),
      { maxLength: 3 },
    );
    const owned = fc.constantFrom<unknown>({ 'f:spec': { 'f:a': {}, 'f:items': {} } }, { 'f:spec': { 'f:a': {} } }, { 'f:spec': { 'f:items': { 'f:x': {} } } }, { 'f:spec': {} });
    // Short lists of scalars are compared at once; lists of objects or of 16 items or more may wait.
    const items = fc.constantFrom<unknown[]>([1, 2], [{ x: 1 }], [{ x: 2 }], [{ x: 1 }, { x: 2 }], [], Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 17 }, (_, i) => i));
    const writes = fc.array(fc.record({ manager: fc.constantFrom('vmsafe-operator', 'vmsafe-operator', 'alice'), a: fc.constantFrom(1, 2), items }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(owned, others, items, writes, (mine, rest, first, ws) => {
        const managedFields = [entry('vmsafe-operator', mine), ...rest.map((r) => entry(r.manager, r.fieldsV1, r.operation, r.subresource))];
        let cur: Obj = { apiVersion: 't/v1', kind: 'T', metadata: { name: 'n', managedFields }, spec: { a: 1, items: structuredClone(first) } };
        ws.forEach((w, i) => {
          const next: Obj = structuredClone(cur);
          next.spec = { a: w.a, items: structuredClone(w.items) };
          const now = `2026-01-01T00:00:0${i + 1}Z`;
          const want = reference(cur, next, w.manager, 'main', now);
          const got = updateManagedFields(cur as any, next as any, w.manager, 'main', true, now, SCHEMA);
          expect(got).toEqual(want);
          if (got) next.metadata.managedFields = got;
          else delete next.metadata.managedFields;
          cur = next;
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves an entry with none of the written fields as it was (the same object)', () => {
    const creator: ManagedFieldsEntry = { manager: 'bench', operation: 'Update', apiVersion: 't/v1', time: 't0', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:a': {} } } };
    const old = { apiVersion: 't/v1', kind: 'T', metadata: { name: 'n', managedFields: [creator] }, spec: { a: 1 } };
    const mf = updateManagedFields(old as any, { ...old, status: { phase: 'Up' } } as any, 'op', 'status', true, 't1', SCHEMA)!;
    expect(mf[0]).toBe(creator);
    expect(mf[1]).toMatchObject({ manager: 'op', subresource: 'status', fieldsV1: { 'f:status': { 'f:phase': {} } } });
  });
});
