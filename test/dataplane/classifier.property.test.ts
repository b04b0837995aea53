import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildClassifier } from '../../src/dataplane/classifier';
import { buildLinearClassifier } from '../helpers/linear';
import { hostFilterSpecArb, lookupArb } from './arbitraries';

describe('fast classifier = linear reference', () => {
  it('agrees on random specs and lookups (2,000 cases, compact and chunked forms)', () => {
    fc.assert(
      fc.property(hostFilterSpecArb, fc.array(lookupArb, { minLength: 1, maxLength: 20 }), fc.constantFrom(1, 3, 33, 4096), fc.constantFrom(6, 1e9), (spec, lookups, chunkSize, top16MinIntervals) => {
        const linear = buildLinearClassifier(spec);
        const fast = buildClassifier(spec, { chunkSize, top16MinIntervals });
        for (const l of lookups) expect(fast.classify(l)).toEqual(linear.classify(l));
      }),
      { numRuns: 2000 },
    );
  });
});
