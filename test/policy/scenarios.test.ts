// The public conformance scenarios restated in our model, with the verdicts those suites expect:
// - AdminNetworkPolicy → Provider tier, BaselineAdminNetworkPolicy → Baseline tier, NetworkPolicy →
//   Tenant tier (kubernetes-sigs/network-policy-api conformance; kubernetes test/e2e/network/netpol).
// - A namespace is a tenant; a pod is a VM with the pod's labels.
// - Kubernetes allows what no policy mentions; our Default tier denies across tenants. To ask the
//   upstream question, each world gets a last Baseline policy "k8s-default-allow" (allow all, both
//   directions) standing in for Kubernetes' default. Everything else is written as upstream wrote it.
// Every verdict is computed by the compiled filters (fast classifier) and must equal the reference.
import { describe, expect, it } from 'vitest';
import type { Peer, SecurityPolicy, VM } from '../../src/api';
import { buildClassifier } from '../../src/dataplane/classifier';
import type { PacketProtocol } from '../../src/policy/decision';
import { Tracer } from '../../src/policy/tracer';
import { baselinePolicy, host, policy, providerPolicy, tenant, vm, type RuleInput } from './builders';

const k8sDefaultAllow = baselinePolicy('k8s-default-allow', {
  priority: 1000,
  ingress: [{ name: 'allow-all', action: 'Allow' }],
  egress: [{ name: 'allow-all', action: 'Allow' }],
});

function world(pods: VM[], policies: SecurityPolicy[]) {
  const namespaces = [...new Set(pods.map((p) => p.metadata.namespace!))];
  return new Tracer(
    { tenants: namespaces.map((n) => tenant(n)), tags: [], hosts: [host('h1'), host('h2')], vms: pods, policies: [...policies, k8sDefaultAllow] },
    (spec) => buildClassifier(spec),
  );
}

/** Can `from` open a connection to `to` on protocol/port? Asserts compiled == reference. */
function can(t: Tracer, from: string, to: string, port: number, protocol: PacketProtocol = 'TCP'): boolean {
  const r = t.trace({ from: { vm: from }, to: { vm: to }, protocol, port });
  expect(r.compiled).toEqual(r.reference);
  return r.compiled.verdict === 'Allow';
}

// ------------------------------------------------------------------ network-policy-api (Hogwarts)
let ip = 1;
const pod = (ns: string, name: string) =>
  vm(name).inTenant(ns).withLabels({ 'pod-name': name }).onHost(ip % 2 ? 'h1' : 'h2').withIps(`10.0.0.${ip++}`).build();
const hogwarts = () => [
  pod('gryffindor', 'harry-potter-0'),
  pod('gryffindor', 'harry-potter-1'),
  pod('slytherin', 'draco-malfoy-0'),
  pod('slytherin', 'draco-malfoy-1'),
  pod('ravenclaw', 'luna-lovegood-0'),
  pod('ravenclaw', 'luna-lovegood-1'),
  pod('hufflepuff', 'cedric-diggory-0'),
  pod('hufflepuff', 'cedric-diggory-1'),
  pod('hogwarts-staff', 'professor-quirrell-0'),
  pod('hogwarts-staff', 'professor-dumbledore-0'),
];
const house = (h: string): Peer => ({ tenants: [h] });
const staff = (name: string): Peer => ({ vms: { tenants: ['hogwarts-staff'], vmSelector: { matchLabels: { 'pod-name': name } } } });
const tcp = (port: number) => [{ protocol: 'TCP' as const, port }];

