import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { toYaml, toYamlStream } from '../../src/gen';

// kubectl reads YAML 1.1: "On" is a boolean there, "02:00:00" may be a number. Check both versions.
const both = (text: string) => [parse(text, { version: '1.1' }), parse(text, { version: '1.2' })];

describe('toYaml', () => {
  it('quotes strings a YAML 1.1 parser would read as something else', () => {
    const doc = { a: 'On', b: 'off', c: 'yes', d: '02:00:00:00:00:01', e: '10.0.0.1', f: '123', g: '', h: 'null', i: 'web', j: 'a: b', k: '#x' };
    const text = toYaml(doc);
    expect(text).toContain('a: "On"');
    expect(text).toContain('i: web');
    for (const parsed of both(text)) expect(parsed).toEqual(doc);
  });

  it('quotes letter-first strings YAML 1.1 reads as floats (found by the round-trip property)', () => {
    const doc = { E0: '', e: 'e+5', x: 'E0' };
    const text = toYaml(doc);
    expect(text).toContain('"E0": ""');
    for (const parsed of both(text)) expect(parsed).toEqual(doc);
  });

  it('writes nested mappings (quoting the key "y", a YAML 1.1 boolean), lists of mappings, empty collections', () => {
    const doc = { spec: { list: [{ x: 1, y: [true, null] }, [1, 2], 'z'], empty: [], none: {}, deep: { a: { b: 'c' } } } };
    expect(toYaml(doc)).toBe(
      ['spec:', '  list:', '  - x: 1', '    "y":', '    - true', '    - null', '  -', '    - 1', '    - 2', '  - z', '  empty: []', '  none: {}', '  deep:', '    a:', '      b: c', ''].join('\n'),
    );
    for (const parsed of both(toYaml(doc))) expect(parsed).toEqual(doc);
  });

  it('can leave out empty lists (schema defaults) but keeps empty mappings', () => {
    expect(toYaml({ a: [], b: {}, c: [1] }, { omitEmptyLists: true })).toBe('b: {}\nc:\n- 1\n');
  });

  it('round-trips arbitrary JSON data under YAML 1.1 and 1.2', () => {
    const key = fc.string({ minLength: 1, maxLength: 8 });
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 12 }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(key, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 4 }), (doc) => {
        for (const parsed of both(toYaml(doc))) expect(parsed).toEqual(doc);
      }),
      { numRuns: 200 },
    );
  });

  it('joins documents with ---', () => {
    const docs = parseAllDocuments(toYamlStream([{ a: 1 }, { b: 2 }])).map((d) => d.toJS());
    expect(docs).toEqual([{ a: 1 }, { b: 2 }]);
  });
});
