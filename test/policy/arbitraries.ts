// fast-check generators for small random worlds and packets (shared by the differential tests).
import fc from 'fast-check';
import type { Peer, PortSpec, Rule, SecurityPolicy, Tenant, VM } from '../../src/api';
import { PROVIDER_NAMESPACE } from '../../src/api';
import type { PacketProtocol } from '../../src/policy/decision';
import type { Packet } from '../../src/policy/reference';
import { addressOwnership, namespaceOwnership } from '../../src/policy/ownership';
import type { TraceWorld } from '../../src/policy/tracer';
import { host, policy, tenant, vm } from './builders';

const TENANTS = ['t0', 't1', 't2'];
const TAGS = ['a', 'b', 'c'];
const HOSTS = ['h0', 'h1', 'h2'];
/** Addresses come from 10.0.0.0/28 (plus one outside) so CIDRs and excepts cut through them. */
const IP = (i: number) => (i === 16 ? '192.168.1.1' : `10.0.0.${i}`);
const CIDRS = ['10.0.0.0/28', '10.0.0.0/29', '10.0.0.8/29', '10.0.0.4/30', '10.0.0.12/30', '10.0.0.6/31', '0.0.0.0/0', '192.168.0.0/16'];
const PORTS = [53, 80, 443, 8080];

const tags = fc.subarray(TAGS, { maxLength: 2 });
const selector = fc.oneof(
  fc.constant(undefined),
  fc.record({ matchLabels: fc.record({ app: fc.constantFrom('x', 'y') }) }),
  fc.record({ matchExpressions: fc.tuple(fc.record({ key: fc.constant('app'), operator: fc.constantFrom('In', 'NotIn'), values: fc.subarray(['x', 'y'], { minLength: 1 }) })) }),
  fc.record({ matchExpressions: fc.tuple(fc.record({ key: fc.constant('app'), operator: fc.constantFrom('Exists', 'DoesNotExist') })) }),
);
const tenantList = fc.subarray(TENANTS, { minLength: 1, maxLength: 2 });

const peer: fc.Arbitrary<Peer> = fc.oneof(
  fc.record({ vms: fc.record({ tags, vmSelector: selector, tenants: fc.option(tenantList, { nil: undefined }) }, { requiredKeys: [] }) }),
  fc.record({ tenants: tenantList }),
  fc.constant({ sameTenant: true as const }),
  fc.record({ cidr: fc.record({ cidr: fc.constantFrom(...CIDRS), except: fc.subarray(CIDRS.slice(3, 6), { maxLength: 2 }) }) }),
);

const portSpec: fc.Arbitrary<PortSpec> = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const), port: fc.constantFrom(...PORTS) }),
  fc.record({ protocol: fc.constant('TCP' as const), port: fc.constant(80), endPort: fc.constantFrom(80, 443, 8080) }),
  fc.record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const, 'ICMP' as const, 'Any' as const) }),
);

// Hostile shapes (a tenant writes whatever validation lets through): single-address and whole-space
// CIDRs, excepts that cover the whole CIDR or lie outside it, port ranges at the ends of the space.
const HOSTILE_CIDRS = [...CIDRS, '10.0.0.1/32', '10.0.0.15/32', '192.168.1.1/32', '10.0.0.0/32', '0.0.0.0/1', '128.0.0.0/1', '10.0.0.0/24'];
const hostilePeer: fc.Arbitrary<Peer> = fc.oneof(
  peer,
  fc.record({ cidr: fc.record({ cidr: fc.constantFrom(...HOSTILE_CIDRS), except: fc.subarray(HOSTILE_CIDRS, { maxLength: 3 }) }) }),
);
const EDGE_PORTS = [0, 1, 22, 80, 443, 65534, 65535];
const hostilePortSpec: fc.Arbitrary<PortSpec> = fc.oneof(
  portSpec,
  fc.record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const), port: fc.constantFrom(...EDGE_PORTS) }),
  fc
    .record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const), port: fc.constantFrom(...EDGE_PORTS), endPort: fc.constantFrom(...EDGE_PORTS) })
    .map((p) => (p.endPort < p.port ? { ...p, port: p.endPort, endPort: p.port } : p)),
);

