// Benchmark scenario "analyze" (issue 15): exact cross-tenant reachability of the vmworld datacenter
// (512 hosts, 40,000 VMs, 40,000 tenants). The datacenter is generated in memory with every VM pinned
// (placement is not what is measured), compiled into HostFilters, then analyzed. Target: the analysis
// under 60 s and 4 GiB peak RSS. One run (the machine is shared). `--quick` runs 1/20 of it.
import type { BenchOptions } from '../lib/options';
import { analyze } from '../../src/analyze';
import { compileWorld } from '../../src/analyze/world';
import { generateDatacenter } from '../../src/gen';
import { round } from '../lib/stats';

const MiB = 1024 * 1024;

export async function run(opts: BenchOptions): Promise<object> {
  const size = opts.quick ? { hosts: 26, vms: 2000, tenants: 2000 } : { hosts: 512, vms: 40_000, tenants: 40_000 };
  let t = performance.now();
  const dc = generateDatacenter({ ...size, pin: true });
  const generateSeconds = (performance.now() - t) / 1000;
  opts.progress(`analyze: generated ${dc.vms.length} VMs in ${generateSeconds.toFixed(1)} s`);
  t = performance.now();
  const compiled = compileWorld({ tenants: dc.tenants, tags: dc.tags, hosts: dc.hosts, vms: dc.vms, policies: dc.policies }, { placed: true });
  const compileSeconds = (performance.now() - t) / 1000;
  opts.progress(`analyze: compiled ${compiled.filters.size} HostFilters in ${compileSeconds.toFixed(1)} s`);
  const cpu0 = process.cpuUsage();
  t = performance.now();
  const a = analyze({ filters: compiled.filters.values(), tenantOf: compiled.tenantOf, tenants: compiled.tenants });
  const analyzeSeconds = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  opts.progress(`analyze: ${a.result.pairs.length} reachable pairs in ${analyzeSeconds.toFixed(1)} s, peak RSS ${Math.round(peakRssBytes / MiB)} MiB`);
  return {
    scenario: 'analyze',
    size: { ...size, vnics: a.result.vnics, programs: a.result.programs },
    generateSeconds: round(generateSeconds),
    compileSeconds: round(compileSeconds),
    analyzeSeconds: round(analyzeSeconds),
    analyzeCpuSeconds: round((cpu.user + cpu.system) / 1e6),
    /** Whole process (generation and compile included). */
    peakRssMiB: Math.round(peakRssBytes / MiB),
    reachablePairs: a.result.pairs.length,
    tenantsReachableFromOutside: a.result.outside.length,
    target: { analyzeSeconds: 60, peakRssMiB: 4096 },
    pass: analyzeSeconds < 60 && peakRssBytes < 4 * 1024 * MiB,
  };
}
