// Two operator replicas (real `vmsafe operator` processes) against one API server: exactly one leads;
// SIGKILL the leader and the other takes over within the lease duration, and the system re-converges
// with nothing lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VM } from '../../src/api';
import { AgentFleet } from '../../src/agent/fleet';
import { KubeClient } from '../../src/runtime/client';
import { silentLogger } from '../../src/util/log';
import { REPO_ROOT, startTestApiServer, type TestApiServer } from '../helpers/apiserver';
import { waitFor } from '../helpers/wait';

// Short enough for a quick test, long enough that a loaded 2-core machine does not lose the lease.
const LEASE_S = 5;
const RENEW_S = 4;
const RETRY_S = 0.5;

interface Replica {
  id: string;
  proc: ChildProcess;
  log: string;
}

let server: TestApiServer;
let fleet: AgentFleet;
const replicas: Replica[] = [];

function startReplica(id: string): Replica {
  const proc = spawn(join(REPO_ROOT, 'bin/vmsafe'), [
    'operator', '--kubeconfig', server.kubeconfigPath, '--identity', id, '--log-level', 'info',
    '--lease-duration', String(LEASE_S), '--renew-deadline', String(RENEW_S), '--retry-period', String(RETRY_S),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Replica = { id, proc, log: '' };
  proc.stdout!.on('data', (d) => (r.log += d));
  proc.stderr!.on('data', (d) => (r.log += d));
  return r;
}

const holder = async () => (await server.kubectl(['get', 'lease', '-n', 'vmsafe-system', 'vmsafe-operator', '-o', 'jsonpath={.spec.holderIdentity}'])).stdout;
const leading = (r: Replica) => r.log.includes('leading: starting controllers');
/** What the replicas said, for a failure message. */
const logs = () => replicas.map((r) => `--- ${r.id}\n${r.log.split('\n').slice(-15).join('\n')}`).join('\n');

async function converged(): Promise<boolean> {
  const r = await server.kubectl(['get', 'vms', '-A', '-o', 'json']);
  const vms = JSON.parse(r.stdout).items as VM[];
  return vms.length > 0 && vms.every((v) => (v.spec.powerState === 'Off' ? v.status?.phase === 'Off' : v.status?.phase === 'Running'));
}

beforeAll(async () => {
  server = await startTestApiServer();
  const r = await server.kubectl(['apply', '-f', join(REPO_ROOT, 'examples')]);
  expect(r.code, r.stderr).toBe(0);
  fleet = new AgentFleet({ client: new KubeClient({ file: server.kubeconfigPath }), logger: silentLogger, agent: { heartbeatMs: 300, leaseDurationSeconds: 2 } }).start();
  replicas.push(startReplica('replica-a'), startReplica('replica-b'));
}, 60_000);

afterAll(async () => {
  for (const r of replicas) r.proc.kill('SIGKILL');
  await fleet?.stop();
  await server?.close();
});

describe('two operator replicas', () => {
  it('elect exactly one leader, which converges the system', async () => {
    const first = await waitFor('a leader', async () => {
      const h = await holder();
      return replicas.some((r) => r.id === h) ? h : undefined;
    }, { timeoutMs: 30_000, describe: logs });
    await waitFor('convergence under the first leader', converged, { timeoutMs: 60_000, describe: logs });
    expect(replicas.filter(leading).map((r) => r.id)).toEqual([first]);
  }, 100_000);

  it('fails over within the lease duration after the leader is killed, losing nothing', async () => {
    const old = replicas.find((r) => r.id === (replicas.find(leading)!.id))!;
    const standby = replicas.find((r) => r !== old)!;
    old.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor('the standby to take the lease', async () => (await holder()) === standby.id, { timeoutMs: 20_000, intervalMs: 50, describe: logs });
    const takeoverMs = Date.now() - killedAt;
    // The standby waits out the lease it last saw renewed, then acquires on its next retry.
    expect(takeoverMs).toBeLessThan((LEASE_S + 2 * RETRY_S) * 1000 + 1500);
    await waitFor('the standby to start its controllers', () => leading(standby), { timeoutMs: 15_000 });

    // Work done while nobody led is picked up, and new work converges.
    const vm = `apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: after-failover, namespace: initech}
spec:
  vnics: [{name: eth0, network: initech-lan, ip: 10.30.0.88, mac: "02:00:00:00:08:88"}]
`;
    expect((await server.kubectl(['apply', '-f', '-'], { input: vm })).code).toBe(0);
    await waitFor('re-convergence with the new VM', async () => (await converged()) && (await server.kubectl(['get', 'vm', '-n', 'initech', 'after-failover', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running', { timeoutMs: 30_000 });
    const hosts = JSON.parse((await server.kubectl(['get', 'hostfilters', '-o', 'json'])).stdout).items as { spec: { hash: string }; status?: { appliedHash?: string } }[];
    expect(hosts.every((h) => h.status?.appliedHash === h.spec.hash)).toBe(true);
  }, 60_000);
});