const rules = (prefix: string, hostile = false) =>
  fc
    .array(
      fc.record({
        action: fc.constantFrom('Allow' as const, 'Deny' as const, 'Pass' as const),
        peers: fc.array(hostile ? hostilePeer : peer, { maxLength: 2 }),
        ports: fc.array(hostile ? hostilePortSpec : portSpec, { maxLength: 2 }),
      }),
      { maxLength: 3 },
    )
    .map((rs): Rule[] => rs.map((r, i) => ({ name: `${prefix}${i}`, ...r })));

const policyArbOf = (hostile: boolean) => fc
  .record({
    tier: fc.constantFrom('Provider' as const, 'Tenant' as const, 'Tenant' as const, 'Baseline' as const),
    // Mostly where the tier belongs; sometimes not (then it must be ignored).
    misplaced: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    tenant: fc.constantFrom(...TENANTS, 'orphan'),
    priority: hostile ? fc.constantFrom(0, 500, 500, 1000) : fc.constantFrom(100, 500),
    // Hostile: few names, so policies of equal (priority, name) meet across namespaces and tiers.
    name: hostile ? fc.constantFrom('a', 'b', 'zz') : fc.constant(undefined),
    appliesTo: fc.record(
      { vmSelector: selector, tags, tenants: fc.option(tenantList, { nil: undefined }) },
      { requiredKeys: [] },
    ),
    ingress: rules('in', hostile),
    egress: rules('eg', hostile),
  })
  .map((p) => {
    const inProviderNs = (p.tier !== 'Tenant') !== p.misplaced;
    const ns = inProviderNs ? PROVIDER_NAMESPACE : p.tenant;
    // A Tenant-tier policy naming other tenants is rejected; keep that occasional.
    if (p.tier === 'Tenant' && !p.misplaced && p.appliesTo.tenants) p.appliesTo.tenants = [p.tenant];
    return { ns, spec: p };
  });

const vmArb = fc.record({
  ns: fc.constantFrom('t0', 't1', 't2', 't2b', 'orphan'),
  tags,
  app: fc.constantFrom(undefined, 'x', 'y'),
  host: fc.constantFrom(...HOSTS, undefined),
  ips: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 2 }),
  quarantined: fc.integer({ min: 0, max: 29 }).map((n) => n === 0),
});

export interface Case {
  world: TraceWorld;
  packets: Packet[];
}

const endpoint = (vms: VM[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...vms.map((v) => v.metadata.namespace + '/' + v.metadata.name)).chain((key) => {
      const v = vms.find((x) => x.metadata.namespace + '/' + x.metadata.name === key)!;
      return fc.constantFrom(...v.spec.vnics.map((n) => n.name)).map((vnic) => ({ vm: key, vnic }));
    }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 16 }).map((i) => ({ ip: IP(i) })) },
  );

