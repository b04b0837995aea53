// timestamp: seconds-precision RFC 3339 (metav1.Time), the same whatever came before it (it reuses
// the last second's text).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timestamp } from '../../src/runtime/conditions';

const reference = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('timestamp', () => {
  it('equals the formatted second for any sequence of times, numbers or Dates', () => {
    const time = fc.integer({ min: 0, max: 4_102_444_800_000 }); // 1970 .. 2100
    fc.assert(
      fc.property(fc.array(fc.tuple(time, fc.boolean()), { minLength: 1, maxLength: 30 }), (steps) => {
        for (const [ms, asDate] of steps) expect(timestamp(asDate ? new Date(ms) : ms)).toBe(reference(ms));
      }),
    );
  });

  it('within one second: the same text; a string passes through', () => {
    expect(timestamp(1_796_000_000_001)).toBe('2026-11-30T00:53:20Z');
    expect(timestamp(1_796_000_000_999)).toBe('2026-11-30T00:53:20Z');
    expect(timestamp(1_796_000_001_000)).toBe('2026-11-30T00:53:21Z');
    expect(timestamp('2026-01-01T00:00:00Z')).toBe('2026-01-01T00:00:00Z');
  });
});
