// Child process for the apiserver-1g scenario: the embedded API server on a data directory (plain HTTP),
// alone in its process so the event-loop delay measured (perf_hooks monitorEventLoopDelay) is the
// server's own. The driver talks to it over IPC:
//   -> { ready, url, token, loadMs }     once listening (loadMs: startApiServer, i.e. replaying the data dir)
//   <- { cmd: 'loop' }                   -> { maxMs, p99Ms, meanMs } since the last 'loop', then resets
//   <- { cmd: 'compact' }                -> { ms, maxStallMs, p99StallMs, longestSliceMs, compactions }
//   <- { cmd: 'stats' }                  -> { rssBytes, heapUsedBytes, peakRssBytes, cpuSeconds, wal }
//   <- { cmd: 'close' }                  -> closes the server (flushes the log) and exits 0
// `node --import tsx bench/lib/apiserver-child.ts DATA_DIR [COMPACT_BYTES]`
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startApiServer } from '../../src/apiserver/index';

const [dataDir, compactBytes] = process.argv.slice(2);
if (!dataDir || !process.send) {
  process.stderr.write('usage (with an IPC channel): node --import tsx bench/lib/apiserver-child.ts DATA_DIR [COMPACT_BYTES]\n');
  process.exit(2);
}
const send = (m: object) => process.send!(m);
const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;

const loop = monitorEventLoopDelay({ resolution: 1 });
const t0 = performance.now();
const server = await startApiServer({ dataDir, tls: false, compactBytes: compactBytes ? Number(compactBytes) : undefined });
const loadMs = Math.round(performance.now() - t0);
loop.enable();
const wal = server.store.wal!;

process.on('message', (m: { cmd: string }) => {
  void (async () => {
    switch (m.cmd) {
      case 'loop':
        send({ maxMs: ms(loop.max), p99Ms: ms(loop.percentile(99)), meanMs: ms(loop.mean) });
        loop.reset();
        return;
      case 'compact': {
        loop.reset();
        const started = performance.now();
        await wal.compactNow();
        send({
          ms: Math.round(performance.now() - started), maxStallMs: ms(loop.max), p99StallMs: ms(loop.percentile(99)),
          longestSliceMs: Math.round(wal.stats.longestSliceMs * 100) / 100, compactions: wal.stats.compactions,
        });
        return;
      }
      case 'stats': {
        const u = process.resourceUsage();
        send({
          rssBytes: process.memoryUsage().rss, heapUsedBytes: process.memoryUsage().heapUsed, peakRssBytes: u.maxRSS * 1024,
          cpuSeconds: Math.round((u.userCPUTime + u.systemCPUTime) / 1e4) / 100, wal: { ...wal.stats },
        });
        return;
      }
      case 'close':
        loop.disable();
        await server.close();
        process.exit(0);
    }
  })();
});
send({ ready: true, url: server.url, token: server.token, loadMs });
