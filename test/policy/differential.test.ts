// The compiled host filters (through a classifier) must decide every packet exactly like the
// reference evaluator: same verdict, and on each side the same tier, policy and rule.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildLinearClassifier } from '../../src/dataplane/linear';
import { Tracer } from '../../src/policy/tracer';
import { caseArb } from './arbitraries';

describe('compiled filters vs reference evaluator', () => {
  it('agree on random worlds and packets (linear classifier)', () => {
    let packets = 0;
    fc.assert(
      fc.property(caseArb, ({ world, packets: pkts }) => {
        const tracer = new Tracer(world, buildLinearClassifier);
        for (const p of pkts) {
          const r = tracer.trace(p);
          packets++;
          expect({ packet: p, decision: r.compiled }).toEqual({ packet: p, decision: r.reference });
        }
      }),
      { numRuns: 2000 },
    );
    expect(packets).toBeGreaterThan(2000);
  });
});
