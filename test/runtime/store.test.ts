import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IndexedStore } from '../../src/runtime/store';

interface Vm { name: string; host?: string; tags: string[] }

describe('IndexedStore', () => {
  it('keeps secondary indexes current through set and delete', () => {
    const s = new IndexedStore<Vm>();
    s.addIndex('byHost', (v) => (v.host ? [v.host] : []));
    s.set('t/a', { name: 'a', host: 'h1', tags: ['web', 'web'] });
    s.set('t/b', { name: 'b', host: 'h1', tags: ['db'] });
    s.addIndex('byTag', (v) => v.tags); // added late: existing objects are indexed
    expect(s.keysByIndex('byHost', 'h1').sort()).toEqual(['t/a', 't/b']);
    expect(s.keysByIndex('byTag', 'web')).toEqual(['t/a']);

    s.set('t/a', { name: 'a', host: 'h2', tags: ['db'] }); // moved host, changed tags
    expect(s.keysByIndex('byHost', 'h1')).toEqual(['t/b']);
    expect(s.byIndex('byHost', 'h2').map((v) => v.name)).toEqual(['a']);
    expect(s.keysByIndex('byTag', 'web')).toEqual([]);
    expect(s.indexValues('byTag')).toEqual(['db']);

    s.delete('t/b');
    expect(s.keysByIndex('byHost', 'h1')).toEqual([]);
    expect(s.indexValues('byHost')).toEqual(['h2']);
    expect(() => s.byIndex('nope', 'x')).toThrow(/no index/);
  });

  it('keeps invalid entries aside and clears them when the object becomes valid', () => {
    const s = new IndexedStore<Vm>();
    s.setInvalid({ key: 'x', raw: { metadata: { name: 'x' } }, errors: [{ path: 'spec', message: 'bad' }] });
    expect(s.getInvalid('x')?.errors[0]?.message).toBe('bad');
    expect(s.get('x')).toBeUndefined();
    s.set('x', { name: 'x', tags: [] });
    expect(s.getInvalid('x')).toBeUndefined();
    expect(s.listInvalid()).toEqual([]);
  });

  it('indexes match a full scan after any sequence of sets and deletes (keys and counts)', () => {
    const op = fc.record({
      key: fc.constantFrom('a', 'b', 'c', 'd'),
      del: fc.boolean(),
      host: fc.option(fc.constantFrom('h1', 'h2'), { nil: undefined }),
      tags: fc.array(fc.constantFrom('web', 'db', 'x'), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const s = new IndexedStore<Vm>();
        s.addIndex('byHost', (v) => (v.host ? [v.host] : []));
        s.addIndex('byTag', (v) => v.tags);
        for (const o of ops) {
          if (o.del) s.delete(o.key);
          else s.set(o.key, { name: o.key, host: o.host, tags: o.tags });
          for (const [index, values, of] of [
            ['byHost', ['h1', 'h2'], (v: Vm) => (v.host ? [v.host] : [])],
            ['byTag', ['web', 'db', 'x'], (v: Vm) => v.tags],
          ] as const) {
            for (const value of values) {
              const want = s.keys().filter((k) => of(s.get(k)!).includes(value)).sort();
              expect(s.keysByIndex(index, value).sort()).toEqual(want);
              expect(s.countByIndex(index, value)).toBe(want.length);
            }
            expect(s.indexValues(index).sort()).toEqual(values.filter((v) => s.keys().some((k) => of(s.get(k)!).includes(v))).sort());
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
