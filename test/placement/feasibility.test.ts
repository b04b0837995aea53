import { describe, expect, it } from 'vitest';
import { feasibility, hostState, isFeasible, requiredTags, vmNeeds } from '../../src/placement';
import { host, poolHost, tags, tenant, vm } from './builders';

const TAGS = tags({ 'pool-a': 'Required', pci: 'Required', gold: 'Preferred', web: 'Preferred' });

describe('requiredTags', () => {
  it('is the tenant placementTags plus the VM tags whose Tag is Required', () => {
    const r = requiredTags(vm('v').withTags('web', 'pci', 'gold').build(), tenant('pool-a'), TAGS);
    expect(r).toEqual({ tags: ['pci', 'pool-a'], unknown: [] });
  });

  it('treats an unknown VM tag as Required and reports it', () => {
    const r = requiredTags(vm('v').withTags('pcii', 'web').build(), tenant('pool-a'), TAGS);
    expect(r).toEqual({ tags: ['pcii', 'pool-a'], unknown: ['pcii'] });
  });

  it('keeps a tenant placement tag even when its Tag is only Preferred', () => {
    expect(requiredTags(vm('v').build(), tenant('gold'), TAGS).tags).toEqual(['gold']);
  });

  it('works without a tenant', () => {
    expect(requiredTags(vm('v').withTags('pci').build(), undefined, TAGS).tags).toEqual(['pci']);
  });
});

describe('vmNeeds', () => {
  it('collects distinct networks, vNIC count and the pin', () => {
    const n = vmNeeds(vm('v').vnics('prod', 'backend', 'prod').pinnedTo('h1').build(), tenant('pool-a'), TAGS);
    expect(n).toEqual({ key: 'acme/v', required: ['pool-a'], unknownTags: [], networks: ['backend', 'prod'], vnics: 3, pinnedHost: 'h1' });
  });
});

describe('hostState', () => {
  it('reads readiness from the Ready condition and applies capacity defaults', () => {
    const h = hostState({
      metadata: { name: 'h1' },
      spec: { tags: ['a'], networks: [{ name: 'prod', tags: ['a'] }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(h.ready).toBe(true);
    expect(h.capacity).toEqual({ vms: 320, vnics: 3200 });
    expect([...h.networks.get('prod')!]).toEqual(['a']);
    expect(hostState({ metadata: { name: 'h2' }, spec: {} }).ready).toBe(false);
  });
});

describe('feasibility', () => {
  const needs = (b = vm('v').withTags('pci')) => vmNeeds(b.build(), tenant('pool-a'), TAGS);

  it('accepts a host with the tags, the network and room', () => {
    const h = poolHost('h1', 'pool-a', 'pci').build();
    expect(feasibility(needs(), h)).toEqual({ feasible: true, reasons: [] });
    expect(isFeasible(needs(), h)).toBe(true);
  });

  it.each([
    ['NotReady', poolHost('h1', 'pool-a', 'pci').notReady(), 'host h1 is not Ready'],
    ['Unschedulable', poolHost('h1', 'pool-a', 'pci').cordoned(), 'host h1 is unschedulable (cordoned)'],
    ['MissingTags', host('h1').withTags('pool-a').net('prod', 'pool-a', 'pci'), 'host h1 lacks tags pci'],
    ['MissingNetwork', host('h1').withTags('pool-a', 'pci').net('backend', 'pool-a', 'pci'), 'host h1 has no network prod'],
    ['NetworkTagMismatch', host('h1').withTags('pool-a', 'pci').net('prod', 'pool-a'), 'network prod on host h1 lacks tags pci'],
    ['InsufficientCapacity', poolHost('h1', 'pool-a', 'pci').capacity(2, 20).allocated(2, 2), 'host h1 is full: 2/2 VMs in use'],
  ])('%s', (reason, b, message) => {
    const f = feasibility(needs(), b.build());
    expect(f).toEqual({ feasible: false, reasons: [{ reason, message }] });
    expect(isFeasible(needs(), b.build())).toBe(false);
  });

  it('lists every reason, MissingTags naming all missing tags', () => {
    const f = feasibility(needs(vm('v').withTags('pci').vnics('prod', 'backend')), host('h1').notReady().net('prod').build());
    expect(f.reasons.map((r) => r.reason)).toEqual(['NotReady', 'MissingTags', 'MissingNetwork', 'NetworkTagMismatch']);
    expect(f.reasons[1]!.message).toBe('host h1 lacks tags pci, pool-a');
    expect(f.reasons[3]!.message).toBe('network prod on host h1 lacks tags pci, pool-a');
  });

  it('counts vNIC capacity too', () => {
    const n = needs(vm('v').withTags('pci').vnics('prod', 'prod', 'prod'));
    const f = feasibility(n, poolHost('h1', 'pool-a', 'pci').allocated(10, 3198).build());
    expect(f.reasons).toEqual([{ reason: 'InsufficientCapacity', message: 'host h1 is full: 3198/3200 vNICs in use, the VM needs 3' }]);
  });

  it('does not count a resident VM twice, and ignores cordoning for a VM already there', () => {
    const h = poolHost('h1', 'pool-a', 'pci').capacity(2, 20).allocated(2, 2).cordoned().build();
    expect(isFeasible(needs(), h, { resident: true, ignoreUnschedulable: true })).toBe(true);
    expect(isFeasible(needs(), h, { resident: true })).toBe(false);
  });
});
