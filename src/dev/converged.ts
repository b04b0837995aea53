// When `vmsafe dev --demo` has converged: every VM has settled (Running, Off or Quarantined: nothing
// Pending, Scheduled or Migrating) and every Host's agent applies the filter the operator compiled
// (FilterConverged). decide() is pure; waitConverged() polls the API server until it holds.
import type { KubeClient } from '../runtime/client';
import { kindResource } from '../runtime/client';

interface Obj {
  metadata?: { name?: string; namespace?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

const SETTLED = new Set(['Running', 'Off', 'Quarantined']);

export interface Progress {
  converged: boolean;
  /** e.g. "10 VMs (9 Running, 1 Off), 4 hosts with their filters applied" */
  summary: string;
}

export function decide(vms: Obj[], hosts: Obj[]): Progress {
  const phases = new Map<string, number>();
  for (const vm of vms) {
    const p = vm.status?.phase ?? 'Pending';
    phases.set(p, (phases.get(p) ?? 0) + 1);
  }
  const applied = hosts.filter((h) => h.status?.conditions?.some((c) => c.type === 'FilterConverged' && c.status === 'True')).length;
  const settled = vms.every((vm) => SETTLED.has(vm.status?.phase ?? 'Pending'));
  const byPhase = [...phases].sort(([a], [b]) => a.localeCompare(b)).map(([p, n]) => `${n} ${p}`).join(', ');
  return {
    converged: vms.length > 0 && settled && applied === hosts.length,
    summary: `${vms.length} VMs (${byPhase}), ${applied}/${hosts.length} hosts with their filters applied`,
  };
}

/** Poll until converged or the deadline passes; resolves to the last progress and the time taken. */
export async function waitConverged(client: KubeClient, timeoutMs: number, pollMs = 500): Promise<Progress & { ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const [vms, hosts] = await Promise.all([client.resource(kindResource('VM')).list(), client.resource(kindResource('Host')).list()]);
    const p = decide(vms.items as Obj[], hosts.items as Obj[]);
    const ms = Date.now() - t0;
    if (p.converged || ms >= timeoutMs) return { ...p, ms };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
