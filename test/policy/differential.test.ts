// The compiled host filters (through a classifier) must decide every packet exactly like the
// reference evaluator: same verdict, and on each side the same tier, policy and rule.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildClassifier } from '../../src/dataplane/classifier';
import { buildLinearClassifier } from '../helpers/linear';
import { SharedGroupSets } from '../../src/dataplane/shared-groups';
import { withSpoofGuard } from '../../src/dataplane/spoofguard';
import type { Classifier } from '../../src/dataplane/types';
import type { Packet } from '../../src/policy/reference';
import { Tracer } from '../../src/policy/tracer';
import { caseArb, hostileCaseArb } from './arbitraries';

describe('compiled filters vs reference evaluator', () => {
  it('agree on random worlds and packets (fast classifier, and the linear interpreter)', () => {
    let packets = 0;
    let spoofed = 0;
    fc.assert(
      fc.property(caseArb, ({ world, packets: pkts }) => {
        const fast = new Tracer(world, (spec) => buildClassifier(spec));
        // The linear interpreter reads the same compiled specs: a second opinion on the data path.
        const linear = new Map<string, Classifier>();
        const linearSide = (end: ReturnType<Tracer['resolve']>, direction: 'egress' | 'ingress', remoteIp: string, p: Packet) => {
          if (!('vm' in end)) return null;
          let c = linear.get(end.host);
          const spec = fast.compiler.spec(end.host)!;
          if (!c) linear.set(end.host, (c = withSpoofGuard(spec, buildLinearClassifier(spec))));
          const claim = direction === 'egress' ? { localIp: p.srcIp, localMac: p.srcMac } : {};
          return c.classify({ vm: end.vm, vnic: end.vnic, direction, remoteIp, protocol: p.protocol, port: p.port, ...claim });
        };
        for (const p of pkts) {
          const r = fast.trace(p);
          packets++;
          expect({ packet: p, decision: r.compiled }).toEqual({ packet: p, decision: r.reference });
          const from = fast.resolve(p.from);
          const to = fast.resolve(p.to);
          expect(linearSide(from, 'egress', to.ip, p)).toEqual(r.reference.egress);
          if (r.reference.egress?.rule === 'spoofguard') {
            spoofed++;
            expect(r.reference.ingress).toBeNull(); // dropped at the source, never judged at the destination
          } else expect(linearSide(to, 'ingress', from.ip, p)).toEqual(r.reference.ingress);
        }
      }),
      { numRuns: 2000 },
    );
    expect(packets).toBeGreaterThan(2000);
    expect(spoofed).toBeGreaterThan(200); // the guard is exercised, not just present
  });

  it('agree on hostile shapes: equal (priority, name) across namespaces, /32 and /0 CIDRs, odd excepts, edge ports, address blocks', () => {
    fc.assert(
      fc.property(hostileCaseArb, ({ world, packets: pkts }) => {
        const fast = new Tracer(world, (spec) => buildClassifier(spec));
        for (const p of pkts) {
          const r = fast.trace(p);
          expect({ packet: p, decision: r.compiled }).toEqual({ packet: p, decision: r.reference });
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('agree when address groups are shared (AddressGroup shards, live member sets) instead of inline', () => {
    let shardsSeen = 0;
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 3 }), ({ world, packets: pkts }, min) => {
        const sets = new SharedGroupSets();
        const tracer = new Tracer(world, (spec) => buildClassifier(spec, { sharedGroups: sets }), { sharedGroupMinAddresses: min });
        for (const [name, shard] of tracer.compiler.shards()) sets.put(name, shard);
        shardsSeen += tracer.compiler.shards().size;
        for (const spec of tracer.compiler.specs().values())
          for (const g of spec.addressGroups) expect(g.shared ? g.addresses.length : 0).toBe(0);
        for (const p of pkts) {
          const r = tracer.trace(p);
          expect({ packet: p, decision: r.compiled }).toEqual({ packet: p, decision: r.reference });
        }
      }),
      { numRuns: 1000 },
    );
    expect(shardsSeen).toBeGreaterThan(1000);
  });
});
