// Benchmark scenario "antrea-xl": 25,000 tenants, 100,000 VMs (one vNIC each) on 512 hosts, 75,000
// tenant policies (3 per tenant, peers by tag, other tenants and CIDR), compile only.
// Target: under 6 s and 1.6 GB peak RSS. `--quick` runs 1/20 of it.
// Measured 2026-11-26 on the shared 2-core machine (load ~10, so compare compileCpuSeconds): compile
// CPU 6.9-7.8 s -> 6.0-6.8 s, peak RSS 994 -> 718 MiB (fewer objects per rule/group/program; see git log
// of src/policy). Wall time there is mostly the neighbours; at load ~5 it was 5.2-6.1 s.
import type { BenchOptions } from '../lib/options';
import { runCompileBench } from './compile-common';

export async function run(opts: BenchOptions): Promise<object> {
  // 512 hosts x 196 VM slots ≈ 100,000 VMs (100,352).
  const size = opts.quick
    ? { hosts: 26, vmsPerHost: 196, vnicsPerVm: 1, tenants: 1250, pools: 8, policiesPerTenant: 3 }
    : { hosts: 512, vmsPerHost: 196, vnicsPerVm: 1, tenants: 25_000, pools: 8, policiesPerTenant: 3 };
  return runCompileBench('antrea-xl', size, opts, { seconds: 6, rssBytes: 1.6e9 });
}
