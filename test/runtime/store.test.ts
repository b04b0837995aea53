import { describe, expect, it } from 'vitest';
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
});
