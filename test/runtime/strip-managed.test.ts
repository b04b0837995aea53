// stripListManagedFields and parseListItems against JSON.parse: the same list, less
// items[*].metadata.managedFields, for any list a server (or a hostile tenant's strings in it) can
// produce; anything else comes back as it was (or, parsed, as undefined: the caller parses it whole).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listedPartTexts, parseListItems, parseWatchEvent, stripListItemMembers, stripListManagedFields } from '../../src/runtime/strip-managed';

// Strings that try to look like structure: quotes, escapes, brackets, the key names themselves.
const tricky = fc.oneof(
  fc.string(),
  fc.constantFrom('"managedFields":[1]', '\\', '\\"', '"}', '{"metadata":{"managedFields":[]}}', 'managedFields', 'metadata', 'ünïcødé ✓', '\u2028', ',]}'),
);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), tricky, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(tricky, tie('value'), { maxKeys: 3 })),
})).value;
const metadata = fc.record(
  {
    name: tricky,
    annotations: fc.dictionary(fc.oneof(tricky, fc.constant('managedFields')), tricky, { maxKeys: 3 }),
    managedFields: json,
  },
  { requiredKeys: ['name'] },
);
const item = fc.oneof(
  fc.record({ kind: tricky, metadata, spec: fc.dictionary(fc.oneof(tricky, fc.constantFrom('metadata', 'managedFields', 'programs', 'bindings', 'hash')), json, { maxKeys: 5 }), status: json }, { requiredKeys: ['metadata'] }),
  json, // items that are not objects, or have no metadata object
);
const list = fc.record({ apiVersion: tricky, metadata: fc.record({ resourceVersion: tricky, managedFields: json }), items: fc.array(item, { maxLength: 5 }) }, { requiredKeys: ['items'] });

const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);

function expected(l: { items: unknown[] }, drops: Record<string, readonly string[]> = { metadata: ['managedFields'] }) {
  const out = structuredClone(l);
  for (const it of out.items)
    if (isObject(it))
      for (const [member, names] of Object.entries(drops)) {
        const m = it[member];
        if (isObject(m)) for (const n of names) delete m[n];
      }
  return out;
}

describe('stripListManagedFields', () => {
  it('gives what JSON.parse gives, without items[*].metadata.managedFields, however it is written', () => {
    fc.assert(
      fc.property(list, fc.constantFrom(undefined, 1, 2, '\t'), (l, indent) => {
        const text = JSON.stringify(l, null, indent);
        const out = stripListManagedFields(Buffer.from(text));
        expect(JSON.parse(out.toString('utf8'))).toEqual(expected(JSON.parse(text)));
      }),
      { numRuns: 1000 },
    );
  });

  it('drops any set of members of any top-level members, several from one object included', () => {
    const names = fc.subarray(['managedFields', 'programs', 'bindings', 'hash', 'metadata', 'name', '"', '\\']);
    fc.assert(
      fc.property(list, fc.record({ metadata: names, spec: names }, { requiredKeys: [] }), fc.constantFrom(undefined, 1, '\t'), (l, drops, indent) => {
        const text = JSON.stringify(l, null, indent);
        const out = stripListItemMembers(Buffer.from(text), drops);
        expect(JSON.parse(out.toString('utf8'))).toEqual(expected(JSON.parse(text), drops));
      }),
      { numRuns: 1000 },
    );
    const strip = (t: string) => stripListItemMembers(Buffer.from(t), { spec: ['x', 'y'] }).toString();
    expect(strip('{"items":[{"spec":{"a":1,"x":[],"y":[]}}]}')).toBe('{"items":[{"spec":{"a":1}}]}');
    expect(strip('{"items":[{"spec":{"x":[],"y":[]}}]}')).toBe('{"items":[{"spec":{}}]}');
    expect(strip('{"items":[{"spec":{"x":[] , "a":1 , "y":{}}}]}')).toBe('{"items":[{"spec":{ "a":1 }}]}');
  });

  it('returns anything that is not a well-formed list as it was (JSON.parse judges it)', () => {
    fc.assert(
      fc.property(list, fc.nat(), (l, cut) => {
        const text = JSON.stringify(l);
        const broken = Buffer.from(text.slice(0, cut % text.length)); // truncated: never well formed
        expect(stripListManagedFields(broken).equals(broken)).toBe(true);
      }),
    );
    for (const text of ['[]', '"items"', '{"items":{"metadata":{"managedFields":1}}}', '{"items":[{"metadata":{"managedFields":1}}', ''])
      expect(stripListManagedFields(Buffer.from(text)).toString()).toBe(text);
  });

  it('cuts the member and exactly one comma, wherever it sits', () => {
    const strip = (t: string) => stripListManagedFields(Buffer.from(t)).toString();
    expect(strip('{"items":[{"metadata":{"managedFields":[{"a":"]"}],"name":"x"}}]}')).toBe('{"items":[{"metadata":{"name":"x"}}]}');
    expect(strip('{"items":[{"metadata":{"name":"x","managedFields":{}}}]}')).toBe('{"items":[{"metadata":{"name":"x"}}]}');
    expect(strip('{"items":[{"metadata":{"managedFields":null}}]}')).toBe('{"items":[{"metadata":{}}]}');
    expect(strip('{"items":[{"metadata":{"a":1 , "managedFields" : [] , "b":2}}]}')).toBe('{"items":[{"metadata":{"a":1 ,  "b":2}}]}');
  });
});

