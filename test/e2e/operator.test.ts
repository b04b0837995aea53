// End to end: the real kubectl against `vmsafe dev`'s stack (embedded API server, operator, one
// simulated agent per Host), with the safety invariant checked the whole time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressGroupShard, Host, HostFilter, SecurityPolicy, VM } from '../../src/api';
import { applyManifests, REPO_ROOT, startDevStack, type DevStack } from '../../src/dev/stack';
import { kindResource } from '../../src/runtime/client';
import { Informer } from '../../src/runtime/informer';
import { silentLogger } from '../../src/util/log';
import { InvariantChecker } from '../helpers/invariant';
import { kubectlFor } from '../helpers/kubectl';
import { waitFor } from '../helpers/wait';

let stack: DevStack;
let home: string;
let checker: InvariantChecker;
let k: ReturnType<typeof kubectlFor>;

const list = async <T>(kind: string): Promise<T[]> => (await k.json(['get', kind, '-A'])).items;
const cond = (o: { status?: { conditions?: { type: string; status: string; reason: string }[] } }, t: string) =>
  o.status?.conditions?.find((c) => c.type === t);

async function describeState(): Promise<string> {
  return (await k.kubectl(['get', 'vms,hosts,hostfilters', '-A'])).stdout;
}

/** Every powered-on VM Running, every filter applied, every accepted policy Realized. */
async function converged(): Promise<boolean> {
  const [vms, filters, policies] = await Promise.all([list<VM>('vms'), list<HostFilter>('hostfilters'), list<SecurityPolicy>('securitypolicies')]);
  return (
    (await groupsConverged()) &&
    vms.every((v) => (v.spec.powerState === 'Off' ? v.status?.phase === 'Off' : v.status?.phase === 'Running')) &&
    filters.length > 0 &&
    filters.every((f) => f.status?.appliedHash === f.spec.hash) &&
    policies.every((p) => cond(p, 'Realized')?.status === 'True')
  );
}

/** The compiler's AddressGroup shards are the API server's, and the agents hold exactly those. */
async function groupsConverged(): Promise<boolean> {
  const term = stack.operator?.term();
  if (!term) return false;
  const want = new Map([...term.ctx.feed.compiler.shards()].map(([n, s]) => [n, s.hash]));
  const inApi = new Map((await list<AddressGroupShard>('addressgroups')).map((g) => [g.metadata.name, g.spec.hash]));
  const held = stack.fleet!.groups.sets.shardHashes();
  const same = (a: Map<string, string>, b: Map<string, string>) => a.size === b.size && [...a].every(([n, h]) => b.get(n) === h);
  return same(want, inApi) && same(want, held);
}

/**
 * Converged, and the operator has nothing left to write: every compiled filter is the one in the API
 * and no HostFilter write is queued or paced. Write counting must start from here.
 */
async function settled(): Promise<boolean> {
  if (!(await converged())) return false;
  const term = stack.operator!.term()!;
  const hf = term.controllers.find((c) => c.name === 'hostfilter')!;
  if (hf.queue.len() > 0 || hf.queue.delayedCount() > 0) return false;
  const filters = await list<HostFilter>('hostfilters');
  return filters.every((f) => term.ctx.feed.compiler.spec(f.metadata.name)?.hash === f.spec.hash);
}

const setFaults = (host: string, faults: object | null) =>
  k.kubectl(['annotate', '--overwrite', `host/${host}`, faults ? `sim.vmsafe.io/faults=${JSON.stringify(faults)}` : 'sim.vmsafe.io/faults-']);

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'vmsafe-e2e-'));
  // Groups of 2+ addresses are shared (AddressGroup objects, like the large ones at scale), so every
  // scenario, the trace agreement included, runs with both shared and inline groups.
  stack = await startDevStack({ logger: silentLogger, kubeconfigPath: join(home, 'kubeconfig'), heartbeatMs: 300, leaseSeconds: 2, sharedGroupMinAddresses: 2 });
  k = kubectlFor(stack.kubeconfigPath, home);
  checker = new InvariantChecker(stack.kubeconfigPath);
  await checker.start();
  await applyManifests(stack, [join(REPO_ROOT, 'examples')]);
  await waitFor('the demo datacenter to converge', converged, { timeoutMs: 60_000, describe: describeState });
}, 90_000);

