// 1 GiB in `--data-dir`: write it over HTTP, list it (paged and whole), restart, compact; the
// longest event-loop stall and /readyz latency while compacting. In process (plain HTTP), so the
// event loop measured is the server's. `npx tsx --max-old-space-size=8192 bench/scripts/storage-1gib.ts [MiB]`
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startApiServer, type ApiServer } from '../../src/apiserver/index';

const mib = Number(process.argv[2] ?? 1024);
const OBJECT = 1024 * 1024 - 4096; // one ConfigMap ~1 MiB
const dir = mkdtempSync(join(tmpdir(), 'vmsafe-1gib-'));
const out: Record<string, unknown> = { storedMiB: mib };
const CM = '/api/v1/namespaces/default/configmaps';

async function call(s: ApiServer, method: string, path: string, body?: string) {
  const r = await fetch(s.url + path, { method, body, headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' } });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
  return text;
}

try {
  let s = await startApiServer({ dataDir: dir, tls: false, compactBytes: 64 * 1024 ** 3 });
  const pad = 'v'.repeat(OBJECT);
  let t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < mib) {
      const i = next++;
      await call(s, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `big-${i}` }, data: { v: pad } }));
    }
  }));
  const writeS = (performance.now() - t) / 1000;
  out.write = { seconds: +writeS.toFixed(1), MiBPerSecond: +(mib / writeS).toFixed(1), objects: mib };
  t = performance.now();
  let paged = 0;
  let cont = '';
  do {
    const page = JSON.parse(await call(s, 'GET', `${CM}?limit=50${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`));
    paged += page.items.length;
    cont = page.metadata.continue ?? '';
  } while (cont);
  out.listPaged = { seconds: +((performance.now() - t) / 1000).toFixed(1), items: paged };
  t = performance.now();
  const whole = await fetch(s.url + CM, { headers: { Authorization: `Bearer ${s.token}` } });
  let bytes = 0;
  for await (const chunk of whole.body!) bytes += (chunk as Uint8Array).length;
  out.listWhole = { status: whole.status, seconds: +((performance.now() - t) / 1000).toFixed(1), MiB: Math.round(bytes / 1024 / 1024) };
  await s.close();

  t = performance.now();
  s = await startApiServer({ dataDir: dir, tls: false, compactBytes: 64 * 1024 ** 3 });
  out.restartSeconds = +((performance.now() - t) / 1000).toFixed(1);
  out.objectsAfterRestart = JSON.parse(await call(s, 'GET', `${CM}?limit=1`)).metadata.remainingItemCount + 1;

  // Compaction with the server answering /readyz meanwhile.
  const h = monitorEventLoopDelay({ resolution: 1 });
  let readyMax = 0;
  let readyCount = 0;
  let compacting = true;
  const poll = (async () => {
    while (compacting) {
      const q = performance.now();
      await fetch(s.url + '/readyz');
      readyMax = Math.max(readyMax, performance.now() - q);
      readyCount++;
    }
  })();
  h.enable();
  t = performance.now();
  await s.store.wal!.compactNow();
  const compactS = (performance.now() - t) / 1000;
  h.disable();
  compacting = false;
  await poll;
  out.compaction = {
    seconds: +compactS.toFixed(1),
    longestEventLoopStallMs: +(h.max / 1e6).toFixed(1),
    p99EventLoopDelayMs: +(h.percentile(99) / 1e6).toFixed(1),
    longestSyncSliceMs: +s.store.wal!.stats.longestSliceMs.toFixed(1),
    readyzAnswered: readyCount,
    readyzMaxMs: +readyMax.toFixed(1),
  };
  await s.close();
  out.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
