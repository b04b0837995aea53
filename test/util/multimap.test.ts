// SetMultimap against the plain Map<K, Set<V>> it replaces: same members, counts and insertion order
// through every representation (one value, a short array, a Set), and no key left without values.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SetMultimap, SmallSet } from '../../src/util/multimap';

describe('SetMultimap', () => {
  it('keeps one value as itself, a few in order, many in a Set, and drops empty keys', () => {
    const m = new SetMultimap<string, string>();
    expect(m.add('ns', 'a')).toBe(true);
    expect(m.add('ns', 'a')).toBe(false);
    expect([...m.get('ns')]).toEqual(['a']);
    for (let i = 0; i < 12; i++) m.add('ns', `v${i}`);
    expect(m.count('ns')).toBe(13);
    expect([...m.get('ns')].slice(0, 3)).toEqual(['a', 'v0', 'v1']);
    expect(m.has('ns', 'v11')).toBe(true);
    for (let i = 0; i < 12; i++) expect(m.delete('ns', `v${i}`)).toBe(true);
    expect(m.delete('ns', 'v0')).toBe(false);
    expect([...m.get('ns')]).toEqual(['a']);
    expect(m.delete('ns', 'a')).toBe(true);
    expect(m.size).toBe(0);
    expect([...m.get('ns')]).toEqual([]);
    expect(m.count('ns')).toBe(0);
  });

  it('holds object values by identity', () => {
    const m = new SetMultimap<number, { id: number }>();
    const a = { id: 1 };
    m.add(7, a);
    m.add(7, { id: 1 });
    expect(m.count(7)).toBe(2);
    expect(m.delete(7, a)).toBe(true);
    expect(m.has(7, a)).toBe(false);
    expect(m.count(7)).toBe(1);
  });

  it('matches Map<K, Set<V>> on random adds and deletes', () => {
    const op = fc.record({ add: fc.boolean(), k: fc.constantFrom('x', 'y'), v: fc.integer({ min: 0, max: 11 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 120, size: 'max' }), (ops) => {
        const m = new SetMultimap<string, number>();
        const model = new Map<string, Set<number>>();
        for (const o of ops) {
          const s = model.get(o.k) ?? new Set<number>();
          const want = o.add ? !s.has(o.v) : s.has(o.v);
          if (o.add) s.add(o.v);
          else s.delete(o.v);
          if (s.size > 0) model.set(o.k, s);
          else model.delete(o.k);
          expect(o.add ? m.add(o.k, o.v) : m.delete(o.k, o.v)).toBe(want);
          for (const k of ['x', 'y']) {
            expect([...m.get(k)]).toEqual([...(model.get(k) ?? [])]);
            expect(m.count(k)).toBe(model.get(k)?.size ?? 0);
            expect(m.has(k, o.v)).toBe(model.get(k)?.has(o.v) ?? false);
          }
          expect([...m.keys()].sort()).toEqual([...model.keys()].sort());
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('SmallSet', () => {
  it('adds once, deletes what it has, and iterates in insertion order through every form', () => {
    const s = new SmallSet<string>();
    expect([...s]).toEqual([]);
    s.add('a');
    s.add('a');
    expect(s.size).toBe(1);
    for (let i = 0; i < 10; i++) s.add(`v${i}`);
    expect(s.size).toBe(11);
    expect([...s].slice(0, 2)).toEqual(['a', 'v0']);
    expect(s.delete('nope')).toBe(false);
    for (let i = 0; i < 10; i++) expect(s.delete(`v${i}`)).toBe(true);
    expect([...s]).toEqual(['a']);
    expect(s.has('a')).toBe(true);
    expect(s.delete('a')).toBe(true);
    expect(s.size).toBe(0);
  });
});
