import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineOf, loadManifests, nodeAt, parseFieldPath, parseManifests } from '../../src/manifests/load';

const VM_YAML = `# a comment before the first document
apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata:
  name: web-1
  namespace: acme
spec:
  vnics:
    - name: eth0
      network: prod
      ip: 10.0.0.300
      mac: aa:bb:cc:dd:ee:01
---
---
apiVersion: v1
kind: Namespace
metadata: {name: acme}
`;

describe('parseManifests', () => {
  it('splits documents, skips empty ones and records start lines', () => {
    const r = parseManifests(VM_YAML, 'vms.yaml');
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.file, o.line, o.index])).toEqual([
      ['vms.yaml', 2, 0],
      ['vms.yaml', 15, 1],
    ]);
    expect(r.objects[1]!.object).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme' } });
  });

  it('finds the line of a field path, and of its nearest existing parent', () => {
    const vm = parseManifests(VM_YAML, 'vms.yaml').objects[0]!;
    expect(lineOf(vm, ['spec', 'vnics', 0, 'ip'])).toBe(11);
    expect(lineOf(vm, ['spec', 'vnics', 0])).toBe(9);
    expect(lineOf(vm, ['spec', 'vnics', 0, 'nope'])).toBe(9);
    expect(lineOf(vm, ['spec', 'powerState'])).toBe(7);
    expect(lineOf(vm, [])).toBe(2);
    expect(lineOf({ file: 'x', line: 42, index: 0, object: {} }, ['spec'])).toBe(42);
  });

  it('reads YAML 1.1 like kubectl: unquoted On is a boolean', () => {
    const [o] = parseManifests('spec:\n  powerState: On\n  quoted: "On"\n', 'f.yaml').objects;
    expect(o!.object).toEqual({ spec: { powerState: true, quoted: 'On' } });
    expect(nodeAt(o!, ['spec', 'powerState'])).toMatchObject({ source: 'On', type: 'PLAIN' });
  });

  it('reads numbers and timestamps like go-yaml: no base 60, timestamps stay strings', () => {
    const [o] = parseManifests('mac: 10:20:30:40:50:59\nat: 2024-01-01T00:00:00Z\nmode: 0777\nok: yes\n', 'f.yaml').objects;
    expect(o!.object).toEqual({ mac: '10:20:30:40:50:59', at: '2024-01-01T00:00:00Z', mode: 511, ok: true });
  });

  it('expands JSON and YAML lists into items with their own lines', () => {
    const json = '{\n\t"kind": "List",\n\t"items": [\n\t\t{"kind": "A"},\n\t\t{"kind": "B"}\n\t]\n}\n';
    expect(parseManifests(json, 'l.json').objects.map((o) => [o.line, o.object])).toEqual([
      [4, { kind: 'A' }],
      [5, { kind: 'B' }],
    ]);
    const yaml = 'apiVersion: v1\nkind: List\nitems:\n- kind: A\n- kind: B\n  x: 1\n';
    const r = parseManifests(yaml, 'l.yaml');
    expect(r.objects.map((o) => o.line)).toEqual([4, 5]);
    expect(lineOf(r.objects[1]!, ['x'])).toBe(6);
  });

  it('reads .json files on a fast path with the same lines and field positions', () => {
    const json = '[\n  {"kind": "A", "s": "x,[{"},\n  {\n    "kind": "B",\n    "spec": {"vnics": [{"ip": "1.2.3.4"}]}\n  }, 7\n]\n';
    const r = parseManifests(json, 'many.json');
    expect(r.objects.map((o) => [o.line, o.index, o.object])).toEqual([
      [2, 0, { kind: 'A', s: 'x,[{' }],
      [3, 1, { kind: 'B', spec: { vnics: [{ ip: '1.2.3.4' }] } }],
      [6, 2, 7],
    ]);
    expect(lineOf(r.objects[1]!, ['spec', 'vnics', 0, 'ip'])).toBe(5);
    expect({ ...r.objects[1]! }).not.toHaveProperty('source');
    const list = parseManifests('{"kind": "List", "meta": {"items": [1]},\n "items": [\n {"kind": "A"},\n {"kind": "B"}]}', 'l.json');
    expect(list.objects.map((o) => o.line)).toEqual([3, 4]);
    expect(lineOf(list.objects[1]!, ['kind'])).toBe(4);
    expect(parseManifests('  {"kind": "A"}', 'one.json').objects.map((o) => o.line)).toEqual([1]);
    expect(parseManifests('{"a": 1,\n "b": @}', 'bad.json').errors).toHaveLength(1);
  });

  it('reports broken YAML with its line and keeps the good documents', () => {
    const r = parseManifests('a: 1\n---\nb: 2\nc: @bad\nd: 3\n', 'bad.yaml');
    expect(r.objects.map((o) => o.object)).toEqual([{ a: 1 }]);
    expect(r.errors).toEqual([{ file: 'bad.yaml', line: 4, message: 'Plain value cannot start with reserved character @' }]);
  });

  it('parses field paths in the decode format', () => {
    expect(parseFieldPath('spec.vnics[0].ip')).toEqual(['spec', 'vnics', 0, 'ip']);
    expect(parseFieldPath('')).toEqual([]);
  });
});

describe('loadManifests', () => {
  it('walks directories recursively in sorted order and reports missing paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmsafe-load-'));
    try {
      mkdirSync(join(dir, 'b'));
      mkdirSync(join(dir, '.git'));
      writeFileSync(join(dir, 'b', 'x.yml'), 'kind: X\n');
      writeFileSync(join(dir, 'a.yaml'), 'kind: A\n---\nkind: A2\n');
      writeFileSync(join(dir, 'c.json'), '{"kind": "C"}');
      writeFileSync(join(dir, 'notes.txt'), 'kind: ignored\n');
      writeFileSync(join(dir, '.git', 'h.yaml'), 'kind: hidden\n');
      const r = await loadManifests([dir, join(dir, 'missing.yaml')]);
      expect(r.objects.map((o) => [o.file.slice(dir.length + 1), (o.object as { kind: string }).kind])).toEqual([
        ['a.yaml', 'A'],
        ['a.yaml', 'A2'],
        ['b/x.yml', 'X'],
        ['c.json', 'C'],
      ]);
      expect(r.errors).toEqual([{ file: join(dir, 'missing.yaml'), message: 'no such file or directory' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
