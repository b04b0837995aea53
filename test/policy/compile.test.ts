// The compiler: dedup across vNICs and hosts, deterministic bytes, incremental = full recompile.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Host, HostFilterSpec, SecurityPolicy, Tenant, VM } from '../../src/api';
import { hostFilterSpec } from '../../src/api';
import { PolicyCompiler, compileHostFilters, type Change } from '../../src/policy/compile';
import { caseArb } from './arbitraries';
import { host, policy, providerPolicy, tenant, vm } from './builders';

const ip = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** `count` VMs of one tenant with `nics` vNICs each, spread round-robin over `hosts` hosts. */
function fleet(ns: string, count: number, nics: number, hosts: number, firstIp = 0): VM[] {
  const out: VM[] = [];
  for (let i = 0; i < count; i++) {
    const b = vm(`vm-${i}`).inTenant(ns).onHost(`h${i % hosts}`);
    for (let k = 0; k < nics; k++) b.withIps(ip(firstIp + i * nics + k));
    out.push(b.build());
  }
  return out;
}

const web = policy('acme', 'web', { ingress: [{ name: 'http', action: 'Allow', ports: [{ protocol: 'TCP', port: 80 }] }] });

describe('dedup', () => {
  it('3,200 vNICs on one host sharing one policy set compile to one program', () => {
    const c = PolicyCompiler.compileAll([tenant('acme'), host('h0'), web, ...fleet('acme', 320, 10, 1)]);
    const spec = c.spec('h0')!;
    expect(spec.bindings).toHaveLength(3200);
    expect(spec.programs).toHaveLength(1);
    expect(new Set(spec.bindings.map((b) => b.program))).toEqual(new Set([spec.programs[0]!.id]));
    expect(c.stats().programBuilds).toBe(1);
    // The whole filter, serialized, stays far below the API server's 1.5 MiB request limit.
    expect(JSON.stringify(spec).length).toBeLessThan(1024 * 1024);
    expect(hostFilterSpec.safeParse(spec).success).toBe(true);
  });

  it('one policy shared by 40,000 vNICs on 512 hosts is compiled once, one program per host', () => {
    const hosts = Array.from({ length: 512 }, (_, i) => host(`h${i}`));
    const c = PolicyCompiler.compileAll([tenant('acme'), ...hosts, web, ...fleet('acme', 4000, 10, 512)]);
    expect(c.stats()).toMatchObject({ programBuilds: 1, programs: 1, hosts: 512, bindings: 40_000 });
    const first = c.spec('h0')!.programs[0]!;
    for (const h of hosts) {
      const spec = c.spec(h.metadata.name)!;
      expect(spec.programs).toHaveLength(1);
      expect(spec.programs[0]).toBe(first); // the same object: built once, shared by every host
    }
  });

  it('stores identical address groups once per host', () => {
    // Two peers that resolve to the same VMs (tenant b's VMs, tagged "db", are all of tenant b).
    const p = policy('a', 'to-b', {
      egress: [
        { name: 'by-tenant', action: 'Allow', peers: [{ tenants: ['b'] }] },
        { name: 'by-tag', action: 'Allow', peers: [{ vms: { tags: ['db'], tenants: ['b'] } }] },
      ],
    });
    const b1 = vm('db1').inTenant('b').withTags('db').onHost('h0').withIps('10.1.0.1').build();
    const a1 = vm('app').inTenant('a').onHost('h0').withIps('10.2.0.1').build();
    const spec = PolicyCompiler.compileAll([tenant('a'), tenant('b'), host('h0'), p, a1, b1]).spec('h0')!;
    const rules = spec.programs.find((x) => x.egress.some((r) => r.rule === 'by-tag'))!.egress;
    expect(rules[0]!.peers[0]!.group).toBe(rules[1]!.peers[0]!.group);
    expect(new Set(spec.addressGroups.map((g) => g.id)).size).toBe(spec.addressGroups.length);
  });

  it('writes consecutive addresses as CIDR blocks', () => {
    const spec = PolicyCompiler.compileAll([tenant('acme'), host('h0'), ...fleet('acme', 4, 4, 1, 0x000100)]).spec('h0')!;
    // 16 consecutive addresses 10.0.1.0-15: one /28.
    expect(spec.addressGroups.map((g) => g.addresses)).toEqual([['10.0.1.0/28']]);
  });
});

