// Benchmark scenario "apiserver-1g" (issue 13's acceptance): 1 GiB of stored data in `--data-dir`.
// Not part of `make bench`'s default set (it writes several GiB to disk): run it by name,
//   npm run bench -- --scenario apiserver-1g --out bench/results      (--quick: 16 MiB)
//
// The server runs alone in a child process (bench/lib/apiserver-child.ts, plain HTTP, default
// --compact-bytes of 256 MiB, so compactions also happen while the data is written); its event-loop
// delay is measured there with perf_hooks monitorEventLoopDelay. Phases:
// 1. write: 1,024 ConfigMaps of ~1 MiB (4 requests in flight); the loop's longest stall meanwhile.
// 2. list: paged (limit=50) and whole (streamed), both complete.
// 3. restart: process start to listening, and the replay alone; every object back.
// 4. compaction of the whole 1 GiB while a client keeps writing and polling /readyz: its duration,
//    the longest event-loop stall, /readyz and write latency meanwhile; nothing lost.
// 5. restart from the compacted directory (snapshot replay).
// CPU seconds are reported per process (the machine may be shared: wall times alone mislead).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../lib/options';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CHILD = join(REPO, 'bench/lib/apiserver-child.ts');
const VALUE_BYTES = 1024 * 1024 - 4096;
const IN_FLIGHT = 4;
const CM = '/api/v1/namespaces/default/configmaps';

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const mib = (b: number) => round(b / 1024 / 1024);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!) : null;
};

interface Server {
  proc: ChildProcess;
  url: string;
  token: string;
  loadMs: number;
  /** Process spawn to listening (node + tsx start, replay, listen). */
  startMs: number;
  ask(cmd: string): Promise<any>;
  close(): Promise<void>;
}

