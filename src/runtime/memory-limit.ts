// A soft memory limit for a long-running process, like Go's GOMEMLIMIT: V8 collects sooner as the
// process nears the limit, and keeps its own heuristics while it is far below.
//
// Why: after a full GC V8 lets the heap grow up to 4x over what it found live before it collects
// again. At vmworld the operator's live heap is ~0.6 GiB and its RSS peaked at ~1.45 GiB, mostly
// garbage that nothing had collected yet. A fixed growth factor (--heap-growth-percent) or a hard
// cap (--max-old-space-size) keeps RSS down but also taxes the phases where the heap is small or
// growing (listing 200,000 objects), where extra full GCs mark everything again and again. This
// sets V8's growth (--heap-growing-percent, read at every GC) from the room left under the limit,
// four times a second, and only when that room is less than V8 could use on its own.
//
// It is soft. Through a long busy phase V8 keeps committing old-space pages it does not fill (at
// vmworld the committed heap grew ~1 MB/s while what it used stayed at 0.6-0.7 GiB), so RSS ran up
// to ~20 % over the limit (1,072-1,107 MiB at 900-922 MiB). Set the container's hard limit above it.
// Counting that free space in the budget only collected more often (tried, same peak). Compacting
// every page at each full GC (--compact-on-every-full-gc) does return it, but copies the whole live
// heap into new pages first: RSS jumped to 1.4 GiB for a moment at each such GC.
import { setFlagsFromString, getHeapSpaceStatistics } from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { silentLogger, type Logger } from '../util/log';

/** What the decision reads, in bytes. */
export interface MemorySample {
  rss: number;
  /** Old generation (old, code and large-object spaces): used bytes, and bytes resident. */
  oldUsed: number;
  oldResident: number;
}

export interface GrowthInputs extends MemorySample {
  /** The RSS to stay under. */
  targetBytes: number;
  /** Old-generation bytes a full GC found live last (undefined before the first one). */
  liveAfterFullGc: number | undefined;
}

/** V8's own growth goes up to 4x (300 %): room for that much means nothing to constrain. */
export const V8_MAX_GROWTH_PERCENT = 300;
/** The floor: past it a live heap over the limit would have V8 collecting all the time. */
export const MIN_GROWTH_PERCENT = 10;

/**
 * The heap growth V8 may use (percent over the live set), or 0 to leave it to V8.
 *
 * Everything in RSS that is not the old generation (young generation, code, buffers, native) is
 * taken as it is now; the rest of the target is the old generation's budget. The live set at the
 * next full GC is estimated as the larger of the last full GC's and 90 % of what is used now: while
 * the heap is filling (a list of every object), most of what is used is live, and the last full
 * GC's figure is already too small.
 */
export function heapGrowthPercent(s: GrowthInputs): number {
  const other = Math.max(0, s.rss - s.oldResident);
  const budget = s.targetBytes - other;
  const live = Math.max(s.liveAfterFullGc ?? 0, 0.9 * s.oldUsed);
  if (live <= 0) return 0;
  const percent = Math.floor((budget / live - 1) * 100);
  if (percent >= V8_MAX_GROWTH_PERCENT) return 0;
  return Math.max(MIN_GROWTH_PERCENT, percent);
}

const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space', 'read_only_space']);

export function sampleMemory(): MemorySample {
  let oldUsed = 0;
  let oldResident = 0;
  for (const sp of getHeapSpaceStatistics()) {
    if (YOUNG_SPACES.has(sp.space_name)) continue;
    oldUsed += sp.space_used_size;
    oldResident += sp.physical_space_size;
  }
  return { rss: process.memoryUsage.rss(), oldUsed, oldResident };
}

export interface SoftMemoryLimitOptions {
  /** The RSS to stay under, in bytes. */
  limitBytes: number;
  intervalMs?: number;
  logger?: Logger;
  /** For tests: where samples come from and where the flag goes. */
  sample?: () => MemorySample;
  setGrowth?: (percent: number) => void;
}

const v8Growth = (percent: number) => setFlagsFromString(`--heap-growing-percent=${percent}`);

/** Keeps V8's heap growth within a memory limit: `start()` once, `stop()` at shutdown. */
export class SoftMemoryLimit {
  readonly targetBytes: number;
  private readonly sample: () => MemorySample;
  private readonly setGrowth: (percent: number) => void;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private liveAfterFullGc: number | undefined;
  private current = 0;
  private timer: NodeJS.Timeout | undefined;
  private observer: PerformanceObserver | undefined;
  private lastWarnAt = -Infinity;

  constructor(opts: SoftMemoryLimitOptions) {
    this.targetBytes = opts.limitBytes;
    this.sample = opts.sample ?? sampleMemory;
    this.setGrowth = opts.setGrowth ?? v8Growth;
    this.log = opts.logger ?? silentLogger;
    this.intervalMs = opts.intervalMs ?? 250;
  }

  /** The growth percent last handed to V8 (0: V8's own). */
  get growthPercent(): number {
    return this.current;
  }

  start(): this {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (((e as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.fullGcDone();
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    this.tick();
    return this;
  }

  /** Stops steering and hands the heap's growth back to V8. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.observer?.disconnect();
    this.timer = undefined;
    this.observer = undefined;
    if (this.current !== 0) this.setGrowth(0);
    this.current = 0;
  }

  /** A full GC just ended: what the old generation holds now is (about) what it found live. */
  fullGcDone(): void {
    this.liveAfterFullGc = this.sample().oldUsed;
  }

  /** Re-decide the growth from a fresh sample; hands V8 a new value only when it changed. */
  tick(now = Date.now()): number {
    const s = this.sample();
    const percent = heapGrowthPercent({ ...s, targetBytes: this.targetBytes, liveAfterFullGc: this.liveAfterFullGc });
    if (percent !== this.current) {
      this.setGrowth(percent);
      this.log.debug({ percent, rssMiB: mib(s.rss), oldUsedMiB: mib(s.oldUsed), targetMiB: mib(this.targetBytes) }, 'heap growth');
      this.current = percent;
    }
    if (percent === MIN_GROWTH_PERCENT && now - this.lastWarnAt > 60_000) {
      this.lastWarnAt = now;
      this.log.warn(
        { liveMiB: mib(this.liveAfterFullGc ?? s.oldUsed), rssMiB: mib(s.rss), targetMiB: mib(this.targetBytes) },
        'the live heap leaves little room under the memory limit: garbage is collected often; raise the limit',
      );
    }
    return percent;
  }
}

const mib = (b: number) => Math.round(b / 2 ** 20);

/**
 * A memory limit as Kubernetes writes one: plain bytes (what a `resourceFieldRef` to
 * `limits.memory` gives), or a quantity with a binary or decimal suffix (`1Gi`, `1536Mi`, `2G`).
 * Undefined for text that is none of these.
 */
export function parseMemoryQuantity(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}

/** A `--memory-limit` value: 0 for none, else a memory quantity (undefined for anything else). */
export function parseMemoryLimit(text: string): number | undefined {
  return text.trim() === '0' ? 0 : parseMemoryQuantity(text);
}
