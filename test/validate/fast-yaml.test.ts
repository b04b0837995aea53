// The fast YAML path (js-yaml values, text-scan lines) against the full `yaml` parser it stands in for:
// same objects, same start lines, same line for every field path, on generated datacenters and on
// random block-style documents full of YAML 1.1 scalars.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateDatacenter } from '../../src/gen';
import { toYamlStream } from '../../src/gen/yaml';
import { parseYamlFast } from '../../src/manifests/fast-yaml';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineOf, parseManifests, parseYamlFully, streamManifests, type FieldPath, type LoadedObject, type LoadError } from '../../src/manifests/load';

/** Every path in a value, plus a missing child under each, so "nearest existing parent" is covered. */
function pathsOf(v: unknown, base: (string | number)[] = [], out: FieldPath[] = []): FieldPath[] {
  out.push(base);
  if (Array.isArray(v)) {
    v.forEach((x, i) => pathsOf(x, [...base, i], out));
    out.push([...base, v.length], [...base, 'nope']);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) pathsOf(x, [...base, k], out);
    out.push([...base, 'nope'], [...base, 0]);
  } else out.push([...base, 'deeper']);
  return out;
}

function expectSameAsFull(text: string) {
  const fast = parseManifests(text, 'f.yaml');
  const full = parseYamlFully(text, 'f.yaml');
  expect(fast.errors).toEqual(full.errors);
  expect(fast.objects.map((o) => [o.line, o.object])).toEqual(full.objects.map((o) => [o.line, o.object]));
  fast.objects.forEach((o: LoadedObject, i) => {
    for (const path of pathsOf(o.object)) expect([path, lineOf(o, path)]).toEqual([path, lineOf(full.objects[i]!, path)]);
  });
}

