// HostFilter write pacing: isolated changes go out at once, a host rewritten in a busy burst backs off.
// And the request body: the filter serialized once, exactly as JSON.stringify would.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredHostFilter, hostFilterText, nextPace, writeDelay, type PaceState } from '../../src/controllers/hostfilter';
import type { HostFilterSpec } from '../../src/api';

describe('nextPace', () => {
  const streak = (n: number, at = 1000, pace = 0): PaceState => ({ at, pace, streak: n });

  it('does not pace the first writes of a host, nor a host quiet for the burst window', () => {
    expect(nextPace(1100, undefined)).toBe(0);
    expect(nextPace(1100, streak(2))).toBe(0);
    expect(nextPace(1000 + 5000, streak(10, 1000, 4000))).toBe(0);
  });

  it('backs off exponentially while writes are busy, up to the cap', () => {
    expect(nextPace(1100, streak(3))).toBe(100);
    expect(nextPace(1100, streak(4, 1000, 100))).toBe(200);
    expect(nextPace(1100, streak(9, 1000, 4000))).toBe(5000);
  });

  it('does not pace when the fleet as a whole is quiet (one host taking VMs one after another)', () => {
    expect(nextPace(1100, streak(9, 1000, 4000), false)).toBe(0);
  });
});

describe('writeDelay', () => {
  it.each([
    { busy: false, pace: 0, want: 0, why: 'an isolated change on a quiet fleet goes out at once' },
    { busy: true, pace: 0, want: 20, why: 'while filters are written fast, changes coalesce for 20 ms' },
    { busy: false, pace: 400, want: 400, why: 'a paced host waits out its pace' },
    { busy: true, pace: 5, want: 20, why: 'the longer of both' },
  ])('$why', ({ busy, pace, want }) => {
    expect(writeDelay(busy, pace)).toBe(want);
  });
});

describe('hostFilterText', () => {
  it('is JSON.stringify of the filter and of its spec, whatever the spec and owner hold', () => {
    const text = fc.string({ maxLength: 12 });
    const spec = fc.record({
      hostName: text,
      programs: fc.array(fc.record({ id: text, egress: fc.constant([]), ingress: fc.constant([]) }), { maxLength: 3 }),
      addressGroups: fc.array(fc.record({ id: text, addresses: fc.array(text, { maxLength: 3 }) }), { maxLength: 3 }),
      bindings: fc.array(fc.record({ vm: text, vnic: text, ip: text, mac: text, program: text }), { maxLength: 3 }),
      hash: text,
    }) as fc.Arbitrary<HostFilterSpec>;
    fc.assert(
      fc.property(spec, text, fc.option(text, { nil: undefined }), (s, name, uid) => {
        const desired = desiredHostFilter(s, { name, uid });
        const t = hostFilterText(desired);
        expect(t.object).toBe(JSON.stringify(desired));
        expect(t.spec).toBe(JSON.stringify(desired.spec));
      }),
    );
  });
});