async function startServer(dataDir: string): Promise<Server> {
  const t0 = performance.now();
  const proc = fork(CHILD, [dataDir], {
    cwd: REPO, execArgv: ['--max-old-space-size=8192', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: ((m: any) => void)[] = [];
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const ready = await new Promise<any>((done, fail) => {
    proc.once('message', done);
    proc.once('exit', (code) => fail(new Error(`apiserver child exited (${code}) before it was ready`)));
  });
  proc.on('message', (m) => queue.shift()?.(m));
  return {
    proc, url: ready.url, token: ready.token, loadMs: ready.loadMs, startMs: Math.round(performance.now() - t0),
    ask: (cmd) => new Promise((done) => {
      queue.push(done);
      proc.send({ cmd });
    }),
    close: async () => {
      proc.send({ cmd: 'close' });
      await exited;
    },
  };
}

async function call(s: Server, method: string, path: string, body?: string, contentType = 'application/json'): Promise<string> {
  const r = await fetch(s.url + path, { method, body, headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': contentType, Accept: 'application/json' } });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
  return text;
}

const count = async (s: Server) => {
  const page = JSON.parse(await call(s, 'GET', `${CM}?limit=1`));
  return page.items.length + (page.metadata.remainingItemCount ?? 0);
};

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

export async function run(opts: BenchOptions): Promise<object> {
  const objects = opts.quick ? 16 : 1024;
  const dir = mkdtempSync(join(tmpdir(), 'vmsafe-bench-1g-'));
  const dataDir = join(dir, 'data');
  const driverCpu0 = process.cpuUsage();
  const serverCpu: number[] = [];
  let s: Server | undefined;
  try {
    s = await startServer(dataDir);
    const emptyStartMs = s.startMs;

    // 1. write
    opts.progress(`apiserver-1g: writing ${objects} ConfigMaps of ~1 MiB, ${IN_FLIGHT} in flight`);
    const pad = 'v'.repeat(VALUE_BYTES);
    const latencies: number[] = [];
    let next = 0;
    let t = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < objects) {
        const i = next++;
        const q = performance.now();
        await call(s!, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `big-${String(i).padStart(5, '0')}` }, data: { v: pad } }));
        latencies.push(performance.now() - q);
      }
    }));
    const writeS = (performance.now() - t) / 1000;
    const writeLoop = await s.ask('loop');
    const afterWrite = await s.ask('stats');
    const storedBytes = objects * (VALUE_BYTES + 200);
    const write = {
      objects, storedMiB: mib(storedBytes), seconds: round(writeS), MiBPerSecond: round(mib(storedBytes) / writeS),
      latencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: pct(latencies, 100) },
      compactionsMeanwhile: afterWrite.wal.compactions,
      longestEventLoopStallMs: writeLoop.maxMs, p99EventLoopDelayMs: writeLoop.p99Ms,
    };

    // 2. list
    opts.progress('apiserver-1g: listing, paged and whole');
    t = performance.now();
    let paged = 0;
    let cont = '';
    do {
      const page = JSON.parse(await call(s, 'GET', `${CM}?limit=50${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`));
      paged += page.items.length;
      cont = page.metadata.continue ?? '';
    } while (cont);
    const listPaged = { items: paged, seconds: round((performance.now() - t) / 1000) };
    t = performance.now();
    const whole = await fetch(s.url + CM, { headers: { Authorization: `Bearer ${s.token}`, Accept: 'application/json' } });
    let bytes = 0;
    for await (const chunk of whole.body!) bytes += (chunk as Uint8Array).length;
    const listWhole = { status: whole.status, MiB: mib(bytes), seconds: round((performance.now() - t) / 1000) };
    const listLoop = await s.ask('loop');
    const beforeRestart = await s.ask('stats');
    serverCpu.push(beforeRestart.cpuSeconds);
    const diskAfterWrite = dirBytes(dataDir);
    await s.close();

    // 3. restart
    opts.progress('apiserver-1g: restart');
    s = await startServer(dataDir);
    const restart = { startMs: s.startMs, replayMs: s.loadMs, objects: await count(s), rssMiB: mib((await s.ask('stats')).rssBytes) };

    // 4. compaction under a live client
    opts.progress('apiserver-1g: compaction of everything, with a client writing and polling /readyz');
    await call(s, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live' }, data: { tick: '0' } }));
    let compacting = true;
    const readyz: number[] = [];
    const writes: number[] = [];
    const poller = (async () => {
      while (compacting) {
        const q = performance.now();
        const r = await fetch(s!.url + '/readyz');
        await r.text();
        readyz.push(performance.now() - q);
      }
    })();
    const writer = (async () => {
      let k = 0;
      while (compacting) {
        const q = performance.now();
        await call(s!, 'PATCH', `${CM}/live`, JSON.stringify({ data: { tick: String(++k) } }), 'application/merge-patch+json');
        writes.push(performance.now() - q);
      }
      return k;
    })();
    await s.ask('loop');
    const compacted = await s.ask('compact');
    compacting = false;
    const [, lastTick] = await Promise.all([poller, writer]);
    const live = JSON.parse(await call(s, 'GET', `${CM}/live`));
    const compaction = {
      seconds: round(compacted.ms / 1000), longestEventLoopStallMs: compacted.maxStallMs, p99EventLoopDelayMs: compacted.p99StallMs,
      longestSnapshotSliceMs: compacted.longestSliceMs,
      readyz: { answered: readyz.length, p99Ms: pct(readyz, 99), maxMs: pct(readyz, 100) },
      writesAcknowledged: writes.length, writeLatencyMs: { p99: pct(writes, 99), max: pct(writes, 100) },
      lastWriteKept: live.data.tick === String(lastTick),
      diskMiBAfter: mib(dirBytes(dataDir)),
    };
    const afterCompaction = await s.ask('stats');
    serverCpu.push(afterCompaction.cpuSeconds);
    await s.close();

    // 5. restart from the snapshot
    opts.progress('apiserver-1g: restart from the compacted directory');
    s = await startServer(dataDir);
    const restartFromSnapshot = { startMs: s.startMs, replayMs: s.loadMs, objects: await count(s), rssMiB: mib((await s.ask('stats')).rssBytes) };
    serverCpu.push((await s.ask('stats')).cpuSeconds);
    await s.close();
    s = undefined;

    const driver = process.cpuUsage(driverCpu0);
    return {
      server: 'embedded API server alone in a child process, plain HTTP, --data-dir, default --compact-bytes (256 MiB)',
      emptyStartMs,
      write,
      listPaged,
      listWhole,
      listLongestEventLoopStallMs: listLoop.maxMs,
      peakRssMiB: mib(Math.max(beforeRestart.peakRssBytes, afterCompaction.peakRssBytes)),
      rssAfterWriteMiB: mib(beforeRestart.rssBytes),
      diskMiBAfterWrite: mib(diskAfterWrite),
      restart,
      compaction,
      restartFromSnapshot,
      cpuSeconds: { server: round(serverCpu.reduce((a, b) => a + b, 0)), driver: round((driver.user + driver.system) / 1e6) },
    };
  } finally {
    if (s && s.proc.exitCode === null) s.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
