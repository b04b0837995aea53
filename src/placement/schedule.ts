// Choosing a host: filter (feasibility), then score (policy affinity, least allocated, name).
import { feasibility, isFeasible, matchesTagsAndNetworks } from './feasibility';
import type { HostState, InfeasibleReason, Resources, VmNeeds } from './types';

export interface Unschedulable {
  reason: 'Unschedulable';
  /** kube-scheduler style: "0/512 hosts are available: 480 MissingTags, 32 InsufficientCapacity." */
  message: string;
  /** How many hosts failed for each reason (a host can fail for several). */
  counts: Partial<Record<InfeasibleReason, number>>;
}

export type ScheduleResult = { host: string } | { unschedulable: Unschedulable };

export interface ScheduleContext {
  /** Content key of the VM's effective policy (its program); hosts already carrying it are preferred. */
  programKey?: string;
  /** Program keys resident or planned on a host. */
  programsOn?(hostName: string): ReadonlySet<string> | undefined;
  /** Hosts whose `allocated` already counts this VM (e.g. its migration target). */
  residentOn?: ReadonlySet<string>;
  /** A host never to choose (e.g. the non-compliant source of a migration). */
  exclude?: string;
  /** Prefer hosts carrying the VM's program (default true; false measures plain least-allocated). */
  policyAffinity?: boolean;
}

/** The kube-scheduler style summary of why no host fits. */
export function formatUnschedulable(
  total: number,
  counts: Partial<Record<InfeasibleReason, number>>,
  unknownTags: readonly string[] = [],
): string {
  const parts = (Object.entries(counts) as [string, number][])
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([reason, n]) => `${n} ${reason}`);
  let msg = `0/${total} hosts are available: ${total === 0 ? 'there are no hosts' : parts.join(', ')}.`;
  if (unknownTags.length) msg += ` Tags with no Tag object, treated as Required: ${unknownTags.join(', ')}.`;
  return msg;
}

/** Why every host in `hosts` refuses the VM (the slow path, only when nothing fits). */
export function explainUnschedulable(
  needs: VmNeeds,
  hosts: Iterable<HostState>,
  ctx: Pick<ScheduleContext, 'residentOn'> = {},
): Unschedulable {
  const counts: Partial<Record<InfeasibleReason, number>> = {};
  let total = 0;
  // The excluded host (a migration source) is judged like the others, so the counts add up.
  for (const h of hosts) {
    total++;
    const f = feasibility(needs, h, { resident: ctx.residentOn?.has(h.name) ?? false });
    for (const r of f.reasons) counts[r.reason] = (counts[r.reason] ?? 0) + 1;
  }
  return { reason: 'Unschedulable', message: formatUnschedulable(total, counts, needs.unknownTags), counts };
}

const fraction = (used: number, cap: number) => (cap > 0 ? used / cap : 1);

