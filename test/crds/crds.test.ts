import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allCRDs, crdFileName, crdYaml, toStructural } from '../../src/api/crd';
import { decode, KINDS } from '../../src/api';
import { checkCRD, resolveJSONPath } from './structural';

const ROOT = join(__dirname, '..', '..');
const CRD_DIR = join(ROOT, 'crds');
const crds = allCRDs();

describe('generated CRDs', () => {
  it('match the committed crds/ exactly (run `make crds` after changing src/api)', () => {
    const expected = new Map(crds.map((c) => [crdFileName(c), crdYaml(c)]));
    expect(readdirSync(CRD_DIR).sort()).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) expect(readFileSync(join(CRD_DIR, file), 'utf8'), file).toBe(text);
  });

  it('`vmsafe crds -o DIR` writes the same files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmsafe-crds-'));
    try {
      execFileSync(join(ROOT, 'bin', 'vmsafe'), ['crds', '-o', dir], { stdio: 'pipe' });
      for (const c of crds) expect(readFileSync(join(dir, crdFileName(c)), 'utf8')).toBe(crdYaml(c));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(crds.map((c) => [c.spec.names.kind, c] as const))('%s passes the kube-apiserver structural-schema rules', (_k, crd) => {
    expect(checkCRD(crd)).toEqual([]);
  });

  it('read back as YAML 1.1 (like kubectl) they are the same objects: On/Off/True stay strings', () => {
    for (const c of crds) expect(parse(crdYaml(c), { version: '1.1' })).toEqual(JSON.parse(JSON.stringify(c)));
  });

  it('carry names, categories, scope and the status subresource from the registry', () => {
    const vm = crds.find((c) => c.spec.names.kind === 'VM')!;
    expect(vm.metadata.name).toBe('vms.vmsafe.io');
    expect(vm.spec.scope).toBe('Namespaced');
    expect(vm.spec.names).toMatchObject({ shortNames: ['vmi'], categories: ['vmsafe'], listKind: 'VMList' });
    expect(vm.spec.versions[0]!.subresources).toEqual({ status: {} });
    expect(vm.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name)).toEqual(['Tenant', 'Host', 'Phase', 'Protected', 'Power', 'Age']);
    expect(crds.find((c) => c.spec.names.kind === 'Host')!.spec.scope).toBe('Cluster');
  });

  it('keep bounds, enums, patterns and defaults of the zod schemas', () => {
    const sp = crds.find((c) => c.spec.names.kind === 'SecurityPolicy')!.spec.versions[0]!.schema.openAPIV3Schema;
    const spec = sp.properties!.spec!;
    expect(spec.properties!.priority).toMatchObject({ type: 'integer', minimum: 0, maximum: 1000, default: 500 });
    expect(spec.properties!.tier).toMatchObject({ default: 'Tenant', enum: ['Provider', 'Tenant', 'Baseline'] });
    const port = spec.properties!.ingress!.items!.properties!.ports!.items!.properties!.port!;
    expect(port).toMatchObject({ type: 'integer', minimum: 0, maximum: 65535 });
    const peer = spec.properties!.ingress!.items!.properties!.peers!.items!;
    expect(peer.properties!.sameTenant).toMatchObject({ type: 'boolean', enum: [true] });
    expect(peer.properties!.cidr!.properties!.cidr!.pattern).toMatch(/^\^/);
    const vm = crds.find((c) => c.spec.names.kind === 'VM')!.spec.versions[0]!.schema.openAPIV3Schema;
    expect(vm.properties!.spec!.properties!.vnics).toMatchObject({
      minItems: 1,
      maxItems: 10,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
    expect(peer['x-kubernetes-validations']![0]!.message).toBe('exactly one of vms, tenants, sameTenant, cidr must be set');
    expect(vm.properties!.status!.properties!.conditions).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
  });

  // The API server defaults from the CRD, our code from zod: what the server stores must decode to the
  // same object. (Not byte-equal: the CRD has no defaults inside lists, see withoutListDefaults.)
  it.each(KINDS.filter((k) => k.kind !== 'HostFilter').map((k) => [k.kind, k] as const))(
    '%s: CRD defaulting equals zod defaulting on a minimal object',
    (kind, info) => {
      const minimal: Record<string, unknown> = {
        Tenant: {},
        Tag: {},
        Host: { networks: [{ name: 'prod' }] },
        VM: { vnics: [{ name: 'eth0', network: 'prod', ip: '10.0.0.1', mac: 'aa:bb:cc:dd:ee:01' }] },
        SecurityPolicy: { ingress: [{ name: 'r', action: 'Allow', ports: [{ port: 80 }] }] },
        AddressGroup: { group: 'ags-1', prefix: '10.0.0.0/16', addresses: ['10.0.0.1'], hash: 'h' },
      };
      const obj = { apiVersion: 'vmsafe.io/v1alpha1', kind, metadata: { name: 'x', namespace: 'ns' }, spec: minimal[kind] };
      const crd = crds.find((c) => c.spec.names.kind === info.kind)!;
      const viaCRD = applyDefaults(structuredClone(obj), crd.spec.versions[0]!.schema.openAPIV3Schema);
      const viaZod = decode(obj);
      expect(viaZod.ok).toBe(true);
      const storedThenDecoded = decode(viaCRD);
      expect(storedThenDecoded.ok).toBe(true);
      expect((storedThenDecoded as { value: unknown }).value).toEqual((viaZod as { value: unknown }).value);
    },
  );
});

