// Shared by the compile benchmarks: build a synthetic datacenter, compile it, measure time and memory.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { BenchOptions } from '../lib/options';
import { PolicyCompiler } from '../../src/policy/compile';
import { syntheticDatacenter, type SyntheticOptions } from '../../src/policy/synthetic';
import { MiB, repeated, round } from '../lib/stats';

/** Peak resident set size so far (VmHWM), in bytes; null where /proc is missing. */
export function peakRssBytes(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

const COMPILE_REPETITIONS = 3;

export async function runCompileBench(name: string, size: SyntheticOptions, opts: BenchOptions, targets: { seconds: number; rssBytes: number }) {
  const t0 = performance.now();
  const dc = syntheticDatacenter(size);
  const genSeconds = (performance.now() - t0) / 1000;
  const vnics = dc.vms.reduce((n, v) => n + v.spec.vnics.length, 0);
  opts.progress(`${name}: ${dc.hosts.length} hosts, ${dc.vms.length} VMs, ${vnics} vNICs, ${dc.tenants.length} tenants, ${dc.policies.length} policies (generated in ${round(genSeconds)} s)`);
  const rssBefore = process.memoryUsage().rss;
  const inputs = [...dc.tenants, ...dc.hosts, ...dc.policies, ...dc.vms];

  const t1 = performance.now();
  const cpu0 = process.cpuUsage();
  const compiler = PolicyCompiler.compileAll(inputs);
  const compileSeconds = (performance.now() - t1) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // CPU time beside wall time: on a shared machine the wall clock mostly measures the neighbours.
  const compileCpuSeconds = (cpu.user + cpu.system) / 1e6;
  const mem = process.memoryUsage();
  const peak = peakRssBytes();
  opts.progress(`${name}: compiled in ${round(compileSeconds)} s`);

  // Per-host size and shape (serializing every host once, after the clock stopped).
  let maxBytes = 0;
  let maxHost = '';
  let totalBytes = 0;
  let maxPrograms = 0;
  let maxGroups = 0;
  let maxRules = 0;
  let largestGroup = 0;
  for (const [host, spec] of compiler.specs()) {
    const bytes = Buffer.byteLength(JSON.stringify(spec));
    totalBytes += bytes;
    if (bytes > maxBytes) [maxBytes, maxHost] = [bytes, host];
    maxPrograms = Math.max(maxPrograms, spec.programs.length);
    maxGroups = Math.max(maxGroups, spec.addressGroups.length);
    maxRules = Math.max(maxRules, spec.programs.reduce((n, p) => n + p.egress.length + p.ingress.length, 0));
    for (const g of spec.addressGroups) largestGroup = Math.max(largestGroup, g.addresses.length);
  }

  // One incremental change for scale: a tenant adds a rule to one of its policies.
  const edited = dc.policies.find((p) => p.metadata.namespace === 't-0')!;
  const extra = { name: 'extra', action: 'Allow' as const, peers: [], ports: [{ protocol: 'TCP' as const, port: 8443 }] };
  const t2 = performance.now();
  const updates = compiler.apply([{ op: 'upsert', object: { ...edited, spec: { ...edited.spec, ingress: [...edited.spec.ingress, extra] } } }]);
  const incrementalMs = performance.now() - t2;

  const stats = compiler.stats();
  // More repetitions of the full compile for the median and spread (peak RSS is the first run's: a
  // repetition starts with the garbage of the one before).
  const reps = [compileSeconds];
  for (let i = 1; i < (opts.quick ? 1 : COMPILE_REPETITIONS); i++) {
    const t = performance.now();
    PolicyCompiler.compileAll(inputs);
    reps.push((performance.now() - t) / 1000);
  }
  opts.progress(`${name}: ${reps.length} compiles: ${reps.map((r) => round(r)).join(', ')} s`);
  return {
    quick: opts.quick,
    size: { hosts: dc.hosts.length, vms: dc.vms.length, vnics, tenants: dc.tenants.length, policies: dc.policies.length },
    generateSeconds: round(genSeconds),
    compileSeconds: round(compileSeconds),
    compileSecondsRepeated: repeated(reps),
    compileCpuSeconds: round(compileCpuSeconds),
    loadAverage1m: round(loadavg()[0]!, 1),
    peakRssBytes: peak,
    peakRssMiB: peak === null ? null : round(peak / MiB, 0),
    rssBeforeCompileMiB: round(rssBefore / MiB, 0),
    heapUsedAfterMiB: round(mem.heapUsed / MiB, 0),
    rssAfterMiB: round(mem.rss / MiB, 0),
    compiled: { programs: stats.programs, programBuilds: stats.programBuilds, groups: stats.groups, bindings: stats.bindings },
    perHost: { maxBytes, maxHost, meanBytes: Math.round(totalBytes / Math.max(1, compiler.specs().size)), maxPrograms, maxGroups, maxRules, largestGroupEntries: largestGroup },
    incremental: { change: 'tenant t-0 adds an ingress rule', hostsChanged: updates.length, ms: round(incrementalMs, 1) },
    targets: { compileSeconds: targets.seconds, peakRssBytes: targets.rssBytes },
    withinTargets: compileSeconds < targets.seconds && (peak === null || peak < targets.rssBytes),
  };
}
