// Benchmark scenario "max": 512 hosts x 320 VMs x 10 vNICs = 1,638,400 vNICs with 40,000 tenants.
// 1. Compile only (no API server): the compile-max benchmark (owned by the policy engine), run here.
// 2. Through the API server, end to end like vmworld (three processes, 512 simulated agents), when
//    VMSAFE_BENCH_MAX_API=1: it creates ~324,000 objects and takes long, so `make bench` skips it by
//    default and the JSON says so. `--quick` compiles a tiny datacenter (and, with
//    VMSAFE_BENCH_MAX_API=1, runs it through the API server).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from '../lib/options';
import { REPO } from '../lib/procs';
import type { GenOptions } from '../../src/gen';
import { runCompileBench } from './compile-common';
import { run as compileMax } from './compile-max';
import { runVmWorld } from './vmworld';

export const MAX_API: GenOptions = { hosts: 512, vms: 512 * 320, tenants: 40_000, pools: 8, vnicsPerVm: 10, uniformVnics: true, seed: 1 };
const QUICK_API: GenOptions = { hosts: 4, vms: 60, tenants: 40, pools: 2, vnicsPerVm: 10, uniformVnics: true, capacity: { vms: 20, vnics: 200 }, seed: 1 };

const HEAP = ['--max-old-space-size=16384'];

/** The last run through the API server in the committed results, kept when `make bench` skips it. */
function lastApiRun(): object | null {
  try {
    const prev = JSON.parse(readFileSync(join(REPO, 'bench/results/max.json'), 'utf8'));
    const api = prev?.throughApiServer;
    if (!api) return null;
    if (api.skipped === undefined) return { at: prev.at, ...api };
    return api.lastRun ?? null;
  } catch {
    return null;
  }
}

export async function run(opts: BenchOptions): Promise<object> {
  // --quick: the compile at a tiny size (compile-max's own quick size takes a while).
  const compileOnly = opts.quick
    ? await runCompileBench('max-compile', { hosts: 4, vmsPerHost: 20, vnicsPerVm: 10, tenants: 40, pools: 2, policiesPerTenant: 'varied' }, opts, { seconds: 60, rssBytes: 8 * 1024 ** 3 })
    : await compileMax(opts);
  const wantApi = process.env.VMSAFE_BENCH_MAX_API === '1';
  let throughApiServer: object;
  if (!wantApi) throughApiServer = { skipped: 'set VMSAFE_BENCH_MAX_API=1 to run it (it creates ~324,000 objects and takes ~20 minutes)', lastRun: lastApiRun() };
  else {
    const gen = opts.quick ? QUICK_API : MAX_API;
    try {
      throughApiServer = await runVmWorld(gen, {
        ...opts,
        edits: opts.quick ? 2 : 20,
        // Every host is full by construction (320 VMs each): a new VM cannot be placed.
        creations: opts.quick ? 2 : 0,
        acceptUnschedulable: true,
        idleFraction: 0.4,
        coldTimeoutMs: opts.quick ? 60_000 : 1_800_000,
        restarts: 1,
        nodeFlags: { apiserver: HEAP, operator: HEAP, agents: HEAP },
      });
    } catch (err) {
      throughApiServer = { failed: (err as Error).message };
    }
  }
  return { quick: opts.quick, compileOnly, throughApiServer };
}
