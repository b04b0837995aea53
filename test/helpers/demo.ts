// The demo datacenter on `vmsafe dev`'s stack for end-to-end tests: start it with examples/ applied,
// a kubectl bound to it, and a "converged" check (every powered-on VM Running, every filter applied,
// every policy Realized or Staged) to wait on before and after a change; stop() also removes its home.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostFilter, SecurityPolicy, VM } from '../../src/api';
import { applyManifests, REPO_ROOT, startDevStack, type DevStack } from '../../src/dev/stack';
import type { KubeObject } from '../../src/runtime/client';
import { silentLogger } from '../../src/util/log';
import { kubectlFor } from './kubectl';
import { waitFor } from './wait';

export interface Demo {
  stack: DevStack;
  k: ReturnType<typeof kubectlFor>;
  home: string;
  /** Converged, ignoring the VMs named in `skip` (those a test made unplaceable on purpose). */
  converged(skip?: string[]): Promise<boolean>;
  /** Stops the stack and removes `home`. */
  stop(): Promise<void>;
}

export async function startDemo(prefix: string): Promise<Demo> {
  const home = mkdtempSync(join(tmpdir(), `vmsafe-${prefix}-`));
  let started: DevStack | undefined;
  const stop = async () => {
    try {
      await started?.stop();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  };
  try {
    const stack = (started = await startDevStack({ logger: silentLogger, kubeconfigPath: join(home, 'kubeconfig'), heartbeatMs: 300, leaseSeconds: 2 }));
    const k = kubectlFor(stack.kubeconfigPath, home);
    const list = async <T>(kind: string) => (await stack.client.kind<T & KubeObject>(kind).list()).items;
    const converged = async (skip: string[] = []) => {
      const [vms, filters, policies] = await Promise.all([list<VM>('VM'), list<HostFilter>('HostFilter'), list<SecurityPolicy>('SecurityPolicy')]);
      const realized = (p: SecurityPolicy) => ['Realized', 'Staged'].includes(p.status?.conditions?.find((c) => c.type === 'Realized')?.reason ?? '');
      return (
        vms.length > 0 &&
        vms.filter((v) => !skip.includes(v.metadata.name)).every((v) => v.status?.phase === (v.spec.powerState === 'Off' ? 'Off' : 'Running')) &&
        filters.every((f) => f.status?.appliedHash === f.spec.hash) &&
        policies.every(realized)
      );
    };
    await applyManifests(stack, [join(REPO_ROOT, 'examples')]);
    await waitFor('the demo datacenter to converge', () => converged(), { timeoutMs: 60_000 });
    return { stack, k, home, converged, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Rules of `policy` per host in the filters the agents have applied (hosts not converged: absent). */
export async function appliedRules(stack: Pick<DevStack, 'client'>, policy: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const f of (await stack.client.kind<HostFilter & KubeObject>('HostFilter').list()).items) {
    if (f.status?.appliedHash !== f.spec.hash) continue;
    let n = 0;
    for (const p of f.spec.programs) for (const r of [...p.ingress, ...p.egress]) if (r.policy === policy) n++;
    out.set(f.metadata.name, n);
  }
  return out;
}
