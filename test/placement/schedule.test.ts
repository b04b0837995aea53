import { describe, expect, it } from 'vitest';
import { formatUnschedulable, matchesTagsAndNetworks, schedule, scheduleBatch, vmNeeds, type HostState, type VmNeeds } from '../../src/placement';
import { host, poolHost, tags, tenant, vm } from './builders';

const TAGS = tags({ 'pool-a': 'Required', 'pool-b': 'Required', pci: 'Required' });
const needsOf = (b = vm('v'), t = tenant('pool-a')) => vmNeeds(b.build(), t, TAGS);

describe('schedule', () => {
  it('prefers a host that already carries the VM program over a less allocated one', () => {
    const hosts = [poolHost('h1', 'pool-a').allocated(100, 100).build(), poolHost('h2', 'pool-a').build()];
    const programs = new Map([['h1', new Set(['p-1'])]]);
    const r = schedule(needsOf(), hosts, { programKey: 'p-1', programsOn: (h) => programs.get(h) });
    expect(r).toEqual({ host: 'h1' });
    expect(schedule(needsOf(), hosts, { programKey: 'p-1', programsOn: (h) => programs.get(h), policyAffinity: false })).toEqual({ host: 'h2' });
  });

  it('then the least allocated by VMs fraction, then vNICs fraction, then name', () => {
    const a = poolHost('a', 'pool-a').allocated(10, 10).build();
    const b = poolHost('b', 'pool-a').capacity(640, 6400).allocated(10, 10).build();
    expect(schedule(needsOf(), [a, b])).toEqual({ host: 'b' });
    const c = poolHost('c', 'pool-a').allocated(10, 50).build();
    const d = poolHost('d', 'pool-a').allocated(10, 20).build();
    expect(schedule(needsOf(), [c, d])).toEqual({ host: 'd' });
    const e = poolHost('e', 'pool-a').build();
    const f = poolHost('f', 'pool-a').build();
    expect(schedule(needsOf(), [f, e])).toEqual({ host: 'e' });
  });

  it('never picks an infeasible or excluded host', () => {
    const hosts = [poolHost('h1', 'pool-b').build(), poolHost('h2', 'pool-a').build(), poolHost('h3', 'pool-a').build()];
    expect(schedule(needsOf(), hosts, { exclude: 'h2' })).toEqual({ host: 'h3' });
  });

  it('aggregates reasons like kube-scheduler when nothing fits', () => {
    const hosts = [
      poolHost('h1', 'pool-b').build(),
      poolHost('h2', 'pool-b').build(),
      poolHost('h3', 'pool-a').capacity(1, 10).allocated(1, 1).build(),
    ];
    const r = schedule(needsOf(), hosts);
    expect(r).toEqual({
      unschedulable: {
        reason: 'Unschedulable',
        message: '0/3 hosts are available: 2 MissingTags, 2 NetworkTagMismatch, 1 InsufficientCapacity.',
        counts: { MissingTags: 2, NetworkTagMismatch: 2, InsufficientCapacity: 1 },
      },
    });
  });

  it('reports unknown tags and an empty datacenter', () => {
    expect(formatUnschedulable(0, {}, ['pcii'])).toBe(
      '0/0 hosts are available: there are no hosts. Tags with no Tag object, treated as Required: pcii.',
    );
  });
});

