// The soft memory limit: the growth it hands V8 from the room left under the limit, its steering over
// samples and full GCs, the quantities it reads, and a real process kept under a limit.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { heapGrowthPercent, MIN_GROWTH_PERCENT, parseMemoryQuantity, SoftMemoryLimit, V8_MAX_GROWTH_PERCENT, type MemorySample } from '../../src/runtime/memory-limit';

const MiB = 2 ** 20;

describe('heapGrowthPercent', () => {
  const at = (rss: number, oldUsed: number, oldResident: number, live: number | undefined, target = 900) =>
    heapGrowthPercent({ rss: rss * MiB, oldUsed: oldUsed * MiB, oldResident: oldResident * MiB, liveAfterFullGc: live === undefined ? undefined : live * MiB, targetBytes: target * MiB });

  it.each([
    // rss, old used, old resident, live at the last full GC -> percent
    ['far below the limit: V8 decides', 300, 100, 110, 90, 0],
    ['room for exactly 4x is still V8 own', 260, 100, 100, 175, 0],
    ['vmworld steady state: 700 used, 200 other', 1020, 700, 820, 620, 11], // 700 / (0.9 x 700)
    ['filling: most of what is used is live', 700, 500, 500, 200, 55],
    ['over the limit: the floor', 1200, 950, 1000, 900, MIN_GROWTH_PERCENT],
    ['nothing allocated yet', 50, 0, 0, undefined, 0],
  ])('%s', (_name, rss, used, resident, live, want) => {
    expect(at(rss, used, resident, live)).toBe(want);
  });

  it('lets the old generation grow only as far as the target leaves room for (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4096 }), // target MiB
        fc.integer({ min: 0, max: 2048 }), // other (young, code, native) MiB
        fc.integer({ min: 1, max: 4096 }), // old used MiB
        fc.option(fc.integer({ min: 1, max: 4096 }), { nil: undefined }), // live at the last full GC
        (target, other, used, live) => {
          const s = { rss: (other + used) * MiB, oldUsed: used * MiB, oldResident: used * MiB, liveAfterFullGc: live && live * MiB, targetBytes: target * MiB };
          const p = heapGrowthPercent(s);
          const est = Math.max(live ?? 0, 0.9 * used) * MiB;
          const budget = target * MiB - other * MiB;
          if (p === 0) {
            // Left to V8 only when even its largest growth (4x) fits.
            expect(est * (1 + V8_MAX_GROWTH_PERCENT / 100)).toBeLessThanOrEqual(budget);
          } else if (p > MIN_GROWTH_PERCENT) {
            expect(other * MiB + est * (1 + p / 100)).toBeLessThanOrEqual(target * MiB);
            expect(p).toBeLessThan(V8_MAX_GROWTH_PERCENT);
          } else {
            expect(p).toBe(MIN_GROWTH_PERCENT);
          }
        },
      ),
    );
  });
});

describe('SoftMemoryLimit', () => {
  it('hands V8 a growth only when it changes, and uses what a full GC found live', () => {
    let sample: MemorySample = { rss: 300 * MiB, oldUsed: 100 * MiB, oldResident: 110 * MiB };
    const set: number[] = [];
    const limit = new SoftMemoryLimit({ limitBytes: 900 * MiB, sample: () => sample, setGrowth: (p) => set.push(p) });
    expect(limit.targetBytes).toBe(900 * MiB);
    expect(limit.tick()).toBe(0);
    expect(set).toEqual([]); // V8's own already
    sample = { rss: 900 * MiB, oldUsed: 600 * MiB, oldResident: 720 * MiB };
    const p1 = limit.tick();
    expect(p1).toBe(33); // (900 - 180) / (0.9 x 600)
    expect(limit.tick()).toBe(p1);
    expect(set).toEqual([p1]);
    // A full GC found 620 MiB live, more than 90 % of what is used after it: that is the estimate.
    sample = { rss: 900 * MiB, oldUsed: 620 * MiB, oldResident: 720 * MiB };
    limit.fullGcDone();
    sample = { rss: 900 * MiB, oldUsed: 630 * MiB, oldResident: 720 * MiB };
    expect(limit.tick()).toBe(16); // (900 - 180) / 620
    expect(set).toHaveLength(2);
    expect(limit.growthPercent).toBe(set[1]);
    limit.stop();
    expect(set.at(-1)).toBe(0); // back to V8's own
  });

  it('warns at most once a minute while the live heap leaves no room', () => {
    const warnings: string[] = [];
    const logger = { debug: () => {}, warn: (_o: unknown, m: string) => warnings.push(m) } as never;
    const limit = new SoftMemoryLimit({ limitBytes: 90 * MiB, logger, sample: () => ({ rss: 200 * MiB, oldUsed: 150 * MiB, oldResident: 150 * MiB }), setGrowth: () => {} });
    expect(limit.tick(0)).toBe(MIN_GROWTH_PERCENT);
    limit.tick(30_000);
    expect(warnings).toHaveLength(1);
    limit.tick(61_000);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/raise the limit/);
  });
});

describe('parseMemoryQuantity', () => {
  it.each([
    ['1073741824', 2 ** 30],
    ['1Gi', 2 ** 30],
    ['1536Mi', 1536 * MiB],
    ['512Ki', 512 * 1024],
    ['2G', 2e9],
    ['1.5Gi', 1.5 * 2 ** 30],
    [' 100M ', 1e8],
  ])('%s', (text, want) => expect(parseMemoryQuantity(text)).toBe(want));

  it.each(['', 'abc', '-1Gi', '1GB', '1 Gi', '0', 'Gi', '1e9'])('%j is not a limit', (text) => expect(parseMemoryQuantity(text)).toBeUndefined());
});

describe('a real process under a soft limit', () => {
  // V8's own growth lets the old generation reach several times the live set before it collects;
  // under the limit the heap stays near it.
  const run = (roomMiB: number) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', new URL('../fixtures/soft-limit-workload.mjs', import.meta.url).pathname, String(roomMiB)], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`workload failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { peakHeapMiB: number; peakRssMiB: number; growth: number | null };
  };

  it('keeps the heap peak lower than V8 alone does', () => {
    const free = run(0);
    const limited = run(60);
    expect(free.growth).toBeNull();
    expect(limited.growth).toBeGreaterThan(0);
    expect(limited.peakHeapMiB).toBeLessThan(free.peakHeapMiB * 0.7);
    expect(limited.peakRssMiB).toBeLessThan(free.peakRssMiB);
  }, 120_000);
});