describe('AdminNetworkPolicy core ingress TCP rules (Provider tier)', () => {
  // ANP "ingress-tcp", subject gryffindor, rules in upstream order; tests reorder the first three.
  const rules = (first: RuleInput[]): RuleInput[] => [
    ...first,
    { name: 'deny-from-slytherin-at-port-80', action: 'Deny', peers: [house('slytherin')], ports: tcp(80) },
    { name: 'pass-from-slytherin-at-port-80', action: 'Pass', peers: [house('slytherin')], ports: tcp(80) },
    { name: 'allow-from-hufflepuff-at-port-80', action: 'Allow', peers: [house('hufflepuff')], ports: tcp(80) },
    { name: 'deny-from-hufflepuff-everything-else', action: 'Deny', peers: [house('hufflepuff')] },
    { name: 'deny-from-professor-quirrell-at-port-8080', action: 'Deny', peers: [staff('professor-quirrell-0')], ports: tcp(8080) },
    { name: 'allow-from-professor-dumbledore-at-port-8080', action: 'Allow', peers: [staff('professor-dumbledore-0')], ports: tcp(8080) },
    { name: 'deny-from-dumbledore-everything-else', action: 'Deny', peers: [staff('professor-dumbledore-0')] },
  ];
  const allow = { name: 'allow-from-ravenclaw-everything', action: 'Allow' as const, peers: [house('ravenclaw')] };
  const deny = { name: 'deny-from-ravenclaw-everything', action: 'Deny' as const, peers: [house('ravenclaw')] };
  const pass = { name: 'pass-from-ravenclaw-everything', action: 'Pass' as const, peers: [house('ravenclaw')] };
  const anp = (first: RuleInput[]) => providerPolicy('ingress-tcp', { priority: 3, appliesTo: { tenants: ['gryffindor'] }, ingress: rules(first) });

  it('respects rule order: allow, then deny, then pass first', () => {
    expect(can(world(hogwarts(), [anp([allow, deny, pass])]), 'ravenclaw/luna-lovegood-0', 'gryffindor/harry-potter-0', 80)).toBe(true);
    expect(can(world(hogwarts(), [anp([deny, allow, pass])]), 'ravenclaw/luna-lovegood-1', 'gryffindor/harry-potter-1', 8080)).toBe(false);
    // Pass skips the rest of the admin tier; nothing else says anything → Kubernetes' default allow.
    expect(can(world(hogwarts(), [anp([pass, deny, allow])]), 'ravenclaw/luna-lovegood-0', 'gryffindor/harry-potter-0', 80)).toBe(true);
  });

  it('port-specific deny, allow and catch-all rules', () => {
    const t = world(hogwarts(), [anp([allow, deny, pass])]);
    expect(can(t, 'slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0', 80)).toBe(false);
    expect(can(t, 'slytherin/draco-malfoy-1', 'gryffindor/harry-potter-1', 8080)).toBe(true);
    expect(can(t, 'hufflepuff/cedric-diggory-0', 'gryffindor/harry-potter-0', 80)).toBe(true);
    expect(can(t, 'hufflepuff/cedric-diggory-1', 'gryffindor/harry-potter-1', 8080)).toBe(false);
    expect(can(t, 'hogwarts-staff/professor-quirrell-0', 'gryffindor/harry-potter-0', 8080)).toBe(false);
    expect(can(t, 'hogwarts-staff/professor-dumbledore-0', 'gryffindor/harry-potter-0', 8080)).toBe(true);
    expect(can(t, 'hogwarts-staff/professor-dumbledore-0', 'gryffindor/harry-potter-1', 80)).toBe(false);
    // Not the subject: the ANP does not apply to slytherin's ingress.
    expect(can(t, 'gryffindor/harry-potter-0', 'slytherin/draco-malfoy-0', 80)).toBe(true);
  });
});