/** Structural defaulting as kube-apiserver does it: fill missing fields, then recurse. */
function applyDefaults(v: any, s: any): any {
  if (Array.isArray(v)) return v.map((x) => applyDefaults(x, s.items ?? {}));
  if (v && typeof v === 'object') {
    for (const [k, sub] of Object.entries<any>(s.properties ?? {})) {
      if (v[k] === undefined && sub.default !== undefined) v[k] = structuredClone(sub.default);
      if (v[k] !== undefined) v[k] = applyDefaults(v[k], sub);
    }
  }
  return v;
}

describe('structural checker', () => {
  const base = () => JSON.parse(JSON.stringify(crds.find((c) => c.spec.names.kind === 'VM'))) as any;
  const schemaOf = (c: any) => c.spec.versions[0].schema.openAPIV3Schema;
  const cases: [string, (c: any) => void, string][] = [
    ['an untyped node', (c) => delete schemaOf(c).properties.spec.properties.hostName.type, 'properties.hostName.type: must not be empty'],
    ['a $ref', (c) => (schemaOf(c).properties.spec.properties.hostName.$ref = '#/x'), '$ref is not supported'],
    ['properties with additionalProperties', (c) => (schemaOf(c).properties.spec.additionalProperties = { type: 'string' }), 'mutual exclusive'],
    ['additionalProperties: false', (c) => (schemaOf(c).properties.spec.additionalProperties = false), 'cannot be set to false'],
    ['type inside anyOf', (c) => (schemaOf(c).properties.spec.anyOf = [{ type: 'object' }]), 'type: must not be set inside anyOf'],
    ['a junctor property with no counterpart', (c) => (schemaOf(c).properties.spec.oneOf = [{ properties: { nope: { minLength: 1 } } }]), 'must have a corresponding property'],
    ['constraints on metadata', (c) => (schemaOf(c).properties.metadata = { type: 'object', properties: { labels: { type: 'object' } } }), 'other than name and generateName'],
    ['a non-string kind', (c) => (schemaOf(c).properties.kind.type = 'integer'), 'kind.type: must be string'],
    ['a default that fails its own schema', (c) => (schemaOf(c).properties.spec.properties.powerState.default = 'Maybe'), 'not in enum'],
    ['a default with a pruned field', (c) => (schemaOf(c).properties.spec.properties.tags.default = [{}]), 'is not of type string'],
    ['uniqueItems', (c) => (schemaOf(c).properties.spec.properties.tags.uniqueItems = true), 'uniqueItems cannot be set to true'],
    ['preserve-unknown-fields: false', (c) => (schemaOf(c).properties.spec['x-kubernetes-preserve-unknown-fields'] = false), 'must be true or undefined'],
    ['int-or-string with a type', (c) => (schemaOf(c).properties.spec.properties.hostName['x-kubernetes-int-or-string'] = true), 'must be empty when x-kubernetes-int-or-string'],
    ['a list-map key that is not required', (c) => schemaOf(c).properties.status.properties.conditions.items.required.shift(), 'must be required or have a default'],
    ['no status subresource', (c) => delete c.spec.versions[0].subresources, 'subresources.status: must be present'],
    ['a printer column that does not resolve', (c) => (c.spec.versions[0].additionalPrinterColumns[0].jsonPath = '.status.tenantName'), 'no field "tenantName"'],
    ['a printer column filtering on a missing field', (c) => (c.spec.versions[0].additionalPrinterColumns[3].jsonPath = '.status.conditions[?(@.kind=="x")].status'), 'filter field "kind"'],
    ['a printer column of the wrong type', (c) => (c.spec.versions[0].additionalPrinterColumns[0].type = 'integer'), 'does not fit schema type string'],
    ['a wrong CRD name', (c) => (c.metadata.name = 'vm.vmsafe.io'), 'metadata.name'],
    ['a CEL rule on a missing property', (c) => (schemaOf(c).properties.spec['x-kubernetes-validations'] = [{ rule: 'has(self.hostname)' }]), 'self.hostname is not a property'],
    ['a CEL fieldPath that does not resolve', (c) => (schemaOf(c).properties.spec['x-kubernetes-validations'] = [{ rule: 'true', fieldPath: '.nope' }]), 'fieldPath: must be a valid path'],
    ['an unknown schema keyword', (c) => (schemaOf(c).properties.spec.const = 1), 'unknown field "const"'],
  ];
  it.each(cases)('rejects %s', (_name, mutate, expected) => {
    const crd = base();
    mutate(crd);
    const errors = checkCRD(crd);
    expect(errors.join('\n')).toContain(expected);
  });

  it('resolves condition filters and metadata in printer JSONPaths', () => {
    const s = schemaOf(base());
    expect(resolveJSONPath(s, '.status.conditions[?(@.type=="Ready")].status').schema?.type).toBe('string');
    expect(resolveJSONPath(s, '.metadata.creationTimestamp').error).toBeUndefined();
    expect(resolveJSONPath(s, '.spec.vnics[0].ip').schema?.type).toBe('string');
    expect(resolveJSONPath(s, 'status').error).toBeDefined();
  });
});

describe('toStructural', () => {
  it('maps zod output onto CRD schema keywords and rejects what a CRD cannot say', () => {
    expect(toStructural({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: {} })).toEqual({
      type: 'object',
      properties: { a: { type: 'string' } },
      'x-kubernetes-preserve-unknown-fields': true,
    });
    expect(toStructural({ type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })).toEqual({ type: 'integer' });
    expect(toStructural({ type: 'string', const: 'x' })).toEqual({ type: 'string', enum: ['x'] });
    expect(() => toStructural({ anyOf: [{ type: 'string' }, { type: 'number' }] }, '.spec.x')).toThrow(
      'CRD schema at .spec.x: "anyOf" cannot be expressed structurally',
    );
    expect(() => toStructural({ type: 'string', if: {} })).toThrow('unsupported keyword "if"');
    expect(() => toStructural({ description: 'x' })).toThrow('every node needs a type');
  });
});
