// The incremental AddressBook (the operator's view of address ownership) against the batch
// addressOwnership() the offline tools use: after any sequence of VM and Tenant changes, the book
// refuses exactly the VMs the batch function refuses, with the same first vNIC, reason and message,
// and reports every VM whose refusal changed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tenant, VM } from '../../src/api';
import { AddressBook } from '../../src/policy/address-book';
import { addressOwnership, type AddressRefusal } from '../../src/policy/ownership';
import { tenant, vm } from './builders';

const NAMESPACES = ['a', 'b', 'c', 'orphan'];
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.1.1', '10.1.0.1'];
const BLOCKS = ['10.0.0.0/24', '10.0.0.0/31', '10.0.1.0/24', '10.1.0.0/16'];

type Op =
  | { kind: 'vm'; name: string; ns: string; ips: string[]; day: number }
  | { kind: 'delvm'; name: string; ns: string }
  | { kind: 'tenant'; name: string; blocks: string[] }
  | { kind: 'deltenant'; name: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('vm' as const), name: fc.constantFrom('v1', 'v2', 'v3', 'v4'), ns: fc.constantFrom(...NAMESPACES), ips: fc.array(fc.constantFrom(...IPS), { minLength: 1, maxLength: 3 }), day: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('delvm' as const), name: fc.constantFrom('v1', 'v2', 'v3', 'v4'), ns: fc.constantFrom(...NAMESPACES) }),
  fc.record({ kind: fc.constant('tenant' as const), name: fc.constantFrom('a', 'b', 'c'), blocks: fc.subarray(BLOCKS, { maxLength: 2 }) }),
  fc.record({ kind: fc.constant('deltenant' as const), name: fc.constantFrom('a', 'b', 'c') }),
);

const firstRefusals = (refused: Map<string, AddressRefusal>, vms: VM[]) => {
  const out = new Map<string, AddressRefusal>();
  for (const v of vms) {
    const key = `${v.metadata.namespace}/${v.metadata.name}`;
    const first = [...refused.values()].filter((r) => r.vm === key).sort((x, y) => x.index - y.index)[0];
    if (first) out.set(key, first);
  }
  return out;
};

describe('AddressBook', () => {
  it('property: equals the batch addressOwnership after every change, and reports what changed', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), (ops) => {
        const book = new AddressBook();
        const tenants = new Map<string, Tenant>();
        const vms = new Map<string, VM>();
        // Each tenant owns the namespace named after it.
        const owner = (ns: string) => (tenants.has(ns) ? ns : null);
        let before = new Map<string, AddressRefusal>();
        for (const op of ops) {
          let reported: string[] = [];
          if (op.kind === 'vm') {
            const v = vm(op.name).inTenant(op.ns).withIps(...op.ips).build();
            v.metadata.creationTimestamp = `2026-01-0${op.day}T00:00:00Z`;
            // A VM's creation time does not change while it exists.
            const key = `${op.ns}/${op.name}`;
            if (vms.has(key)) v.metadata.creationTimestamp = vms.get(key)!.metadata.creationTimestamp;
            vms.set(key, v);
            reported = book.setVm(key, v, owner(op.ns));
          } else if (op.kind === 'delvm') {
            const key = `${op.ns}/${op.name}`;
            vms.delete(key);
            reported = book.setVm(key, null, null);
          } else if (op.kind === 'tenant') {
            const t = { ...tenant(op.name), spec: { ...tenant(op.name).spec, addressBlocks: op.blocks } };
            const isNew = !tenants.has(op.name);
            tenants.set(op.name, t);
            reported = book.setTenant(op.name, op.blocks);
            // A new owner of a namespace: its VMs' tenant changed (the inventory re-puts them).
            if (isNew) for (const [k, v] of vms) if (v.metadata.namespace === op.name) reported.push(...book.setVm(k, v, op.name));
          } else {
            tenants.delete(op.name);
            reported = book.setTenant(op.name, null);
            for (const [k, v] of vms) if (v.metadata.namespace === op.name) reported.push(...book.setVm(k, v, null));
          }
          const want = firstRefusals(addressOwnership([...tenants.values()], [...vms.values()], owner).refused, [...vms.values()]);
          for (const k of vms.keys()) expect(book.refusal(k)).toEqual(want.get(k));
          const changed = new Set([...vms.keys(), ...before.keys()].filter((k) => JSON.stringify(before.get(k)) !== JSON.stringify(want.get(k))));
          for (const k of changed) expect(reported).toContain(k);
          before = want;
        }
      }),
      {
        numRuns: 300,
        examples: [
          // Two tenants' overlapping blocks, claimed in one order and listed in another: the message names the same one.
          [[{ kind: 'tenant', name: 'b', blocks: [] }, { kind: 'tenant', name: 'c', blocks: ['10.0.0.0/24'] }, { kind: 'tenant', name: 'b', blocks: ['10.0.0.0/24'] }, { kind: 'tenant', name: 'a', blocks: [] }, { kind: 'vm', name: 'v1', ns: 'a', ips: ['10.0.0.1'], day: 1 }]],
        ],
      },
    );
  });

  it('the first binder keeps an address; when it goes, the next one gets it', () => {
    const book = new AddressBook();
    book.setTenant('a', ['10.0.0.0/24']);
    const older = vm('old').inTenant('a').withIps('10.0.0.1').build();
    older.metadata.creationTimestamp = '2026-01-01T00:00:00Z';
    const newer = vm('new').inTenant('a').withIps('10.0.0.1').build();
    newer.metadata.creationTimestamp = '2026-01-02T00:00:00Z';
    book.setVm('a/new', newer, 'a');
    expect(book.refusal('a/new')).toBeUndefined();
    expect(book.setVm('a/old', older, 'a')).toEqual(expect.arrayContaining(['a/new']));
    expect(book.refusal('a/new')).toMatchObject({ reason: 'AddressConflict', message: '10.0.0.1 is already bound by a/old (eth0)' });
    expect(book.setVm('a/old', null, null)).toEqual(['a/new']);
    expect(book.refusal('a/new')).toBeUndefined();
  });
});
