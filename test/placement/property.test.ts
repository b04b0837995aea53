// Properties over random datacenters: nothing is ever placed on an infeasible host, and decideVm never
// says Running where the program is not applied or the host lacks the VM's required tags.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batchScope, decideVm, isFeasible, matchesTagsAndNetworks, schedule, scheduleBatch, vmNeeds,
  type HostState, type TagLike, type VmPhase,
} from '../../src/placement';
import type { TestVm } from './builders';

const TAG_NAMES = ['a', 'b', 'c', 'd'];
const NETS = ['n1', 'n2'];
const PROGRAMS = ['p1', 'p2'];
const PHASES: VmPhase[] = ['Pending', 'Scheduled', 'Running', 'Migrating', 'Quarantined', 'Off'];

const subset = <T>(xs: T[]) => fc.subarray(xs);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const hostArb = (name: string) =>
  fc
    .record({
      ready: fc.boolean(),
      unschedulable: fc.boolean(),
      tags: subset(TAG_NAMES),
      networks: fc.array(fc.tuple(fc.constantFrom(...NETS), subset(TAG_NAMES)), { maxLength: 2 }),
      capVms: fc.integer({ min: 0, max: 3 }),
      capVnics: fc.integer({ min: 0, max: 6 }),
      usedVms: fc.integer({ min: 0, max: 4 }),
      usedVnics: fc.integer({ min: 0, max: 7 }),
      applied: subset(PROGRAMS),
      resident: subset(PROGRAMS),
    })
    .map((r) => ({
      state: {
        name,
        ready: r.ready,
        unschedulable: r.unschedulable,
        tags: new Set(r.tags),
        networks: new Map(r.networks.map(([n, t]) => [n, new Set(t)])),
        capacity: { vms: r.capVms, vnics: r.capVnics },
        allocated: { vms: r.usedVms, vnics: r.usedVnics },
      } as HostState,
      applied: new Set(r.applied),
      resident: new Set(r.resident),
    }));

const worldArb = fc
  .integer({ min: 0, max: 5 })
  .chain((n) => fc.tuple(...[...Array(n).keys()].map((i) => hostArb(`h${i}`))))
  .chain((hosts) => {
    const names = hosts.map((h) => h.state.name);
    const hostRef = fc.constantFrom(...names, 'gone');
    return fc.record({
      hosts: fc.constant(hosts),
      enforcement: fc.array(fc.constantFrom<'Required' | 'Preferred' | 'missing'>('Required', 'Preferred', 'missing'), {
        minLength: TAG_NAMES.length,
        maxLength: TAG_NAMES.length,
      }),
      placementTags: subset(TAG_NAMES),
      vmTags: subset(TAG_NAMES),
      vnics: fc.array(fc.constantFrom(...NETS), { minLength: 1, maxLength: 3 }),
      pin: maybe(hostRef),
      off: fc.boolean(),
      phase: maybe(fc.constantFrom(...PHASES)),
      hostName: maybe(hostRef),
      target: maybe(hostRef),
      program: maybe(fc.constantFrom(...PROGRAMS)),
      programKey: maybe(fc.constantFrom(...PROGRAMS)),
    });
  });

type World = typeof worldArb extends fc.Arbitrary<infer W> ? W : never;

function setup(w: World) {
  const tagsByName = new Map<string, TagLike>();
  TAG_NAMES.forEach((t, i) => {
    const e = w.enforcement[i]!;
    if (e !== 'missing') tagsByName.set(t, { spec: { enforcement: e } });
  });
  const vm: TestVm = {
    metadata: { name: 'v', namespace: 'ns' },
    spec: { tags: w.vmTags, vnics: w.vnics.map((network, i) => ({ name: `eth${i}`, network })), powerState: w.off ? 'Off' : 'On' },
    status: {},
  };
  if (w.pin) vm.spec.hostName = w.pin;
  if (w.phase) vm.status!.phase = w.phase;
  if (w.hostName) vm.status!.hostName = w.hostName;
  if (w.target) vm.status!.targetHostName = w.target;
  if (w.program) vm.status!.program = w.program;
  const tenant = { spec: { placementTags: w.placementTags } };
  const byName = new Map(w.hosts.map((h) => [h.state.name, h]));
  return { tagsByName, vm, tenant, byName, needs: vmNeeds(vm, tenant, tagsByName) };
}

