// The scheduler's books: what each host has allocated and which programs it carries, kept per VM so
// that updates are idempotent. Fed by the VM informer and by the VM controller's own decisions
// ("assumed" bindings, like kube-scheduler's assumed pods) so that two VMs decided back to back never
// both take a host's last slot before the first status write comes back through the watch.
import type { Host, VM } from '../api';
import { hostState, type HostState, type Resources } from '../placement';

interface Entry {
  hosts: readonly string[];
  vnics: number;
  program: string | undefined;
}

const NONE: Entry = { hosts: [], vnics: 0, program: undefined };

/** Hosts a VM takes resources on according to its status (bound, or both ends while migrating). */
export function occupiedHosts(s: { phase?: string; hostName?: string; targetHostName?: string } | undefined): string[] {
  if (!s || !s.hostName || s.phase === 'Off' || s.phase === 'Pending') return [];
  return s.targetHostName && s.targetHostName !== s.hostName ? [s.hostName, s.targetHostName] : [s.hostName];
}

export class PlacementLedger {
  private readonly byVm = new Map<string, Entry>();
  private readonly alloc = new Map<string, Resources>();
  private readonly programCounts = new Map<string, Map<string, number>>();
  private readonly programSets = new Map<string, Set<string>>();
  private readonly states = new Map<string, HostState>();

  /** Record where a VM is (from its status) or is about to be (from a decision). */
  set(vmKey: string, status: VM['status'], vnics: number): void {
    const next: Entry = { hosts: occupiedHosts(status), vnics, program: status?.program };
    const prev = this.byVm.get(vmKey) ?? NONE;
    if (prev.vnics === next.vnics && prev.program === next.program && prev.hosts.join() === next.hosts.join()) return;
    this.account(prev, -1);
    this.account(next, +1);
    if (next.hosts.length) this.byVm.set(vmKey, next);
    else this.byVm.delete(vmKey);
  }

  remove(vmKey: string): void {
    const prev = this.byVm.get(vmKey);
    if (!prev) return;
    this.account(prev, -1);
    this.byVm.delete(vmKey);
  }

  private account(e: Entry, sign: 1 | -1): void {
    for (const h of e.hosts) {
      const a = this.allocOf(h);
      a.vms += sign;
      a.vnics += sign * e.vnics;
      if (e.program === undefined) continue;
      let counts = this.programCounts.get(h);
      if (!counts) this.programCounts.set(h, (counts = new Map()));
      const n = (counts.get(e.program) ?? 0) + sign;
      let set = this.programSets.get(h);
      if (!set) this.programSets.set(h, (set = new Set()));
      if (n > 0) {
        counts.set(e.program, n);
        set.add(e.program);
      } else {
        counts.delete(e.program);
        set.delete(e.program);
      }
    }
  }

  /** The live allocation of a host (the same object every time: HostStates share it). */
  allocOf(host: string): Resources {
    let a = this.alloc.get(host);
    if (!a) this.alloc.set(host, (a = { vms: 0, vnics: 0 }));
    return a;
  }

  programsOn(host: string): ReadonlySet<string> | undefined {
    return this.programSets.get(host);
  }

  /**
   * Placement view of a host, rebuilt when the Host object changes; allocations stay live. `ready`
   * overrides the Host's Ready condition (the VM controller also counts a fresh agent heartbeat).
   */
  updateHost(h: Host, ready?: boolean): void {
    const st = hostState(h, ready === undefined ? {} : { ready });
    st.allocated = this.allocOf(h.metadata.name);
    this.states.set(h.metadata.name, st);
  }

  removeHost(name: string): void {
    this.states.delete(name);
  }

  hostStates(): ReadonlyMap<string, HostState> {
    return this.states;
  }
}
