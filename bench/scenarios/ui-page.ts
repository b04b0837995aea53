// The "ui" benchmark's page side at full vmworld scale when the whole system cannot converge on the
// machine (VMSAFE_BENCH_UI_FEED=model): the dashboard server (the real one, in this process) is fed
// straight from the generator instead of through API server watches — VMs placed as the operator
// would (placeOffline), hosts Ready and converged, policies Accepted and Realized — and the page is
// measured in Debian's Chromium exactly as in the full run: navigation to a fully drawn Fleet view,
// its bytes, a host change until its cell is drawn (here from the model update: server push +
// page draw, without API server and watch latency), the page's heap and Chromium's memory.
import type { Host, SecurityPolicy } from '../../src/api';
import { generateDatacenter, type GenOptions } from '../../src/gen';
import { placeOffline } from '../../src/policy/offline';
import { FleetModel } from '../../src/ui/model';
import { startUiServer, type WatchSource } from '../../src/ui/server';
import { silentLogger } from '../../src/util/log';
import type { BenchOptions } from '../lib/options';
import { round, toMiB } from '../lib/stats';
import { pageFigures } from './ui';

const T = '2026-01-01T00:00:00Z';
const cond = (type: string, reason: string) => ({ type, status: 'True' as const, reason, message: '', lastTransitionTime: T });

export async function runUiPage(gen: GenOptions, opts: BenchOptions & { changes: number; screenshot?: string }) {
  const t0 = performance.now();
  const dc = generateDatacenter(gen);
  const placed = placeOffline({ tenants: dc.tenants, tags: dc.tags, hosts: dc.hosts, vms: dc.vms, policies: dc.policies });
  const m = new FleetModel();
  const alloc = new Map<string, { vms: number; vnics: number }>();
  for (const v of placed.vms) {
    const h = v.status?.hostName;
    if (!h) continue;
    const a = alloc.get(h) ?? { vms: 0, vnics: 0 };
    alloc.set(h, { vms: a.vms + 1, vnics: a.vnics + v.spec.vnics.length });
  }
  const converged = (h: Host): Host => ({
    ...h,
    status: { conditions: [cond('Ready', 'AgentHeartbeat'), cond('FilterConverged', 'Converged')], allocated: alloc.get(h.metadata.name) ?? { vms: 0, vnics: 0 } },
  });
  for (const t of dc.tags) m.setTag(t);
  for (const t of dc.tenants) m.setTenant(t);
  for (const h of dc.hosts) m.setHost(converged(h));
  for (const v of placed.vms) m.setVm({ ...v, status: { ...v.status, phase: v.status?.hostName ? 'Running' : (v.status?.phase ?? 'Pending') } });
  for (const p of dc.policies) m.setPolicy({ ...p, status: { conditions: [cond('Accepted', 'Valid'), cond('Realized', 'Realized')] } } as SecurityPolicy);
  m.drain();
  const fedSeconds = (performance.now() - t0) / 1000;
  opts.progress(`ui (model feed): ${dc.hosts.length} hosts, ${placed.vms.length} VMs (${placed.unplaced.size} unplaced) in the model in ${fedSeconds.toFixed(1)} s`);

  const listeners = new Set<() => void>();
  const source: WatchSource = {
    model: m,
    version: 1,
    onChange: (fn) => (listeners.add(fn), () => listeners.delete(fn)),
    access: () => ({ user: 'bench', denied: [], synced: true }),
    canRead: () => true,
  } as WatchSource;
  const server = await startUiServer({ watch: source, logger: silentLogger });
  try {
    const hosts = dc.hosts.map(converged);
    const page = await pageFigures(server.loginUrl, hosts, opts, async (name, cap) => {
      const h = m.hosts.get(name)!;
      m.setHost({ ...h, spec: { ...h.spec, capacity: { ...h.spec.capacity, vms: cap } } });
      source.version++;
      for (const l of listeners) l();
    });
    return {
      feed: 'model: the dashboard server fed from the generator in this process (VMSAFE_BENCH_UI_FEED=model), not through the API server',
      size: { hosts: dc.hosts.length, vms: placed.vms.length, vmsPlaced: placed.vms.length - placed.unplaced.size, tenants: dc.tenants.length, policies: dc.policies.length },
      modelFedSeconds: round(fedSeconds),
      ...page.figures('host capacity changed in the model until the page drew the changed cell (server push + page draw)', 'fromModelUpdateMs', 'fromModelUpdateDoneMs'),
      benchProcess: { definition: 'this process: generator output, placement, the model and the dashboard server', rssMiB: toMiB(process.memoryUsage().rss) },
    };
  } finally {
    await server.close();
  }
}
