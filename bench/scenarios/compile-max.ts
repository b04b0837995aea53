// Benchmark scenario "compile-max": full compile of 512 hosts x 320 VMs x 10 vNICs (1,638,400 vNICs,
// 40,000 tenants in 8 pools, 1-3 tenant policies each, provider guardrails and a baseline).
// Target: under 60 s and 8 GiB peak RSS. `--quick` runs 1/20 of it.
// Measured 2026-11-26 on the shared 2-core machine (load ~9): compile 28.3 s wall / 14.4 s CPU / 1796 MiB
// before the compiler's allocation work, 14.0 s / 8.6 s / 1505 MiB after (back to back, same load).
import type { BenchOptions } from '../lib/options';
import { runCompileBench } from './compile-common';

export async function run(opts: BenchOptions): Promise<object> {
  const size = opts.quick
    ? { hosts: 26, vmsPerHost: 320, vnicsPerVm: 10, tenants: 2000, pools: 8, policiesPerTenant: 'varied' as const }
    : { hosts: 512, vmsPerHost: 320, vnicsPerVm: 10, tenants: 40_000, pools: 8, policiesPerTenant: 'varied' as const };
  return runCompileBench('compile-max', size, opts, { seconds: 60, rssBytes: 8 * 1024 ** 3 });
}
