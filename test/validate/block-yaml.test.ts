// block-yaml's line reader against js-yaml (with fast-yaml's SCHEMA), which it stands in for, and
// the full `yaml` parser behind both: on any text it declines or gives their value, and it declines
// wherever js-yaml fails. Tested on tables of tricky lines, on "line soup" (random documents built from
// tricky fragments at random indents), and on generator output, where it must not decline at all.
import fc from 'fast-check';
import jsyaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { generateDatacenter } from '../../src/gen';
import { toYamlStream } from '../../src/gen/yaml';
import { DECLINE, parseBlockDocument } from '../../src/manifests/block-yaml';
import { SCHEMA } from '../../src/manifests/fast-yaml';
import { parseYamlFully } from '../../src/manifests/load';

type JsYaml = { ok: true; value: unknown } | { ok: false };
function jsYaml(text: string): JsYaml {
  try {
    return { ok: true, value: jsyaml.load(text, { schema: SCHEMA }) ?? null };
  } catch {
    return { ok: false };
  }
}

/**
 * The property: declined, or exactly js-yaml's value, never a value where js-yaml fails; and for a
 * mapping, also the full `yaml` parser's value (what load.ts reads when the fast path steps aside).
 */
function expectAgrees(text: string): boolean {
  const mine = parseBlockDocument(text);
  const ref = jsYaml(text);
  if (mine === DECLINE) return false;
  expect({ text, ok: ref.ok }).toEqual({ text, ok: true });
  expect({ text, value: mine }).toEqual({ text, value: (ref as { value: unknown }).value });
  if (typeof mine === 'object' && mine !== null && !Array.isArray(mine) && (mine as { kind?: unknown }).kind !== 'List') {
    const full = parseYamlFully(text, 'f.yaml');
    expect({ text, errors: full.errors, value: full.objects[0]?.object }).toEqual({ text, errors: [], value: mine });
  }
  return true;
}

