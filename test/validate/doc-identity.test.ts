// docIdentity tells apiVersion, kind and metadata.namespace from a document's text alone, or says it
// cannot: where it answers, the full `yaml` parser (what load.ts falls back to, kubectl's reading)
// must read the same fields, or fail on the document. Tested on generated datacenters (it must answer
// for every document) and on valid documents mutated by tricky lines.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateDatacenter } from '../../src/gen';
import { toYamlStream } from '../../src/gen/yaml';
import { docIdentity } from '../../src/manifests/doc-identity';
import { parseYamlFully } from '../../src/manifests/load';

/** Whether docIdentity's answer (if any) is what the parser reads. */
function agrees(doc: string): { answered: boolean } {
  const mine = docIdentity(doc);
  if (!mine) return { answered: false };
  const full = parseYamlFully(doc, 'doc.yaml');
  if (full.errors.length > 0) return { answered: true };
  expect(full.objects).toHaveLength(1);
  const o = full.objects[0]!.object as { apiVersion?: unknown; kind?: unknown; metadata?: { namespace?: unknown } };
  expect({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata?.namespace }).toEqual(mine);
  return { answered: true };
}

const TEMPLATE = ['apiVersion: vmsafe.io/v1alpha1', 'kind: SecurityPolicy', 'metadata:', '  name: p1', '  namespace: acme', 'spec:', '  priority: 10', '  ingress:', '  - name: r1', '    action: Allow'];
const FRAGMENTS = [
  'kind: VM', 'kind: yes', 'kind: No', "kind: 'VM'", 'kind: "SecurityPolicy"', 'kind: SecurityPolicy # note', 'kind:', '  SecurityPolicy',
  '  Policy', 'kind: e5', 'apiVersion: v1', 'apiVersion: "vmsafe.io/v1alpha1"', 'apiVersion: 1.5', 'metadata:', 'metadata: {namespace: x}',
  'metadata: &m', 'metadata: # comment', '  namespace: other', '  namespace: "acme"', "  namespace: 'x'", '  namespace: null', '  namespace: on',
  '  namespace: 123', '  namespace: e5', '  namespace: acme # c', '  namespace: a#b', '  namespace: *ns', '  namespace: !!str x', '    namespace: deep',
  '  labels:', '    namespace: lbl', '    continued', ' namespace: odd', '   namespace: three', '  <<: *base', '  "namespace": quoted',
  '  namespace:', '    acme', '- item', '# comment', '', '---', '--- # c', '...', '"kind": VM', 'kind : VM', '? kind', ': VM', 'kind:VM',
  'spec:', '  tier: Provider', '{kind: VM}', 'metadata: |', '  text', 'namespace: top', 'Kind: VM', 'kind: SecurityPolicy',
];

const mutated = fc
  .array(
    fc.oneof(
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(12), line: fc.constantFrom(...FRAGMENTS), indent: fc.constantFrom('', '', '  ', '    ') }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(12) }),
      fc.record({ op: fc.constant('replace' as const), at: fc.nat(12), line: fc.constantFrom(...FRAGMENTS) }),
    ),
    { maxLength: 3 },
  )
  .map((ops) => {
    const lines = [...TEMPLATE];
    for (const o of ops) {
      const at = o.at % (lines.length + 1);
      if (o.op === 'insert') lines.splice(at, 0, o.indent + o.line);
      else if (o.op === 'delete') lines.splice(at, 1);
      else lines.splice(at, 1, o.line);
    }
    return `${lines.join('\n')}\n`;
  });

describe('docIdentity', () => {
  it('answers for every document of a generated datacenter, with what the parser reads', () => {
    const dc = generateDatacenter({ hosts: 4, vms: 30, tenants: 6, seed: 2 });
    const docs = [...dc.namespaces, ...dc.tags, ...dc.tenants, ...dc.hosts, ...dc.policies, ...dc.vms];
    const text = toYamlStream(docs as object[], { omitEmptyLists: true });
    const parts = text.split(/^(?=---(?:[ \r\n]|$))/m).filter((d) => d.trim() !== '');
    expect(parts).toHaveLength(docs.length);
    for (const d of parts) expect(agrees(d)).toEqual({ answered: true });
  });

  it('table: answers only when sure', () => {
    const doc = (...lines: string[]) => `${lines.join('\n')}\n`;
    expect(docIdentity(doc(...TEMPLATE))).toEqual({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', namespace: 'acme' });
    expect(docIdentity(doc('---', ...TEMPLATE))).toEqual({ apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', namespace: 'acme' });
    expect(docIdentity(doc('apiVersion: v1', 'kind: Namespace', 'metadata:', '  name: acme'))).toEqual({ apiVersion: 'v1', kind: 'Namespace', namespace: undefined });
    // A multi-line plain scalar continues the namespace: "acme more".
    expect(docIdentity(doc('apiVersion: v1', 'kind: VM', 'metadata:', '  namespace: acme', '    more'))).toBeUndefined();
    expect(docIdentity(doc('apiVersion: v1', 'kind: VM', 'metadata:', '  namespace: "acme"'))).toBeUndefined();
    expect(docIdentity(doc('apiVersion: v1', 'kind: VM', 'kind: VM', 'metadata:'))).toBeUndefined();
    expect(docIdentity(doc('apiVersion: v1', 'kind: VM', 'metadata:', '  namespace: null'))).toBeUndefined();
    expect(docIdentity(doc('apiVersion: v1', 'kind: VM', 'metadata:', '\tnamespace: a'))).toBeUndefined();
    expect(docIdentity(doc('apiVersion: v1', 'kind: VM', 'metadata: &m', '  namespace: a'))).toBeUndefined();
    expect(docIdentity(doc('apiVersion: v1', 'kind: VM'))).toBeUndefined(); // no metadata: let the parser say
    // Unicode spaces are content to YAML (found by an adversarial review).
    expect(docIdentity(doc('apiVersion: v1', 'kind: VM', 'metadata:', '  name: p', '\u00a0 namespace: x'))).toBeUndefined();
    expect(docIdentity(doc('apiVersion: v1', 'kind: VM', 'metadata:', '  namespace: acme\u00a0'))).toBeUndefined();
  });

  it('on valid documents mutated by tricky lines: the parser reads what it says, or fails', () => {
    let answered = 0;
    fc.assert(
      fc.property(mutated, (text) => {
        if (agrees(text).answered) answered++;
      }),
      { numRuns: 3000, seed: 7 },
    );
    // The property says something only if many mutated documents are still answered.
    expect(answered).toBeGreaterThan(600);
  });
});
