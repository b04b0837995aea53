// Benchmark scenario "ui" (issue 16): the fleet dashboard on the vmworld datacenter (512 hosts, 40,000
// VMs, 40,000 tenants), in Debian's headless Chromium. System: API server, agent fleet and operator
// processes (as vmworld), plus `vmsafe ui` as its own process. Figures:
// - navigation to a fully drawn Fleet view: from page.goto(sign-in URL) until every host's cell is on
//   the canvas (target < 2 s); bytes transferred for it (encoded, every finished response; target < 5 MB);
// - kubectl change to changed cell: `kubectl patch host` (spec.capacity, so the cell's capacity changes)
//   until the page has drawn that cell anew; from kubectl's exit (the write is done: target p99 < 1 s)
//   and from its start (adds kubectl's own process start, ~0.5-1 s on a loaded 2-core machine);
// - the page's JS heap after load and after the changes, and Chromium's memory (PSS of its process tree);
// - the UI server's peak RSS, and its CPU over a steady interval with the system converged.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Host } from '../../src/api';
import type { BenchOptions } from '../lib/options';
import { generateDatacenter, type GenOptions } from '../../src/gen';
import { browserTreePssBytes, launchChromium } from '../lib/browser';
import { Component } from '../lib/procs';
import { round, summarize, toMiB } from '../lib/stats';
import { applyAndConverge, startSystem, stopSystem, waitIdle, type System } from '../lib/system';
import type { Manifest } from '../lib/load';
import { FULL, QUICK } from './vmworld';

const TARGETS = { navigationMs: 2000, bytes: 5 * 1024 * 1024, changeP99Ms: 1000 };

function kubectl(kubeconfig: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const c = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('error', fail);
    c.on('close', (code) => (code === 0 ? done() : fail(new Error(`kubectl ${args.join(' ')}: ${err}`))));
  });
}

/**
 * VMSAFE_BENCH_UI_SIZE=HOSTS,VMS,TENANTS overrides the size; VMSAFE_BENCH_UI_SCREENSHOT=FILE.png saves
 * the Fleet view; VMSAFE_BENCH_UI_FEED=model measures the page side only (./ui-page.ts).
 */
function sizeFromEnv(): GenOptions | undefined {
  const v = process.env.VMSAFE_BENCH_UI_SIZE;
  if (!v) return undefined;
  const [hosts, vms, tenants] = v.split(',').map(Number);
  return { ...FULL, hosts: hosts!, vms: vms!, tenants: tenants! };
}

/**
 * The page side, however the server is fed: navigation to a fully drawn Fleet view (time, bytes,
 * optional screenshot), then `changes` host capacity changes made by `change` (resolves when the
 * write is done) until the page drew each changed cell, the page's JS heap and Chromium's memory.
 */
export async function pageFigures(
  loginUrl: string,
  hosts: readonly Host[],
  opts: BenchOptions & { changes: number; screenshot?: string },
  change: (name: string, capacity: number) => Promise<unknown>,
) {
  const chromium = await launchChromium({ width: 1600, height: 1000 });
  try {
    const page = await chromium.browser.newPage();
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    let bytes = 0;
    cdp.on('Network.loadingFinished', (e) => (bytes += e.encodedDataLength));
    const t0 = performance.now();
    await page.goto(loginUrl);
    await page.waitForFunction((n) => (globalThis as any).__vmsafe && Object.keys((globalThis as any).__vmsafe.drawnAt).length === n, { timeout: 60_000, polling: 'raf' }, hosts.length);
    const navigationMs = performance.now() - t0;
    const navBytes = bytes;
    const heapAfterLoad = (await page.metrics()).JSHeapUsedSize ?? 0;
    const browserPid = chromium.browser.process()?.pid;
    const browserAfterLoad = browserPid ? browserTreePssBytes(browserPid) : null;
    opts.progress(`ui: Fleet drawn in ${navigationMs.toFixed(0)} ms, ${(navBytes / 1024).toFixed(0)} KiB`);
    if (opts.screenshot) {
      writeFileSync(opts.screenshot, await page.screenshot({ fullPage: true }));
      opts.progress(`ui: screenshot ${opts.screenshot}`);
    }
    const fromStart: number[] = [];
    const fromDone: number[] = [];
    for (let i = 0; i < opts.changes; i++) {
      const h = hosts[(i * 37) % hosts.length]!;
      const name = h.metadata.name;
      const cap = (h.spec.capacity?.vms ?? 320) + 1 + (i % 2);
      const start = Date.now();
      await change(name, cap);
      const done = Date.now();
      const drawnAt = (await page.waitForFunction(
        (n, c) => {
          const d = (globalThis as any).__vmsafe!.drawnAt[n];
          return d && d.sig.split('/')[2] === String(c) && d.at;
        },
        { timeout: 30_000, polling: 'raf' },
        name,
        cap,
      ).then((hdl) => hdl.jsonValue())) as number;
      fromStart.push(drawnAt - start);
      fromDone.push(Math.max(0, drawnAt - done));
    }
    const heapAfterChanges = (await page.metrics()).JSHeapUsedSize ?? 0;
    const browserAfterChanges = browserPid ? browserTreePssBytes(browserPid) : null;
    return {
      figures: (definition: string, startKey: string, doneKey: string) => ({
        navigation: { definition: 'page.goto(sign-in URL) until every host cell is drawn', ms: round(navigationMs), targetMs: TARGETS.navigationMs, bytes: navBytes, targetBytes: TARGETS.bytes },
        change: { definition, changes: fromStart.length, [startKey]: summarize(fromStart), [doneKey]: summarize(fromDone), targetP99Ms: TARGETS.changeP99Ms },
        pageJsHeapMiB: { afterLoad: toMiB(heapAfterLoad), afterChanges: toMiB(heapAfterChanges) },
        browserPssMiB: { definition: "sum of PSS over Chromium's process tree", afterLoad: toMiB(browserAfterLoad), afterChanges: toMiB(browserAfterChanges) },
        withinTargets: { navigation: navigationMs < TARGETS.navigationMs, bytes: navBytes < TARGETS.bytes, changeP99: summarize(fromDone).p99 < TARGETS.changeP99Ms },
      }),
    };
  } finally {
    await chromium.close();
  }
}

