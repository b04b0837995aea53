// Benchmark scenario "antrea-xl": 25,000 tenants, 100,000 VMs (one vNIC each) on 512 hosts, 75,000
// tenant policies (3 per tenant, peers by tag, other tenants and CIDR), compile only.
// Target: under 6 s and 1.6 GB peak RSS. `--quick` runs 1/20 of it.
import type { BenchOptions } from '../../src/cli/commands/bench';
import { runCompileBench } from './compile-common';

export async function run(opts: BenchOptions): Promise<object> {
  // 512 hosts x 196 VM slots ≈ 100,000 VMs (100,352).
  const size = opts.quick
    ? { hosts: 26, vmsPerHost: 196, vnicsPerVm: 1, tenants: 1250, pools: 8, policiesPerTenant: 3 }
    : { hosts: 512, vmsPerHost: 196, vnicsPerVm: 1, tenants: 25_000, pools: 8, policiesPerTenant: 3 };
  return runCompileBench('antrea-xl', size, opts, { seconds: 6, rssBytes: 1.6e9 });
}
