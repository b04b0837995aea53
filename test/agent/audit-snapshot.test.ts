// The agent's drift audit (snapshotOf / matchesSnapshot): an unchanged filter always matches, and any
// change to what is programmed (a program or group id, any field of any binding, one more or one
// fewer of anything) never does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HostFilterSpec } from '../../src/api';
import { matchesSnapshot, snapshotOf } from '../../src/agent/core';

const id = fc.stringMatching(/^[a-z0-9|-]{0,6}$/);
const binding = fc.record({ vm: id, vnic: id, ip: id, mac: id, program: id });
const spec = fc.record({
  programs: fc.array(id.map((i) => ({ id: i, ingress: [], egress: [] })), { maxLength: 4 }),
  addressGroups: fc.array(id.map((i) => ({ id: i, entries: [] })), { maxLength: 4 }),
  bindings: fc.array(binding, { maxLength: 6 }),
}).map((s) => ({ hostName: 'h', hash: 'x', ...s }) as unknown as HostFilterSpec);

/** Every way to change one thing the audit covers. */
function mutations(s: HostFilterSpec): Array<(c: HostFilterSpec) => void> {
  const out: Array<(c: HostFilterSpec) => void> = [];
  s.programs.forEach((_, i) => out.push((c) => void (c.programs[i]!.id += '*')));
  s.addressGroups.forEach((_, i) => out.push((c) => void (c.addressGroups[i]!.id += '*')));
  s.bindings.forEach((_, i) => {
    for (const f of ['vm', 'vnic', 'ip', 'mac', 'program'] as const) out.push((c) => void (c.bindings[i]![f] += '*'));
    out.push((c) => void c.bindings.splice(i, 1));
  });
  out.push((c) => void c.bindings.push({ vm: 'v', vnic: 'n', ip: 'i', mac: 'm', program: 'p' }));
  out.push((c) => void c.programs.push({ id: '|' } as never));
  out.push((c) => void c.addressGroups.push({ id: '|' } as never));
  if (s.programs.length) out.push((c) => void c.addressGroups.unshift(c.programs.pop() as never)); // an id moved between lists
  return out;
}

describe('drift audit', () => {
  it('matches an unchanged filter and no filter with any one change', () => {
    fc.assert(
      fc.property(spec, (s) => {
        const snap = snapshotOf(s);
        expect(matchesSnapshot(structuredClone(s), snap)).toBe(true);
        for (const m of mutations(s)) {
          const c = structuredClone(s);
          m(c);
          expect(matchesSnapshot(c, snap)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});