describe('AdminNetworkPolicy priority (core-priority-field)', () => {
  const both = (action: 'Deny' | 'Pass', name: string) => ({
    ingress: [{ name: `${name}-ingress-from-slytherin`, action, peers: [house('slytherin')] }],
    egress: [{ name: `${name}-egress-to-slytherin`, action, peers: [house('slytherin')] }],
  });
  const banp = baselinePolicy('default', {
    appliesTo: { tenants: ['gryffindor'] },
    ingress: [{ name: 'allow-all-ingress-from-slytherin', action: 'Allow', peers: [house('slytherin')] }],
    egress: [{ name: 'allow-all-egress-to-slytherin', action: 'Allow', peers: [house('slytherin')] }],
  });
  const deny50 = providerPolicy('priority-50-example', { priority: 50, appliesTo: { tenants: ['gryffindor'] }, ...both('Deny', 'deny-all') });
  const pass = (priority: number) => providerPolicy('old-priority-60-new-priority-40-example', { priority, appliesTo: { tenants: ['gryffindor'] }, ...both('Pass', 'pass-all') });

  it('the lower priority value wins; a Pass ahead of the Deny hands over to the baseline', () => {
    const before = world(hogwarts(), [deny50, pass(60), banp]);
    expect(can(before, 'slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0', 80)).toBe(false);
    expect(can(before, 'gryffindor/harry-potter-0', 'slytherin/draco-malfoy-0', 8080)).toBe(false);
    const after = world(hogwarts(), [deny50, pass(40), banp]);
    expect(can(after, 'slytherin/draco-malfoy-1', 'gryffindor/harry-potter-1', 80)).toBe(true);
    expect(can(after, 'gryffindor/harry-potter-1', 'slytherin/draco-malfoy-1', 8080)).toBe(true);
    const r = after.trace({ from: { vm: 'slytherin/draco-malfoy-1' }, to: { vm: 'gryffindor/harry-potter-1' }, protocol: 'TCP', port: 80 });
    expect(r.compiled.ingress).toEqual({ verdict: 'Allow', tier: 'Baseline', policy: 'vmsafe-system/default', rule: 'allow-all-ingress-from-slytherin' });
  });
});

describe('ANP + NetworkPolicy + BANP integration (core-anp-np-banp)', () => {
  const anp = (action: 'Deny' | 'Pass') =>
    providerPolicy('pass-example', {
      priority: 10,
      appliesTo: { tenants: ['gryffindor'] },
      ingress: [{ name: 'deny-all-ingress-from-slytherin', action, peers: [house('slytherin')] }],
      egress: [{ name: 'deny-all-egress-to-slytherin', action, peers: [house('slytherin')] }],
    });
  const np = policy('gryffindor', 'allow-gress-from-to-slytherin-to-gryffindor', {
    ingress: [{ name: 'from-slytherin', action: 'Allow', peers: [house('slytherin')] }],
    egress: [{ name: 'to-slytherin', action: 'Allow', peers: [{ vms: { tenants: ['slytherin'] } }] }],
  });
  const banp = baselinePolicy('default', {
    appliesTo: { tenants: ['gryffindor'] },
    ingress: [{ name: 'deny-all-ingress-from-slytherin', action: 'Deny', peers: [house('slytherin')] }],
    egress: [{ name: 'deny-all-egress-to-slytherin', action: 'Deny', peers: [house('slytherin')] }],
  });

  it('ANP Deny wins over the NetworkPolicy allow', () => {
    const t = world(hogwarts(), [anp('Deny'), np, banp]);
    expect(can(t, 'slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0', 80)).toBe(false);
    expect(can(t, 'slytherin/draco-malfoy-1', 'gryffindor/harry-potter-0', 8080)).toBe(false);
    expect(can(t, 'gryffindor/harry-potter-0', 'slytherin/draco-malfoy-0', 80)).toBe(false);
    expect(can(t, 'gryffindor/harry-potter-1', 'slytherin/draco-malfoy-0', 8080)).toBe(false);
  });

  it('ANP Pass lets the NetworkPolicy allow decide', () => {
    const t = world(hogwarts(), [anp('Pass'), np, banp]);
    expect(can(t, 'slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0', 80)).toBe(true);
    expect(can(t, 'gryffindor/harry-potter-1', 'slytherin/draco-malfoy-0', 8080)).toBe(true);
  });

  it('ANP Pass with no NetworkPolicy lets the BANP deny decide', () => {
    const t = world(hogwarts(), [anp('Pass'), banp]);
    expect(can(t, 'slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0', 80)).toBe(false);
    expect(can(t, 'slytherin/draco-malfoy-1', 'gryffindor/harry-potter-0', 8080)).toBe(false);
    expect(can(t, 'gryffindor/harry-potter-0', 'slytherin/draco-malfoy-0', 80)).toBe(false);
  });
});

