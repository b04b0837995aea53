// `vmsafe trace --live` end to end: examples/ applied with the real kubectl to `vmsafe dev`'s stack
// (embedded API server, operator, agents), then every probe traced twice, from the manifests and from
// the cluster's HostFilters and AddressGroups: the verdicts must be the same. Groups of 2+ addresses
// are shared AddressGroup objects here, so the live path reads shards as the agents do.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostFilter, VM } from '../../src/api';
import { run } from '../../src/cli/commands/trace';
import { waitConverged } from '../../src/dev/converged';
import { applyManifests, REPO_ROOT, startDevStack, type DevStack } from '../../src/dev/stack';
import type { KubeObject } from '../../src/runtime/client';
import { silentLogger } from '../../src/util/log';
import { waitFor } from '../helpers/wait';
import { capture } from '../helpers/capture';

let stack: DevStack;
let dir: string;
let vms: string[];
/** The VMs that run on a host (examples/ has one powered off). */
let running: string[];

const trace = (...args: string[]) => capture(() => run(args));
const live = (...args: string[]) => trace('--live', '--kubeconfig', stack.kubeconfigPath, ...args);
afterEach(() => vi.restoreAllMocks());

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmsafe-trace-live-'));
  stack = await startDevStack({ logger: silentLogger, kubeconfigPath: join(dir, 'kubeconfig'), heartbeatMs: 300, leaseSeconds: 2, sharedGroupMinAddresses: 2 });
  await applyManifests(stack, [join(REPO_ROOT, 'examples')]);
  const p = await waitConverged(stack.client, 60_000, 100);
  if (!p.converged) throw new Error(`examples/ did not converge: ${p.summary}`);
  const all = (await stack.client.kind<VM & KubeObject>('VM').list()).items;
  const key = (v: VM) => `${v.metadata.namespace}/${v.metadata.name}`;
  vms = all.map(key).sort();
  running = all.filter((v) => v.status?.hostName).map(key).sort();
  if (running.length < 3 || running.length === vms.length) throw new Error(`examples/ should have running VMs and one that is off: ${vms.length} VMs, ${running.length} running`);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The verdict of one output line; an error (the wording differs: offline placement vs live phase) as a flag. */
const verdictOnly = (line: string) => {
  const { verdict, egress, ingress, error } = JSON.parse(line);
  return error !== undefined ? { error: true } : { verdict, egress, ingress };
};