describe('block-yaml', () => {
  it('reads plain block documents exactly as js-yaml does', () => {
    const accepted = [
      'a: 1\n',
      '---\na: b\n',
      '--- # first\na: b\n',
      'a:\n  b: c\n  d:\n  - x\n  - y\n',
      'a:\n- 1\n- two\n- "3"\n',
      'list:\n  - name: eth0\n    ip: "10.0.0.1"\n  -   name: eth1\n      ip: 10.0.0.2\n',
      'a: On\nb: off\nc: yes\nd: ~\ne:\nf: 0777\ng: 0x1F\nh: 1e3\ni: .inf\nj: -.5\nk: 10:20:30\nl: 2024-01-01\n',
      "a: 'single'\nb: \"double\"  # comment\nc: plain words here # comment\n",
      'empty: {}\nnone: []\n',
      '# only a comment\n\na: 1\n\n# trailing\n',
      'a:\r\n  b: c\r\n',
      'vmsafe.io/pool: pool-1\napp.kubernetes.io/name: x\n',
      'a: -1\nb: -x\nc: x-\n',
      'e0: 0\nname: e5\nx: 1e3\nz: .5E2\n', // an exponent needs a digit before it (go-yaml): e5 is a name
      '',
      '# nothing\n',
    ];
    for (const text of accepted) expect(expectAgrees(text), text).toBe(true);
  });

  it('declines what it does not model', () => {
    const declined = [
      'a: multi\n  line\n', // a plain scalar continued on the next line
      'a: |\n  block\n',
      'a: >\n  folded\n',
      'a: "esc\\n"\n',
      "a: 'it''s'\n",
      'a: [1, 2]\n',
      'a: {b: 1}\n',
      'a: 1\na: 2\n', // duplicate key: js-yaml's error
      '- - x\n',
      'a:\n-\n  b: 1\n', // empty items
      'a:\n- # c\n- x\n',
      'a: 1\nb:\tx\n',
      'a: x\u0001y\n', // a control character: an error for js-yaml
      'a: x\u0085y\n', // NEL: a line break in YAML 1.1
      'a: x\u2028y\n',
      '\ufeffa: 1\n',
      'a: caf\u00e9\n', // non-ASCII text: js-yaml's to read
      'a: x\ry\n', // a lone carriage return breaks the line
      '"quoted": 1\n',
      '1: one\n',
      'yes: no\n',
      '__proto__: x\n',
      'a: b: c\n',
      'a:\n  b: 1\n c: 2\n',
      'a: 1\n  b: 2\n',
      'a: &x 1\n',
      'a: *x\n',
      'a: !!str 1\n',
      '? a\n: b\n',
      '--- a\n',
      'a: "x"y\n',
      'a: @x\n',
      'a: `x`\n',
    ];
    for (const text of declined) expect(parseBlockDocument(text), text).toBe(DECLINE);
  });

  // Fragments chosen to sit on every boundary the reader decides on: indicators, quotes, comments,
  // colons, YAML 1.1 words, keys that are not strings, odd and equal indents.
  const fragment = fc.constantFrom(
    'a: 1', 'b: x', 'name: eth0', 'kind: VM', 'on: 1', '1: x', '"q": 1', "'q': 1", 'a:', 'b:', 'c: # note', '- x', '- ', '-', '- a: 1',
    '- b:', '- - x', '- "q"', "- 'q'", 'x', '"x"', "'x'", 'a: "b', "a: 'b", 'a: b # c', 'a: b#c', 'a: "b" # c', "a: 'b' c", 'a: {}', 'a: []',
    'a: [1]', 'a: {b: 1}', 'a: |', 'a: >-', 'a: b: c', 'a: b:c', 'a:b', '# c', '', 'a: yes', 'a: No', 'a: ~', 'a: 0o7', 'a: 1_000', 'a: .NaN',
    'a: -', 'a: -1', 'a: - x', 'a: ?', 'a: ? x', 'a: :x', 'a: %x', 'a: "a\\"b"', 'a: \'\'', 'a: ""', '---', '--- x', 'a: x ', 'a:  x',
    'key.with/slash-dash_under: v', '__proto__: 1', 'constructor: 1', 'toString: x', 'a: x\u0001', 'a: \u0085', 'a: caf\u00e9', '\ufeffa: 1', 'a: x\ry',
  );
  const line = fc.record({ indent: fc.integer({ min: 0, max: 6 }), text: fragment, cr: fc.boolean() });

  it('on line soup, declines or agrees with js-yaml (and declines wherever js-yaml fails)', () => {
    let read = 0;
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), (lines) => {
        if (expectAgrees(lines.map((l) => `${' '.repeat(l.indent)}${l.text}${l.cr ? '\r' : ''}\n`).join(''))) read++;
      }),
      { numRuns: 3000 },
    );
    expect(read).toBeGreaterThan(100); // the soup reaches the reader's accepting paths, not only its refusals
  });

  it('on js-yaml dumps of random values, agrees (and reads a fair share itself)', () => {
    const scalar = fc.oneof(
      fc.constantFrom('web', 'eth0', '10.0.0.1', 'pool-1', 'vmsafe.io/v1alpha1'),
      fc.constantFrom('On', 'off', 'yes', '~', '', '0777', '0x1F', '1e3', '.inf', '10:20:30', 'a: b', '#x', 'x #y', '- x', '[x]', "it's", 'a"b', 'plain'),
      fc.string({ maxLength: 8 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    // Mostly the keys manifests have, some that need quoting or are not strings in YAML 1.1.
    const key = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('name', 'spec', 'tags', 'app.kubernetes.io/name', 'ip', 'x_y') },
      { weight: 1, arbitrary: fc.constantFrom('on', '1', 'x y', 'a:b', '') },
      { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 6 }) },
    );
    const value = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(key, tie('v'), { maxKeys: 4 })),
    })).v;
    let read = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (doc, indent, noArrayIndent) => {
        runs++;
        if (expectAgrees(jsyaml.dump(doc, { indent, noArrayIndent, flowLevel: -1 }))) read++;
      }),
      { numRuns: 500 },
    );
    expect(read / runs).toBeGreaterThan(0.1); // about 0.2: enough that agreement is tested on accepted text
  });

  it('reads every document of a generated datacenter without declining', () => {
    const dc = generateDatacenter({ hosts: 3, vms: 40, tenants: 8, seed: 11 });
    for (const docs of [dc.namespaces, dc.tags, dc.tenants, dc.hosts, dc.vms, dc.policies])
      for (const doc of toYamlStream(docs as object[], { omitEmptyLists: true }).split(/^(?=---)/m)) expect(expectAgrees(doc), doc).toBe(true);
  });
});
