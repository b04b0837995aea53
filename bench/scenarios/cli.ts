// Benchmark scenario "cli": the offline tools at vmworld scale, as a user runs them (bin/vmsafe in a
// child process): `vmsafe validate -f DIR` and `vmsafe trace -f DIR` of one packet on the datacenter
// `vmsafe gen --hosts 512 --vms 40000 --tenants 40000` writes (200,255 objects, 62 MiB).
// Wall time and peak RSS (GNU time's maximum resident set size, from wait4) per run, medians of
// several runs. Targets (issue 14): validate under 10 s and 1 GiB, trace under 5 s.
// The datacenter is generated once into $TMPDIR/vmsafe-bench-cli (reused while its marker matches).
// BENCH_CLI_BEFORE=DIR also runs each command once with the checkout in DIR (e.g. main before the
// change), for a before/after line. The machine load (1-minute load average) is recorded beside it.
// BENCH_CLI_ROUNDS=N sets the repetitions (default 3). `vmsafe trace --live` is not measured: it does not exist yet.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
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
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const m = /^([\d.]+) (\d+) ([\d.]+) ([\d.]+)$/.exec(last);
  if (!m) throw new Error(`cannot read ${TIME} output for vmsafe ${args.join(' ')}: ${last}`);
  return { seconds: Number(m[1]), cpuSeconds: round(Number(m[3]) + Number(m[4]), 2), peakRssMiB: round(Number(m[2]) / 1024, 0), exitCode: r.status ?? -1 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

function repeat(repo: string, args: string[], n: number) {
  const runs = Array.from({ length: n }, () => timed(repo, args));
  return {
    medianSeconds: median(runs.map((r) => r.seconds)),
    medianCpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    medianPeakRssMiB: median(runs.map((r) => r.peakRssMiB)),
    runs,
    loadAverage1m: round(loadavg()[0]!, 1),
  };
}

function datacenter(size: typeof SIZE, progress: (l: string) => void): string {
  const dir = join(tmpdir(), 'vmsafe-bench-cli', `${size.hosts}-${size.vms}-${size.tenants}`);
  const marker = join(dir, '.complete');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === JSON.stringify(size)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  progress(`generating ${JSON.stringify(size)} into ${dir}`);
  const args = ['gen', '--hosts', String(size.hosts), '--vms', String(size.vms), '--tenants', String(size.tenants), '-o', join(dir, 'dc')];
  const r = spawnSync(join(REPO, 'bin/vmsafe'), args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vmsafe gen failed: ${r.stderr}`);
  writeFileSync(marker, JSON.stringify(size));
  return dir;
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
    targets: { validateSeconds: 10, validatePeakRssMiB: 1024, traceSeconds: 5 },
    results,
    before: before ? { repo: beforeRepo, ...before } : null,
    notes: 'medians of runs; wall time on a shared machine: see loadAverage1m beside each; trace --live not measured (not implemented)',
  };
}
