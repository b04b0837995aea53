import { describe, expect, it } from 'vitest';
import type { HostFilterSpec } from '../../src/api';
import { DIR, PROTO, buildClassifier } from '../../src/dataplane/classifier';
import { formatIPv4, parseIPv4 } from '../../src/dataplane/ip';
import { SharedGroupSets } from '../../src/dataplane/shared-groups';
import { buildLinearClassifier } from '../helpers/linear';
import { cidrPeer, egress, groupPeer, oneProgram, rule, tcp } from './fixtures';

const both = (spec: HostFilterSpec) => [buildLinearClassifier(spec), buildClassifier(spec)] as const;

describe('classifier edge cases (fast and linear alike)', () => {
  it('0.0.0.0/0 matches everything, /32 exactly one address, an except covering all nothing', () => {
    for (const c of both(
      oneProgram([
        rule('none', { peers: [cidrPeer('10.0.0.0/8', '0.0.0.0/0')] }),
        rule('one', { peers: [cidrPeer('10.0.0.7/32')] }),
        rule('all', { peers: [cidrPeer('0.0.0.0/0', '255.255.255.255/32')] }),
      ]),
    )) {
      expect(c.classify(egress('10.0.0.7')).rule).toBe('one');
      expect(c.classify(egress('10.0.0.8')).rule).toBe('all');
      expect(c.classify(egress('0.0.0.0')).rule).toBe('all');
      expect(c.classify(egress('255.255.255.255')).rule).toBe('no-match');
    }
  });
  it('follows a Pass chain through every tier', () => {
    const spec = oneProgram([
      rule('p1', { tier: 'Provider', action: 'Pass' }),
      rule('p2', { tier: 'Provider', action: 'Deny' }),
      rule('t1', { tier: 'Tenant', action: 'Pass' }),
      rule('t2', { tier: 'Tenant', action: 'Deny' }),
      rule('b1', { tier: 'Baseline', action: 'Pass' }),
      rule('b2', { tier: 'Baseline', action: 'Deny' }),
      rule('d1', { tier: 'Default', action: 'Allow', policy: '' }),
    ]);
    for (const c of both(spec)) expect(c.classify(egress('1.1.1.1'))).toEqual({ verdict: 'Allow', tier: 'Default', policy: null, rule: 'd1' });
    const last = oneProgram([rule('d', { tier: 'Default', action: 'Pass' })]);
    for (const c of both(last)) expect(c.classify(egress('1.1.1.1')).rule).toBe('no-match');
  });
  it('denies unbound vNICs and bindings to unknown programs', () => {
    const spec = oneProgram([rule('a')]);
    spec.bindings.push({ ...spec.bindings[0]!, vnic: 'eth1', program: 'p-unknown' });
    for (const c of both(spec)) {
      expect(c.classify({ ...egress('1.1.1.1'), vm: 'ns/other' }).rule).toBe('unbound');
      expect(c.classify({ ...egress('1.1.1.1'), vnic: 'eth1' }).rule).toBe('unbound');
    }
    expect(buildClassifier(spec).slot('ns/other', 'eth0')).toBe(-1);
  });
  it('treats a port outside 0..65535 as outside every port range', () => {
    const c = buildClassifier(oneProgram([rule('range', { ports: [tcp(0, 65535)] }), rule('any-tcp', { ports: [tcp()] })]));
    const s = c.slot('ns/vm', 'eth0');
    expect(c.lookup(s, DIR.egress, 1, PROTO.TCP, 65535).rule).toBe('range');
    expect(c.lookup(s, DIR.egress, 1, PROTO.TCP, 70000).rule).toBe('any-tcp');
  });
  it('looks up a 100,000-member group with a constant number of operations', () => {
    const members = Array.from({ length: 100_000 }, (_, i) => formatIPv4(0x0a000000 + i * 3));
    const spec = oneProgram([rule('members', { peers: [groupPeer('ag-big')], ports: [tcp(443)] }), rule('rest', { action: 'Deny' })], [], {
      'ag-big': [...members, '192.168.0.0/16'],
    });
    const c = buildClassifier(spec);
    const s = c.slot('ns/vm', 'eth0');
    c.countOps = true;
    const opsFor = (ip: string) => {
      c.ops = 0;
      const d = c.lookup(s, DIR.egress, parseIPv4(ip), PROTO.TCP, 443);
      return { rule: d.rule, ops: c.ops };
    };
    const first = opsFor(members[0]!);
    const last = opsFor(members[99_999]!);
    expect(first.rule).toBe('members');
    expect(last.rule).toBe('members');
    expect(opsFor('10.0.0.1').rule).toBe('rest');
    expect(opsFor('192.168.3.4').rule).toBe('members');
    expect(last.ops).toBe(first.ops);
    expect(first.ops).toBeLessThan(12);
    expect(c.stats.groupAddresses).toBe(100_000);
  });
  it('stores identical rule lists once', () => {
    const spec = oneProgram([rule('a', { ports: [tcp(80)] })]);
    spec.programs.push({ ...spec.programs[0]!, id: 'p-2' });
    expect(buildClassifier(spec).stats).toMatchObject({ programs: 2, ruleSets: 2 });
    spec.programs[1]!.ingress = [rule('b')];
    expect(buildClassifier(spec).stats).toMatchObject({ programs: 2, ruleSets: 3 });
  });
});

