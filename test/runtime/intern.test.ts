// Interning repeated strings of cached objects: values never change, the table stays bounded; and the
// spec of an unchanged generation is shared with the older version.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { internCommonStrings, StringInterner } from '../../src/runtime/intern';
import { TreeInterner } from '../../src/util/tree-intern';
import { shareUnchangedSpec } from '../../src/runtime/informer';

describe('internCommonStrings', () => {
  it('leaves every object deep-equal to what it was', () => {
    const condition = fc.record({ type: fc.string(), status: fc.constantFrom('True', 'False', 'Unknown'), reason: fc.string(), message: fc.string(), lastTransitionTime: fc.string() }, { requiredKeys: ['type'] });
    const obj = fc.record({
      apiVersion: fc.oneof(fc.string(), fc.integer()),
      kind: fc.string(),
      metadata: fc.record({ name: fc.string(), namespace: fc.oneof(fc.string(), fc.constant(null)), creationTimestamp: fc.string() }, { requiredKeys: ['name'] }),
      status: fc.oneof(fc.constant(undefined), fc.record({
        phase: fc.string(),
        conditions: fc.oneof(fc.array(condition), fc.constant('x')),
        warnings: fc.oneof(fc.array(fc.oneof(fc.string(), fc.integer())), fc.constant(7)),
      }, { requiredKeys: [] })),
    }, { requiredKeys: ['metadata'] });
    const interner = new StringInterner();
    fc.assert(
      fc.property(obj, (o) => {
        const copy = structuredClone(o);
        internCommonStrings(o as Record<string, unknown>, interner);
        expect(o).toEqual(copy);
      }),
    );
  });

  it('leaves a frozen (shared, interned before) status alone and still interns the rest', () => {
    const interner = new StringInterner();
    const first = { apiVersion: 'v1', metadata: { namespace: 'a' } };
    internCommonStrings(first, interner);
    const status = Object.freeze({ phase: 'Running', conditions: Object.freeze([Object.freeze({ type: 'Ready' })]) });
    const o = { apiVersion: ['v', '1'].join(''), metadata: { namespace: 'a' }, status };
    expect(() => internCommonStrings(o, interner)).not.toThrow();
    expect(o.status).toBe(status);
    expect(o.apiVersion).toBe('v1');
  });

  it('keeps one entry per distinct value, and starts over past its limit', () => {
    const interner = new StringInterner();
    const a = {
      apiVersion: 'vmsafe.io/v1alpha1', kind: 'VM', metadata: { name: 'vm-1', namespace: 'tenant-1', creationTimestamp: '2026-12-05T16:42:55Z' },
      status: { phase: 'Running', warnings: ['w'], conditions: [{ type: 'Ready', status: 'True' }] },
    };
    internCommonStrings(a, interner);
    internCommonStrings(structuredClone(a), interner);
    expect(interner.size).toBe(8); // apiVersion, kind, namespace, creationTimestamp, phase, warning, type, status (not the name)
    for (let i = 0; i < 100_000; i++) interner.intern(`t${i}`);
    expect(interner.size).toBeLessThanOrEqual(100_000);
    expect(interner.intern('vmsafe.io/v1alpha1')).toBe('vmsafe.io/v1alpha1');
  });
});

describe('shareUnchangedSpec', () => {
  const obj = (generation: number | undefined, spec: unknown, uid = 'u1') => ({ metadata: { generation, uid }, spec });
  it.each([
    ['same generation: shared', 3, 3, 'u1', true],
    ['spec changed (generation moved): not shared', 3, 4, 'u1', false],
    ['no generation (a server that does not set it): not shared', undefined, undefined, 'u1', false],
    ['deleted and created again (same generation, new uid): not shared', 1, 1, 'u2', false],
  ])('%s', (_name, g0, g1, uid, shared) => {
    const old = obj(g0, { tags: ['a'] });
    const now = obj(g1, { tags: ['a'] }, uid);
    shareUnchangedSpec(old, now);
    expect(now.spec === old.spec).toBe(shared);
  });
  it('no older version, or no spec: nothing to share', () => {
    const now = obj(1, { tags: [] });
    const spec = now.spec;
    shareUnchangedSpec(undefined, now);
    shareUnchangedSpec({ metadata: { generation: 1 } }, now);
    expect(now.spec).toBe(spec);
  });
});

