// Benchmark scenario "cli": the offline tools at vmworld scale, as a user runs them (bin/vmsafe in a
// child process): `vmsafe validate -f DIR` and `vmsafe trace -f DIR` of one packet on the datacenter
// `vmsafe gen --hosts 512 --vms 40000 --tenants 40000` writes (200,255 objects, 62 MiB).
// Wall time and peak RSS (GNU time's maximum resident set size, from wait4) per run, medians of
// several runs. Targets (issue 14): validate under 10 s and 1 GiB, trace under 5 s.
// The datacenter is generated once into $TMPDIR/vmsafe-bench-cli (reused while its marker matches).
// BENCH_CLI_BEFORE=DIR also runs each command once with the checkout in DIR (e.g. main before the
// change), for a before/after line. The machine load (1-minute load average) is recorded beside it.
// BENCH_CLI_ROUNDS=N sets the repetitions (default 3).
// `vmsafe trace --live` of the same packet: against a `vmsafe apiserver` process holding the
// datacenter's 512 HostFilters (compiled offline from the same manifests, every VM placed as the
// operator would, each marked applied) and the two endpoint VMs with their hosts in status. A live
// trace reads only those (two VM GETs, two HostFilter GETs, the shards of shared groups), so the other
// 199,000 objects are not loaded: what it costs does not depend on them.
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyCompiler } from '../../src/policy/compile';
import { placeOffline } from '../../src/policy/offline';
import { loadTraceWorld } from '../../src/policy/trace-offline';
import { Cluster } from '../lib/cluster';
import { must } from '../lib/http';
import { collectionPath, objectPath } from '../lib/load';
import type { BenchOptions } from '../lib/options';
import { REPO } from '../lib/procs';
import { round } from '../lib/stats';

const SIZE = { hosts: 512, vms: 40000, tenants: 40000 };
const QUICK = { hosts: 16, vms: 1000, tenants: 1000 };
const TIME = '/usr/bin/time';

interface Run {
  seconds: number;
  /** user + system CPU seconds: less sensitive than wall time to a busy machine. */
  cpuSeconds: number;
  peakRssMiB: number;
  exitCode: number;
}