describe('placement properties', () => {
  it('decideVm: Running only on a compliant host whose applied filter holds status.program; moves only to feasible hosts', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { tagsByName, vm, tenant, byName, needs } = setup(w);
        const d = decideVm({
          vm,
          tenant,
          tagsByName,
          hosts: new Map(w.hosts.map((h) => [h.state.name, h.state])),
          programKey: w.programKey,
          appliedPrograms: (h) => byName.get(h)?.applied,
          programsOn: (h) => byName.get(h)?.resident,
        });
        const s = d.status;
        expect(s.conditions.map((c) => c.type)).toEqual(['Scheduled', 'PlacementCompliant', 'Protected']);
        const prevHosts = new Set([w.hostName, w.target].filter((x): x is string => !!x));

        if (s.phase === 'Running') {
          const h = byName.get(s.hostName!);
          expect(h).toBeDefined();
          expect(h!.state.ready).toBe(true);
          expect(matchesTagsAndNetworks(needs, h!.state)).toBe(true);
          expect(s.program).toBeDefined();
          expect(h!.applied.has(s.program!)).toBe(true);
          expect(s.program === w.programKey || (s.program === w.program && w.phase === 'Running' && w.hostName === s.hostName)).toBe(true);
          expect(s.conditions[2]!.status).toBe('True');
        }
        if (s.phase === 'Off' || s.phase === 'Pending') expect(s.hostName).toBeUndefined();
        if (s.phase === 'Quarantined') expect(byName.has(s.hostName!)).toBe(true);
        if (s.phase === 'Migrating') {
          expect(s.hostName).toBe(w.hostName);
          expect(s.targetHostName).not.toBe(s.hostName);
        }
        if (w.off) expect(s.phase).toBe('Off');
        if (!w.off && w.pin && byName.has(w.pin) && s.phase !== 'Migrating') expect(s.hostName).toBe(w.pin);

        // Every destination the controller is told to use is feasible (capacity counts the VM once).
        const dest = d.action.type === 'Bind' ? d.action.host : d.action.type === 'StartMigration' ? d.action.to : undefined;
        if (dest) {
          const h = byName.get(dest)!;
          const ignoreUnschedulable = !!w.pin || dest === w.target;
          expect(isFeasible(needs, h.state, { resident: prevHosts.has(dest), ignoreUnschedulable })).toBe(true);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('schedule: the chosen host is feasible; "unschedulable" only when no host is', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { needs, byName } = setup(w);
        const hosts = w.hosts.map((h) => h.state);
        const r = schedule({ ...needs, pinnedHost: undefined }, hosts, { programKey: w.programKey, programsOn: (h) => byName.get(h)?.resident });
        if ('host' in r) expect(isFeasible(needs, byName.get(r.host)!.state)).toBe(true);
        else {
          expect(hosts.some((h) => isFeasible(needs, h))).toBe(false);
          const counted = Object.values(r.unschedulable.counts).reduce((a, b) => a + b, 0);
          expect(counted).toBeGreaterThanOrEqual(hosts.length);
        }
      }),
      { numRuns: 800 },
    );
  });

  it('scheduleBatch: placements are feasible, capacity is never overrun, failures really do not fit', () => {
    const batchArb = fc.tuple(worldArb, fc.array(fc.record({ tags: subset(TAG_NAMES), vnics: fc.integer({ min: 1, max: 3 }), program: fc.constantFrom(...PROGRAMS) }), { maxLength: 12 }));
    fc.assert(
      fc.property(batchArb, ([w, vms]) => {
        const { tagsByName, tenant } = setup(w);
        const hosts = w.hosts.map((h) => h.state);
        const items = vms.map((v, i) => ({
          needs: vmNeeds(
            { metadata: { name: `v${i}` }, spec: { tags: v.tags, vnics: [...Array(v.vnics).keys()].map((k) => ({ name: `e${k}`, network: NETS[k % 2]! })) } },
            tenant,
            tagsByName,
          ),
          programKey: v.program,
        }));
        const r = scheduleBatch(items, hosts, { programsOn: (h) => w.hosts.find((x) => x.state.name === h)?.resident });
        const final = (name: string) => ({ ...hosts.find((h) => h.name === name)!, allocated: r.allocated.get(name)! });
        r.results.forEach((res, i) => {
          const needs = items[i]!.needs;
          if ('host' in res) {
            const h = hosts.find((x) => x.name === res.host)!;
            expect(h.ready && !h.unschedulable && matchesTagsAndNetworks(needs, h)).toBe(true);
          } else expect(hosts.some((h) => isFeasible(needs, final(h.name)))).toBe(false);
        });
        for (const h of hosts) {
          const a = r.allocated.get(h.name)!;
          if (a.vms > h.allocated.vms) {
            expect(a.vms).toBeLessThanOrEqual(h.capacity.vms);
            expect(a.vnics).toBeLessThanOrEqual(h.capacity.vnics);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('batchScope: scheduling only the scope of some VMs places those exactly where the whole batch does', () => {
    // Ready hosts with few slots and Required tags: candidate sets overlap without nesting, so VMs
    // outside a needed VM's own candidates still take the slots it would have had.
    const required = new Map<string, TagLike>(TAG_NAMES.map((t) => [t, { spec: { enforcement: 'Required' } }]));
    const host = (name: string) =>
      fc.record({ tags: subset(TAG_NAMES), capVms: fc.integer({ min: 1, max: 3 }), resident: subset(PROGRAMS) }).map((r) => ({
        state: {
          name, ready: true, unschedulable: false, tags: new Set(r.tags), networks: new Map([['n1', new Set(r.tags)]]),
          capacity: { vms: r.capVms, vnics: 8 }, allocated: { vms: 0, vnics: 0 },
        } as HostState,
        resident: new Set(r.resident),
      }));
    const vm = fc.record({
      tags: fc.subarray(TAG_NAMES, { maxLength: 2 }),
      vnics: fc.integer({ min: 1, max: 2 }),
      program: fc.constantFrom(...PROGRAMS),
      pin: fc.option(fc.constantFrom('h0', 'h3', 'gone'), { nil: undefined, freq: 8 }),
      needed: fc.boolean(),
    });
    const batchArb = fc.tuple(fc.tuple(...['h0', 'h1', 'h2', 'h3', 'h4', 'h5'].map(host)), fc.array(vm, { maxLength: 16 }));
    let narrowed = 0;
    fc.assert(
      fc.property(batchArb, ([hs, vms]) => {
        const hosts = hs.map((h) => h.state);
        const items = vms.map((v, i) => ({
          needs: vmNeeds(
            { metadata: { name: `v${i}` }, spec: { tags: v.tags, vnics: [...Array(v.vnics).keys()].map((k) => ({ name: `e${k}`, network: 'n1' })), ...(v.pin ? { hostName: v.pin } : {}) } },
            undefined,
            required,
          ),
          programKey: v.program,
        }));
        const ctx = { programsOn: (h: string) => hs.find((x) => x.state.name === h)?.resident };
        const whole = scheduleBatch(items, hosts, ctx).results;
        const needed = vms.flatMap((v, i) => (v.needed ? [i] : []));
        const scope = [...batchScope(items.map((it) => it.needs), hosts, needed)].sort((a, b) => a - b);
        for (const i of needed) expect(scope).toContain(i);
        if (scope.length < items.length) narrowed++;
        const part = scheduleBatch(scope.map((i) => items[i]!), hosts, ctx).results;
        scope.forEach((i, k) => {
          if (!vms[i]!.needed) return;
          const a = whole[i]!;
          const b = part[k]!;
          // Placed: the same host. Unschedulable: unschedulable too (the message counts every host).
          if ('host' in a) expect(b).toEqual(a);
          else expect('unschedulable' in b).toBe(true);
        });
      }),
      { numRuns: 500 },
    );
    // The property says something only if scopes are often narrower than the batch.
    expect(narrowed).toBeGreaterThan(50);
  });
});
