// Smoke test of the end-to-end benchmarks at tiny sizes (`--quick`): the harness starts the three
// processes, loads, converges, probes, and every scenario reports the figures the JSON promises.
// Budget: under 30 s on an idle 2-core machine (timeouts are generous for a shared one).
import { describe, expect, it } from 'vitest';
import type { BenchOptions } from '../../bench/lib/options';
import { run as conntrack } from '../../bench/scenarios/conntrack';
import { run as converge } from '../../bench/scenarios/converge';
import { run as max } from '../../bench/scenarios/max';
import { run as vmworld } from '../../bench/scenarios/vmworld';
import { percentile, repeated, summarize } from '../../bench/lib/stats';
import { realClusterBudget, secondsAt } from '../../bench/lib/budget';

const opts: BenchOptions = { quick: true, progress: () => undefined };

describe('bench statistics', () => {
  it('percentiles are nearest-rank and repetitions report median and spread', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(summarize([3, 1, 2])).toMatchObject({ n: 3, min: 1, p50: 2, max: 3, mean: 2 });
    expect(repeated([4, 2, 3, 10])).toMatchObject({ median: 3.5, spread: 8, runs: [4, 2, 3, 10] });
  });
});

describe('real-cluster budget', () => {
  it.each([
    // writes, bytes, qps, bandwidth -> seconds: the larger of the request-rate and disk bounds
    [1000, 1e6, 20, 10e6, 50],
    [1000, 1e9, 20, 10e6, 100],
    [0, 0, 50, 10e6, 0],
  ])('%i writes of %i bytes at %i qps / %i B/s take %f s', (writes, bytes, qps, bw, want) => {
    expect(secondsAt(writes, bytes, qps, bw)).toBe(want);
  });

  it('reports rates per phase, the largest object against etcd\'s limit, and estimates per QPS', () => {
    const b = realClusterBudget({ coldStart: { writes: 600, bytes: 6e6, seconds: 60 }, statusSettled: { writes: 1200, bytes: 12e6, seconds: 120 }, largestObjectBytes: 786432 });
    expect(b.measured.coldStart).toMatchObject({ writesPerSecond: 10, bytesPerSecond: 100000, meanWriteBytes: 10000 });
    expect(b.largestObjectFraction).toBe(0.5);
    expect(b.estimatedSecondsOnRealCluster.statusSettled).toEqual({ qps20: 60, qps50: 24, qps100: 12, qps200: 6 });
  });
});

describe('end-to-end scenarios, quick', () => {
  it('converge: examples/ converge with peak RSS per process', async () => {
    const r = (await converge(opts)) as any;
    const ex = r.examples;
    expect(ex.size.vms).toBeGreaterThan(0);
    expect(ex.applyToConvergenceSeconds.median).toBeGreaterThan(0);
    for (const c of ['apiserver', 'operator', 'agents']) expect(ex.peakRssMiB[c].median).toBeGreaterThan(10);
    expect(ex.runs[0].writes.byResource['vmsafe.io/hostfilters'].creates).toBe(ex.size.hosts);
  }, 240_000);

  it('vmworld: cold start, edits write exactly the tenant hosts, creations reach Running', async () => {
    const r = (await vmworld(opts)) as any;
    expect(r.coldStart.seconds).toBeGreaterThan(0);
    expect(r.coldStart.apiWrites.byResource['vmsafe.io/vms'].updates).toBeGreaterThanOrEqual(r.size.vms);
    expect(r.policyEdit.edits).toBeGreaterThan(0);
    expect(r.policyEdit.writesEqualTenantHosts).toBe(true);
    expect(r.vmCreate.creations).toBe(5);
    expect(r.largestObject.bytes).toBeGreaterThan(0);
    expect(r.programsPerHost.live.max).toBeGreaterThan(0);
    expect(r.programsPerHost.offlinePlan.policyAware.mean).toBeLessThanOrEqual(r.programsPerHost.offlinePlan.leastAllocatedOnly.mean);
    // Issue 17: no-op PATCH floor measured beside the probes; a restart against the converged
    // datacenter writes nothing; the operator's writes are attributed to it by field manager.
    expect(r.noopPatchMs.n).toBe(2 * (r.policyEdit.edits + r.vmCreate.creations));
    expect(r.noopPatchP99Ms).toBeGreaterThan(0);
    expect(r.restart.settled).toBe(true);
    expect(r.restart.operatorWrites).toBe(0);
    // Two restarts in a row at quick sizes (three at full size): each reported, the median on top.
    expect(r.restart.readySecondsEach).toHaveLength(2);
    expect(r.restart.readySeconds).toBeCloseTo((r.restart.readySecondsEach[0] + r.restart.readySecondsEach[1]) / 2, 1);
    expect(r.restart.allWrites).toHaveLength(2);
    // Every operator process counted: the cold start's and each restart's.
    expect(r.restart.resources.operatorEach).toHaveLength(2);
    for (const p of r.restart.resources.operatorEach) expect(p.cpuSeconds).toBeGreaterThan(0);
    const restartsCpu = r.restart.resources.operatorEach.reduce((n: number, p: any) => n + p.cpuSeconds, 0);
    expect(r.cpuSeconds.operator).toBeGreaterThan(restartsCpu);
    expect(r.realClusterBudget.measured.coldStart.writes).toBeGreaterThanOrEqual(r.size.vms);
    expect(r.ratios.editP99OverNoopP99).toBeGreaterThan(0);
    // The slowest probes, slowest first, with when they started (to line up with traces), and the
    // bench process's own CPU through the cold start (its observer shares the machine).
    const creates = r.vmCreate.slowest;
    expect(creates).toHaveLength(3);
    expect(creates[0].ms).toBe(r.vmCreate.toRunningMs.max);
    expect(creates[0].ms).toBeGreaterThanOrEqual(creates[2].ms);
    expect(Number.isNaN(Date.parse(creates[0].startedAt))).toBe(false);
    expect(creates[0].host).toMatch(/./);
    expect(r.policyEdit.slowest[0]).toMatchObject({ ms: r.policyEdit.latencyMs.max, policy: expect.stringMatching(/\//) });
    expect(r.coldStart.resources.benchProcess.cpuSeconds).toBeGreaterThan(0);
  }, 300_000);

  it('conntrack: a full table takes new flows and hits at every size, beside the Map it replaced', async () => {
    const r = (await conntrack(opts)) as any;
    expect(r.rows.map((row: any) => row.maxFlows)).toEqual([256, 4096]);
    for (const row of r.rows) for (const t of [row.conntrack, row.mapWithIteration]) for (const f of [t.insertNs, t.hitNs]) expect(f.median).toBeGreaterThan(0);
    expect(typeof r.withinTargets.insertFlat).toBe('boolean');
  }, 30_000);

  it('max: compiles 10 vNICs per VM and says how to run the API-server part', async () => {
    const r = (await max(opts)) as any;
    expect(r.compileOnly.size.vnics).toBe(r.compileOnly.size.vms * 10);
    expect(r.compileOnly.compiled.bindings).toBe(r.compileOnly.size.vnics);
    expect(r.throughApiServer.skipped).toMatch(/VMSAFE_BENCH_MAX_API=1/);
    // The committed run through the API server is carried over, not lost to a plain `make bench`.
    expect(r.throughApiServer.lastRun?.size?.vnics).toBe(1_638_400);
  }, 60_000);
});
