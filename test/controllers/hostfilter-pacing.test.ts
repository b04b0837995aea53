// HostFilter write pacing: isolated changes go out at once, a host rewritten in a busy burst backs off.
import { describe, expect, it } from 'vitest';
import { nextPace, type PaceState } from '../../src/controllers/hostfilter';

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
