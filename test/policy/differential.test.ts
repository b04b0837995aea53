// The compiled host filters (through a classifier) must decide every packet exactly like the
// reference evaluator: same verdict, and on each side the same tier, policy and rule.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildClassifier } from '../../src/dataplane/classifier';
import { buildLinearClassifier } from '../../src/dataplane/linear';
import { Tracer } from '../../src/policy/tracer';
import { caseArb } from './arbitraries';

describe('compiled filters vs reference evaluator', () => {
  it('agree on random worlds and packets (fast classifier, and the linear interpreter)', () => {
    let packets = 0;
    fc.assert(
      fc.property(caseArb, ({ world, packets: pkts }) => {
        const fast = new Tracer(world, (spec) => buildClassifier(spec));
        const linear = new Tracer(world, buildLinearClassifier);
        for (const p of pkts) {
          const r = fast.trace(p);
          packets++;
          expect({ packet: p, decision: r.compiled }).toEqual({ packet: p, decision: r.reference });
          expect(linear.trace(p).compiled).toEqual(r.reference);
        }
      }),
      { numRuns: 2000 },
    );
    expect(packets).toBeGreaterThan(2000);
  });
});
