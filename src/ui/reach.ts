// The tenant view's "which tenants it can reach, and which can reach it": the reachability analyzer
// (src/analyze, what `vmsafe analyze` runs) over the dashboard's watched objects, VMs where their status
// says they run. One analysis serves every tenant until the objects change (and at most one per
// `minIntervalMs`, with its time shown). It runs in the server's event loop, so above `maxVms` it is
// not run at all and the view says to use `vmsafe analyze --live`; with any input unreadable (RBAC) it
// is not run either: an analysis of half the policies would be a wrong answer, not a partial one.
import { analyzeWorld } from '../analyze';
import { formatRanges } from '../analyze/ports';
import type { FleetModel } from './model';
import type { Reach } from './page/types';

export type ReachFn = (model: FleetModel, tenant: string) => Reach;

export const noAnalyzer: ReachFn = () => ({ available: false, why: 'analyzer not available' });

export interface LiveReachOptions {
  /** Bumped on every change to the analysis' inputs. */
  version: () => number;
  /** Why the inputs are incomplete (e.g. RBAC), or undefined when they are whole. */
  incomplete: () => string | undefined;
  providerNamespace?: string;
  /** Larger fleets are left to `vmsafe analyze --live` (default 2,000 VMs). */
  maxVms?: number;
  /** Re-analyze at most this often (default 5 s). */
  minIntervalMs?: number;
  now?: () => number;
}

interface Done {
  version: number;
  at: number;
  reaches: Map<string, Array<{ tenant: string; ports: string }>>;
  reachedBy: Map<string, Array<{ tenant: string; ports: string }>>;
  outside: Map<string, string>;
  error?: string;
}

export function liveReach(opts: LiveReachOptions): ReachFn {
  const maxVms = opts.maxVms ?? 2000;
  const now = opts.now ?? Date.now;
  let last: Done | undefined;
  const analyze = (m: FleetModel): Done => {
    const v = opts.version();
    if (last && (last.version === v || now() - last.at < (opts.minIntervalMs ?? 5000))) return last;
    const d: Done = { version: v, at: now(), reaches: new Map(), reachedBy: new Map(), outside: new Map() };
    try {
      const a = analyzeWorld(
        { tenants: [...m.tenants.values()], tags: [...m.tags.values()], hosts: [...m.hosts.values()], vms: [...m.vms.values()], policies: [...m.policies.values()], providerNamespace: opts.providerNamespace },
        { placed: true },
      );
      const push = (map: Done['reaches'], k: string, x: { tenant: string; ports: string }) => map.set(k, [...(map.get(k) ?? []), x]);
      for (const p of a.result.pairs) {
        const ports = formatRanges(a.pairSets.get(`${p.from}\u0000${p.to}`) ?? []);
        push(d.reaches, p.from, { tenant: p.to, ports });
        push(d.reachedBy, p.to, { tenant: p.from, ports });
      }
      for (const [t, s] of a.outsideSets) d.outside.set(t, formatRanges(s));
    } catch (err) {
      d.error = `the analysis failed: ${(err as Error).message}`;
    }
    return (last = d);
  };
  return (m, tenant) => {
    const why = opts.incomplete();
    if (why) return { available: false, why };
    if (m.vms.size > maxVms) return { available: false, why: `${m.vms.size.toLocaleString('en-US')} VMs is more than the dashboard analyzes in place (${maxVms.toLocaleString('en-US')}): run vmsafe analyze --live` };
    const d = analyze(m);
    if (d.error) return { available: false, why: d.error };
    return {
      available: true,
      at: new Date(d.at).toISOString(),
      reaches: d.reaches.get(tenant) ?? [],
      reachedBy: d.reachedBy.get(tenant) ?? [],
      outside: d.outside.get(tenant) ?? '',
    };
  };
}