/** Negative when host a is the better choice on allocation: least VMs fraction, then vNICs, then name. */
export function compareAllocation(a: HostState, b: HostState): number {
  return (
    fraction(a.allocated.vms, a.capacity.vms) - fraction(b.allocated.vms, b.capacity.vms) ||
    fraction(a.allocated.vnics, a.capacity.vnics) - fraction(b.allocated.vnics, b.capacity.vnics) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/**
 * Pick the best feasible host for one VM: hosts that already carry its program first (fewer distinct
 * programs per host), then least allocated, then name. Unpinned placement only: pinned VMs are judged
 * by `decideVm` against their pinned host.
 */
export function schedule(needs: VmNeeds, hostsIn: Iterable<HostState>, ctx: ScheduleContext = {}): ScheduleResult {
  // Iterated twice when nothing fits (Map.values() iterators are single-use).
  const hosts = Array.isArray(hostsIn) ? (hostsIn as readonly HostState[]) : [...hostsIn];
  const affinity = (ctx.policyAffinity ?? true) && ctx.programKey !== undefined;
  let best: HostState | undefined;
  let bestHasProgram = false;
  for (const h of hosts) {
    if (h.name === ctx.exclude) continue;
    if (!isFeasible(needs, h, { resident: ctx.residentOn?.has(h.name) ?? false })) continue;
    const hasProgram = affinity && (ctx.programsOn?.(h.name)?.has(ctx.programKey!) ?? false);
    if (
      !best ||
      (hasProgram && !bestHasProgram) ||
      (hasProgram === bestHasProgram && compareAllocation(h, best) < 0)
    ) {
      best = h;
      bestHasProgram = hasProgram;
    }
  }
  if (best) return { host: best.name };
  return { unschedulable: explainUnschedulable(needs, hosts, ctx) };
}

// ---------------------------------------------------------------- batch planner

const byName = (hosts: readonly HostState[]) => [...hosts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** Hosts a VM may statically use (Ready, schedulable, tags, networks), as indexes into `sorted`. */
interface Candidates {
  list: Int32Array;
  mask: Uint8Array;
}

/** Static candidates, computed once per distinct (required tags, networks) signature. */
function staticCandidates(sorted: readonly HostState[]): (needs: VmNeeds) => Candidates {
  const bySignature = new Map<string, Candidates>();
  return (needs) => {
    const sig = `${needs.required.join(',')}|${needs.networks.join(',')}`;
    let c = bySignature.get(sig);
    if (!c) {
      const mask = new Uint8Array(sorted.length);
      const list: number[] = [];
      sorted.forEach((h, i) => {
        if (h.ready && !h.unschedulable && matchesTagsAndNetworks(needs, h)) {
          mask[i] = 1;
          list.push(i);
        }
      });
      c = { list: Int32Array.from(list), mask };
      bySignature.set(sig, c);
    }
    return c;
  };
}

/**
 * The items of a batch whose placement can affect where the `needed` items go: a VM's choice reads
 * only the allocations and programs of its own candidate hosts (or its pinned host), so the batch
 * splits into groups linked by shared hosts, and scheduling only the groups of `needed` (in input
 * order) places those exactly as the whole batch would. Not exact for an item that fits nowhere: its
 * explanation counts every host, so check that before trusting a scoped result (`placeOffline` does).
 */
export function batchScope(needs: readonly VmNeeds[], hosts: readonly HostState[], needed: Iterable<number>): Set<number> {
  const sorted = byName(hosts);
  const index = new Map(sorted.map((h, i) => [h.name, i]));
  const candidatesOf = staticCandidates(sorted);
  const parent = Int32Array.from(sorted, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const joined = new Set<Candidates>();
  // Each item's group: a host index (its pinned host, or its first candidate), or -1 when it has none.
  const anchor = needs.map((n) => {
    if (n.pinnedHost) return index.get(n.pinnedHost) ?? -1;
    const c = candidatesOf(n);
    if (!joined.has(c)) {
      joined.add(c);
      for (const i of c.list) parent[find(i)] = find(c.list[0]!);
    }
    return c.list.length > 0 ? c.list[0]! : -1;
  });
  const groups = new Set<number>();
  const scope = new Set<number>();
  for (const i of needed) {
    scope.add(i);
    if (anchor[i]! >= 0) groups.add(find(anchor[i]!));
  }
  anchor.forEach((a, i) => {
    if (a >= 0 && groups.has(find(a))) scope.add(i);
  });
  return scope;
}

export interface BatchItem {
  needs: VmNeeds;
  programKey?: string;
}

export interface BatchContext {
  /** Program keys already resident on each host at the start (the planner adds what it places). */
  programsOn?(hostName: string): Iterable<string> | undefined;
  /** Default true. */
  policyAffinity?: boolean;
}

export interface BatchResult {
  /** One result per input item, same order. */
  results: ScheduleResult[];
  /** Allocation of every host after the batch (input allocations are not modified). */
  allocated: Map<string, Resources>;
  /** Program keys per host after the batch (resident + planned). */
  programsByHost: Map<string, Set<string>>;
  placed: number;
  unschedulable: number;
}

/**
 * Place many pending VMs at once (cold start), updating allocations as it goes. Hosts are indexed by
 * what a VM asks of them: the statically feasible hosts (Ready, schedulable, tags, networks) are
 * computed once per distinct (required tags, networks) signature and cached, so each VM only checks
 * capacity and scores its candidates. The most constrained VMs (fewest candidates, then most vNICs)
 * go first so that scarce hosts are not used up by VMs that could go anywhere; ties keep input order.
 */
export function scheduleBatch(items: readonly BatchItem[], hosts: readonly HostState[], ctx: BatchContext = {}): BatchResult {
  const sorted = byName(hosts);
  const H = sorted.length;
  const index = new Map(sorted.map((h, i) => [h.name, i]));
  const vms = new Float64Array(H);
  const vnics = new Float64Array(H);
  const capVms = new Float64Array(H);
  const capVnics = new Float64Array(H);
  sorted.forEach((h, i) => {
    vms[i] = h.allocated.vms;
    vnics[i] = h.allocated.vnics;
    capVms[i] = h.capacity.vms;
    capVnics[i] = h.capacity.vnics;
  });
  const affinity = ctx.policyAffinity ?? true;
  const hostsByProgram = new Map<string, Set<number>>();
  const programsByHost = new Map<string, Set<string>>();
  sorted.forEach((h, i) => {
    const set = new Set(ctx.programsOn?.(h.name) ?? []);
    programsByHost.set(h.name, set);
    for (const p of set) {
      let hs = hostsByProgram.get(p);
      if (!hs) hostsByProgram.set(p, (hs = new Set()));
      hs.add(i);
    }
  });

  const candidatesOf = staticCandidates(sorted);

  const fits = (i: number, n: number) => vms[i]! + 1 <= capVms[i]! && vnics[i]! + n <= capVnics[i]!;
  // Least VMs fraction, then vNICs fraction; equal → lower index (name order) wins because we scan upward.
  const better = (i: number, j: number) => {
    const a = fraction(vms[i]!, capVms[i]!) - fraction(vms[j]!, capVms[j]!);
    if (a !== 0) return a < 0;
    const b = fraction(vnics[i]!, capVnics[i]!) - fraction(vnics[j]!, capVnics[j]!);
    if (b !== 0) return b < 0;
    return i < j;
  };

  const order = items.map((item, i) => ({
    i,
    item,
    cands: item.needs.pinnedHost ? undefined : candidatesOf(item.needs),
  }));
  const rank = (o: (typeof order)[number]) => (o.cands ? o.cands.list.length : 1);
  order.sort((a, b) => rank(a) - rank(b) || b.item.needs.vnics - a.item.needs.vnics || a.i - b.i);

  const results: ScheduleResult[] = new Array(items.length);
  const failureBySignature = new Map<string, Unschedulable>();
  let placed = 0;
  const place = (i: number, o: (typeof order)[number]) => {
    vms[i]! += 1;
    vnics[i]! += o.item.needs.vnics;
    const key = o.item.programKey;
    if (key !== undefined) {
      programsByHost.get(sorted[i]!.name)!.add(key);
      let hs = hostsByProgram.get(key);
      if (!hs) hostsByProgram.set(key, (hs = new Set()));
      hs.add(i);
    }
    results[o.i] = { host: sorted[i]!.name };
    placed++;
  };
  const liveHost = (i: number): HostState => ({
    ...sorted[i]!,
    allocated: { vms: vms[i]!, vnics: vnics[i]! },
  });

  for (const o of order) {
    const { needs, programKey } = o.item;
    if (needs.pinnedHost !== undefined) {
      const i = index.get(needs.pinnedHost);
      const f = i === undefined ? undefined : feasibility(needs, liveHost(i), { ignoreUnschedulable: true });
      if (i !== undefined && f!.feasible) place(i, o);
      else
        results[o.i] = {
          unschedulable: {
            reason: 'Unschedulable',
            message: f ? f.reasons.map((r) => r.message).join('; ') : `pinned host ${needs.pinnedHost} does not exist`,
            counts: {},
          },
        };
      continue;
    }
    const c = o.cands!;
    let best = -1;
    if (affinity && programKey !== undefined) {
      for (const i of hostsByProgram.get(programKey) ?? []) {
        if (c.mask[i] && fits(i, needs.vnics) && (best < 0 || better(i, best))) best = i;
      }
    }
    if (best < 0) {
      for (const i of c.list) if (fits(i, needs.vnics) && (best < 0 || better(i, best))) best = i;
    }
    if (best >= 0) {
      place(best, o);
      continue;
    }
    // Allocations only grow during a batch, so one explanation per (signature, size) stays true.
    const fkey = `${needs.required.join(',')}|${needs.networks.join(',')}|${needs.vnics}|${needs.unknownTags.join(',')}`;
    let why = failureBySignature.get(fkey);
    if (!why) {
      why = explainUnschedulable(needs, sorted.map((_, i) => liveHost(i)));
      failureBySignature.set(fkey, why);
    }
    results[o.i] = { unschedulable: why };
  }

  const allocated = new Map<string, Resources>();
  sorted.forEach((h, i) => allocated.set(h.name, { vms: vms[i]!, vnics: vnics[i]! }));
  return { results, allocated, programsByHost, placed, unschedulable: items.length - placed };
}
