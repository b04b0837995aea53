// A group's member addresses (GroupMembers) against a plain count per address: sizes, sorted lists
// and the /16 view agree through any order of vNICs counted in and out, with the /16 view asked for
// early, late or never.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GroupMembers } from '../../src/policy/compile-units';

describe('GroupMembers', () => {
  it('counts a shared address once, and forgets it with its last vNIC', () => {
    const m = new GroupMembers();
    const a = (10 << 24) | 1, b = (10 << 24) | (1 << 16) | 2;
    m.count(a, 1);
    m.count(a, 1);
    m.count(b, 1);
    expect(m.size).toBe(2);
    expect([...m.tops()].sort()).toEqual([a >>> 16, b >>> 16].sort());
    m.count(a, -1);
    expect(m.sorted(a >>> 16)).toEqual([a]);
    m.count(a, -1);
    expect(m.hasTop(a >>> 16)).toBe(false);
    m.count(a, -1); // out of an address not there: nothing
    expect(m.size).toBe(1);
    expect(m.sorted()).toEqual([b]);
  });

  it('matches a count per address on random ins and outs', () => {
    const ip = fc.constantFrom(0x0a000001, 0x0a000002, 0x0a010001, 0x0b000001, 0x0a000003);
    const op = fc.record({ ip, sign: fc.constantFrom(1 as const, -1 as const), look: fc.boolean() });
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 80, size: 'max' }), (ops) => {
        const m = new GroupMembers();
        const model = new Map<number, number>();
        for (const o of ops) {
          const n = (model.get(o.ip) ?? 0) + o.sign;
          if (n > 0) model.set(o.ip, n);
          else model.delete(o.ip);
          m.count(o.ip, o.sign);
          const all = [...model.keys()].sort((a, b) => a - b);
          expect(m.size).toBe(all.length);
          expect(m.sorted()).toEqual(all);
          if (!o.look) continue;
          const tops = [...new Set(all.map((x) => x >>> 16))].sort((a, b) => a - b);
          expect([...m.tops()].sort((a, b) => a - b)).toEqual(tops);
          for (const t of [0x0a00, 0x0a01, 0x0b00]) {
            expect(m.hasTop(t)).toBe(tops.includes(t));
            expect(m.sorted(t)).toEqual(all.filter((x) => x >>> 16 === t));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