describe('BaselineAdminNetworkPolicy core rules (Baseline tier)', () => {
  it('first matching rule decides, NetworkPolicy isolation wins over the baseline', () => {
    const banp = baselinePolicy('default', {
      appliesTo: { tenants: ['gryffindor'] },
      ingress: [
        { name: 'allow-from-ravenclaw-everything', action: 'Allow', peers: [house('ravenclaw')] },
        { name: 'deny-from-ravenclaw-everything', action: 'Deny', peers: [house('ravenclaw')] },
        { name: 'deny-from-slytherin-at-port-80', action: 'Deny', peers: [house('slytherin')], ports: tcp(80) },
      ],
    });
    const t = world(hogwarts(), [banp]);
    expect(can(t, 'ravenclaw/luna-lovegood-0', 'gryffindor/harry-potter-0', 80)).toBe(true);
    expect(can(t, 'slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0', 80)).toBe(false);
    expect(can(t, 'slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0', 8080)).toBe(true);
    // A NetworkPolicy selecting harry isolates him before the baseline is consulted.
    const np = policy('gryffindor', 'only-hufflepuff', { ingress: [{ name: 'hufflepuff', action: 'Allow', peers: [house('hufflepuff')] }] });
    const t2 = world(hogwarts(), [banp, np]);
    expect(can(t2, 'ravenclaw/luna-lovegood-0', 'gryffindor/harry-potter-0', 80)).toBe(false);
    expect(can(t2, 'hufflepuff/cedric-diggory-0', 'gryffindor/harry-potter-0', 80)).toBe(true);
  });
});

// ------------------------------------------------------------------ Kubernetes NetworkPolicy e2e (x/y/z × a/b/c)
const NS = ['x', 'y', 'z'];
const POD = ['a', 'b', 'c'];
function netpolPods(): VM[] {
  let n = 1;
  return NS.flatMap((ns) =>
    POD.map((p) => vm(p).inTenant(ns).withLabels({ pod: p }).onHost(n % 2 ? 'h1' : 'h2').withIps(`192.168.${NS.indexOf(ns)}.${n++}`).build()),
  );
}
const all = NS.flatMap((ns) => POD.map((p) => `${ns}/${p}`));

/** The reachability matrix: which from→to pairs connect. */
function reachability(t: Tracer, port: number, protocol: PacketProtocol = 'TCP'): Set<string> {
  const ok = new Set<string>();
  for (const from of all) for (const to of all) if (from !== to && can(t, from, to, port, protocol)) ok.add(`${from}>${to}`);
  return ok;
}
/** Everything connects except pairs matching `blocked`. */
const expectAllBut = (blocked: (from: string, to: string) => boolean) => {
  const s = new Set<string>();
  for (const from of all) for (const to of all) if (from !== to && !blocked(from, to)) s.add(`${from}>${to}`);
  return s;
};
const sel = (p: string) => ({ matchLabels: { pod: p } });

