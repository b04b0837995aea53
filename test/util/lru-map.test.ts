// LruMap against the Map it replaces (delete + set to move an entry to the newest end, keys().next() for
// the oldest): the same entries in the same order after any sequence of operations, and a full table
// that keeps taking new keys holds exactly the newest ones.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LruMap } from '../../src/util/lru-map';

type Op = { op: 'set'; key: number; value: number } | { op: 'touch' | 'delete' | 'get'; key: number } | { op: 'deleteOldest' } | { op: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.nat(12), value: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('touch' as const, 'delete' as const, 'get' as const), key: fc.nat(12) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('deleteOldest' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

describe('LruMap', () => {
  it('orders entries like a Map that re-inserts on every set and touch (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const lru = new LruMap<number, number>();
        const model = new Map<number, number>();
        for (const o of ops) {
          switch (o.op) {
            case 'set':
              lru.set(o.key, o.value);
              model.delete(o.key);
              model.set(o.key, o.value);
              break;
            case 'touch': {
              const had = model.has(o.key);
              expect(lru.touch(o.key)).toBe(had);
              if (had) {
                const v = model.get(o.key)!;
                model.delete(o.key);
                model.set(o.key, v);
              }
              break;
            }
            case 'delete':
              expect(lru.delete(o.key)).toBe(model.delete(o.key));
              break;
            case 'get':
              expect(lru.get(o.key)).toBe(model.get(o.key));
              expect(lru.has(o.key)).toBe(model.has(o.key));
              break;
            case 'deleteOldest': {
              const first = model.keys().next();
              expect(lru.deleteOldest()).toBe(first.done ? undefined : first.value);
              if (!first.done) model.delete(first.value);
              break;
            }
            case 'clear':
              lru.clear();
              model.clear();
          }
          expect(lru.size).toBe(model.size);
          expect([...lru.keys()]).toEqual([...model.keys()]);
          const first = model.keys().next();
          expect(lru.oldest()).toEqual(first.done ? undefined : { key: first.value, value: model.get(first.value) });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keys() goes on past the key it handed out when that key is deleted or moved, and stops after clear()', () => {
    const lru = new LruMap<string, number>();
    for (const k of ['a', 'b', 'c', 'd']) lru.set(k, 0);
    const seen: string[] = [];
    for (const k of lru.keys()) {
      seen.push(k);
      if (k === 'a') lru.delete('a');
      if (k === 'b') lru.touch('b'); // to the newest end: seen again after d
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'b']);
    expect([...lru.keys()]).toEqual(['c', 'd', 'b']);
    const cleared: string[] = [];
    for (const k of lru.keys()) {
      cleared.push(k);
      lru.clear();
    }
    expect(cleared).toEqual(['c']);
  });

  it('a full table that keeps taking new keys (a conntrack under a flood of new flows) holds exactly the newest', () => {
    const lru = new LruMap<number, number>();
    const max = 65_536;
    for (let i = 0; i < 4 * max; i++) {
      lru.set(i, i);
      if (lru.size > max) lru.deleteOldest();
    }
    expect(lru.size).toBe(max);
    expect(lru.oldest()).toEqual({ key: 3 * max, value: 3 * max });
    let visited = 0;
    for (const _ of lru.keys()) visited++;
    expect(visited).toBe(max);
  });
});