describe('parseListItems', () => {
  const names = fc.subarray(['managedFields', 'programs', 'bindings', 'hash', 'metadata', 'name', '"', '\\']);
  const objectItems = fc.record({ apiVersion: tricky, metadata: fc.record({ resourceVersion: tricky, continue: tricky }), items: fc.array(fc.dictionary(tricky, json, { maxKeys: 4 }).chain((extra) => item.map((it) => (isObject(it) ? it : extra))), { maxLength: 6 }) }, { requiredKeys: ['items'] });

  it('parses a list of objects item by item to what JSON.parse gives, less the dropped members', () => {
    fc.assert(
      fc.property(objectItems, fc.record({ metadata: names, spec: names }, { requiredKeys: [] }), fc.constantFrom(undefined, 1, '\t'), (l, drops, indent) => {
        const text = JSON.stringify(l, null, indent);
        expect(parseListItems(Buffer.from(text), drops)).toEqual(expected(JSON.parse(text), drops));
      }),
      { numRuns: 1000 },
    );
  });

  it('gives either that or undefined for any list (items that are not objects: parsed whole)', () => {
    fc.assert(
      fc.property(list, (l) => {
        const text = JSON.stringify(l);
        const out = parseListItems(Buffer.from(text), { metadata: ['managedFields'] });
        if (l.items.every(isObject)) expect(out).toEqual(expected(JSON.parse(text)));
        else expect(out).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('leaves what it does not follow to JSON.parse: truncated, trailing bytes, no items, items twice (spelled otherwise too)', () => {
    fc.assert(
      fc.property(objectItems, fc.nat(), (l, cut) => {
        const text = JSON.stringify(l);
        expect(parseListItems(Buffer.from(text.slice(0, cut % text.length)), {})).toBeUndefined();
      }),
    );
    for (const text of ['[]', '{"items":null}', '{"kind":"List"}', '{"items":[]} x', '{"items":[{"a":1}],"items":[{"b":2}]}', '{"items":[1]}', '', '{"items":[{"a":1}],"item\\u0073":[{"b":2}]}', '{"items":[],"k\\"":1}'])
      expect(parseListItems(Buffer.from(text), {})).toBeUndefined();
    // JSON.parse keeps the last "items", however spelled; the caller parses such a list whole.
    expect(stripListManagedFields(Buffer.from('{"items":[{"metadata":{"managedFields":1}}],"item\\u0073":[]}')).toString()).toBe('{"items":[{"metadata":{"managedFields":1}}],"item\\u0073":[]}');
  });

  it('cuts the parts asked for and gives their texts as sent, which parse to what JSON.parse gives (none when dropped members lie in them, a text is too long, a part is twice or a member name is escaped)', () => {
    const partNames = fc.subarray(['spec', 'status', 'kind'], { minLength: 1 });
    fc.assert(
      fc.property(objectItems, partNames, fc.constantFrom(undefined, 1, '\t'), fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constant(Infinity)), (l, names, indent, max) => {
        const text = JSON.stringify(l, null, indent);
        const drops = { metadata: ['managedFields'] };
        const out = parseListItems(Buffer.from(text), drops, { partTexts: { names, maxBytes: max } }) as { items: Record<string, unknown>[] };
        const want = expected(JSON.parse(text)) as { items: Record<string, unknown>[] };
        expect(out.items.length).toBe(want.items.length);
        out.items.forEach((it, i) => {
          const whole = want.items[i]!;
          const texts = listedPartTexts.get(it) ?? {};
          const escaped = Object.keys(whole).some((k) => JSON.stringify(k).includes('\\'));
          for (const n of names) {
            const t = texts[n];
            if (t === undefined) {
              // Not cut: the item has the member as JSON.parse gives it.
              expect(it[n]).toEqual(whole[n]);
              continue;
            }
            expect(Object.hasOwn(it, n)).toBe(false);
            expect(JSON.parse(t)).toEqual(whole[n]);
            expect(Buffer.byteLength(t)).toBeLessThanOrEqual(max);
            expect(escaped).toBe(false);
            // Compact, the text in the list is the part's own.
            if (indent === undefined) expect(t).toBe(JSON.stringify(whole[n]));
          }
          // Put back, the item is what JSON.parse gives (less the dropped members).
          expect({ ...it, ...Object.fromEntries(Object.entries(texts).map(([n, t]) => [n, JSON.parse(t)])) }).toEqual(whole);
          // Compact, every present part that fits is cut unless a member name is escaped.
          if (indent === undefined && !escaped)
            for (const n of names) if (whole[n] !== undefined && Buffer.byteLength(JSON.stringify(whole[n])) <= max) expect(texts[n]).toBeDefined();
        });
      }),
      { numRuns: 500 },
    );
    const texts = (t: string, drops: Record<string, string[]> = {}) =>
      (parseListItems(Buffer.from(t), drops, { partTexts: { names: ['spec', 'status'], maxBytes: 100 } }) as { items: object[] }).items.map((it) => [it, listedPartTexts.get(it)]);
    expect(texts('{"items":[{"spec": {"a" : [1, "}"]} , "b":1},{"status":2,"spec":3},{"a":1}]}')).toEqual([
      [{ b: 1 }, { spec: '{"a" : [1, "}"]}' }],
      [{}, { spec: '3', status: '2' }],
      [{ a: 1 }, undefined],
    ]);
    // JSON.parse keeps the second spec: nothing is cut from such an item.
    expect(texts('{"items":[{"spec":{"a":1},"spec":{"a":2},"status":1}]}')).toEqual([[{ spec: { a: 2 }, status: 1 }, undefined]]);
    // "sp\u0065c" is spec to JSON.parse: an item with any escaped member name gets no texts, never a wrong one.
    expect(texts('{"items":[{"spec":{"a":1},"sp\\u0065c":{"a":2}},{"sp\\u0065c":{"a":3}},{"m\\"":1,"spec":4}]}').map(([, t]) => t)).toEqual([undefined, undefined, undefined]);
    // A part with dropped members inside is not cut (its text would not be what is parsed).
    expect(texts('{"items":[{"spec":{"a":1,"x":2},"status":{}}]}', { spec: ['x'] })).toEqual([[{ spec: { a: 1 } }, { status: '{}' }]]);
    // Cut next to a dropped member, with the commas right.
    expect(texts('{"items":[{"metadata":{"managedFields":[1]},"spec":1,"status":2}]}', { metadata: ['managedFields'] })).toEqual([[{ metadata: {} }, { spec: '1', status: '2' }]]);
    expect(parseListItems(Buffer.from('{"items":[{"spec":{}}]}'), {})!.items).toSatisfy((items: object[]) => listedPartTexts.get(items[0]!) === undefined);
  });

  it('keeps an own "__proto__" member an own member, as JSON.parse does', () => {
    const out = parseListItems(Buffer.from('{"__proto__":{"polluted":true},"items":[{"__proto__":{"x":1}}]}'), {})!;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'items']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys((out.items as object[])[0]!)).toEqual(['__proto__']);
  });
});

describe('parseWatchEvent', () => {
  const names = fc.subarray(['managedFields', 'programs', 'bindings', 'hash', 'metadata', 'name', 'object', 'type', '"', '\\']);
  const objectItem = item.filter(isObject);
  const event = fc.record({ type: fc.oneof(fc.constantFrom('ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'), tricky), object: objectItem, extra: json }, { requiredKeys: ['type', 'object'] });
  const dropped = (ev: { object: unknown }, drops: Record<string, readonly string[]>) => expected({ items: [ev.object] }, drops).items[0];

  it('parses an event to the type and object JSON.parse gives, less the dropped members of the object', () => {
    fc.assert(
      fc.property(event, fc.record({ metadata: names, spec: names }, { requiredKeys: [] }), fc.constantFrom(undefined, 1, '\t'), fc.boolean(), (ev, drops, indent, objectFirst) => {
        const ordered = objectFirst ? Object.fromEntries([['object', ev.object], ...Object.entries(ev).filter(([k]) => k !== 'object')]) : ev;
        const text = JSON.stringify(ordered, null, indent);
        const want = JSON.parse(text) as { type: unknown; object: unknown };
        expect(parseWatchEvent(Buffer.from(text), drops)).toEqual({ type: want.type, object: dropped(want, drops) });
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves what it does not follow to JSON.parse: truncated, trailing bytes, no object or type, either twice (spelled otherwise too), an object that is not one', () => {
    fc.assert(
      fc.property(event, fc.nat(), (ev, cut) => {
        const text = JSON.stringify(ev);
        expect(parseWatchEvent(Buffer.from(text.slice(0, cut % text.length)), {})).toBeUndefined();
      }),
    );
    for (const text of ['[]', '{"type":"ADDED"}', '{"object":{}}', '{"type":"ADDED","object":{}} x', '{"type":"ADDED","object":{"a":1},"object":{"b":2}}', '{"type":"A","type":"B","object":{}}', '{"type":"ERROR","object":null}', '{"type":"ADDED","object":[1]}', '', '{"type":"ADDED","object":{"a":1},"obj\\u0065ct":{"b":2}}', '{"typ\\u0065":"DELETED","type":"ADDED","object":{}}'])
      expect(parseWatchEvent(Buffer.from(text), {})).toBeUndefined();
  });

  it('keeps an own "__proto__" member of the object an own member', () => {
    const out = parseWatchEvent(Buffer.from('{"type":"ADDED","object":{"__proto__":{"polluted":true},"metadata":{"name":"a","managedFields":[1]}}}'), { metadata: ['managedFields'] })!;
    expect(Object.keys(out.object as object)).toEqual(['__proto__', 'metadata']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((out.object as { metadata: unknown }).metadata).toEqual({ name: 'a' });
  });
});