/** One run of `repo/bin/vmsafe args` under GNU time; output discarded, the last stderr line kept for errors. */
function timed(repo: string, args: string[]): Run {
  const r = spawnSync(TIME, ['-f', '%e %M %U %S', join(repo, 'bin/vmsafe'), ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return runOf(r.stderr, args, r.status);
}

/** A Run from GNU time's last stderr line ("%e %M %U %S"). */
function runOf(stderr: string, args: string[], exitCode: number | null): Run {
  const last = stderr.trim().split('\n').pop() ?? '';
  const m = /^([\d.]+) (\d+) ([\d.]+) ([\d.]+)$/.exec(last);
  if (!m) throw new Error(`cannot read ${TIME} output for vmsafe ${args.join(' ')}: ${last}`);
  return { seconds: Number(m[1]), cpuSeconds: round(Number(m[3]) + Number(m[4]), 2), peakRssMiB: round(Number(m[2]) / 1024, 0), exitCode: exitCode ?? -1 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Medians of the runs, with the machine's load beside them. */
function summary(runs: Run[]) {
  return {
    medianSeconds: median(runs.map((r) => r.seconds)),
    medianCpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    medianPeakRssMiB: median(runs.map((r) => r.peakRssMiB)),
    runs,
    loadAverage1m: round(loadavg()[0]!, 1),
  };
}

const repeat = (repo: string, args: string[], n: number) => summary(Array.from({ length: n }, () => timed(repo, args)));

/** The generator's source: a datacenter written by an older generator is written again. */
function generatorHash(): string {
  const h = createHash('sha256');
  const dir = join(REPO, 'src/gen');
  if (existsSync(dir)) for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex').slice(0, 16);
}

/** Like repeat, but the runs are awaited so this process's event loop keeps turning between them. */
async function repeatAsync(repo: string, args: string[], n: number) {
  const runs: Run[] = [];
  for (let i = 0; i < n; i++) runs.push(await timedAsync(repo, args));
  return summary(runs);
}

function timedAsync(repo: string, args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(TIME, ['-f', '%e %M %U %S', join(repo, 'bin/vmsafe'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', fail);
    child.on('close', (code) => {
      try {
        done(runOf(err, args, code));
      } catch (e) {
        fail(e);
      }
    });
  });
}

/** Whether the live and offline traces give the same JSON verdict (once each, outside the timings). */
function sameVerdict(repo: string, offline: string[], live: string[]): boolean {
  const json = (args: string[]) => {
    const r = spawnSync(join(repo, 'bin/vmsafe'), [...args, '-o', 'json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const { verdict, egress, ingress } = JSON.parse(r.stdout || '{}');
    return JSON.stringify({ verdict, egress, ingress });
  };
  return json(offline) === json(live);
}

function datacenter(size: typeof SIZE, progress: (l: string) => void): string {
  const dir = join(tmpdir(), 'vmsafe-bench-cli', `${size.hosts}-${size.vms}-${size.tenants}`);
  const marker = join(dir, '.complete');
  const stamp = JSON.stringify({ ...size, generator: generatorHash() });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === stamp) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  progress(`generating ${JSON.stringify(size)} into ${dir}`);
  const args = ['gen', '--hosts', String(size.hosts), '--vms', String(size.vms), '--tenants', String(size.tenants), '-o', join(dir, 'dc')];
  const r = spawnSync(join(REPO, 'bin/vmsafe'), args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vmsafe gen failed: ${r.stderr}`);
  writeFileSync(marker, stamp);
  return dir;
}

/**
 * A `vmsafe apiserver` holding what `trace --live` of these two VMs reads: every host's compiled
 * HostFilter (marked applied by its agent) and the two VMs, in their namespaces, with their hosts.
 */
export async function liveCluster(dc: string, endpoints: string[], progress: (l: string) => void): Promise<Cluster> {
  progress('compiling every host offline for the live API server');
  const { world, errors } = await loadTraceWorld([dc]);
  if (errors.length > 0) throw new Error(`invalid datacenter: ${errors[0]}`);
  const placement = placeOffline(world);
  const compiler = PolicyCompiler.compileAll([...world.tenants, ...world.tags, ...world.hosts, ...placement.vms, ...world.policies], {});
  const cluster = new Cluster({ logLevel: 'warn' });
  await cluster.startApiServer();
  const c = cluster.conn;
  progress(`writing ${world.hosts.length} HostFilters`);
  for (const h of world.hosts) {
    const spec = compiler.spec(h.metadata.name);
    if (!spec) continue;
    await must(c, 'POST', collectionPath('HostFilter'), { apiVersion: 'vmsafe.io/v1alpha1', kind: 'HostFilter', metadata: { name: h.metadata.name }, spec });
    await must(c, 'PATCH', `${objectPath('HostFilter', h.metadata.name)}/status`, { status: { appliedHash: spec.hash } }, { contentType: 'application/merge-patch+json' });
  }
  for (const key of endpoints) {
    const vm = placement.vms.find((v) => `${v.metadata.namespace}/${v.metadata.name}` === key);
    if (!vm?.status?.hostName) throw new Error(`${key} is not placed offline`);
    const ns = vm.metadata.namespace!;
    await must(c, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { exists: true });
    const { status, ...obj } = vm;
    await must(c, 'POST', collectionPath('VM', ns), obj);
    await must(c, 'PATCH', `${objectPath('VM', vm.metadata.name, ns)}/status`, { status: { hostName: status.hostName, phase: status.phase } }, { contentType: 'application/merge-patch+json' });
  }
  return cluster;
}

export async function run(opts: BenchOptions): Promise<object> {
  if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed to read peak RSS`);
  const size = opts.quick ? QUICK : SIZE;
  const dc = join(datacenter(size, opts.progress), 'dc');
  const rounds = opts.quick ? 1 : Number(process.env.BENCH_CLI_ROUNDS ?? 3);
  // Two VMs of different tenants: vm-1 of the first two tenants.
  const width = String(size.tenants).length;
  const vm = (t: number) => `tenant-${String(t).padStart(Math.max(width, 4), '0')}/vm-1`;
  const commands = {
    validate: ['validate', '-f', dc],
    trace: ['trace', '-f', dc, '--from', vm(1), '--to', vm(2), '--protocol', 'TCP', '--port', '443'],
  };
  const results: Record<string, object> = {};
  for (const [name, args] of Object.entries(commands)) {
    opts.progress(`${name} x${rounds}`);
    results[name] = repeat(REPO, args, rounds);
  }
  const cluster = await liveCluster(dc, [vm(1), vm(2)], opts.progress);
  try {
    opts.progress(`trace --live x${rounds}`);
    const live = ['trace', '--live', '--kubeconfig', cluster.kubeconfig, ...commands.trace.slice(3)];
    // The API server answers while this process waits for the child: it is its own process.
    results['trace --live'] = { ...(await repeatAsync(REPO, live, rounds)), verdictMatchesOffline: sameVerdict(REPO, commands.trace, live) };
  } finally {
    await cluster.stop();
  }
  const beforeRepo = process.env.BENCH_CLI_BEFORE;
  const before: Record<string, object> | null = beforeRepo ? {} : null;
  if (beforeRepo && before) {
    for (const [name, args] of Object.entries(commands)) {
      opts.progress(`${name} with ${beforeRepo} (once)`);
      before[name] = repeat(beforeRepo, args, 1);
    }
  }
  return {
    size,
    objects: opts.quick ? undefined : 200255,
    targets: { validateSeconds: 10, validatePeakRssMiB: 1024, traceSeconds: 5, traceLiveSeconds: 1 },
    results,
    before: before ? { repo: beforeRepo, ...before } : null,
    notes: 'medians of runs; wall time on a shared machine: see loadAverage1m and cpuSeconds beside each; trace --live: the API server holds the 512 HostFilters and the 2 endpoint VMs (what a live trace reads)',
  };
}
