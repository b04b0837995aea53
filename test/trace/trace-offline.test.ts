// Tracing with only what the packets need compiled (the endpoints' VMs, the owners of their addresses,
// their hosts) must give exactly the verdicts of compiling everything.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildClassifier } from '../../src/dataplane/classifier';
import { generateDatacenter } from '../../src/gen';
import type { Packet } from '../../src/policy/reference';
import { toYamlStream } from '../../src/gen/yaml';
import { OfflinePlacer, placeOffline } from '../../src/policy/offline';
import { loadTraceWorld, offlineTrace, offlineTracer, scopeFor } from '../../src/policy/trace-offline';
import { Tracer } from '../../src/policy/tracer';
import { caseArb } from '../policy/arbitraries';

const build = (spec: Parameters<typeof buildClassifier>[0]) => buildClassifier(spec);
const outcome = (t: Tracer, p: Packet) => {
  try {
    const r = t.trace(p);
    return { compiled: r.compiled, agree: r.agree, hosts: r.hosts };
  } catch (err) {
    return { error: (err as Error).message };
  }
};

describe('offline trace scope', () => {
  it('gives the full compile verdicts on random worlds, one packet or many at a time', () => {
    fc.assert(
      fc.property(caseArb, ({ world, packets }) => {
        const full = new Tracer(world, build);
        const all = new Tracer(scopeFor(world, packets), build);
        for (const p of packets) {
          const want = outcome(full, p);
          expect(outcome(all, p)).toEqual(want);
          expect(outcome(new Tracer(scopeFor(world, [p]), build), p)).toEqual(want);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('places like the full run and compiles two hosts, not all, on a generated datacenter', () => {
    const dc = generateDatacenter({ hosts: 8, vms: 120, tenants: 30, seed: 3 });
    const world = { tenants: dc.tenants, tags: dc.tags, hosts: dc.hosts, vms: dc.vms, policies: dc.policies };
    const keys = dc.vms.map((v) => `${v.metadata.namespace}/${v.metadata.name}`);
    const ips = dc.vms.flatMap((v) => v.spec.vnics.map((n) => n.ip));
    const endpoint = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...keys).map((vm) => ({ vm })) },
      { weight: 1, arbitrary: fc.constantFrom(...ips, '192.0.2.1').map((ip) => ({ ip })) },
    );
    const packet = fc
      .record({ from: endpoint, to: endpoint, protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'ICMP' as const), port: fc.constantFrom(22, 80, 443, 5432) })
      .filter((p) => 'vm' in p.from || 'vm' in p.to);
    const full = offlineTracer(world, [], build, { full: true }).tracer;
    fc.assert(
      fc.property(packet, (p) => {
        const scoped = offlineTracer(world, [p], build).tracer;
        expect(outcome(scoped, p)).toEqual(outcome(full, p));
        expect(scoped.compiler.specs().size).toBeLessThanOrEqual(2 + ('ip' in p.from || 'ip' in p.to ? 2 : 0));
      }),
      { numRuns: 40 },
    );
  });

  describe('read from disk: only the policies that can matter', () => {
    // A generated datacenter on disk, where one tenant also owns a second namespace holding a policy
    // (it matters when that tenant is an endpoint, and is only known to once Tenants are read).
    const dir = mkdtempSync(join(tmpdir(), 'vmsafe-trace-scope-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const dc = generateDatacenter({ hosts: 6, vms: 80, tenants: 12, seed: 5 });
    const multi = dc.tenants[1]!;
    const extraNs = `${multi.metadata.name}-extra`;
    multi.spec.namespaces = [multi.metadata.name, extraNs];
    const template = dc.policies.find((p) => p.metadata.namespace === multi.metadata.name && p.spec.ingress.length > 0)!;
    // First in the file, ahead of the namespace's own policies: it decides for the tenant's VMs.
    const extra = { ...template, metadata: { name: 'extra-deny', namespace: extraNs }, spec: { ...template.spec, ingress: [{ ...template.spec.ingress[0]!, name: 'deny-all', action: 'Deny' as const, peers: [], ports: [] }], appliesTo: {}, priority: 1 } };
    const docs = [...dc.namespaces, ...dc.tags, ...dc.tenants, ...dc.hosts, extra, ...dc.policies, ...dc.vms];
    writeFileSync(join(dir, 'dc.yaml'), toYamlStream(docs as object[], { omitEmptyLists: true }));
    const keys = dc.vms.map((v) => `${v.metadata.namespace}/${v.metadata.name}`);
    const endpoint = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...keys).map((vm) => ({ vm })) },
      { weight: 1, arbitrary: fc.constantFrom(...dc.vms.map((v) => v.spec.vnics[0]!.ip), '192.0.2.1').map((ip) => ({ ip })) },
    );
    const packet = fc
      .record({ from: endpoint, to: endpoint, protocol: fc.constantFrom('TCP' as const, 'UDP' as const), port: fc.constantFrom(22, 80, 443, 5432) })
      .filter((p) => 'vm' in p.from || 'vm' in p.to);

    it('gives the verdicts of the full world, reading the policies of few namespaces', async () => {
      const whole = await loadTraceWorld([dir]);
      expect(whole.errors).toEqual([]);
      const full = offlineTracer(whole.world, [], build, { full: true }).tracer;
      const samples = fc.sample(packet, { numRuns: 40, seed: 11 });
      const toMulti = { from: { vm: keys.find((k) => !k.startsWith(`${multi.metadata.name}/`))! }, to: { vm: keys.find((k) => k.startsWith(`${multi.metadata.name}/`))! }, protocol: 'TCP' as const, port: 443 };
      let fewer = 0;
      for (const p of [toMulti, ...samples]) {
        const read = await offlineTrace([dir], [p], build);
        if (!('tracer' in read)) throw new Error(read.errors.join('\n'));
        expect({ p, out: outcome(read.tracer, p) }).toEqual({ p, out: outcome(full, p) });
        if (read.world.policies.length < whole.world.policies.length) fewer++;
        // The endpoint tenant's second namespace is read whenever that tenant is an endpoint.
        if ('vm' in p.to && p.to.vm.startsWith(`${multi.metadata.name}/`)) expect(read.world.policies.some((x) => x.metadata.namespace === extraNs)).toBe(true);
      }
      expect(fewer).toBeGreaterThan(20);
      expect(outcome(full, toMulti)).toMatchObject({ compiled: { ingress: { rule: 'deny-all' } } });
    });

    it('reports an invalid object it reads, and never reads a policy no verdict can depend on', async () => {
      const bad = join(dir, 'zz-bad.yaml');
      const p = { from: { vm: keys[0]! }, to: { vm: keys[1]! }, protocol: 'TCP' as const, port: 443 };
      const whole = await loadTraceWorld([dir]);
      const read = new OfflinePlacer(whole.world, { for: new Set([keys[0]!, keys[1]!]) }).policyNamespaces()!;
      const other = dc.tenants.find((t) => !read.has(t.metadata.name))!;
      try {
        // Broken YAML in a policy of a tenant without VMs: never read. A broken VM: always read.
        writeFileSync(bad, `---\napiVersion: vmsafe.io/v1alpha1\nkind: SecurityPolicy\nmetadata:\n  name: broken\n  namespace: ${other.metadata.name}\nspec:\n  ingress: [\n`);
        expect('tracer' in (await offlineTrace([dir], [p], build))).toBe(true);
        writeFileSync(bad, `---\napiVersion: vmsafe.io/v1alpha1\nkind: VM\nmetadata:\n  name: broken\n  namespace: ${other.metadata.name}\nspec:\n  vnics: 3\n`);
        const again = await offlineTrace([dir], [p], build);
        expect(again.errors).toHaveLength(1);
        expect(again.errors[0]).toMatch(/zz-bad\.yaml:2: VM: spec\.vnics/);
      } finally {
        rmSync(bad, { force: true });
      }
    });

    it('an endpoint that fits nowhere gets the whole run\'s reason (every policy read)', async () => {
      const lost = join(dir, 'zz-lost.yaml');
      const vm = dc.vms[3]!;
      const ns = vm.metadata.namespace!;
      // The last address of the tenant's block (a /28 here), which none of its VMs uses.
      const block = dc.tenants.find((t) => t.metadata.name === ns)!.spec.addressBlocks![0]!;
      const last = block.replace(/\.(\d+)\/28$/, (_, o: string) => `.${Number(o) + 14}`);
      expect(dc.vms.some((v) => v.spec.vnics.some((n) => n.ip === last))).toBe(false);
      try {
        writeFileSync(lost, `---\napiVersion: vmsafe.io/v1alpha1\nkind: VM\nmetadata:\n  name: lost\n  namespace: ${ns}\nspec:\n  tags: [no-such-tag]\n  vnics:\n  - name: eth0\n    network: ${vm.spec.vnics[0]!.network}\n    ip: ${last}\n    mac: 02:00:00:00:00:fa\n`);
        const whole = await loadTraceWorld([dir]);
        expect(whole.errors).toEqual([]);
        const want = placeOffline(whole.world).unplaced.get(`${ns}/lost`);
        expect(want).toMatch(/^0\/\d+ hosts are available/);
        const read = await offlineTrace([dir], [{ from: { vm: keys[0]! }, to: { vm: `${ns}/lost` }, protocol: 'TCP', port: 443 }], build);
        if (!('tracer' in read)) throw new Error(read.errors.join('\n'));
        expect(read.placement.unplaced.get(`${ns}/lost`)).toBe(want);
        expect(read.world.policies).toHaveLength(whole.world.policies.length);
      } finally {
        rmSync(lost, { force: true });
      }
    });
  });
});