describe('scheduleBatch', () => {
  it('updates allocations as it goes and never exceeds capacity', () => {
    const hosts = [poolHost('h1', 'pool-a').capacity(2, 20).build(), poolHost('h2', 'pool-a').capacity(2, 20).build()];
    const items = [1, 2, 3, 4, 5].map((i) => ({ needs: needsOf(vm(`v${i}`)) }));
    const r = scheduleBatch(items, hosts);
    expect(r.results.slice(0, 4).map((x) => ('host' in x ? x.host : '-')).sort()).toEqual(['h1', 'h1', 'h2', 'h2']);
    expect(r.results[4]).toMatchObject({ unschedulable: { message: '0/2 hosts are available: 2 InsufficientCapacity.' } });
    expect(r.allocated.get('h1')).toEqual({ vms: 2, vnics: 2 });
    expect(r).toMatchObject({ placed: 4, unschedulable: 1 });
    expect(hosts[0]!.allocated).toEqual({ vms: 0, vnics: 0 });
  });

  it('places the most constrained VMs first so scarce hosts stay available to them', () => {
    const hosts = [poolHost('h1', 'pool-a', 'pci').capacity(1, 10).build(), poolHost('h2', 'pool-a').capacity(1, 10).build()];
    // Input order would put the unconstrained VM on h1 (name order), starving the pci VM.
    const items = [{ needs: needsOf(vm('any')) }, { needs: needsOf(vm('card').withTags('pci')) }];
    const r = scheduleBatch(items, hosts);
    expect(r.results).toEqual([{ host: 'h2' }, { host: 'h1' }]);
  });

  it('packs VMs of one program together (policy affinity) and records programs per host', () => {
    const hosts = ['h1', 'h2', 'h3'].map((n) => poolHost(n, 'pool-a').build());
    const items = ['a', 'b', 'a', 'b', 'a'].map((p, i) => ({ needs: needsOf(vm(`v${i}`)), programKey: `p-${p}` }));
    const r = scheduleBatch(items, hosts);
    const hostOf = (i: number) => (r.results[i] as { host: string }).host;
    expect(hostOf(2)).toBe(hostOf(0));
    expect(hostOf(4)).toBe(hostOf(0));
    expect(hostOf(3)).toBe(hostOf(1));
    expect(hostOf(1)).not.toBe(hostOf(0));
    expect(r.programsByHost.get(hostOf(0))).toEqual(new Set(['p-a']));
    const spread = scheduleBatch(items, hosts, { policyAffinity: false });
    expect(new Set(spread.results.map((x) => (x as { host: string }).host)).size).toBe(3);
  });

  it('uses resident programs from the context', () => {
    const hosts = [poolHost('h1', 'pool-a').allocated(50, 50).build(), poolHost('h2', 'pool-a').build()];
    const r = scheduleBatch([{ needs: needsOf(), programKey: 'p-x' }], hosts, { programsOn: (h) => (h === 'h1' ? ['p-x'] : []) });
    expect(r.results).toEqual([{ host: 'h1' }]);
  });

  it('binds a pinned VM to its host when feasible and explains when not', () => {
    const hosts = [poolHost('h1', 'pool-a').cordoned().build(), poolHost('h2', 'pool-b').build()];
    const r = scheduleBatch(
      [{ needs: needsOf(vm('p1').pinnedTo('h1')) }, { needs: needsOf(vm('p2').pinnedTo('h2')) }, { needs: needsOf(vm('p3').pinnedTo('nope')) }],
      hosts,
    );
    expect(r.results[0]).toEqual({ host: 'h1' });
    expect(r.results[1]).toMatchObject({ unschedulable: { message: 'host h2 lacks tags pool-a; network prod on host h2 lacks tags pool-a' } });
    expect(r.results[2]).toMatchObject({ unschedulable: { message: 'pinned host nope does not exist' } });
  });

  it('skips hosts that are not Ready or cordoned', () => {
    const hosts = [poolHost('h1', 'pool-a').notReady().build(), poolHost('h2', 'pool-a').cordoned().build(), host('h3').build()];
    const r = scheduleBatch([{ needs: needsOf() }], hosts);
    expect(r.results[0]).toMatchObject({
      unschedulable: { message: '0/3 hosts are available: 1 MissingNetwork, 1 MissingTags, 1 NotReady, 1 Unschedulable.' },
    });
  });

  it('places 40,000 VMs on 512 hosts in 8 pools quickly, all feasible and within capacity', () => {
    const pools = 8;
    const hosts: HostState[] = [];
    for (let i = 0; i < 512; i++) {
      const pool = `pool-${i % pools}`;
      const b = i % 4 === 0 ? host(`h${i}`).withTags(pool, 'pci').net('prod', pool, 'pci') : host(`h${i}`).withTags(pool).net('prod', pool);
      hosts.push(b.net('backend', pool, 'pci').build());
    }
    const items: { needs: VmNeeds; programKey: string }[] = [];
    for (let i = 0; i < 40_000; i++) {
      const required = i % 20 === 0 ? ['pci', `pool-${i % pools}`] : [`pool-${i % pools}`];
      const multi = i % 7 === 0;
      const needs: VmNeeds = { key: `t${i}/v${i}`, required, unknownTags: [], networks: multi ? ['backend', 'prod'] : ['prod'], vnics: multi ? 3 : 1 };
      items.push({ needs, programKey: `p-${i % 5000}` });
    }
    const t0 = performance.now();
    const r = scheduleBatch(items, hosts);
    const ms = performance.now() - t0;
    console.log(`scheduleBatch: 40,000 VMs on 512 hosts in ${ms.toFixed(0)} ms`);
    expect(r.placed).toBe(40_000);
    const byName = new Map(hosts.map((h) => [h.name, h]));
    const bad = r.results.filter((res, i) => !matchesTagsAndNetworks(items[i]!.needs, byName.get((res as { host: string }).host)!));
    expect(bad).toEqual([]);
    for (const [name, a] of r.allocated) expect(a.vms).toBeLessThanOrEqual(byName.get(name)!.capacity.vms);
    // Generous bound: the machine is shared; measured figure is printed above.
    expect(ms).toBeLessThan(10_000);
  });
});
