// fast-check generators of HostFilter specs and lookups, small address/port spaces so that rules overlap.
import fc from 'fast-check';
import type { CompiledPeer, CompiledPort, CompiledRule, HostFilterSpec } from '../../src/api';
import { formatIPv4 } from '../../src/dataplane/ip';
import type { Lookup } from '../../src/dataplane/types';
import { TIER_RANK } from '../../src/dataplane/semantics';

const ipNum = fc.oneof(
  fc.constantFrom(0, 0xffffffff, 0xfffffffe, 0xfffffc00, 0x0a000000, 0x0a0000ff, 0x7fffffff, 0x80000000),
  fc.integer({ min: 0x0a000000, max: 0x0a00001f }),
  fc.integer({ min: 0x0a000100, max: 0x0a000107 }),
  fc.integer({ min: 0, max: 0xffffffff }),
);
export const ip = ipNum.map(formatIPv4);
export const cidr = fc
  .tuple(ipNum, fc.oneof(fc.constantFrom(0, 1, 8, 24, 27, 28, 30, 31, 32), fc.integer({ min: 0, max: 32 })))
  .map(([a, len]) => `${formatIPv4(a)}/${len}`);
const portNum = fc.oneof(fc.constantFrom(0, 1, 22, 53, 80, 443, 1024, 8080, 65535), fc.integer({ min: 0, max: 65535 }));

export const compiledPort: fc.Arbitrary<CompiledPort> = fc
  .record({
    protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'ICMP', 'Any'),
    port: fc.option(portNum, { nil: undefined }),
    endPort: fc.option(portNum, { nil: undefined }),
  })
  .map((p) => {
    const out: CompiledPort = { protocol: p.protocol };
    if (p.port !== undefined) out.port = p.port;
    if (p.endPort !== undefined && (p.port !== undefined || p.endPort % 2 === 0)) out.endPort = p.endPort;
    return out;
  });

const peer = (groupIds: string[]): fc.Arbitrary<CompiledPeer> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ cidr, except: fc.array(cidr, { maxLength: 3 }) }) },
    { weight: 2, arbitrary: fc.constantFrom(...groupIds, 'ag-missing').map((group) => ({ group })) },
    { weight: 1, arbitrary: fc.record({ group: fc.constantFrom(...groupIds), cidr }) },
  );

const rule = (groupIds: string[]): fc.Arbitrary<CompiledRule> =>
  fc.record({
    tier: fc.constantFrom('Provider', 'Tenant', 'Baseline', 'Default'),
    policy: fc.constantFrom(undefined, '', 'ns/a', 'vmsafe-system/b'),
    rule: fc.constantFrom('r0', 'r1', 'r2', 'r3'),
    action: fc.constantFrom('Allow', 'Deny', 'Pass', 'Pass'),
    peers: fc.array(peer(groupIds), { maxLength: 3 }),
    ports: fc.array(compiledPort, { maxLength: 3 }),
  }).map((r) => {
    const out: CompiledRule = { ...r };
    if (r.policy === undefined) delete out.policy;
    return out;
  });

/** Rules in tier order (as the compiler emits them), sometimes long enough to need several words. */
const ruleList = (groupIds: string[]) =>
  fc
    .oneof({ weight: 4, arbitrary: fc.array(rule(groupIds), { maxLength: 10 }) }, { weight: 1, arbitrary: fc.array(rule(groupIds), { minLength: 30, maxLength: 80 }) })
    .map((rs) => rs.map((r, i) => ({ r, i })).sort((a, b) => TIER_RANK[a.r.tier] - TIER_RANK[b.r.tier] || a.i - b.i).map((x) => x.r))
    .map((rs) => rs.map((r, i) => ({ ...r, rule: `${r.rule}-${i}` })));

const GROUP_IDS = ['ag-0', 'ag-1', 'ag-2'];

export const hostFilterSpecArb: fc.Arbitrary<HostFilterSpec> = fc
  .record({
    groups: fc.array(fc.array(fc.oneof(ip, ip, cidr), { maxLength: 8 }), { minLength: 1, maxLength: 3 }),
    programs: fc.array(fc.record({ egress: ruleList(GROUP_IDS), ingress: ruleList(GROUP_IDS) }), { minLength: 1, maxLength: 3 }),
    bindings: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
  })
  .map((s) => ({
    hostName: 'h',
    hash: 'x',
    addressGroups: s.groups.map((addresses, i) => ({ id: `ag-${i}`, addresses })),
    programs: s.programs.map((p, i) => ({ id: `p-${i}`, ...p })),
    bindings: s.bindings.map((prog, i) => ({ vm: `ns/vm${i}`, vnic: 'eth0', ip: '10.9.9.9', mac: '02:00:00:00:00:00', program: `p-${prog}` })),
  }));

export const lookupArb: fc.Arbitrary<Lookup> = fc.record({
  vm: fc.constantFrom('ns/vm0', 'ns/vm1', 'ns/vm2', 'ns/vm3', 'ns/vm4'),
  vnic: fc.constantFrom('eth0', 'eth0', 'eth0', 'eth1'),
  direction: fc.constantFrom('egress', 'ingress'),
  remoteIp: ip,
  protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'ICMP'),
  // Ports outside 0..65535 match only port-less entries (the fast path maps them to a sentinel).
  port: fc.oneof({ weight: 9, arbitrary: portNum }, { weight: 1, arbitrary: fc.constantFrom(-1, 65536, 70000) }),
});
