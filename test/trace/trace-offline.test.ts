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
import { loadTraceWorld, loadTraceWorldFor, offlineTracer, scopeFor } from '../../src/policy/trace-offline';
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

  describe('policies of other tenants loaded without their rules', () => {
    // A generated datacenter on disk, where one tenant also owns a second namespace holding a policy
    // (its rules matter when that tenant is an endpoint, and are only known to be needed once Tenants are read).
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

    it('gives the verdicts of the full world, and reads again when a tenant owns more namespaces', async () => {
      const whole = await loadTraceWorld([dir]);
      expect(whole.errors).toEqual([]);
      const full = offlineTracer(whole.world, [], build, { full: true }).tracer;
      const samples = fc.sample(packet, { numRuns: 40, seed: 11 });
      const toMulti = { from: { vm: keys.find((k) => !k.startsWith(`${multi.metadata.name}/`))! }, to: { vm: keys.find((k) => k.startsWith(`${multi.metadata.name}/`))! }, protocol: 'TCP' as const, port: 443 };
      for (const p of [toMulti, ...samples]) {
        const load = await loadTraceWorldFor([dir], [p]);
        const scoped = offlineTracer(load.world, [p], build).tracer;
        expect({ p, out: outcome(scoped, p) }).toEqual({ p, out: outcome(full, p) });
        // Fewer rules were held than in the whole world, but none a verdict reads.
        expect(load.summarized.has(extraNs) && 'vm' in p.to && p.to.vm.startsWith(`${multi.metadata.name}/`)).toBe(false);
      }
      expect(outcome(full, toMulti)).toMatchObject({ compiled: { ingress: { rule: 'deny-all' } } });
    });
  });
});