describe('vmsafe trace --live', () => {
  it('gives the offline verdict for every VM pair, port and outside address of examples/ (and refuses the VM that is off on both)', async () => {
    const shards = (await stack.client.kind('AddressGroup').list()).items;
    expect(shards.length).toBeGreaterThan(0); // the shared-group path is exercised
    const ports: [string, number | undefined][] = [['TCP', 443], ['TCP', 22], ['TCP', 5432], ['UDP', 53], ['ICMP', undefined]];
    const probes: object[] = [];
    for (const from of vms)
      for (const to of vms) if (from !== to) for (const [protocol, port] of ports) probes.push({ from, to, protocol, ...(port !== undefined ? { port } : {}) });
    for (const vm of vms) probes.push({ from: '203.0.113.7', to: vm, protocol: 'TCP', port: 443 }, { from: vm, to: '8.8.8.8', protocol: 'UDP', port: 53 });
    const file = join(dir, 'probes.jsonl');
    writeFileSync(file, probes.map((p) => JSON.stringify(p)).join('\n') + '\n');

    const offline = await trace('-f', join(REPO_ROOT, 'examples'), '--probes', file);
    const fromCluster = await live('--probes', file);
    // Exit 1: the probes from or to the VM that is off are refused, one line each, by both.
    const off = probes.filter((p) => vms.filter((v) => !running.includes(v)).some((v) => Object.values(p).includes(v))).length;
    expect(off).toBeGreaterThan(0);
    expect([offline.code, offline.err.trim().split('\n').length]).toEqual([1, off]);
    expect([fromCluster.code, fromCluster.err.trim().split('\n').length]).toEqual([1, off]);
    expect(fromCluster.err).toMatch(/runs on no host \(phase Off\): no filter judges its packets/);
    const a = offline.out.trim().split('\n').map(verdictOnly);
    const b = fromCluster.out.trim().split('\n').map(verdictOnly);
    expect(b).toHaveLength(probes.length);
    expect(b).toEqual(a);
    // Not a trivial world: both verdicts occur, and some decision comes from a tenant policy.
    expect(new Set(b.map((v) => v.verdict))).toEqual(new Set(['Allow', 'Deny', undefined]));
    expect(b.some((v) => v.ingress?.tier === 'Tenant' && v.ingress.verdict === 'Allow')).toBe(true);
    // Every host applied what the operator compiled: nothing pending.
    expect(fromCluster.out).not.toContain('pending');
  });

  it('text output names the hosts the VMs run on', async () => {
    const [from, to] = [running[0]!, running[1]!];
    const r = await live('--from', from, '--to', to, '--protocol', 'TCP', '--port', '443');
    expect(r.code).toBe(0);
    const host = async (key: string) => (await stack.client.kind<VM & KubeObject>('VM').get({ namespace: key.split('/')[0]!, name: key.split('/')[1]! })).status!.hostName!;
    expect(r.out).toContain(`egress  at ${from} (host ${await host(from)})`);
    expect(r.out).toContain(`ingress at ${to} (host ${await host(to)})`);
  });

  it('bad input: one line, exit 1 for what the cluster lacks, 2 for usage', async () => {
    const none = await live('--from', `${running[0]}`, '--to', 'acme/no-such-vm', '--port', '80');
    expect([none.code, none.err]).toEqual([1, 'vmsafe trace: no VM acme/no-such-vm\n']);
    const nic = await live('--from', `${running[0]}/eth9`, '--to', running[1]!, '--port', '80');
    expect([nic.code, nic.err]).toEqual([1, `vmsafe trace: VM ${running[0]} has no vNIC eth9\n`]);
    const both = await trace('--live', '-f', 'examples', '--from', vms[0]!, '--to', vms[1]!, '--port', '80');
    expect([both.code, both.err.trim().split('\n').length]).toEqual([2, 1]);
    expect(both.err).toContain('-f and --live are exclusive');
    const kc = await trace('--live', '--kubeconfig', join(dir, 'missing'), '--from', vms[0]!, '--to', vms[1]!, '--port', '80');
    expect([kc.code, kc.err.trim().split('\n').length]).toEqual([1, 1]);
    expect(kc.err).toContain('cannot load the kubeconfig');
    const noLive = await trace('--kubeconfig', stack.kubeconfigPath, '--from', vms[0]!, '--to', vms[1]!, '--port', '80');
    expect([noLive.code, noLive.err]).toEqual([2, 'vmsafe trace: --kubeconfig needs --live (see vmsafe trace --help)\n']);
  });

  it('says when an agent has not applied the compile it traces (status never lies)', async () => {
    // The agents stop; a new tenant policy allowing TCP/9999 into every acme VM gets compiled but not applied.
    await stack.fleet!.stop();
    const acme = running.filter((v) => v.startsWith('acme/'));
    const [from, to] = [running.find((v) => !v.startsWith('acme/'))!, acme[0]!];
    const before = await live('--from', from, '--to', to, '--port', '9999', '-o', 'json');
    expect(before.err).toBe('');
    expect(JSON.parse(before.out)).toMatchObject({ verdict: 'Deny' });
    expect(JSON.parse(before.out).pending).toBeUndefined();
    await stack.client.kind('SecurityPolicy').create({
      apiVersion: 'vmsafe.io/v1alpha1', kind: 'SecurityPolicy', metadata: { name: 'live-9999', namespace: 'acme' },
      spec: { tier: 'Tenant', ingress: [{ name: 'open', action: 'Allow', ports: [{ protocol: 'TCP', port: 9999 }] }] },
    } as KubeObject);
    const toVm = await stack.client.kind<VM & KubeObject>('VM').get({ namespace: 'acme', name: to.split('/')[1]! });
    const hostName = toVm.status!.hostName!;
    await waitFor('the compile of live-9999 on the target host', async () => {
      const f = await stack.client.kind<HostFilter & KubeObject>('HostFilter').get(hostName);
      return f.spec.programs.some((p) => p.ingress.some((r) => r.policy === 'acme/live-9999')) && f.status?.appliedHash !== f.spec.hash;
    });
    const after = await live('--from', from, '--to', to, '--port', '9999', '-o', 'json');
    const v = JSON.parse(after.out);
    expect(v.pending).toContain(hostName);
    expect(v.ingress).toMatchObject({ verdict: 'Allow', policy: 'acme/live-9999', rule: 'open' });
    const text = await live('--from', from, '--to', to, '--port', '9999');
    expect(text.out).toContain(`pending: the agent of `);
    expect(text.out).toContain(hostName);
  });
});
