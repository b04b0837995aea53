// One end-to-end run: processes up, datacenter loaded, convergence awaited, figures collected.
import { Cluster, type ClusterOptions } from './cluster';
import { loadObjects, writeCounts, writesBetween, type LoadReport, type Manifest, type WriteCounts } from './load';
import { Observer } from './observe';
import { toMiB } from './stats';

export interface System {
  cluster: Cluster;
  obs: Observer;
}

export async function startSystem(opts: ClusterOptions & { agents?: boolean; operator?: boolean } = {}): Promise<System> {
  const cluster = new Cluster(opts);
  try {
    await cluster.startApiServer();
    if (opts.agents !== false) cluster.startAgents();
    const obs = new Observer(cluster.kubeconfig);
    await obs.start();
    if (opts.operator !== false) {
      await cluster.startOperator();
      await cluster.operatorReady();
    }
    return { cluster, obs };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

export async function stopSystem(s: System | undefined): Promise<void> {
  if (!s) return;
  await s.obs.stop();
  await s.cluster.stop();
}

/** Peak RSS (MiB) and CPU seconds per component. */
export function resources(c: Cluster) {
  const st = c.stats();
  const row = (x: { peakRssBytes: number | null; cpuSeconds: number | null } | null) => (x ? { peakRssMiB: toMiB(x.peakRssBytes), cpuSeconds: x.cpuSeconds } : null);
  return { apiserver: row(st.apiserver), operator: row(st.operator), agents: row(st.agents) };
}

export interface ConvergeRun {
  /** From the first create to full convergence. */
  seconds: number;
  load: LoadReport;
  writes: { byResource: WriteCounts; total: number };
}

/** Loads `objects` into a running system and waits until every VM is settled and every filter applied. */
export async function applyAndConverge(s: System, objects: readonly Manifest[], expect: { vms: number; filters: number }, timeoutMs: number, progress?: (l: string) => void): Promise<ConvergeRun> {
  const before = await writeCounts(s.cluster.conn);
  const t0 = performance.now();
  const load = await loadObjects(s.cluster.conn, objects, { onKindDone: (k, n) => progress?.(`  created ${n} ${k} (${((performance.now() - t0) / 1000).toFixed(1)} s)`) });
  await s.obs.waitUntil('convergence', () => s.obs.converged(expect), timeoutMs, () => s.obs.describe()).catch(async (err: Error) => {
    const dead = s.cluster.deaths();
    throw new Error(`${err.message}; ${dead.length ? `${dead.join('; ')}; ` : ''}now on the server: ${await s.obs.explainStall()}`);
  });
  const seconds = (performance.now() - t0) / 1000;
  const writes = writesBetween(before, await writeCounts(s.cluster.conn));
  return { seconds, load, writes };
}

/** The agent fleet's share of a core that still counts as quiet (see waitIdle). */
const AGENTS_QUIET = 0.3;

/**
 * Resolves once every component has used less than `fraction` of a core for `forMs` in a row: the
 * system is quiet (the watch echoes of a status storm digested, not only the work queues empty), so
 * latency probes measure a steady state. Returns the seconds waited; rejects after `timeoutMs`.
 *
 * The agent fleet's own bar is higher (AGENTS_QUIET): 512 agents heartbeating every 10 s use 12 to 17 %
 * of a core with nothing else to do (profiled: their lease writes' socket calls), so at 15 % a quiet
 * fleet counted as busy in some runs and the probes started only at the timeout.
 */
export async function waitIdle(c: Cluster, opts: { fraction?: number; forMs?: number; timeoutMs?: number } = {}): Promise<number> {
  const base = opts.fraction ?? 0.15;
  const forMs = opts.forMs ?? 2000;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const t0 = Date.now();
  const names = Object.keys(c.stats());
  const cpu = () => Object.values(c.stats()).map((s) => s?.cpuSeconds ?? 0);
  const start = cpu();
  let quietSince = Date.now();
  let last = cpu();
  let lastAt = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 250)); // sampling interval of /proc, not synchronization
    const now = Date.now();
    const cur = cpu();
    const busy = cur.some((v, i) => (v - last[i]!) / ((now - lastAt) / 1000) >= (names[i] === 'agents' ? Math.max(base, AGENTS_QUIET) : base));
    if (busy) quietSince = now;
    else if (now - quietSince >= forMs) return (now - t0) / 1000;
    if (now > deadline) {
      // Which component kept it busy: each one's share of a core over the whole wait.
      const secs = (now - t0) / 1000;
      const shares = names.map((n, i) => `${n} ${Math.round((100 * (cur[i]! - start[i]!)) / secs)} %`).join(', ');
      throw new Error(`system not idle within ${opts.timeoutMs ?? 120_000} ms (CPU over the wait: ${shares} of a core)`);
    }
    last = cur;
    lastAt = now;
  }
}