describe('NetworkPolicy e2e (Tenant tier)', () => {
  it('should support a default-deny-ingress policy', () => {
    const np = policy('x', 'deny-ingress', { ingress: [{ name: 'deny-all', action: 'Deny' }] });
    expect(reachability(world(netpolPods(), [np]), 80)).toEqual(expectAllBut((_f, to) => to.startsWith('x/')));
  });

  it('should support a default-deny-all policy', () => {
    const np = policy('x', 'deny-all', { ingress: [{ name: 'deny', action: 'Deny' }], egress: [{ name: 'deny', action: 'Deny' }] });
    expect(reachability(world(netpolPods(), [np]), 80)).toEqual(expectAllBut((f, to) => f.startsWith('x/') || to.startsWith('x/')));
  });

  it('should enforce policy to allow traffic from pods within server namespace based on PodSelector', () => {
    const np = policy('x', 'x-a-allows-x-b', { appliesTo: { vmSelector: sel('a') }, ingress: [{ name: 'from-b', action: 'Allow', peers: [{ vms: { vmSelector: sel('b') } }] }] });
    expect(reachability(world(netpolPods(), [np]), 80)).toEqual(expectAllBut((f, to) => to === 'x/a' && f !== 'x/b'));
  });

  it('should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector', () => {
    const np = policy('x', 'allow-y-b', {
      appliesTo: { vmSelector: sel('a') },
      ingress: [{ name: 'from-y-b', action: 'Allow', peers: [{ vms: { tenants: ['y'], vmSelector: sel('b') } }] }],
    });
    expect(reachability(world(netpolPods(), [np]), 80)).toEqual(expectAllBut((f, to) => to === 'x/a' && f !== 'y/b'));
  });

  it('should enforce policy based on Ports', () => {
    const np = policy('x', 'allow-81', { appliesTo: { vmSelector: sel('a') }, ingress: [{ name: 'port-81', action: 'Allow', peers: [{ tenants: ['x', 'y', 'z'] }], ports: tcp(81) }] });
    const t = world(netpolPods(), [np]);
    expect(reachability(t, 80)).toEqual(expectAllBut((_f, to) => to === 'x/a'));
    expect(reachability(t, 81)).toEqual(expectAllBut(() => false));
  });

  it('should support a port range with endPort', () => {
    const np = policy('x', 'range', { appliesTo: { vmSelector: sel('a') }, ingress: [{ name: 'r', action: 'Allow', ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }] });
    const t = world(netpolPods(), [np]);
    expect(can(t, 'y/b', 'x/a', 80)).toBe(true);
    expect(can(t, 'y/b', 'x/a', 81)).toBe(true);
    expect(can(t, 'y/b', 'x/a', 82)).toBe(false);
  });

  it('should enforce multiple, stacked policies with overlapping podSelectors (allows add up)', () => {
    const p1 = policy('x', 'allow-80', { appliesTo: { vmSelector: sel('a') }, ingress: [{ name: 'p80', action: 'Allow', ports: tcp(80) }] });
    const p2 = policy('x', 'allow-81', { ingress: [{ name: 'p81', action: 'Allow', ports: tcp(81) }] });
    const t = world(netpolPods(), [p1, p2]);
    expect(reachability(t, 80)).toEqual(expectAllBut((_f, to) => to.startsWith('x/') && to !== 'x/a'));
    expect(reachability(t, 81)).toEqual(expectAllBut(() => false));
  });

  it('should enforce ingress policy allowing any port traffic to a server on a specific protocol', () => {
    const np = policy('x', 'udp-only', { ingress: [{ name: 'udp', action: 'Allow', ports: [{ protocol: 'UDP' }] }] });
    const t = world(netpolPods(), [np]);
    expect(reachability(t, 53, 'UDP')).toEqual(expectAllBut(() => false));
    expect(reachability(t, 80, 'TCP')).toEqual(expectAllBut((_f, to) => to.startsWith('x/')));
    expect(can(t, 'y/a', 'x/a', 7, 'SCTP')).toBe(false);
  });

  it('should allow egress access to server in CIDR block, and enforce except clause', () => {
    // y's pods are 192.168.1.x: allow egress from x/a to 192.168.1.0/24 except y/b's /32.
    const pods = netpolPods();
    const yb = pods.find((p) => p.metadata.namespace === 'y' && p.metadata.name === 'b')!.spec.vnics[0]!.ip;
    const np = policy('x', 'cidr', {
      appliesTo: { vmSelector: sel('a') },
      egress: [{ name: 'to-y', action: 'Allow', peers: [{ cidr: { cidr: '192.168.1.0/24', except: [`${yb}/32`] } }] }],
    });
    expect(reachability(world(pods, [np]), 80)).toEqual(expectAllBut((f, to) => f === 'x/a' && (to === 'y/b' || !to.startsWith('y/'))));
  });

  it('should support allow-all policy', () => {
    const np = policy('x', 'allow-all', { ingress: [{ name: 'all', action: 'Allow' }] });
    expect(reachability(world(netpolPods(), [np]), 80)).toEqual(expectAllBut(() => false));
  });
});

describe('our Default tier (no Kubernetes default-allow stand-in)', () => {
  it('allows within a tenant and cuts tenants off from each other', () => {
    const t = new Tracer(
      { tenants: NS.map((n) => tenant(n)), tags: [], hosts: [host('h1'), host('h2')], vms: netpolPods(), policies: [] },
      (spec) => buildClassifier(spec),
    );
    expect(reachability(t, 80)).toEqual(expectAllBut((f, to) => f.split('/')[0] !== to.split('/')[0]));
  });
});
