import { describe, expect, it } from 'vitest';
import { decode, PROVIDER_NAMESPACE, type VM } from '../../src/api';
import { apportion, generateDatacenter, toYamlStream, type Datacenter, type GenOptions } from '../../src/gen';
import { hostState, isFeasible, matchesTagsAndNetworks, scheduleBatch, vmNeeds, type TagLike } from '../../src/placement';

const SMALL: GenOptions = { hosts: 12, vms: 600, tenants: 40, pools: 3, seed: 7 };
const allObjects = (dc: Datacenter) => [...dc.namespaces, ...dc.tags, ...dc.tenants, ...dc.hosts, ...dc.policies, ...dc.vms];

function placementWorld(dc: Datacenter) {
  const tagsByName = new Map<string, TagLike>(dc.tags.map((t) => [t.metadata.name, t]));
  const tenantByName = new Map(dc.tenants.map((t) => [t.metadata.name, t]));
  const needsOf = (vm: VM) => vmNeeds(vm, tenantByName.get(vm.metadata.namespace!), tagsByName);
  const hosts = dc.hosts.map((h) => hostState(h, { ready: true, allocated: { vms: 0, vnics: 0 } }));
  return { needsOf, hosts };
}

describe('apportion', () => {
  it('gives each share the minimum, then splits the rest in proportion (largest remainder)', () => {
    expect(apportion(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(apportion(7, [2, 1], 1)).toEqual([4, 3]); // 1 + 1 first, then 5 split 2:1
    expect(apportion(0, [1, 1])).toEqual([0, 0]);
  });
});

describe('generateDatacenter', () => {
  it('is deterministic: same seed, same bytes; another seed, other bytes', () => {
    const a = toYamlStream(allObjects(generateDatacenter(SMALL)));
    const b = toYamlStream(allObjects(generateDatacenter(SMALL)));
    const c = toYamlStream(allObjects(generateDatacenter({ ...SMALL, seed: 'other' })));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('produces the asked counts, one namespace per tenant plus the provider namespace', () => {
    const dc = generateDatacenter(SMALL);
    expect(dc.hosts).toHaveLength(12);
    expect(dc.vms).toHaveLength(600);
    expect(dc.tenants).toHaveLength(40);
    expect(dc.namespaces.map((n) => n.metadata.name).sort()).toEqual([PROVIDER_NAMESPACE, ...dc.tenants.map((t) => t.metadata.name)].sort());
    expect(new Set(dc.vms.map((v) => `${v.metadata.namespace}/${v.metadata.name}`)).size).toBe(600);
    const vnics = dc.vms.map((v) => v.spec.vnics.length);
    expect(Math.max(...vnics)).toBeLessThanOrEqual(10);
    expect(vnics.filter((n) => n === 1).length).toBeGreaterThan(600 * 0.5); // most VMs have one vNIC
    expect(vnics.some((n) => n >= 5)).toBe(true);
  });

  it('every object decodes, and equals its decoded form (all defaults present)', () => {
    const dc = generateDatacenter({ ...SMALL, vms: 200, pin: true, policiesPerTenant: 4 });
    for (const obj of [...dc.tags, ...dc.tenants, ...dc.hosts, ...dc.policies, ...dc.vms]) {
      const r = decode(obj);
      if (!r.ok) throw new Error(`${obj.kind} ${obj.metadata.name}: ${JSON.stringify(r.errors)}`);
      expect(r.value).toEqual(obj);
    }
    for (const ns of dc.namespaces) expect(ns).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: expect.any(String) } });
  });

  it('IPs and MACs never collide, and stay in private/shared ranges', () => {
    const dc = generateDatacenter(SMALL);
    const nics = dc.vms.flatMap((v) => v.spec.vnics);
    expect(new Set(nics.map((n) => n.ip)).size).toBe(nics.length);
    expect(new Set(nics.map((n) => n.mac.toLowerCase())).size).toBe(nics.length);
    for (const n of nics) expect(n.ip).toMatch(/^10\./);
  });

  it('policies: provider guardrails and a baseline in the provider namespace; 1-3 per tenant by default, referencing existing tenants', () => {
    const dc = generateDatacenter(SMALL);
    const provider = dc.policies.filter((p) => p.metadata.namespace === PROVIDER_NAMESPACE);
    expect(new Set(provider.map((p) => p.spec.tier))).toEqual(new Set(['Provider', 'Baseline']));
    const perTenant = new Map<string, number>();
    for (const p of dc.policies) {
      if (p.metadata.namespace === PROVIDER_NAMESPACE) continue;
      expect(p.spec.tier).toBe('Tenant');
      perTenant.set(p.metadata.namespace!, (perTenant.get(p.metadata.namespace!) ?? 0) + 1);
    }
    expect([...perTenant.values()].every((n) => n >= 1 && n <= 3)).toBe(true);
    expect(new Set(perTenant.values()).size).toBeGreaterThan(1);
    const tenantNames = new Set(dc.tenants.map((t) => t.metadata.name));
    const referenced = dc.policies.flatMap((p) =>
      [...p.spec.ingress, ...p.spec.egress].flatMap((r) => r.peers.flatMap((peer) => [...(peer.tenants ?? []), ...(peer.vms?.tenants ?? [])])),
    );
    expect(referenced.length).toBeGreaterThan(0);
    for (const t of referenced) expect(tenantNames.has(t)).toBe(true);
    const exact = generateDatacenter({ ...SMALL, policiesPerTenant: 3 });
    expect(exact.policies.length).toBe(provider.length + 3 * 40);
  });

  it('tags: every VM tag and placement tag has a Tag; tenants spread over the pools', () => {
    const dc = generateDatacenter(SMALL);
    const tagNames = new Set(dc.tags.map((t) => t.metadata.name));
    for (const v of dc.vms) for (const t of v.spec.tags) expect(tagNames.has(t)).toBe(true);
    const pools = new Set(dc.tenants.map((t) => t.spec.placementTags[0]));
    expect(pools).toEqual(new Set(['pool-1', 'pool-2', 'pool-3']));
    for (const t of dc.tenants) expect(tagNames.has(t.spec.placementTags[0]!)).toBe(true);
    expect(dc.tags.some((t) => t.spec.enforcement === 'Preferred')).toBe(true);
    expect(dc.vms.some((v) => v.spec.tags.includes('pci'))).toBe(true);
  });

  it('unpinned: the scheduler finds a feasible host for every VM', () => {
    const dc = generateDatacenter(SMALL);
    expect(dc.vms.every((v) => v.spec.hostName === undefined)).toBe(true);
    const { needsOf, hosts } = placementWorld(dc);
    const r = scheduleBatch(dc.vms.map((v) => ({ needs: needsOf(v) })), hosts);
    expect(r.unschedulable).toBe(0);
    // pci VMs need pci hosts and networks: placement really was constrained.
    const pciVm = dc.vms.find((v) => v.spec.tags.includes('pci'))!;
    expect(hosts.filter((h) => isFeasible(needsOf(pciVm), h)).length).toBeLessThan(hosts.length);
  });

  it('--pin: every VM is pinned to a feasible host, within capacity', () => {
    const dc = generateDatacenter({ ...SMALL, pin: true });
    const { needsOf, hosts } = placementWorld(dc);
    const byName = new Map(hosts.map((h) => [h.name, h]));
    for (const v of dc.vms) {
      const h = byName.get(v.spec.hostName!)!;
      expect(matchesTagsAndNetworks(needsOf(v), h)).toBe(true);
      h.allocated.vms++;
      h.allocated.vnics += v.spec.vnics.length;
    }
    for (const h of hosts) {
      expect(h.allocated.vms).toBeLessThanOrEqual(h.capacity.vms);
      expect(h.allocated.vnics).toBeLessThanOrEqual(h.capacity.vnics);
    }
  });

  it('--pin fills hosts exactly at full capacity with uniform vNICs (the 320 x 10 layout)', () => {
    const dc = generateDatacenter({ hosts: 4, vms: 1280, tenants: 10, pools: 2, vnicsPerVm: 10, uniformVnics: true, pin: true });
    const perHost = new Map<string, number>();
    for (const v of dc.vms) perHost.set(v.spec.hostName!, (perHost.get(v.spec.hostName!) ?? 0) + 1);
    expect([...perHost.values()]).toEqual([320, 320, 320, 320]);
    expect(dc.vms.every((v) => v.spec.vnics.length === 10)).toBe(true);
  });

  it('--pin refuses a datacenter that cannot hold its VMs', () => {
    expect(() => generateDatacenter({ hosts: 1, vms: 321, tenants: 1, pin: true })).toThrow(/cannot hold/);
  });

  it('rejects bad options', () => {
    expect(() => generateDatacenter({ hosts: 0, vms: 1, tenants: 1 })).toThrow('hosts must be an integer from 1, got 0');
    expect(() => generateDatacenter({ hosts: 1, vms: 1, tenants: 1, vnicsPerVm: 11 })).toThrow(/vnicsPerVm/);
  });

  it('vmworld scale (40,000 VMs, 512 hosts, 40,000 tenants) in memory: fast, unique addresses', () => {
    const t0 = performance.now();
    const dc = generateDatacenter({ hosts: 512, vms: 40_000, tenants: 40_000 });
    const ms = performance.now() - t0;
    console.log(`generateDatacenter 512/40,000/40,000: ${ms.toFixed(0)} ms`);
    expect(dc.vms).toHaveLength(40_000);
    const ips = new Set<string>();
    let n = 0;
    for (const v of dc.vms)
      for (const nic of v.spec.vnics) {
        ips.add(nic.ip);
        n++;
      }
    expect(ips.size).toBe(n);
    expect(ms).toBeLessThan(15_000);
  });
});
