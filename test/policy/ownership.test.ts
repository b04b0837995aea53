// Ownership (issue 12) as pure functions: namespaces (first claimant keeps), address blocks
// (overlaps), vNIC addresses (inside the tenant's blocks, first binder keeps).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tenant, VM } from '../../src/api';
import { PROVIDER_NAMESPACE } from '../../src/api';
import { addressOwnership, blockOverlaps, namespaceOwnership, vnicKey } from '../../src/policy/ownership';
import { tenant, vm } from './builders';

const at = <T extends Tenant | VM>(o: T, ts?: string): T => ({ ...o, metadata: { ...o.metadata, ...(ts ? { creationTimestamp: ts } : {}) } });
const withBlocks = (t: Tenant, ...addressBlocks: string[]): Tenant => ({ ...t, spec: { ...t.spec, addressBlocks } });
const T1 = '2026-01-01T00:00:00Z';
const T2 = '2026-01-02T00:00:00Z';

describe('namespaceOwnership', () => {
  it('the first Tenant by creation keeps a namespace, not the first by name (the aaa-hijack attack)', () => {
    const acme = at(tenant('acme'), T1);
    const hijack = at(tenant('aaa-hijack', ['acme']), T2);
    const r = namespaceOwnership([hijack, acme], PROVIDER_NAMESPACE);
    expect(r.owners.get('acme')).toBe('acme');
    expect(r.conflicts).toEqual([{ tenant: 'aaa-hijack', namespace: 'acme', owner: 'acme' }]);
  });
  it('without timestamps (offline manifests) name order decides; a timestamped tenant precedes one without', () => {
    expect(namespaceOwnership([tenant('b', ['x']), tenant('a', ['x'])], PROVIDER_NAMESPACE).owners.get('x')).toBe('a');
    expect(namespaceOwnership([at(tenant('b', ['x']), T2), tenant('a', ['x'])], PROVIDER_NAMESPACE).owners.get('x')).toBe('b');
  });
  it('no tenant owns the provider namespace', () => {
    expect(namespaceOwnership([tenant('evil', [PROVIDER_NAMESPACE])], PROVIDER_NAMESPACE).owners.has(PROVIDER_NAMESPACE)).toBe(false);
  });
  it('property: each namespace has exactly one owner, the earliest claimant, whatever the input order', () => {
    const arb = fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), ns: fc.subarray(['x', 'y', 'z'], { minLength: 1 }), day: fc.integer({ min: 1, max: 9 }) }), { maxLength: 6 })
      .map((ts) => ts.filter((t, i) => ts.findIndex((u) => u.name === t.name) === i).map((t) => at(tenant(t.name, t.ns), `2026-01-0${t.day}T00:00:00Z`)));
    fc.assert(
      fc.property(arb, (ts) => {
        const r = namespaceOwnership(ts, PROVIDER_NAMESPACE);
        expect(namespaceOwnership([...ts].reverse(), PROVIDER_NAMESPACE)).toEqual({ owners: r.owners, conflicts: expect.anything() });
        for (const [ns, owner] of r.owners) {
          const claimants = ts.filter((t) => t.spec.namespaces!.includes(ns));
          const first = claimants.sort((a, b) => a.metadata.creationTimestamp!.localeCompare(b.metadata.creationTimestamp!) || a.metadata.name.localeCompare(b.metadata.name))[0]!;
          expect(owner).toBe(first.metadata.name);
          expect(r.conflicts.filter((c) => c.namespace === ns).length).toBe(claimants.length - 1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('blockOverlaps', () => {
  it('reports blocks of different tenants that share an address, on the later tenant', () => {
    const acme = at(withBlocks(tenant('acme'), '10.10.0.0/16'), T1);
    const initech = at(withBlocks(tenant('initech'), '10.30.0.0/16', '10.10.4.0/24'), T2);
    expect(blockOverlaps([initech, acme])).toEqual([
      { tenant: 'initech', index: 1, block: '10.10.4.0/24', otherTenant: 'acme', otherIndex: 0, otherBlock: '10.10.0.0/16' },
    ]);
    // Adjacent blocks and a tenant's own overlapping blocks are no overlap between tenants.
    expect(blockOverlaps([withBlocks(tenant('a'), '10.0.0.0/24', '10.0.0.0/25'), withBlocks(tenant('b'), '10.0.1.0/24')])).toEqual([]);
  });

  it('property: the same overlaps, in the same order, as comparing every pair of blocks', () => {
    const cidr = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.constantFrom(21, 22, 23, 24)).map(([n, len]) => `10.0.${n}.0/${len}`);
    const start = (b: string) => { const [ip, len] = b.split('/'); const n = Number(ip!.split('.')[2]) * 256; const size = 2 ** (32 - Number(len)); return [n - (n % size), n - (n % size) + size - 1] as const; };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.array(cidr, { maxLength: 3 })), { maxLength: 6 }), (specs) => {
        const ts = specs.map(([name, blocks]) => withBlocks(tenant(name), ...blocks));
        // The definition: each block against every block of another tenant claimed before it.
        const seen: { tenant: string; index: number; block: string }[] = [];
        const want: object[] = [];
        for (const t of [...ts].sort((x, y) => (x.metadata.name < y.metadata.name ? -1 : x.metadata.name > y.metadata.name ? 1 : 0)))
          (t.spec.addressBlocks ?? []).forEach((block, index) => {
            const [lo, hi] = start(block);
            for (const o of seen) {
              const [olo, ohi] = start(o.block);
              if (o.tenant !== t.metadata.name && lo <= ohi && olo <= hi)
                want.push({ tenant: t.metadata.name, index, block, otherTenant: o.tenant, otherIndex: o.index, otherBlock: o.block });
            }
            seen.push({ tenant: t.metadata.name, index, block });
          });
        expect(blockOverlaps(ts)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});

describe('addressOwnership', () => {
  const acme = at(withBlocks(tenant('acme'), '10.10.0.0/16'), T1);
  const initech = at(withBlocks(tenant('initech'), '10.30.0.0/16'), T1);
  const legacy = at(tenant('legacy'), T1);
  const tenants = [acme, initech, legacy];
  const owner = (ns: string) => (['acme', 'initech', 'legacy'].includes(ns) ? ns : null);
  const web1 = at(vm('web-1').inTenant('acme').withIps('10.10.0.11').build(), T1);

  it.each([
    ['inside its blocks', at(vm('a').inTenant('acme').withIps('10.10.0.12').build(), T2), null],
    ['address theft: initech VM with acme\'s 10.10.0.11', at(vm('thief').inTenant('initech').withIps('10.10.0.11').build(), T1),
      { reason: 'AddressNotOwned', message: '10.10.0.11 is outside Tenant "initech"\'s addressBlocks (10.30.0.0/16)' }],
    ['second binder inside the blocks', at(vm('dup').inTenant('acme').withIps('10.10.0.11').build(), T2),
      { reason: 'AddressConflict', message: '10.10.0.11 is already bound by acme/web-1 (eth0)' }],
    ['a tenant without blocks may not take an owned address', at(vm('old').inTenant('legacy').withIps('10.10.0.11').build(), T1),
      { reason: 'AddressNotOwned', message: '10.10.0.11 is inside Tenant "acme"\'s addressBlock 10.10.0.0/16' }],
    ['a tenant without blocks may use an unowned address', at(vm('old').inTenant('legacy').withIps('192.168.0.5').build(), T1), null],
    ['a VM in a namespace no tenant owns owns nothing', at(vm('stray').inTenant('nobody').withIps('10.10.0.99').build(), T1),
      { reason: 'AddressNotOwned', message: '10.10.0.99: namespace "nobody" belongs to no Tenant' }],
  ])('%s', (_what, other, want) => {
    const r = addressOwnership(tenants, [other, web1], owner);
    const key = vnicKey(`${other.metadata.namespace}/${other.metadata.name}`, 'eth0');
    expect(r.refused.get(key) ?? null).toEqual(want === null ? null : expect.objectContaining(want));
    // The rightful holder keeps 10.10.0.11 in every case.
    expect(r.holders.get('10.10.0.11')).toEqual({ vm: 'acme/web-1', vnic: 'eth0' });
  });

  it('the first binder by creation keeps it, even when it sorts later by name', () => {
    const older = at(vm('zz').inTenant('acme').withIps('10.10.0.7').build(), T1);
    const newer = at(vm('aa').inTenant('acme').withIps('10.10.0.7').build(), T2);
    const r = addressOwnership(tenants, [newer, older], owner);
    expect(r.holders.get('10.10.0.7')).toEqual({ vm: 'acme/zz', vnic: 'eth0' });
    expect(r.refused.get(vnicKey('acme/aa', 'eth0'))?.reason).toBe('AddressConflict');
  });

  it('property: at most one holder per address, holders inside their blocks, order-independent; a thief never displaces anyone', () => {
    const ips = ['10.10.0.1', '10.10.0.2', '10.30.0.1', '192.168.0.1'];
    const vmArb = fc.record({ ns: fc.constantFrom('acme', 'initech', 'legacy', 'nobody'), ips: fc.uniqueArray(fc.constantFrom(...ips), { minLength: 1, maxLength: 2 }), day: fc.integer({ min: 1, max: 9 }) });
    fc.assert(
      fc.property(fc.array(vmArb, { maxLength: 6 }), vmArb, (specs, thiefSpec) => {
        const vms = specs.map((s, i) => at(vm(`v${i}`).inTenant(s.ns).withIps(...s.ips).build(), `2026-01-0${s.day}T00:00:00Z`));
        const r = addressOwnership(tenants, vms, owner);
        expect(addressOwnership(tenants, [...vms].reverse(), owner)).toEqual(r);
        const bound = vms.flatMap((v) => v.spec.vnics.map((n) => ({ vm: `${v.metadata.namespace}/${v.metadata.name}`, n })))
          .filter(({ vm: k, n }) => !r.refused.has(vnicKey(k, n.name)));
        expect(new Set(bound.map((b) => b.n.ip)).size).toBe(bound.length);
        for (const b of bound) {
          const ns = b.vm.split('/')[0]!;
          if (ns === 'acme') expect(b.n.ip.startsWith('10.10.')).toBe(true);
          if (ns === 'initech') expect(b.n.ip.startsWith('10.30.')).toBe(true);
          if (ns === 'legacy') expect(b.n.ip).toBe('192.168.0.1');
          expect(ns).not.toBe('nobody');
        }
        // A VM created last that fails the block test changes nobody else's binding.
        const thief = at(vm('thief').inTenant(thiefSpec.ns).withIps(...thiefSpec.ips).build(), '2026-02-01T00:00:00Z');
        const r2 = addressOwnership(tenants, [...vms, thief], owner);
        for (const [ip, h] of r.holders) expect(r2.holders.get(ip)).toEqual(h);
      }),
      { numRuns: 300 },
    );
  });
  it('property: a tenant without blocks is refused an address with the first block (tenant name, then block order) that holds it, overlapping blocks too', () => {
    // The indexed lookup (ownership.ts blockIndex) against a scan of every tenant's blocks in order; the
    // tenants are listed in reverse, as the answer must not depend on the order they are given in.
    const cidr = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom(22, 23, 24, 25, 26)).map(([n, len]) => `10.0.${n}.0/${len}`);
    fc.assert(
      fc.property(fc.array(fc.array(cidr, { maxLength: 3 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 1023 }), (blocks, host) => {
        const owners = blocks.map((b, i) => withBlocks(tenant(`t${i}`), ...b));
        const ip = `10.0.${host >> 8}.${host & 255}`;
        const r = addressOwnership([...owners].reverse().concat(tenant('legacy')), [vm('old').inTenant('legacy').withIps(ip).build()], (ns) => ns);
        const n = host; // offset from 10.0.0.0
        let want: string | null = null;
        for (const t of owners) {
          for (const b of t.spec.addressBlocks ?? []) {
            const [base, len] = b.split('/');
            const start = Number(base!.split('.')[2]) * 256;
            const size = 2 ** (32 - Number(len));
            const lo = start - (start % size);
            if (n >= lo && n < lo + size) {
              want = `${ip} is inside Tenant "${t.metadata.name}"'s addressBlock ${b}`;
              break;
            }
          }
          if (want) break;
        }
        expect(r.refused.get(vnicKey('legacy/old', 'eth0'))?.message ?? null).toBe(want);
      }),
      { numRuns: 300 },
    );
  });
});