describe('determinism', () => {
  it('the same objects in any order give the same bytes', () => {
    fc.assert(
      fc.property(caseArb, fc.integer(), ({ world }, seed) => {
        const objs = [...world.tenants, ...world.hosts, ...world.vms, ...world.policies];
        const shuffled = [...objs].sort((x, y) => ((JSON.stringify(x).length * 31 + seed) % 7) - ((JSON.stringify(y).length * 31 + seed) % 7));
        const a = JSON.stringify([...compileHostFilters(objs)].sort());
        const b = JSON.stringify([...compileHostFilters(shuffled)].sort());
        expect(b).toBe(a);
      }),
      { numRuns: 100 },
    );
  });
});

// ------------------------------------------------------------------ incremental
type Obj = Tenant | Host | VM | SecurityPolicy;
const keyOf = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('incremental compile', () => {
  it('returns exactly the hosts whose filter changed, and ends where a full compile ends', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('upsert' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('tenant' as const), variant: fc.integer({ min: 0, max: 3 }) }),
    );
    fc.assert(
      fc.property(caseArb, caseArb, fc.array(step, { minLength: 1, maxLength: 8 }), (a, b, steps) => {
        const current = new Map<string, Obj>();
        for (const o of [...a.world.tenants, ...a.world.hosts, ...a.world.vms, ...a.world.policies]) current.set(keyOf(o), o);
        const c = PolicyCompiler.compileAll(current.values());
        const pool: Obj[] = [...b.world.vms, ...b.world.policies, ...b.world.hosts, host('h9')];
        c.drainSpanChanges();
        const spanText = (sp: { vms: number; vnics: number; hosts: Set<string> }) => JSON.stringify([sp.vms, sp.vnics, [...sp.hosts].sort()]);
        for (const s of steps) {
          const before = new Map(compileHostFilters(current.values()));
          const spansBefore = new Map([...c.inventory.policies.keys()].map((k) => [k, c.policySpan(k)]));
          const changes: Change[] = [];
          if (s.op === 'upsert') {
            const o = pool[s.pick % pool.length]!;
            current.set(keyOf(o), o);
            changes.push({ op: 'upsert', object: o });
          } else if (s.op === 'delete') {
            const all = [...current.values()];
            const o = all[s.pick % all.length]!;
            current.delete(keyOf(o));
            changes.push({ op: 'delete', kind: o.kind as 'VM', name: o.metadata.name, namespace: o.metadata.namespace });
          } else {
            const t = [tenant('t2', ['t2']), tenant('t1', ['t1', 't2b']), tenant('t0', ['t0', 'orphan']), tenant('t2', ['t2', 't2b'])][s.variant]!;
            current.set(keyOf(t), t);
            changes.push({ op: 'upsert', object: t });
          }
          const updates = c.apply(changes);
          const after = compileHostFilters(current.values());
          // The compiler's state is exactly a full compile of the same objects…
          expect(JSON.stringify([...c.specs()].sort())).toBe(JSON.stringify([...after].sort()));
          // …and it reported exactly the hosts whose filter differs from before.
          const changed = [...new Set([...before.keys(), ...after.keys()])]
            .filter((h) => before.get(h)?.hash !== after.get(h)?.hash)
            .sort();
          expect(updates.map((u) => u.host)).toEqual(changed);
          for (const u of updates) expect(u.spec as HostFilterSpec | null).toEqual(after.get(u.host) ?? null);
          // Policy spans, kept incrementally, equal a scan of the policy's programs and VMs, and every
          // policy whose span moved is reported (its status reports the span).
          const moved = new Set(c.drainSpanChanges());
          for (const key of new Set([...c.inventory.policies.keys(), ...spansBefore.keys()])) {
            expect(c.policySpan(key), key).toEqual(c.policySpanByScan(key));
            if (spanText(spansBefore.get(key) ?? c.policySpan('')) !== spanText(c.policySpan(key))) expect(moved.has(key), key).toBe(true);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('with shared groups: reports exactly the AddressGroup shards that changed, ends where a full compile ends', () => {
    const opts = { sharedGroupMinAddresses: 1 };
    const full = (objs: Iterable<Obj>) => PolicyCompiler.compileAll(objs, opts);
    const step = fc.oneof(
      fc.record({ op: fc.constant('upsert' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
    );
    let changedShards = 0;
    fc.assert(
      fc.property(caseArb, caseArb, fc.array(step, { minLength: 1, maxLength: 8 }), (a, b, steps) => {
        const current = new Map<string, Obj>();
        for (const o of [...a.world.tenants, ...a.world.hosts, ...a.world.vms, ...a.world.policies]) current.set(keyOf(o), o);
        const c = full(current.values());
        c.drainShardChanges();
        const pool: Obj[] = [...b.world.vms, ...b.world.policies, ...b.world.hosts];
        for (const s of steps) {
          const before = new Map(c.shards());
          const all = [...current.values()];
          const o = s.op === 'upsert' ? pool[s.pick % pool.length]! : all[s.pick % all.length]!;
          if (s.op === 'upsert') current.set(keyOf(o), o);
          else current.delete(keyOf(o));
          c.apply([s.op === 'upsert' ? { op: 'upsert', object: o } : { op: 'delete', kind: o.kind as 'VM', name: o.metadata.name, namespace: o.metadata.namespace }]);
          const after = full(current.values());
          expect(JSON.stringify([...c.specs()].sort())).toBe(JSON.stringify([...after.specs()].sort()));
          expect(new Map(c.shards())).toEqual(new Map(after.shards()));
          const diff = [...new Set([...before.keys(), ...after.shards().keys()])]
            .filter((n) => JSON.stringify(before.get(n)) !== JSON.stringify(after.shard(n)))
            .sort();
          expect(c.drainShardChanges()).toEqual(diff);
          changedShards += diff.length;
          // Every shared group a filter names has its members in shards, each inside its /16.
          for (const spec of c.specs().values())
            for (const g of spec.addressGroups.filter((x) => x.shared))
              for (const n of c.shardNamesOf(g.id)) expect(c.shard(n)!.group).toBe(g.id);
        }
      }),
      { numRuns: 100 },
    );
    expect(changedShards).toBeGreaterThan(0);
  });

  it('a VM added to a shared group rewrites one shard and no other host\'s filter', () => {
    const hosts = Array.from({ length: 8 }, (_, i) => host(`h${i}`));
    const everyone = providerPolicy('deny-all-vms', { ingress: [{ name: 'all', action: 'Deny', peers: [{ vms: {} }] }] });
    const vms = fleet('acme', 64, 1, 8);
    const c = PolicyCompiler.compileAll([tenant('acme'), ...hosts, everyone, ...vms], { sharedGroupMinAddresses: 32 });
    // All VMs (the provider peer) and acme's own (default same-tenant rule): 64 members each.
    const shared = c.spec('h0')!.addressGroups.filter((g) => g.shared).map((g) => g.id);
    expect(shared).toHaveLength(2);
    for (const id of shared) expect(c.shardNamesOf(id)).toEqual([`${id}-10-0`]);
    c.drainShardChanges();
    const updates = c.apply([{ op: 'upsert', object: vm('new').inTenant('acme').onHost('h3').withIps('10.1.0.9').build() }]);
    // The new VM's own host changes (a binding); the others name the groups by their stable ids.
    expect(updates.map((u) => u.host)).toEqual(['h3']);
    expect(c.drainShardChanges()).toEqual(shared.map((id) => `${id}-10-1`).sort());
    for (const id of shared) expect(c.shard(`${id}-10-1`)!.addresses).toEqual(['10.1.0.9']);
    // Below half the threshold the group goes back inline: every filter naming it changes.
    const gone = vms.slice(0, 50).map((v) => ({ op: 'delete' as const, kind: 'VM' as const, name: v.metadata.name, namespace: v.metadata.namespace }));
    c.apply(gone);
    expect(c.spec('h0')!.addressGroups.some((g) => g.shared)).toBe(false);
    expect(c.shards().size).toBe(0);
  });

  it('a tenant-policy change touches only the hosts running that tenant', () => {
    const hosts = Array.from({ length: 8 }, (_, i) => host(`h${i}`));
    const acme = fleet('acme', 4, 1, 2); // h0, h1
    const other = fleet('other', 6, 1, 8, 100).map((v, i) => ({ ...v, spec: { ...v.spec, hostName: `h${2 + (i % 6)}` } }));
    const c = PolicyCompiler.compileAll([tenant('acme'), tenant('other'), ...hosts, web, ...acme, ...other]);
    const changed = policy('acme', 'web', { ingress: [{ name: 'https', action: 'Allow', ports: [{ protocol: 'TCP', port: 443 }] }] });
    expect(c.apply([{ op: 'upsert', object: changed }]).map((u) => u.host)).toEqual(['h0', 'h1']);
    // Re-applying the same object writes nothing.
    expect(c.apply([{ op: 'upsert', object: changed }])).toEqual([]);
    // A provider guardrail touches every host.
    const guard = providerPolicy('no-telnet', { ingress: [{ name: 'telnet', action: 'Deny', ports: [{ protocol: 'TCP', port: 23 }] }] });
    expect(c.apply([{ op: 'upsert', object: guard }])).toHaveLength(8);
  });

  it('a migrating VM is bound on its source and its target until it lands (make-before-break)', () => {
    const base = vm('mover').inTenant('acme').onHost('h1').withIps('10.0.0.9').build();
    const migrating = { ...base, status: { phase: 'Migrating' as const, hostName: 'h1', targetHostName: 'h2' } };
    const c = PolicyCompiler.compileAll([tenant('acme'), host('h1'), host('h2'), web, base]);
    expect(c.spec('h2')!.bindings).toEqual([]);
    expect(c.apply([{ op: 'upsert', object: migrating }]).map((u) => u.host)).toEqual(['h2']);
    expect(c.spec('h1')!.bindings.map((b) => b.vm)).toEqual(['acme/mover']);
    expect(c.spec('h2')!.bindings.map((b) => b.vm)).toEqual(['acme/mover']);
    const landed = { ...base, spec: { ...base.spec, hostName: undefined }, status: { phase: 'Running' as const, hostName: 'h2' } };
    expect(c.apply([{ op: 'upsert', object: landed }]).map((u) => u.host)).toEqual(['h1']);
    expect(c.spec('h1')!.bindings).toEqual([]);
  });

  it('programKeyOf is stable for VMs with the same effective set and names placed programs', () => {
    const vms = fleet('acme', 3, 1, 2);
    const c = PolicyCompiler.compileAll([tenant('acme'), host('h0'), host('h1'), web, ...vms]);
    const unplaced = vm('new').inTenant('acme').withIps('10.9.9.9').build();
    const k = c.programKeyOf(unplaced);
    expect(c.programKeyOf('acme/vm-0')).toBe(k);
    expect(c.programKeysOnHost('h1')).toEqual(new Set([k]));
    expect(c.programKeyOf(vm('x').inTenant('other').withIps('10.9.9.8').build())).not.toBe(k);
  });
});

describe('applySteps', () => {
  it('gives what apply gives, in steps a caller can take turns between', () => {
    const objects = [tenant('acme'), tenant('beta'), ...Array.from({ length: 64 }, (_, i) => host(`h${i}`)), web, ...fleet('acme', 1500, 2, 64), ...fleet('beta', 500, 1, 64, 100_000)];
    const changes: Change[] = objects.map((object) => ({ op: 'upsert', object }));
    const whole = new PolicyCompiler().apply(changes);

    const stepped = new PolicyCompiler();
    const steps = stepped.applySteps(changes);
    let pauses = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) pauses++;
    // Pauses come every few hundred objects and once per host: a caller gets its turns.
    expect(pauses).toBeGreaterThan(objects.length / 256);
    expect(step.value.map((u) => u.host)).toEqual(whole.map((u) => u.host));
    expect(step.value.map((u) => u.spec?.hash)).toEqual(whole.map((u) => u.spec?.hash));
  });
});
