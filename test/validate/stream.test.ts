// `validatePaths` (files streamed through the fast YAML path, objects dropped once checked) against the
// way validate worked before: every file through the full `yaml` parser, then `validateObjects` on
// the whole list. Same findings, in the same order, on generated datacenters with injected mistakes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateDatacenter } from '../../src/gen';
import { toYamlStream } from '../../src/gen/yaml';
import { parseYamlFully } from '../../src/manifests/load';
import { policyLinter } from '../../src/policy/validate-lint';
import { validateObjects } from '../../src/validate';
import { validatePaths } from '../../src/validate/files';

type Obj = Record<string, any>;
const MISTAKES: ((dc: ReturnType<typeof generateDatacenter>, i: number) => void)[] = [
  (dc, i) => void (dc.vms[i % dc.vms.length]!.spec.vnics[0]!.ip = dc.vms[(i + 1) % dc.vms.length]!.spec.vnics[0]!.ip), // duplicate IP
  (dc, i) => void ((dc.vms[i % dc.vms.length] as Obj).spec.hostname = 'host-1'), // unknown field
  (dc, i) => void (dc.vms[i % dc.vms.length]!.spec.tags = ['no-such-tag']), // unknown Tag
  (dc, i) => void ((dc.vms[i % dc.vms.length] as Obj).spec.vnics[0].ip = '10.0.0.300'), // schema error
  (dc, i) => void dc.policies.push(dc.policies[i % dc.policies.length]!), // duplicate object
  (dc, i) => void ((dc.tenants[i % dc.tenants.length] as Obj).spec.quota = { vms: 0 }), // over quota (warning)
  (dc, i) => void ((dc.vms[i % dc.vms.length] as Obj).spec.powerState = true), // YAML 1.1 boolean
];

describe('validatePaths', () => {
  it('finds what the whole-list validation over the full parser finds', async () => {
    let errors = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1000 }), fc.array(fc.tuple(fc.nat(MISTAKES.length - 1), fc.nat(50)), { maxLength: 6 }), async (seed, mistakes) => {
        const dc = generateDatacenter({ hosts: 3, vms: 24, tenants: 6, seed });
        for (const [m, i] of mistakes) MISTAKES[m]!(dc, i);
        const dir = mkdtempSync(join(tmpdir(), 'vmsafe-stream-'));
        try {
          const files = { '1-ns.yaml': dc.namespaces, '2-tags.yaml': dc.tags, '3-tenants.yaml': dc.tenants, '4-hosts.yaml': dc.hosts, '5-policies.yaml': dc.policies, '6-vms.yaml': dc.vms };
          const before = [];
          for (const [name, docs] of Object.entries(files)) {
            const text = toYamlStream(docs as object[], { omitEmptyLists: true });
            writeFileSync(join(dir, name), text);
            before.push(...parseYamlFully(text, join(dir, name)).objects);
          }
          const now = await validatePaths([dir], { linters: [policyLinter] });
          expect(now.errors).toEqual([]);
          expect(now.objects).toBe(before.length);
          expect(now.findings).toEqual(validateObjects(before, { linters: [policyLinter] }));
          errors += now.findings.filter((f) => f.severity === 'error').length;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 10 },
    );
    expect(errors).toBeGreaterThan(0); // the mistakes really were found
  });
});