describe('fast YAML path', () => {
  it('reads a generated datacenter like the full parser, lines included', () => {
    const dc = generateDatacenter({ hosts: 2, vms: 16, tenants: 6, seed: 7 });
    for (const docs of [dc.namespaces, dc.tags, dc.tenants, dc.hosts, dc.vms, dc.policies]) {
      const text = toYamlStream(docs as object[], { omitEmptyLists: true });
      expect(parseYamlFast(text)).toBeDefined(); // really the fast path
      expectSameAsFull(text);
    }
  });

  it('leaves anchors, tags, directives, tabs, lists and broken YAML to the full parser', () => {
    for (const text of ['a: &x 1\nb: *x\n', 'a: !!str 1\n', '%YAML 1.1\n---\na: 1\n', 'a:\n\tb: 1\n', '- a: 1\n', 'kind: List\nitems: []\n', 'a: [1\n', 'a: 1\na: 2\n', 'a: 1\n...\n'])
      expect(parseYamlFast(text)).toBeUndefined();
    // A broken file still gets the full parser's message and line.
    expect(parseManifests('a: 1\nb: [\n', 'x.yaml').errors[0]).toMatchObject({ file: 'x.yaml', line: expect.any(Number) });
  });

  const scalar = fc.constantFrom(
    'On', 'off', 'yes', 'No', 'y', 'N', 'true', 'FALSE', '~', 'null', 'Null', '', '0777', '0o17', '0x1F', '0b101', '1_000', '-12', '+3',
    '.5', '1.', '1e3', '-1.5E-2', '.inf', '-.Inf', '.nan', '10:20:30', '2024-01-01', '2024-01-01T00:00:00Z', '"On"', "'0777'", '"a: b"',
    'plain text', 'x-y.z', '09', '1_2.3_4', '0.', '+.inf', 'NaN', 'ON', 'Yes', 'YES',
  );
  const key = fc.constantFrom('name', 'spec', 'app.kubernetes.io/name', 'tags', 'on', 'yes', '"quoted"', '1', 'x_y', 'kind');
  type Tree = string | Tree[] | { [k: string]: Tree };
  const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
    t: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.array(tie('t'), { minLength: 1, maxLength: 3 }),
      fc.dictionary(key, tie('t'), { minKeys: 1, maxKeys: 4 }),
    ),
  })).t;
  /** Block style with variations: sequences at the key's indent or deeper, comments, blank lines. */
  function render(v: Tree, indent: number, seqDeeper: boolean, comment: boolean): string[] {
    const pad = ' '.repeat(indent);
    if (typeof v === 'string') return [`${pad}${v}`];
    const out: string[] = [];
    if (Array.isArray(v)) {
      for (const item of v) {
        if (typeof item === 'string') out.push(`${pad}- ${item}`);
        else {
          const inner = render(item, indent + 2, seqDeeper, comment);
          if (inner.length === 0) continue;
          out.push(`${pad}- ${inner[0]!.slice(indent + 2)}`, ...inner.slice(1));
        }
      }
    } else {
      for (const [k, x] of Object.entries(v)) {
        if (comment) out.push(`${pad}# about ${k}`);
        if (typeof x === 'string') out.push(`${pad}${k}: ${x}`);
        else if (Array.isArray(x)) out.push(`${pad}${k}:`, ...render(x, seqDeeper ? indent + 2 : indent, seqDeeper, comment));
        else out.push(`${pad}${k}:`, ...render(x, indent + 2, seqDeeper, comment));
      }
    }
    return out;
  }

  it('agrees with the full parser on random block documents (values and every line)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ doc: fc.dictionary(key, tree, { minKeys: 1, maxKeys: 4 }), seqDeeper: fc.boolean(), comment: fc.boolean(), blank: fc.boolean() }), { minLength: 1, maxLength: 3 }),
        (docs) => {
          const text = docs.map((d) => `---\n${d.blank ? '\n# header\n' : ''}${render(d.doc, 0, d.seqDeeper, d.comment).join('\n')}\n`).join('');
          expectSameAsFull(text);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a document the parser cannot construct is that document\'s error, and the others are still read', () => {
    const text = 'kind: A\nmetadata:\n  name: a\n---\nkind: B\nspec:\n  <<: *nowhere\n---\nkind: C\nmetadata:\n  name: c\n';
    const r = parseManifests(text, 'm.yaml');
    expect(r.objects.map((o) => (o.object as { kind: string }).kind)).toEqual(['A', 'C']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: 'm.yaml', line: 5 });
  });

  it('skip: passed-over documents are not given; after a fall back to the full parser, each later document once', async () => {
    const docs = ['kind: A\nx: 1\n', 'kind: Skip\nx: 2\n', 'kind: B\nx: &a 3\n', 'kind: Skip\nx: [\n', 'kind: C\nx: 4\n', 'kind: Skip\nx: 5\n'];
    const dir = mkdtempSync(join(tmpdir(), 'vmsafe-skip-'));
    try {
      writeFileSync(join(dir, 'm.yaml'), docs.map((d) => `---\n${d}`).join(''));
      const kinds: string[] = [];
      const errors: LoadError[] = [];
      for await (const f of streamManifests([dir], { skip: (doc) => doc.includes('kind: Skip') })) {
        for (const o of f.objects) kinds.push((o.object as { kind: string }).kind);
        errors.push(...f.errors);
      }
      // B's anchor sends the rest to the full parser: it reads (and gives) what follows, the broken document included.
      expect(kinds).toEqual(['A', 'B', 'C', 'Skip']);
      expect(errors).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a --- after U+2028 is inside a comment to YAML: the document is not cut in two', () => {
    const text = 'apiVersion: vmsafe.io/v1alpha1\n# x\u2028---\nkind: SecurityPolicy\nmetadata:\n  name: p1\n  namespace: target\n';
    const r = parseManifests(text, 'm.yaml');
    expect(r.objects.map((o) => o.object)).toEqual(parseYamlFully(text, 'm.yaml').objects.map((o) => o.object));
    expect(r.objects).toHaveLength(1);
  });
});