export async function runUi(gen: GenOptions, opts: BenchOptions & { changes: number; timeoutMs: number; screenshot?: string }) {
  const dc = generateDatacenter(gen);
  const objects = [...dc.namespaces, ...dc.tags, ...dc.tenants, ...dc.hosts, ...dc.policies, ...dc.vms] as Manifest[];
  let sys: System | undefined;
  let ui: Component | undefined;
  try {
    sys = await startSystem({ heartbeatMs: 10_000, leaseSeconds: 40 });
    const run = await applyAndConverge(sys, objects, { vms: dc.vms.length, filters: dc.hosts.length }, opts.timeoutMs, opts.progress);
    opts.progress(`ui: ${dc.hosts.length} hosts, ${dc.vms.length} VMs converged in ${run.seconds.toFixed(1)} s`);
    await waitIdle(sys.cluster, { timeoutMs: 120_000 }).catch(() => null);

    ui = new Component('ui', ['ui', '--kubeconfig', sys.cluster.kubeconfig, '--port', '0'], { readyText: 'Ctrl-C' });
    const out = await ui.ready;
    const loginUrl = /Dashboard: (\S+)/.exec(out)![1]!;
    const uiReadyRss = ui.stats().peakRssBytes;

    const page = await pageFigures(loginUrl, dc.hosts, opts, (name, cap) => kubectl(sys!.cluster.kubeconfig, ['patch', 'host', name, '--type', 'merge', '-p', JSON.stringify({ spec: { capacity: { vms: cap } } })]));

    // UI server at steady state: CPU over 10 s with nothing changing (sampling interval, not synchronization).
    const cpu0 = ui.stats().cpuSeconds ?? 0;
    const s0 = performance.now();
    await new Promise((r) => setTimeout(r, 10_000));
    const steadyCpu = ((ui.stats().cpuSeconds ?? 0) - cpu0) / ((performance.now() - s0) / 1000);
    return {
      size: { hosts: dc.hosts.length, vms: dc.vms.length, tenants: dc.tenants.length, policies: dc.policies.length },
      convergeSeconds: round(run.seconds),
      ...page.figures('kubectl patch host (spec.capacity) until the page drew the changed cell', 'fromKubectlStartMs', 'fromKubectlExitMs'),
      uiServer: { rssAtStartMiB: toMiB(uiReadyRss), peakRssMiB: toMiB(ui.stats().peakRssBytes), steadyCpuCores: round(steadyCpu, 3) },
    };
  } finally {
    await ui?.stop();
    await stopSystem(sys);
  }
}

export async function run(opts: BenchOptions): Promise<object> {
  const custom = sizeFromEnv();
  if (process.env.VMSAFE_BENCH_UI_FEED === 'model') {
    const { runUiPage } = await import('./ui-page');
    return { quick: opts.quick, ...(custom ? { customSize: true } : {}), ...(await runUiPage(custom ?? (opts.quick ? QUICK : FULL), { ...opts, changes: opts.quick ? 5 : 50, screenshot: process.env.VMSAFE_BENCH_UI_SCREENSHOT })) };
  }
  return {
    quick: opts.quick,
    ...(custom ? { customSize: true } : {}),
    ...(await runUi(custom ?? (opts.quick ? QUICK : FULL), { ...opts, changes: opts.quick ? 5 : 50, timeoutMs: opts.quick ? 60_000 : 900_000, screenshot: process.env.VMSAFE_BENCH_UI_SCREENSHOT })),
  };
}
