// Interning repeated strings of cached objects: values never change, the table stays bounded; and the
// spec of an unchanged generation is shared with the older version.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { internCommonStrings, StringInterner } from '../../src/runtime/intern';
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
  const obj = (generation: number | undefined, spec: unknown) => ({ metadata: { generation }, spec });
  it.each([
    ['same generation: shared', 3, 3, true],
    ['spec changed (generation moved): not shared', 3, 4, false],
    ['no generation (a server that does not set it): not shared', undefined, undefined, false],
  ])('%s', (_name, g0, g1, shared) => {
    const old = obj(g0, { tags: ['a'] });
    const now = obj(g1, { tags: ['a'] });
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