/** Hostile worlds: as caseArb, plus the shapes above, tenant address blocks, and edge ports in packets. */
export const caseArbOf = (hostile: boolean): fc.Arbitrary<Case> => fc
  .record({
    vms: fc.array(vmArb, { minLength: 1, maxLength: 7 }),
    policies: fc.array(policyArbOf(hostile), { maxLength: 6 }),
    // Hostile: t0 and t1 split 10.0.0.0/28 (t1's block also covers t0's: the first tenant by name
    // owns an address in both), t2 has none (it may bind only what no block covers).
    blocks: hostile ? fc.boolean() : fc.constant(false),
    // One world in four keeps duplicate addresses (the later vNIC is refused, issue 12); the others
    // move a duplicate to a free address so most VMs are bound and reachability stays rich.
    duplicates: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  })
  .chain(({ vms: vmSpecs, policies: pols, duplicates, blocks }) => {
    const tenants: Tenant[] = [tenant('t0'), tenant('t1'), tenant('t2', ['t2', 't2b'])];
    if (blocks) {
      tenants[0]!.spec.addressBlocks = ['10.0.0.0/29'];
      tenants[1]!.spec.addressBlocks = ['10.0.0.8/29', '10.0.0.4/30'];
    }
    if (!duplicates) {
      const used = new Set<number>();
      for (const s of vmSpecs)
        s.ips = s.ips.map((ip) => {
          let x = ip;
          while (used.has(x) && used.size < 16) x = (x + 1) % 16;
          used.add(x);
          return x;
        });
    }
    const vms: VM[] = vmSpecs.map((s, i) => {
      const b = vm(`vm${i}`).inTenant(s.ns).withTags(...s.tags).withIps(...s.ips.map(IP));
      if (s.app) b.withLabels({ app: s.app });
      if (s.host) b.onHost(s.host);
      if (s.quarantined) b.quarantined();
      return b.build();
    });
    const names = new Set<string>();
    const policies: SecurityPolicy[] = pols
      .map((p, i) => ({ p, name: p.spec.name ?? `p${i}` }))
      .filter(({ p, name }) => !names.has(`${p.ns}/${name}`) && Boolean(names.add(`${p.ns}/${name}`)))
      .map(({ p, name }) =>
        policy(p.ns, name, { tier: p.spec.tier, priority: p.spec.priority, appliesTo: p.spec.appliesTo, ingress: p.spec.ingress, egress: p.spec.egress }),
      );
    const world: TraceWorld = { tenants, tags: [], hosts: HOSTS.map((h) => host(h)), vms, policies };
    // Packets start and end at placed VMs that own their addresses: a VM refused an address (a
    // duplicate here) is never bound, but stays in the world (it must resolve as no one's peer).
    const owners = namespaceOwnership(tenants, PROVIDER_NAMESPACE).owners;
    const refused = new Set([...addressOwnership(tenants, vms, (ns) => owners.get(ns)).refused.values()].map((r) => r.vm));
    const placed = vms.filter((v) => v.spec.hostName && !refused.has(`${v.metadata.namespace}/${v.metadata.name}`));
    if (placed.length === 0) return fc.constant({ world, packets: [] });
    const packet = fc
      .record({
        from: endpoint(placed),
        to: endpoint(placed),
        protocol: fc.constantFrom<PacketProtocol>('TCP', 'UDP', 'SCTP', 'ICMP'),
        port: hostile ? fc.constantFrom(...PORTS, ...EDGE_PORTS, 1023, 65533) : fc.constantFrom(...PORTS, 22),
        // The source address the packet carries (spoof guard): mostly none claimed, else its own or another.
        srcIp: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant('own') }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 16 }) }),
        srcMac: fc.constantFrom(undefined, undefined, undefined, undefined, 'own', 'OWN', 'other'),
      })
      .filter((p) => 'vm' in p.from || 'vm' in p.to)
      .map(({ srcIp, srcMac, ...p }): Packet => {
        if (!('vm' in p.from)) return p;
        const from = p.from;
        const nic = placed.find((v) => v.metadata.namespace + '/' + v.metadata.name === from.vm)!.spec.vnics.find((n) => n.name === from.vnic)!;
        const out: Packet = { ...p };
        if (srcIp !== undefined) out.srcIp = srcIp === 'own' ? nic.ip : IP(srcIp);
        if (srcMac !== undefined) out.srcMac = srcMac === 'own' ? nic.mac : srcMac === 'OWN' ? nic.mac.toUpperCase() : '02:ff:ff:ff:ff:ff';
        return out;
      });
    return fc.array(packet, { minLength: 1, maxLength: 6 }).map((packets) => ({ world, packets }));
  });
export const caseArb: fc.Arbitrary<Case> = caseArbOf(false);
export const hostileCaseArb: fc.Arbitrary<Case> = caseArbOf(true);
