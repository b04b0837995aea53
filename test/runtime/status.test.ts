import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { getCondition, isConditionTrue, removeCondition, setCondition, setConditions } from '../../src/runtime/conditions';
import { applyMergePatch, deepEqual, mergePatchDiff, unionMergePatch } from '../../src/runtime/jsondiff';
import { statusPatch, withObservedGeneration } from '../../src/runtime/status';
import { isLeaseFresh, leaseExpiry, microTime, parseTime } from '../../src/runtime/leasetime';

const T0 = '2026-01-01T00:00:00Z';
const T1 = new Date('2026-01-01T00:05:00.789Z');

describe('setCondition', () => {
  it('adds a condition with lastTransitionTime = now (seconds precision)', () => {
    const out = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'AgentAlive', observedGeneration: 3 }, T1);
    expect(out).toEqual([
      { type: 'Ready', status: 'True', reason: 'AgentAlive', message: '', observedGeneration: 3, lastTransitionTime: '2026-01-01T00:05:00Z' },
    ]);
  });

  it('keeps lastTransitionTime when the status does not flip, even if reason/message change', () => {
    const before = [{ type: 'Ready', status: 'True' as const, reason: 'A', message: 'x', lastTransitionTime: T0 }];
    const out = setCondition(before, { type: 'Ready', status: 'True', reason: 'B', message: 'y' }, T1);
    expect(out[0]).toMatchObject({ reason: 'B', message: 'y', lastTransitionTime: T0 });
    expect(before[0]!.reason).toBe('A'); // input untouched
  });

  it('moves lastTransitionTime when the status flips', () => {
    const before = [{ type: 'Ready', status: 'True' as const, reason: 'A', message: '', lastTransitionTime: T0 }];
    const out = setCondition(before, { type: 'Ready', status: 'False', reason: 'AgentLost' }, T1);
    expect(out[0]!.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(isConditionTrue(out, 'Ready')).toBe(false);
  });

  it('keeps the order of other conditions; helpers find and remove by type', () => {
    let l = setConditions(undefined, [
      { type: 'Scheduled', status: 'True', reason: 'A' },
      { type: 'Protected', status: 'False', reason: 'B' },
    ], T0);
    l = setCondition(l, { type: 'Scheduled', status: 'False', reason: 'C' }, T1);
    expect(l.map((c) => c.type)).toEqual(['Scheduled', 'Protected']);
    expect(getCondition(l, 'Protected')?.reason).toBe('B');
    expect(removeCondition(l, 'Scheduled').map((c) => c.type)).toEqual(['Protected']);
  });

  it('setting the same condition twice gives an equal list (so no status write follows)', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'A' }, T0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'A' }, T1);
    expect(deepEqual(a, b)).toBe(true);
  });
});

describe('status diff', () => {
  const obj = (status: unknown, generation = 2) => ({ metadata: { name: 'h1', generation, resourceVersion: '5' }, status });

  it('no patch when the desired status equals the current one (key order irrelevant)', () => {
    const cur = obj({ observedGeneration: 2, allocated: { vms: 1, vnics: 2 } });
    const want = withObservedGeneration(cur, { allocated: { vnics: 2, vms: 1 } });
    expect(statusPatch(cur, want)).toBeUndefined();
  });

  it('always sets observedGeneration, so a new generation alone causes a write', () => {
    const cur = obj({ observedGeneration: 1, allocated: { vms: 1, vnics: 2 } }, 2);
    const want = withObservedGeneration(cur, { allocated: { vms: 1, vnics: 2 } });
    expect(statusPatch(cur, want)).toEqual({ status: { observedGeneration: 2 } });
  });

  it('nulls removed fields and replaces arrays whole', () => {
    const cur = obj({ observedGeneration: 2, warnings: ['a', 'b'], filter: { desiredHash: 'x', appliedHash: 'y' } });
    const want = { observedGeneration: 2, warnings: ['b'], filter: { desiredHash: 'x' } };
    expect(statusPatch(cur, want)).toEqual({ status: { warnings: ['b'], filter: { appliedHash: null } } });
  });

  it('applying the diff yields exactly the desired value (property)', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string(), fc.boolean(), fc.array(tie('value'), { maxLength: 3 }), tie('obj')),
      obj: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('value'), { maxKeys: 4 }),
    }));
    fc.assert(
      fc.property(json.obj, json.obj, (from, to) => {
        const patch = mergePatchDiff(from, to);
        if (patch === undefined) return deepEqual(from, to);
        return deepEqual(applyMergePatch(from, patch), to);
      }),
      { numRuns: 300 },
    );
  });

  it('the union of the diffs from two bases brings either base to the target (property)', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(tie('value'), { maxLength: 3 }), tie('obj')),
      obj: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('value'), { maxKeys: 4 }),
    }));
    const noNulls = (v: unknown): unknown =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, noNulls(x)])) : v;
    fc.assert(
      fc.property(json.obj, json.obj, json.obj, (a, b, raw) => {
        const to = noNulls(raw); // a merge patch cannot set a member to null
        const patch = unionMergePatch(mergePatchDiff(a, to), mergePatchDiff(b, to));
        const from = (base: unknown) => (patch === undefined ? base : applyMergePatch(base, patch));
        return deepEqual(from(a), to) && deepEqual(from(b), to);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('lease time', () => {
  it('formats MicroTime with six fractional digits and parses it back', () => {
    const ms = Date.parse('2026-03-04T05:06:07.123Z');
    expect(microTime(ms)).toBe('2026-03-04T05:06:07.123000Z');
    expect(parseTime(microTime(ms))).toBe(ms);
    expect(parseTime('2026-03-04T05:06:07Z')).toBe(Date.parse('2026-03-04T05:06:07Z'));
    expect(parseTime('garbage')).toBeNaN();
  });

  it('a lease is fresh until renewTime + leaseDurationSeconds', () => {
    const renew = Date.parse('2026-01-01T00:00:00Z');
    const lease = { metadata: { name: 'h1' }, spec: { holderIdentity: 'h1', leaseDurationSeconds: 40, renewTime: microTime(renew) } };
    expect(leaseExpiry(lease)).toBe(renew + 40_000);
    expect(isLeaseFresh(lease, renew + 39_999)).toBe(true);
    expect(isLeaseFresh(lease, renew + 40_000)).toBe(false);
    expect(isLeaseFresh({ ...lease, spec: { ...lease.spec, holderIdentity: '' } }, renew)).toBe(false);
    expect(isLeaseFresh(undefined, renew)).toBe(false);
  });
});