describe('TreeInterner', () => {
  it('returns a value deep-equal to what it was given, for any JSON', () => {
    const trees = new TreeInterner();
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const ca = structuredClone(a), cb = structuredClone(b);
        expect(trees.intern(a)).toEqual(ca);
        expect(trees.intern(b)).toEqual(cb);
      }),
      { numRuns: 500 },
    );
  });

  it('gives equal subtrees one frozen instance, and keeps different ones apart', () => {
    const trees = new TreeInterner();
    const rule = () => ({ name: 'from-app', action: 'Allow', peers: [{ vms: { tags: ['app'] } }], ports: [{ protocol: 'TCP', port: 5432 }] });
    const a = trees.intern({ ingress: [rule()], egress: [] as unknown[] });
    const b = trees.intern({ ingress: [rule(), { ...rule(), name: 'other' }], egress: [] as unknown[] });
    expect(b.ingress[0]).toBe(a.ingress[0]);
    expect(b.ingress[1]!.peers).toBe(a.ingress[0]!.peers);
    expect(b.ingress[1]).not.toBe(a.ingress[0]);
    expect(b.egress).toBe(a.egress);
    expect(Object.isFrozen(a.ingress[0]!.ports[0])).toBe(true);
    expect(() => (a.ingress as unknown[]).push(1)).toThrow(TypeError);
    // Key order is part of the value (JSON bytes differ): not merged, still equal.
    const c = trees.intern({ port: 5432, protocol: 'TCP' });
    expect(c).not.toBe(a.ingress[0]!.ports[0]);
    expect(c).toEqual(a.ingress[0]!.ports[0]);
  });

  it('leaves a frozen value (already shared) as it is, and still shares its parent', () => {
    const trees = new TreeInterner();
    const tags = trees.intern(['web']);
    const p1 = trees.intern({ tags });
    const p2 = trees.intern({ tags: ['web'] });
    expect(p1.tags).toBe(tags);
    expect(p2).toBe(p1);
  });

  it('with trackShared, tells the nodes it handed out for more than one value (and only with it)', () => {
    const trees = new TreeInterner({ trackShared: true });
    const a = trees.intern({ spec: { ports: [{ port: 1 }] }, own: { uid: 'a' } });
    expect(trees.isShared(a.spec)).toBe(false); // one value holds it so far
    const b = trees.intern({ spec: { ports: [{ port: 1 }] }, own: { uid: 'b' } });
    expect(b.spec).toBe(a.spec);
    expect(trees.isShared(a.spec)).toBe(true);
    expect(trees.isShared(a.own)).toBe(false);
    expect(trees.isShared(b.own)).toBe(false);
    const untracked = new TreeInterner();
    const c = untracked.intern({ tags: ['x'] });
    expect(untracked.intern({ tags: ['x'] })).toBe(c);
    expect(untracked.isShared(c)).toBe(false);
  });

  it('keeps an own "__proto__" key (JSON.parse makes one) an own key: assigning it never sets a prototype', () => {
    const trees = new TreeInterner();
    const text = '{"spec":{"__proto__":{"tier":"Provider"},"x":1}}';
    trees.intern(JSON.parse('{"tier":"Provider"}'));
    for (let i = 0; i < 2; i++) {
      const o = JSON.parse(text);
      trees.shareParts(o);
      expect(Object.getPrototypeOf(o.spec)).toBe(Object.prototype);
      expect(o.spec.tier).toBeUndefined();
      expect(JSON.stringify(o)).toBe(text);
    }
  });
});
