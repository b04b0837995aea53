// Tracing with only what the packets need compiled (the endpoints' VMs, the owners of their addresses,
// their hosts) must give exactly the verdicts of compiling everything.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildClassifier } from '../../src/dataplane/classifier';
import { generateDatacenter } from '../../src/gen';
import type { Packet } from '../../src/policy/reference';
import { offlineTracer, scopeFor } from '../../src/policy/trace-offline';
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
});