describe('per-packet work does not grow with resident programs', () => {
  /** n tenant programs of the same shape, one vNIC per program (up to 200), tenant i owns 10.<i>.0.0/24. */
  const host = (n: number): HostFilterSpec => {
    const spec = oneProgram([]);
    spec.programs = [];
    spec.bindings = [];
    spec.addressGroups = [];
    for (let i = 0; i < n; i++) {
      const group = `ag-${i}`;
      spec.addressGroups.push({ id: group, addresses: [`10.${i >> 8}.${i & 255}.0/24`, `172.16.${i >> 8}.${i & 255}`] });
      spec.programs.push({
        id: `p-${i}`,
        egress: [rule('block', { tier: 'Provider', action: 'Deny', peers: [cidrPeer('198.51.100.0/24')] }), rule('same', { tier: 'Default', peers: [groupPeer(group)] })],
        ingress: [
          rule('web', { policy: `t${i}/web`, peers: [groupPeer(group)], ports: [tcp(80), tcp(443)] }),
          rule('iso', { action: 'Deny', policy: '' }),
        ],
      });
      if (i < 200) spec.bindings.push({ vm: `t${i}/vm`, vnic: 'eth0', ip: `10.${i >> 8}.${i & 255}.1`, mac: '02:00:00:00:00:01', program: `p-${i}` });
    }
    return spec;
  };
  const opsPerLookup = (n: number) => {
    const c = buildClassifier(host(n));
    c.countOps = true;
    let lookups = 0;
    for (let i = 0; i < 200; i++) {
      const s = c.slot(`t${i % n}/vm`, 'eth0');
      for (const ip of [`10.${(i % n) >> 8}.${(i % n) & 255}.9`, `172.16.${(i % n) >> 8}.${(i % n) & 255}`, '198.51.100.1', '8.8.8.8'])
        for (const dir of [DIR.egress, DIR.ingress]) {
          c.lookup(s, dir, parseIPv4(ip), PROTO.TCP, 443);
          lookups++;
        }
    }
    return c.ops / lookups;
  };
  it('counts the same operations per lookup with 10 and 5,000 programs', () => {
    const few = opsPerLookup(10);
    const many = opsPerLookup(5000);
    expect(few).toBeGreaterThan(3);
    expect(many / few).toBeLessThanOrEqual(1.05);
  });
});

// Shared address groups (AddressGroup objects) are matched through live member sets. A tenant with
// over a thousand vNICs can make each of its policies' peers a shared group; a host carrying one of
// its VMs then names all of them. Another tenant's lookups on that host must not pay for them.
describe("another tenant's shared groups cost a vNIC's lookups nothing", () => {
  const hostWith = (k: number): { spec: HostFilterSpec; sets: SharedGroupSets } => {
    const sets = new SharedGroupSets();
    const evilGroups = Array.from({ length: k }, (_, i) => `ags-evil-${i}`);
    for (const [i, g] of evilGroups.entries()) sets.put(`shard-${i}`, { group: g, prefix: '10.9.0.0/16', addresses: ['10.9.0.0/24'], hash: `h${i}` });
    sets.put('shard-victim', { group: 'ags-victim', prefix: '10.1.0.0/16', addresses: ['10.1.0.0/24'], hash: 'hv' });
    const spec: HostFilterSpec = {
      hostName: 'h1',
      hash: `x${k}`,
      programs: [
        // The victim: its own peers (a shared group), then the default tier's own-tenant group.
        { id: 'p-victim', egress: [rule('db', { peers: [groupPeer('ags-victim')], ports: [tcp(5432)] }), rule('same', { tier: 'Default', policy: '', peers: [groupPeer('ag-victim')] })], ingress: [] },
        { id: 'p-evil', egress: evilGroups.map((g, i) => rule(`r${i}`, { policy: 'evil/p', peers: [groupPeer(g)] })), ingress: [] },
      ],
      addressGroups: [{ id: 'ag-victim', addresses: ['10.1.0.7'] }, { id: 'ags-victim', addresses: [], shared: true }, ...evilGroups.map((id) => ({ id, addresses: [], shared: true }))],
      bindings: [
        { vm: 'victim/db', vnic: 'eth0', ip: '10.1.0.1', mac: '02:00:00:00:01:01', program: 'p-victim' },
        { vm: 'evil/vm', vnic: 'eth0', ip: '10.9.0.1', mac: '02:00:00:00:09:01', program: 'p-evil' },
      ],
    };
    return { spec, sets };
  };
  const opsOfVictim = (k: number, remote: string, port: number) => {
    const { spec, sets } = hostWith(k);
    const c = buildClassifier(spec, { sharedGroups: sets, inlineMaxAtoms: 0 });
    const ci = buildClassifier(spec, { sharedGroups: sets });
    const out: { rule: string | null; ops: number }[] = [];
    for (const x of [c, ci]) {
      x.countOps = true;
      x.ops = 0;
      const d = x.lookup(x.slot('victim/db', 'eth0'), DIR.egress, parseIPv4(remote), PROTO.TCP, port);
      out.push({ rule: d.rule, ops: x.ops });
    }
    return out;
  };
  it.each([
    ['a member of its shared group', '10.1.0.9', 5432],
    ['its same-tenant peer', '10.1.0.7', 80],
    ["a member of the other tenant's groups", '10.9.0.5', 5432],
    ['an outside address', '8.8.8.8', 5432],
  ])('%s: same rule and same work with 2 or 64 of them', (_what, remote, port) => {
    expect(opsOfVictim(64, remote, port)).toEqual(opsOfVictim(2, remote, port));
  });
});
