// Resync lab (not committed): load vmworld, converge, restart the operator with --resync-period P,
// then measure what one periodic resync costs: time until the queues drain, operator CPU meanwhile,
// and the operator's CPU over a quiet window of the same length without a resync.
import { generateDatacenter } from './src/gen';
import { loadObjects, type Manifest } from './bench/lib/load';
import { resources, startSystem, stopSystem, waitIdle } from './bench/lib/system';
import { FULL } from './bench/scenarios/vmworld';
import { appendFileSync } from 'node:fs';
const log = (l: string) => { appendFileSync('/tmp/s13/resync-lab.log', `${new Date().toISOString()} ${l}\n`); };
const P = Number(process.env.PERIOD ?? 120);
const dc = generateDatacenter(FULL);
const objects = [...dc.namespaces, ...dc.tags, ...dc.tenants, ...dc.hosts, ...dc.policies, ...dc.vms] as Manifest[];
const sys = await startSystem({ operator: false, heartbeatMs: 10_000, leaseSeconds: 40 });
const { cluster, obs } = sys;
const load = await loadObjects(cluster.conn, objects);
log(`loaded in ${load.seconds} s`);
await cluster.startOperator();
await obs.waitUntil('cold', () => obs.converged({ vms: dc.vms.length, filters: dc.hosts.length }), 600_000, () => obs.describe());
await cluster.operatorSettled(300_000);
await waitIdle(cluster, { timeoutMs: 120_000 }).catch(() => null);
await cluster.stopOperator();
const t0 = performance.now();
await cluster.startOperator(['--resync-period', String(P)]);
await cluster.operatorReady();
await cluster.operatorSettled(300_000);
log(`restarted with --resync-period ${P}: settled after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const cpu = () => resources(cluster).operator?.cpuSeconds ?? 0;
const writes = async () => (await cluster.operatorMetrics()).match(/^vmsafe_status_writes_total\S* (\d+)/m)?.[1];
// quiet window: from settled until shortly before the resync fires
const qStart = performance.now(); const qCpu = cpu();
while ((performance.now() - t0) / 1000 < P - 5) await new Promise((r) => setTimeout(r, 500));
const quiet = { s: (performance.now() - qStart) / 1000, cpu: cpu() - qCpu };
log(`quiet: ${quiet.s.toFixed(1)} s, operator CPU ${quiet.cpu.toFixed(2)} s (${(100 * quiet.cpu / quiet.s).toFixed(1)} % of a core)`);
// the resync: 1 s samples of the operator's CPU from 5 s before it is due until it is back to the
// quiet rate for 5 s in a row (after having risen above 3x that rate)
const quietRate = quiet.cpu / quiet.s;
let prev = cpu(); const r0 = performance.now(); let rose = false; let calm = 0; const extra0 = cpu(); let peak = 0;
const rates: string[] = [];
while (performance.now() - r0 < 600_000) {
  await new Promise((r) => setTimeout(r, 1000));
  const c = cpu(); const rate = c - prev; prev = c; peak = Math.max(peak, rate); rates.push(rate.toFixed(2));
  if (rate > Math.max(0.3, 3 * quietRate)) { rose = true; calm = 0; } else if (rose && ++calm >= 5) break;
}
const secs = (performance.now() - r0) / 1000 - 5;
const used = cpu() - extra0;
log(`resync: rose ${rose}; busy for ~${secs.toFixed(0)} s; operator CPU ${used.toFixed(1)} s (${(used - quietRate * (secs + 5)).toFixed(1)} s over the quiet rate); peak ${(100 * peak).toFixed(0)} % of a core; rates ${rates.join(' ')}`);
await stopSystem(sys);
log('done');
process.exit(0);