afterAll(async () => {
  await checker?.stop();
  await stack?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('vmsafe dev with the examples', () => {
  it('runs every VM on a host that carries its required tags, with filters applied', async () => {
    const out = await k.kubectl(['get', 'vms', '-A']);
    expect(out.stdout).toMatch(/NAMESPACE\s+NAME\s+TENANT\s+HOST\s+PHASE\s+PROTECTED\s+AGE/);
    expect(out.stdout).toMatch(/globex-prod\s+ledger-db\s+globex\s+esx-gold-0[12]\s+Running\s+True/);
    const hosts = new Map((await list<Host>('hosts')).map((h) => [h.metadata.name, h]));
    for (const vm of await list<VM>('vms')) {
      if (vm.spec.powerState === 'Off') continue;
      const host = hosts.get(vm.status!.hostName!)!;
      const required = vm.status!.tenant === 'initech' ? ['silver'] : vm.status!.tenant === 'globex' ? ['gold', 'pci'] : ['gold'];
      for (const t of required) expect(host.spec.tags, `${vm.metadata.name} on ${host.metadata.name}`).toContain(t);
      expect(cond(vm, 'Protected')?.status).toBe('True');
    }
    const hostsOut = await k.kubectl(['get', 'hosts']);
    expect(hostsOut.stdout).toMatch(/esx-gold-01\s+True\s+True\s+\d+/);
    // Host.status.filter describes the filter in the API (hash, programs, rules, bindings).
    await waitFor('host filter summaries', async () => {
      const filters = new Map((await list<HostFilter>('hostfilters')).map((f) => [f.metadata.name, f]));
      return (await list<Host>('hosts')).every((h) => {
        const f = filters.get(h.metadata.name)!;
        const want = {
          desiredHash: f.spec.hash,
          programs: f.spec.programs.length,
          rules: f.spec.programs.reduce((n, p) => n + p.egress.length + p.ingress.length, 0),
          bindings: f.spec.bindings.length,
        };
        return JSON.stringify(h.status?.filter && { desiredHash: h.status.filter.desiredHash, programs: h.status.filter.programs, rules: h.status.filter.rules, bindings: h.status.filter.bindings }) === JSON.stringify(want);
      });
    }, { describe: describeState });
    expect(checker.violations).toEqual([]);
  });

  it('quarantines a VM pinned to a host without its tags, with the reason', async () => {
    const vm = `apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: misplaced, namespace: acme}
spec:
  hostName: esx-silver-01
  vnics: [{name: eth0, network: acme-web, ip: 10.10.1.250, mac: "02:00:00:00:09:99"}]
`;
    expect((await k.kubectl(['apply', '-f', '-'], { input: vm })).code).toBe(0);
    const q = await waitFor('the pinned VM to be quarantined', async () => {
      const v = (await k.json(['get', 'vm', '-n', 'acme', 'misplaced'])) as VM;
      return v.status?.phase === 'Quarantined' ? v : undefined;
    });
    expect(cond(q, 'PlacementCompliant')).toMatchObject({ status: 'False', reason: 'MissingTags' });
    expect(cond(q, 'Protected')).toMatchObject({ status: 'False', reason: 'Quarantined' });
    // Its vNIC is bound on that host to the deny-all program.
    const hf = (await k.json(['get', 'hostfilter', 'esx-silver-01'])) as HostFilter;
    const b = hf.spec.bindings.find((x) => x.vm === 'acme/misplaced');
    const prog = hf.spec.programs.find((p) => p.id === b?.program);
    expect(prog?.ingress.map((r) => r.action)).toEqual(['Deny']);
    await k.kubectl(['delete', 'vm', '-n', 'acme', 'misplaced']);
  });

  it('editing one tenant policy rewrites only the filters of hosts running that tenant', async () => {
    await waitFor('convergence with nothing left to write', settled, { timeoutMs: 30_000, describe: describeState });
    const counters = stack.operator!.term()!.ctx.counters;
    const before = new Map(counters.hostFilterWritesByHost);
    const initechHosts = new Set((await list<VM>('vms')).filter((v) => v.status?.tenant === 'initech').map((v) => v.status!.hostName!));
    // A policy that applies to all of initech's VMs (empty appliesTo), then an edit of its rules.
    const policy = `apiVersion: vmsafe.io/v1alpha1
kind: SecurityPolicy
metadata: {name: ops-ssh, namespace: initech}
spec:
  ingress: [{name: ssh, action: Allow, peers: [{cidr: {cidr: 192.0.2.0/24}}], ports: [{protocol: TCP, port: 22}]}]
`;
    const realized = async (generation?: number) => {
      const p = (await k.json(['get', 'securitypolicy', '-n', 'initech', 'ops-ssh'])) as SecurityPolicy;
      const done = p.status?.observedGeneration === p.metadata.generation && cond(p, 'Realized')?.status === 'True' && (await converged());
      return done && (generation === undefined || p.metadata.generation! >= generation) ? p : undefined;
    };
    expect((await k.kubectl(['apply', '-f', '-'], { input: policy })).code).toBe(0);
    const created = await waitFor('the new policy to be realized', () => realized(), { describe: describeState });
    expect(created.status?.hosts).toEqual({ desired: initechHosts.size, realized: initechHosts.size });
    const writtenSince = (b: Map<string, number>) =>
      [...counters.hostFilterWritesByHost].filter(([h, n]) => n !== (b.get(h) ?? 0)).map(([h]) => h).sort();
    expect(writtenSince(before)).toEqual([...initechHosts].sort());

    await waitFor('nothing left to write', settled, { timeoutMs: 30_000, describe: describeState });
    const mid = new Map(counters.hostFilterWritesByHost);
    const r = await k.kubectl(['patch', 'securitypolicy', '-n', 'initech', 'ops-ssh', '--type=json', '-p',
      '[{"op":"replace","path":"/spec/ingress/0/ports/0/port","value":2222}]']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the edit to be realized', () => realized(created.metadata.generation! + 1), { describe: describeState });
    expect(writtenSince(mid)).toEqual([...initechHosts].sort());
    // Exactly one write per affected host for one edit.
    for (const h of initechHosts) expect((counters.hostFilterWritesByHost.get(h) ?? 0) - (mid.get(h) ?? 0)).toBe(1);
  });

  it('shares large address groups as AddressGroup shards; a new VM rewrites its shards and its own host only', async () => {
    await waitFor('convergence with nothing left to write', settled, { timeoutMs: 30_000, describe: describeState });
    const filters = await list<HostFilter>('hostfilters');
    const shared = new Set(filters.flatMap((f) => f.spec.addressGroups.filter((g) => g.shared).map((g) => g.id)));
    const inline = filters.flatMap((f) => f.spec.addressGroups.filter((g) => !g.shared));
    expect(shared.size).toBeGreaterThan(0);
    expect(inline.length).toBeGreaterThan(0);
    // kubectl shows the shards with their group and /16.
    const table = await k.kubectl(['get', 'addressgroups']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+GROUP\s+PREFIX\s+AGE/);
    const shards = await list<AddressGroupShard>('addressgroups');
    for (const id of shared) expect(shards.some((s) => s.spec.group === id && s.metadata.labels?.['vmsafe.io/address-group'] === id)).toBe(true);

    const term = stack.operator!.term()!;
    const counters = term.ctx.counters;
    const hfBefore = new Map(counters.hostFilterWritesByHost);
    const agBefore = counters.addressGroupWrites;
    const vm = `apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: web-extra, namespace: acme, labels: {app: storefront, env: prod}}
spec:
  tags: [web]
  vnics: [{name: eth0, network: acme-web, ip: 10.10.0.77, mac: "00:50:56:0a:00:4d"}]
`;
    expect((await k.kubectl(['apply', '-f', '-'], { input: vm })).code).toBe(0);
    const running = async () => {
      const v = (await k.json(['get', 'vm', '-n', 'acme', 'web-extra'])) as VM;
      return v.status?.phase === 'Running' && (await settled()) ? v : undefined;
    };
    const v = await waitFor('the new VM to run', running, { describe: describeState });
    // Its address joined shards (one write per group it is in), and every agent sees it there.
    const ip = 0x0a0a004d; // 10.10.0.77
    const after = new Map((await list<HostFilter>('hostfilters')).map((f) => [f.metadata.name, f]));
    const sharedNow = new Set([...after.values()].flatMap((f) => f.spec.addressGroups.filter((g) => g.shared).map((g) => g.id)));
    const groupsWithIt = [...sharedNow].filter((id) => stack.fleet!.groups.sets.membersOf(id).has(ip));
    expect(groupsWithIt.length).toBeGreaterThan(0);
    expect(counters.addressGroupWrites - agBefore).toBe(groupsWithIt.length);
    // Filters that name those groups and changed in nothing else (no binding, no inline group moved)
    // were not rewritten: the shard write carried the change.
    const inlineIds = (f: HostFilter) => f.spec.addressGroups.filter((g) => !g.shared).map((g) => g.id).join();
    const untouched = filters.filter(
      (f) => f.metadata.name !== v.status!.hostName && f.spec.addressGroups.some((g) => groupsWithIt.includes(g.id)) && inlineIds(f) === inlineIds(after.get(f.metadata.name)!),
    );
    expect(untouched.length).toBeGreaterThan(0);
    for (const f of untouched) {
      expect(counters.hostFilterWritesByHost.get(f.metadata.name) ?? 0, f.metadata.name).toBe(hfBefore.get(f.metadata.name) ?? 0);
      expect(after.get(f.metadata.name)!.spec.hash).toBe(f.spec.hash);
    }
    expect(counters.hostFilterWritesByHost.get(v.status!.hostName!)).toBeGreaterThan(hfBefore.get(v.status!.hostName!) ?? 0);
    await k.kubectl(['delete', 'vm', '-n', 'acme', 'web-extra']);
    await waitFor('its address to leave the shared groups', async () => groupsWithIt.every((id) => !stack.fleet!.groups.sets.membersOf(id).has(ip)) && (await settled()), { describe: describeState });
  });

  it('migrates VMs make-before-break when a host loses a required tag', async () => {
    const victims = (await list<VM>('vms')).filter((v) => v.status?.tenant === 'globex' && v.status.phase === 'Running');
    const from = victims[0]!.status!.hostName!;
    const to = from === 'esx-gold-01' ? 'esx-gold-02' : 'esx-gold-01';
    const r = await k.kubectl(['patch', 'host', from, '--type=json', '-p', '[{"op":"replace","path":"/spec/tags","value":["gold"]}]']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('globex VMs to move off the host without pci', async () => {
      const vms = (await list<VM>('vms')).filter((v) => v.status?.tenant === 'globex' && v.spec.powerState !== 'Off');
      return vms.every((v) => v.status?.phase === 'Running' && v.status.hostName === to);
    }, { timeoutMs: 30_000, describe: describeState });
    expect(checker.violations).toEqual([]);
    await k.kubectl(['patch', 'host', from, '--type=json', '-p', '[{"op":"replace","path":"/spec/tags","value":["gold","pci"]}]']);
  });

  it('marks a host with a stopped agent not Ready, places nothing new there, and recovers', async () => {
    await setFaults('esx-silver-02', { stopped: true });
    await waitFor('esx-silver-02 Ready=False', async () => cond((await k.json(['get', 'host', 'esx-silver-02'])) as Host, 'Ready')?.reason === 'AgentLost');
    const vm = `apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: newcomer, namespace: initech}
spec:
  vnics: [{name: eth0, network: initech-lan, ip: 10.30.0.77, mac: "02:00:00:00:07:77"}]
`;
    expect((await k.kubectl(['apply', '-f', '-'], { input: vm })).code).toBe(0);
    const placed = await waitFor('the new VM to run', async () => {
      const v = (await k.json(['get', 'vm', '-n', 'initech', 'newcomer'])) as VM;
      return v.status?.phase === 'Running' ? v : undefined;
    }, { describe: describeState });
    expect(placed.status?.hostName).toBe('esx-silver-01');
    // Nothing runs on the host whose agent is gone (its VMs moved, make-before-break).
    await waitFor('initech VMs off the dead host', async () => (await list<VM>('vms')).every((v) => v.status?.hostName !== 'esx-silver-02' || v.status.phase !== 'Running'));
    await setFaults('esx-silver-02', null);
    await waitFor('esx-silver-02 Ready again and converged', async () => {
      const h = (await k.json(['get', 'host', 'esx-silver-02'])) as Host;
      return cond(h, 'Ready')?.status === 'True' && cond(h, 'FilterConverged')?.status === 'True';
    });
    await k.kubectl(['delete', 'vm', '-n', 'initech', 'newcomer']);
    expect(checker.violations).toEqual([]);
  });

  it('reports apply failures, retries, and converges once the fault stops', async () => {
    const host = (await list<VM>('vms')).find((v) => v.status?.tenant === 'acme' && v.status.phase === 'Running')!.status!.hostName!;
    await setFaults(host, { applyFailureRate: 1 });
    // A rule change that reaches every acme VM's program.
    await k.kubectl(['patch', 'securitypolicy', '-n', 'initech', 'ops-ssh', '--type=json', '-p', '[{"op":"replace","path":"/spec/ingress/0/ports/0/port","value":2200}]']);
    await k.kubectl(['patch', 'securitypolicy', '-n', 'vmsafe-system', 'baseline', '--type=json', '-p', '[{"op":"add","path":"/spec/ingress/-","value":{"name":"probe","action":"Allow","ports":[{"protocol":"TCP","port":9100}]}}]']);
    const failing = await waitFor('the host to report the failure', async () => {
      const h = (await k.json(['get', 'host', host])) as Host;
      return cond(h, 'FilterConverged')?.reason === 'ApplyFailed' ? h : undefined;
    }, { describe: describeState });
    expect(cond(failing, 'FilterConverged')?.status).toBe('False');
    const hf = (await k.json(['get', 'hostfilter', host])) as HostFilter;
    expect(cond(hf, 'Applied')).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
    expect(hf.status?.counters?.applyFailures).toBeGreaterThan(0);
    await setFaults(host, null);
    await waitFor('convergence after the fault', converged, { timeoutMs: 30_000, describe: describeState });
    expect(checker.violations).toEqual([]);
    expect(checker.checks).toBeGreaterThan(10);
  });

  it('writes a new VM once, Running, when its filter lands; Scheduled only while its host cannot apply it', async () => {
    const host = 'esx-gold-02';
    await setFaults(host, { applyFailureRate: 1 });
    const vm = `apiVersion: vmsafe.io/v1alpha1
kind: VM
metadata: {name: pinned-late, namespace: acme}
spec:
  hostName: ${host}
  vnics: [{name: eth0, network: acme-web, ip: 10.10.0.88, mac: "00:50:56:0a:00:58"}]
`;
    const writes: string[] = [];
    const vms = stack.client.kind<VM>('VM');
    const get = (name: string) => vms.get({ namespace: 'acme', name });
    expect((await k.kubectl(['apply', '-f', '-'], { input: vm })).code).toBe(0);
    // Not applied within the grace period: written Scheduled, with the host, not Protected.
    const scheduled = await waitFor('the VM to be reported Scheduled', async () => {
      const v = await get('pinned-late');
      if (v.status?.phase) writes.push(v.status.phase);
      return v.status?.phase === 'Scheduled' ? v : undefined;
    }, { timeoutMs: 20_000, describe: describeState });
    expect(scheduled.status).toMatchObject({ hostName: host, phase: 'Scheduled' });
    expect(cond(scheduled, 'Protected')?.status).toBe('False');
    expect(writes.every((p) => p === 'Scheduled')).toBe(true);
    await setFaults(host, null);
    await waitFor('the VM to run', async () => (await get('pinned-late')).status?.phase === 'Running', { describe: describeState });
    await k.kubectl(['delete', 'vm', '-n', 'acme', 'pinned-late']);

    // A healthy host: the VM's status goes from nothing straight to Running, as every version of it
    // the API server sends a watcher shows.
    await waitFor('convergence with nothing left to write', settled, { timeoutMs: 30_000, describe: describeState });
    const seen = new Informer<VM>({ client: stack.client, resource: kindResource('VM'), namespace: 'acme', fieldSelector: 'metadata.name=pinned-fast', logger: silentLogger });
    const phases: string[] = [];
    seen.on({ add: (v) => phases.push(v.status?.phase ?? ''), update: (_a, v) => phases.push(v.status?.phase ?? '') });
    seen.start();
    expect(await seen.waitForSync(10_000)).toBe(true);
    expect((await k.kubectl(['apply', '-f', '-'], { input: vm.replace('pinned-late', 'pinned-fast').replace('10.10.0.88', '10.10.0.89').replace(':58"', ':59"') })).code).toBe(0);
    await waitFor('the VM to run', () => phases.includes('Running'), { describe: describeState });
    await seen.stop();
    expect(phases.filter((p) => p !== '')[0]).toBe('Running');
    expect(phases).not.toContain('Scheduled');
    await k.kubectl(['delete', 'vm', '-n', 'acme', 'pinned-fast']);
    expect(checker.violations).toEqual([]);
  });

  it('detects injected drift, reports it, and repairs it by re-applying', async () => {
    const host = 'esx-gold-01';
    await setFaults(host, { drift: 1 });
    const hf = await waitFor('the drift to be detected and repaired', async () => {
      const f = (await k.json(['get', 'hostfilter', host])) as HostFilter;
      return (f.status?.counters?.driftsDetected ?? 0) >= 1 && f.status?.appliedHash === f.spec.hash ? f : undefined;
    }, { describe: describeState });
    expect(cond(hf, 'Applied')?.status).toBe('True');
    // The agent enforces the compiled filter again: every binding points at a program it holds.
    const agent = stack.fleet!.agent(host)!;
    const b = hf.spec.bindings[0]!;
    expect(agent.core.classify({ vm: b.vm, vnic: b.vnic, direction: 'ingress', remoteIp: '203.0.113.9', protocol: 'TCP', port: 1 }).rule).not.toBe('unbound');
    await setFaults(host, null);
  });

  it('restarts a crashed agent, which re-reads and re-applies its filter', async () => {
    const host = 'esx-gold-02';
    const before = stack.fleet!.agent(host)!;
    await setFaults(host, { crash: 1, restartDelayMs: 300 });
    await waitFor('a new agent process for the host', () => {
      const a = stack.fleet!.agent(host);
      return a && a !== before && a.core.appliedHash !== undefined ? a : undefined;
    });
    await waitFor('convergence after the crash', converged, { timeoutMs: 30_000, describe: describeState });
    await setFaults(host, null);
    expect(checker.violations).toEqual([]);
  });

  it('warns on a policy that selects nothing', async () => {
    const p = (await k.json(['get', 'securitypolicy', '-n', 'globex-dev', 'dev-lockdown'])) as SecurityPolicy;
    expect(p.status?.warnings).toContain('spec.appliesTo: the policy selects no VM');
  });

  it('vmsafe trace on the same manifests agrees with what the agents enforce', async () => {
    await waitFor('convergence', converged, { timeoutMs: 30_000, describe: describeState });
    const dir = mkdtempSync(join(home, 'trace-'));
    const dump = await k.kubectl(['get', 'tenants,tags,hosts,vms,securitypolicies', '-A', '-o', 'yaml']);
    expect(dump.code, dump.stderr).toBe(0);
    writeFileSync(join(dir, 'all.yaml'), dump.stdout);
    const vms = (await list<VM>('vms')).filter((v) => v.status?.phase === 'Running');
    const probes: { from: string; to: string; protocol: 'TCP' | 'UDP'; port: number }[] = [];
    for (const a of vms)
      for (const b of vms)
        if (a !== b)
          for (const [protocol, port] of [['TCP', 22], ['TCP', 80], ['TCP', 443], ['TCP', 5432], ['TCP', 8080], ['UDP', 53]] as const)
            probes.push({ from: `${a.metadata.namespace}/${a.metadata.name}`, to: `${b.metadata.namespace}/${b.metadata.name}`, protocol, port });
    writeFileSync(join(dir, 'probes.jsonl'), probes.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const out = execFileSync(join(REPO_ROOT, 'bin/vmsafe'), ['trace', '-f', join(dir, 'all.yaml'), '--probes', join(dir, 'probes.jsonl')], { encoding: 'utf8' });
    const verdicts = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(verdicts).toHaveLength(probes.length);
    const byKey = new Map(vms.map((v) => [`${v.metadata.namespace}/${v.metadata.name}`, v]));
    let allowed = 0;
    probes.forEach((p, i) => {
      const src = byKey.get(p.from)!;
      const dst = byKey.get(p.to)!;
      const egress = stack.fleet!.agent(src.status!.hostName!)!.core.classify({
        vm: p.from, vnic: src.spec.vnics[0]!.name, direction: 'egress', remoteIp: dst.spec.vnics[0]!.ip, protocol: p.protocol, port: p.port,
      });
      const ingress = stack.fleet!.agent(dst.status!.hostName!)!.core.classify({
        vm: p.to, vnic: dst.spec.vnics[0]!.name, direction: 'ingress', remoteIp: src.spec.vnics[0]!.ip, protocol: p.protocol, port: p.port,
      });
      const v = verdicts[i];
      expect({ egress: v.egress, ingress: v.ingress }, JSON.stringify(p)).toEqual({ egress, ingress });
      if (v.verdict === 'Allow') allowed++;
    });
    // The matrix is not trivial: some flows pass and some do not.
    expect(allowed).toBeGreaterThan(0);
    expect(allowed).toBeLessThan(probes.length);
  });

  it('creates tenant namespaces and binds the tenant admins there', async () => {
    const rb = await k.json(['get', 'rolebinding', '-n', 'globex-dev', 'vmsafe-tenant-admins']);
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'vmsafe-tenant-admin' });
    expect(rb.subjects).toEqual([
      { kind: 'Group', name: 'globex-secops', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'User', name: 'alice@globex.example', apiGroup: 'rbac.authorization.k8s.io' },
    ]);
    // A new tenant gets its namespace created by the controller.
    const t = 'apiVersion: vmsafe.io/v1alpha1\nkind: Tenant\nmetadata: {name: hooli}\nspec: {placementTags: [silver], admins: [{kind: User, name: gavin@hooli.example}]}\n';
    expect((await k.kubectl(['apply', '-f', '-'], { input: t })).code).toBe(0);
    const ready = await waitFor('tenant hooli Ready with its namespace', async () => {
      const o = await k.json(['get', 'tenant', 'hooli']);
      return cond(o, 'Ready')?.status === 'True' ? o : undefined;
    });
    expect(ready.status.namespaces).toEqual(['hooli']);
    expect((await k.kubectl(['get', 'namespace', 'hooli', '-o', 'jsonpath={.metadata.labels.vmsafe\\.io/tenant}'])).stdout).toBe('hooli');
    await waitFor('the admins binding in the new namespace', async () => (await k.kubectl(['get', 'rolebinding', '-n', 'hooli', 'vmsafe-tenant-admins'])).code === 0);
  });

  it('keeps a deleted Tag while it is in use (finalizer) and reports why', async () => {
    const tag = await k.json(['get', 'tag', 'silver']);
    expect(tag.metadata.finalizers).toContain('vmsafe.io/tag-in-use');
    const del = await k.kubectl(['delete', 'tag', 'silver', '--wait=false']);
    expect(del.code, del.stderr).toBe(0);
    const blocked = await waitFor('the deletion to be blocked', async () => {
      const o = await k.json(['get', 'tag', 'silver']);
      return o.metadata.deletionTimestamp && cond(o, 'InUse')?.reason === 'DeletionBlocked' ? o : undefined;
    });
    expect(cond(blocked, 'InUse')?.status).toBe('True');
    // An unused tag goes away at once.
    expect((await k.kubectl(['apply', '-f', '-'], { input: 'apiVersion: vmsafe.io/v1alpha1\nkind: Tag\nmetadata: {name: unused}\nspec: {}\n' })).code).toBe(0);
    await waitFor('the finalizer on the new tag', async () => ((await k.json(['get', 'tag', 'unused'])).metadata.finalizers ?? []).length > 0);
    expect((await k.kubectl(['delete', 'tag', 'unused', '--timeout=20s'])).code).toBe(0);
  });
});
