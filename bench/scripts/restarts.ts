// Operator restarts against one converged vmworld, alternating variants of the operator's
// environment: an A/B of what a restart costs without a full bench run per variant (one restart's
// Ready moves by 1 to 2 s between identical restarts on 2 cores, so compare medians of several).
//
//   npx tsx bench/scripts/restarts.ts --rounds 4 --variant '' \
//     --variant 'VMSAFE_BENCH_NODE_FLAGS_OPERATOR=--max-semi-space-size=64'
//
// Each variant is space-separated NAME=VALUE pairs set while its operator starts (the bench's
// VMSAFE_BENCH_NODE_FLAGS_OPERATOR, or anything the operator reads). `--size HOSTS,VMS,TENANTS`
// runs a smaller datacenter. Prints JSON: per restart the seconds to Ready and, at that moment, the
// CPU seconds of the operator (whole process and main thread), the API server and the agents since
// the restart; per variant the medians.
import { parseArgs } from 'node:util';
import { generateDatacenter } from '../../src/gen';
import { FULL } from '../scenarios/vmworld';
import { loadObjects, type Manifest } from '../lib/load';
import { cpuSecondsOf } from '../lib/procs';
import { startSystem, stopSystem, waitIdle } from '../lib/system';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '4' }, variant: { type: 'string', multiple: true, default: [''] }, size: { type: 'string' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: expected a positive integer, got ${values.rounds}`);
const [hosts, vms, tenants] = values.size ? values.size.split(',').map(Number) : [FULL.hosts, FULL.vms, FULL.tenants];
const variants = values.variant.map((v) => ({ name: v, env: v.split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const) }));

const progress = (line: string) => process.stderr.write(`[restarts] ${line}\n`);
const dc = generateDatacenter({ ...FULL, hosts: hosts!, vms: vms!, tenants: tenants! });
const objects = [...dc.namespaces, ...dc.tags, ...dc.tenants, ...dc.hosts, ...dc.policies, ...dc.vms] as Manifest[];
const sys = await startSystem({ operator: false, heartbeatMs: 10_000, leaseSeconds: 40 });
const { cluster, obs } = sys;
try {
  const load = await loadObjects(cluster.conn, objects, {});
  progress(`loaded ${objects.length} objects in ${load.seconds} s`);
  await cluster.startOperator();
  await obs.waitUntil('convergence', () => obs.converged({ vms: dc.vms.length, filters: dc.hosts.length }), 900_000, () => obs.describe());
  await cluster.operatorReady();
  await cluster.operatorSettled(300_000);
  const restarts: Record<string, number | string>[] = [];
  for (let r = 0; r < rounds; r++)
    for (const v of variants) {
      await waitIdle(cluster, { timeoutMs: 120_000 }).catch(() => null);
      await cluster.stopOperator();
      const saved = v.env.map(([k]) => [k, process.env[k]] as const);
      for (const [k, x] of v.env) process.env[k] = x;
      const api0 = cpuSecondsOf(cluster.apiserver.pid);
      const agents0 = cluster.agents ? cpuSecondsOf(cluster.agents.pid) : 0;
      const t0 = performance.now();
      try {
        await cluster.startOperator();
        await cluster.operatorReady();
      } finally {
        for (const [k, x] of saved) if (x === undefined) delete process.env[k];
        else process.env[k] = x;
      }
      const pid = cluster.operator!.pid;
      const row = {
        variant: v.name,
        readySeconds: Math.round(performance.now() - t0) / 1000,
        operatorCpuSeconds: cpuSecondsOf(pid),
        operatorMainThreadCpuSeconds: cpuSecondsOf(pid, pid),
        apiServerCpuSeconds: Math.round((cpuSecondsOf(cluster.apiserver.pid) - api0) * 100) / 100,
        agentsCpuSeconds: cluster.agents ? Math.round((cpuSecondsOf(cluster.agents.pid) - agents0) * 100) / 100 : 0,
      };
      restarts.push(row);
      progress(`${JSON.stringify(v.name)}: Ready in ${row.readySeconds} s`);
      await cluster.operatorSettled(300_000);
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const medians = Object.fromEntries(
    variants.map((v) => {
      const rows = restarts.filter((r) => r.variant === v.name);
      const m = (k: string) => median(rows.map((r) => r[k] as number));
      return [v.name, { readySeconds: m('readySeconds'), operatorCpuSeconds: m('operatorCpuSeconds'), operatorMainThreadCpuSeconds: m('operatorMainThreadCpuSeconds'), apiServerCpuSeconds: m('apiServerCpuSeconds') }];
    }),
  );
  process.stdout.write(JSON.stringify({ loadSeconds: load.seconds, medians, restarts }, null, 2) + '\n');
} finally {
  await stopSystem(sys);
}
