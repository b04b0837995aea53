// AdaptiveConcurrency: additive increase on fast writes, halving on slow or failed ones, bounded.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AdaptiveConcurrency } from '../../src/runtime/flowcontrol';

describe('AdaptiveConcurrency', () => {
  it('hands out at most `limit` slots and takes them back', () => {
    const a = new AdaptiveConcurrency({ initial: 2, slowMs: 100 });
    const t1 = a.tryAcquire();
    const t2 = a.tryAcquire();
    expect(t1).toBeDefined();
    expect(t2).toBeDefined();
    expect(a.tryAcquire()).toBeUndefined();
    a.release(t1!, 10);
    expect(a.inflight).toBe(1);
    expect(a.tryAcquire()).toBeDefined();
  });

  it('grows by about one slot per limit of fast writes, up to max', () => {
    const a = new AdaptiveConcurrency({ initial: 2, max: 4, slowMs: 100 });
    // 2 -> 2.5 -> 2.9 -> 3.24: three fast writes to go from 2 to 3.
    for (let i = 0; i < 2; i++) a.release(a.tryAcquire()!, 5);
    expect(a.limit).toBe(2);
    a.release(a.tryAcquire()!, 5);
    expect(a.limit).toBe(3);
    for (let i = 0; i < 100; i++) a.release(a.tryAcquire()!, 5);
    expect(a.limit).toBe(4);
  });

  it('halves on a slow write, once per round of writes in flight, down to min', () => {
    const a = new AdaptiveConcurrency({ initial: 8, min: 1, slowMs: 100 });
    const tokens = Array.from({ length: 8 }, () => a.tryAcquire()!);
    // Eight writes started together all come back slow: one signal, one halving.
    for (const t of tokens) a.release(t, 500);
    expect(a.limit).toBe(4);
    a.release(a.tryAcquire()!, 0, true);
    expect(a.limit).toBe(2);
    for (let i = 0; i < 5; i++) a.release(a.tryAcquire()!, 500);
    expect(a.limit).toBe(1);
  });

  it('keeps the limit within [min, max] and never hands out more slots than the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ acquire: fc.boolean(), ms: fc.nat(3000), failed: fc.boolean() }), { maxLength: 200 }), (steps) => {
        const a = new AdaptiveConcurrency({ initial: 3, min: 1, max: 6, slowMs: 1000 });
        const held: number[] = [];
        for (const s of steps) {
          if (s.acquire) {
            const t = a.tryAcquire();
            if (t !== undefined) held.push(t);
            else expect(a.inflight).toBeGreaterThanOrEqual(a.limit);
          } else if (held.length) a.release(held.shift()!, s.ms, s.failed);
          expect(a.limit).toBeGreaterThanOrEqual(1);
          expect(a.limit).toBeLessThanOrEqual(6);
          expect(a.inflight).toBe(held.length);
        }
      }),
    );
  });
});
