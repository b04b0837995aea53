// Runs the system as separate processes (API server, operator, agent fleet), like a real deployment:
// each gets its own event loop (both cores are used) and its own peak RSS can be read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../src/cli/node-flags';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TSX = join(REPO, 'node_modules/tsx/dist/esm/index.mjs');

/** Newest modification time (ms) of any file under `dir`. */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * How a component is started: the built JavaScript (what the package and image run) when `npm run
 * build` is newer than every source file, else the TypeScript sources through tsx (which adds seconds
 * of transpiling to every start, and so to the restart figures). Same rule as bin/vmsafe.
 */
export const LAUNCH: { entry: string[]; built: boolean } = (() => {
  const stamp = join(REPO, 'dist/.built');
  const built = existsSync(join(REPO, 'dist/cli/main.js')) && existsSync(stamp) && statSync(stamp).mtimeMs >= newestUnder(join(REPO, 'src'));
  return built ? { entry: [join(REPO, 'dist/cli/main.js')], built } : { entry: ['--import', TSX, join(REPO, 'src/cli/main.ts')], built };
})();

export interface ProcStats {
  /** Peak resident set size (VmHWM, sampled until the process ended), bytes. */
  peakRssBytes: number | null;
  /** CPU time used (user + system), seconds. */
  cpuSeconds: number | null;
}

/** CPU seconds (user + system) of a live process, or of one of its threads (`tid`); throws once it is gone. */
export function cpuSecondsOf(pid: number, tid?: number): number {
  // /proc/PID/stat: fields 14 and 15 (utime, stime) in clock ticks (100/s on Linux), after the ")".
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** VmHWM / VmRSS (bytes) and CPU seconds of a live process; nulls once it is gone. */
export function readProc(pid: number): { hwm: number | null; rss: number | null; cpu: number | null } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    const cpu = cpuSecondsOf(pid);
    return { hwm: hwm ? Number(hwm[1]) * 1024 : null, rss: rss ? Number(rss[1]) * 1024 : null, cpu };
  } catch {
    return { hwm: null, rss: null, cpu: null };
  }
}

export interface ComponentOptions {
  /** Extra node flags (e.g. --cpu-prof, --max-old-space-size=8192). */
  nodeFlags?: string[];
  /** Resolves start() when stdout contains this text (default: at once). */
  readyText?: string;
  env?: Record<string, string>;
  /** Child stderr goes here (default: dropped unless VMSAFE_BENCH_VERBOSE is set). */
  inheritStderr?: boolean;
}

const STDERR_TAIL = 4096;

/** One `vmsafe <verb>` child process with RSS/CPU sampling. */
export class Component {
  readonly proc: ChildProcess;
  readonly pid: number;
  private peak: number | null = null;
  private cpu: number | null = null;
  private readonly timer: NodeJS.Timeout;
  private exited = false;
  /** Set once stop() was asked: an exit after it is expected. */
  private stopping = false;
  /** The exit code or signal of an exit nobody asked for. */
  private died: string | undefined;
  /** The last STDERR_TAIL bytes of stderr, kept always (a crash's message), shown only on failure. */
  private stderrTail = '';
  readonly ready: Promise<string>;
  private readonly profiled: boolean;

  constructor(readonly name: string, args: string[], opts: ComponentOptions = {}) {
    const verbose = !!process.env.VMSAFE_BENCH_VERBOSE || opts.inheritStderr;
    this.profiled = (opts.nodeFlags ?? []).includes('--cpu-prof');
    // Node directly (not bin/vmsafe's exec) so node flags can be added; same PID for /proc. NODE_FLAGS
    // first, as bin/vmsafe passes them: flags given here come later and win.
    this.proc = spawn(process.execPath, [...NODE_FLAGS, ...(opts.nodeFlags ?? []), ...LAUNCH.entry, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    this.pid = this.proc.pid!;
    this.proc.stderr!.on('data', (d: Buffer) => {
      if (verbose) process.stderr.write(d);
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL);
    });
    // VMSAFE_BENCH_STDOUT_DIR: each child's stdout also goes to DIR/NAME.out (e.g. --trace-gc lines,
    // whose times count from the "# started" line that precedes each process's output).
    const outDir = process.env.VMSAFE_BENCH_STDOUT_DIR;
    if (outDir) {
      // Appended: a restarted component (the operator) must not overwrite its first run's trace.
      const file = createWriteStream(join(outDir, `${name}.out`), { flags: 'a' });
      file.write(`# started ${Date.now()}\n`);
      this.proc.stdout!.pipe(file);
      // Its logs (stderr) too, for lining up a slow probe with what the component did meanwhile.
      const errFile = createWriteStream(join(outDir, `${name}.err`), { flags: 'a' });
      this.proc.stderr!.pipe(errFile);
    }
    let out = '';
    this.ready = new Promise((done, fail) => {
      if (!opts.readyText) done('');
      this.proc.stdout!.on('data', (d: Buffer) => {
        if (out.length < 65536) out += d.toString();
        if (opts.readyText && out.includes(opts.readyText)) done(out);
      });
      this.proc.on('exit', (code, signal) => fail(new Error(`${name} exited early (code ${code}, signal ${signal})`)));
    });
    this.ready.catch(() => undefined);
    this.proc.on('exit', (code, signal) => {
      if (!this.stopping) this.died = signal ? `signal ${signal}` : `code ${code}`;
      this.exited = true;
      clearInterval(this.timer);
    });
    this.timer = setInterval(() => this.sample(), 250);
    this.timer.unref();
  }

  /** Reads the peak and CPU now (also done every 250 ms while it runs). */
  sample(): void {
    if (this.exited) return;
    const p = readProc(this.pid);
    if (p.hwm !== null) this.peak = Math.max(this.peak ?? 0, p.hwm);
    if (p.cpu !== null) this.cpu = p.cpu;
  }

  stats(): ProcStats {
    this.sample();
    return { peakRssBytes: this.peak, cpuSeconds: this.cpu };
  }

  /** Undefined while it runs or after stop(); else how it exited and the end of its stderr. */
  death(): string | undefined {
    if (this.died === undefined) return undefined;
    const tail = this.stderrTail.trim().split('\n').slice(-5).join(' | ');
    return `${this.name} exited on its own (${this.died})${tail ? `; its stderr ended: ${tail}` : ''}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    this.sample();
    clearInterval(this.timer);
    if (this.exited || this.proc.exitCode !== null) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    // Profiled children preload exit-on-signal.mjs: exit at once so the profile gets written.
    this.proc.kill(this.profiled ? 'SIGUSR2' : 'SIGTERM');
    // The profile's clock is monotonic: this wall time of its end lines it up with other timings.
    if (this.profiled) process.stderr.write(`[bench] profiled ${this.name} (pid ${this.pid}) signalled at ${new Date().toISOString()}\n`);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(t);
  }
}

export const vmsafeComponent = (name: string, args: string[], opts?: ComponentOptions) => new Component(name, args, opts);
export { join as joinPath };
