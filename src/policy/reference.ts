// The reference evaluator: DESIGN.md "Policy semantics (normative)" as plain code, straight from the
// objects. It is the spec the compiler and the classifier are tested against, so it favours being
// obviously right over being fast: every question is answered by scanning the objects.
//
// Decisions this file makes where DESIGN.md is silent (the compiler follows them):
// - A VM's host is status.hostName, else spec.hostName. Only VMs with a host ("placed") resolve as
//   peers and count as same-tenant vNICs; phase does not matter otherwise (a quarantined VM is placed,
//   its own filter denies everything anyway).
// - Peers match by address: a remote address matches a `vms`/`tenants`/`sameTenant` peer when it is
//   the address of some vNIC of a matching placed VM.
// - A namespace claimed by several tenants belongs to the first claimant by creation, then name
//   (ownership.ts); the provider namespace belongs to no tenant.
// - A VM with a vNIC address it does not own (outside its tenant's addressBlocks, or already held by
//   an earlier vNIC; ownership.ts) is never bound: it counts as not placed, whatever its host says.
// - An empty list (`appliesTo.tenants: []`, `vms.tenants: []`) means the same as leaving it out.
// - `appliesTo.tags` / `vms.tags`: the VM carries all of them.
// - Inside a tier, policies run in (priority, name) order, then namespace (a tenant may have several).
// - A Pass in the Baseline tier goes on to the Default tier.
// - A quarantined VM (status.phase Quarantined) denies everything on both sides: tier Provider,
//   policy null, rule "quarantine".
// - Spoof guard (rule 0): a packet from a vNIC that carries a source IP or MAC (srcIp/srcMac) other
//   than that vNIC's own is dropped at the source: egress = Deny, tier Provider (like quarantine, it
//   precedes every tier and even quarantine), policy null, rule "spoofguard"; ingress = null (it never
//   arrives). Only the sender's side is checked: the destination's host cannot tell a forged source
//   from a real one, and every vNIC source is guarded at its own host; outside sources that claim a
//   tenant's address are the edge's business (anti-spoofing at the provider gateway, see README).
// - A Staged policy (spec.enforcement) is not enforced: it is ignored here like a rejected one.
// - A VM in a namespace no tenant owns has no tenant: only Provider/Baseline policies apply to it,
//   and the Default tier allows nothing (it has no same-tenant peers).
import type { PortSpec, Rule, SecurityPolicy, Tenant, VM } from '../api';
import { PROVIDER_NAMESPACE } from '../api';
import type { Decision, Direction, PacketProtocol, PacketVerdict } from './decision';
import { IMPLICIT_RULES } from './decision';
import { isEnforced } from './staged';
import { addressOwnership, namespaceOwnership } from './ownership';

export interface World {
  tenants: readonly Tenant[];
  vms: readonly VM[];
  policies: readonly SecurityPolicy[];
  providerNamespace?: string;
}

/** One end of a packet: a vNIC ("ns/name" and vNIC name, default the first vNIC), or an address. */
export type Endpoint = { vm: string; vnic?: string } | { ip: string };

export interface Packet {
  from: Endpoint;
  to: Endpoint;
  protocol: PacketProtocol;
  /** Destination port (ignored for ICMP). */
  port: number;
  /** The source IP / MAC the packet carries when it differs from (or restates) the source vNIC's: a probe of the spoof guard. */
  srcIp?: string;
  srcMac?: string;
}

// ---------------------------------------------------------------- plain helpers
function ipToNumber(ip: string): number {
  const [a, b, c, d] = ip.split('.').map(Number);
  return ((a! * 256 + b!) * 256 + c!) * 256 + d!;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, lenText] = cidr.split('/');
  const size = 2 ** (32 - Number(lenText));
  const start = Math.floor(ipToNumber(base!) / size) * size;
  const v = ipToNumber(ip);
  return v >= start && v < start + size;
}

function labelsMatch(sel: NonNullable<Rule['peers'][number]['vms']>['vmSelector'], labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    // Own labels only, as selectorMatches: `constructor in labels` is true for every VM.
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && values.includes(labels[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const keyOf = (o: { metadata: { namespace?: string; name: string } }) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const nonEmpty = (l: string[] | undefined): string[] | undefined => (l && l.length > 0 ? l : undefined);

export class ReferenceEvaluator {
  private readonly providerNamespace: string;
  // Three lookup tables, built once, so that tracing against a whole datacenter's manifests stays
  // usable; the semantics below still read straight from the objects.
  private readonly owners: Map<string, string>;
  private readonly refused = new Set<string>();
  private readonly byKey = new Map<string, VM>();
  private readonly placedByIp = new Map<string, VM[]>();

  constructor(private readonly world: World) {
    this.providerNamespace = world.providerNamespace ?? PROVIDER_NAMESPACE;
    // The tenant that owns a namespace: its first claimant by creation, then name (ownership.ts).
    this.owners = namespaceOwnership(world.tenants, this.providerNamespace).owners;
    // A VM refused one of its addresses (outside its tenant's blocks, or held by an earlier vNIC) is
    // bound nowhere: it is not placed, and no peer resolves to it.
    for (const r of addressOwnership(world.tenants, world.vms, (ns) => this.owners.get(ns)).refused.values()) this.refused.add(r.vm);
    for (const v of world.vms) {
      this.byKey.set(keyOf(v), v);
      if (!this.isPlaced(v)) continue;
      for (const n of v.spec.vnics) {
        const l = this.placedByIp.get(n.ip) ?? [];
        l.push(v);
        this.placedByIp.set(n.ip, l);
      }
    }
  }

  // ---------------------------------------------------------------- facts about objects
  tenantOfNamespace(ns: string): string | null {
    return this.owners.get(ns) ?? null;
  }

  tenantOf(vm: VM): string | null {
    return this.tenantOfNamespace(vm.metadata.namespace ?? '');
  }

  isPlaced(vm: VM): boolean {
    return !this.refused.has(keyOf(vm)) && Boolean(vm.status?.hostName || vm.spec.hostName);
  }

  findVm(key: string): VM | undefined {
    return this.byKey.get(key);
  }

  /** Null when the policy is accepted, otherwise why not. */
  rejection(p: SecurityPolicy): string | null {
    const ns = p.metadata.namespace ?? '';
    const tier = p.spec.tier ?? 'Tenant';
    if (ns === this.providerNamespace) return tier === 'Tenant' ? 'Tenant tier in the provider namespace' : null;
    if (tier !== 'Tenant') return `tier ${tier} outside the provider namespace`;
    const owner = this.tenantOfNamespace(ns);
    if (owner === null) return 'namespace belongs to no tenant';
    if ((p.spec.appliesTo?.tenants ?? []).some((t) => t !== owner)) return 'selects another tenant';
    return null;
  }

  /** Does an accepted policy apply to this VM? (appliesTo fields ANDed, scoped by tier.) */
  appliesTo(p: SecurityPolicy, vm: VM): boolean {
    const vmTenant = this.tenantOf(vm);
    if ((p.spec.tier ?? 'Tenant') === 'Tenant') {
      if (vmTenant === null || vmTenant !== this.tenantOfNamespace(p.metadata.namespace ?? '')) return false;
    }
    const a = p.spec.appliesTo ?? {};
    if (!labelsMatch(a.vmSelector, vm.metadata.labels ?? {})) return false;
    if (!(a.tags ?? []).every((t) => (vm.spec.tags ?? []).includes(t))) return false;
    const tenants = nonEmpty(a.tenants);
    if (tenants && (vmTenant === null || !tenants.includes(vmTenant))) return false;
    return true;
  }

  /** Placed VMs with a vNIC at this address. */
  private vmsWithIp(ip: string): VM[] {
    return this.placedByIp.get(ip) ?? [];
  }

  private peerMatches(p: SecurityPolicy, peer: Rule['peers'][number], local: VM, remoteIp: string): boolean {
    const tier = p.spec.tier ?? 'Tenant';
    if (peer.cidr) return inCidr(remoteIp, peer.cidr.cidr) && !(peer.cidr.except ?? []).some((e) => inCidr(remoteIp, e));
    const candidates = this.vmsWithIp(remoteIp);
    if (peer.sameTenant) {
      const mine = this.tenantOf(local);
      return mine !== null && candidates.some((v) => this.tenantOf(v) === mine);
    }
    if (peer.tenants) return candidates.some((v) => peer.tenants!.includes(this.tenantOf(v) ?? '\u0000'));
    if (peer.vms) {
      const vms = peer.vms;
      const tenants = nonEmpty(vms.tenants) ?? (tier === 'Tenant' ? [this.tenantOfNamespace(p.metadata.namespace ?? '')!] : undefined);
      return candidates.some(
        (v) =>
          (!tenants || tenants.includes(this.tenantOf(v) ?? '\u0000')) &&
          (vms.tags ?? []).every((t) => (v.spec.tags ?? []).includes(t)) &&
          labelsMatch(vms.vmSelector, v.metadata.labels ?? {}),
      );
    }
    return false;
  }

  private portMatches(e: PortSpec, protocol: PacketProtocol, port: number): boolean {
    const proto = e.protocol ?? 'TCP';
    if (proto !== 'Any' && proto !== protocol) return false;
    if (e.port === undefined) return true;
    if (protocol === 'ICMP') return false;
    return port >= e.port && port <= (e.endPort ?? e.port);
  }

  ruleMatches(p: SecurityPolicy, r: Rule, local: VM, remoteIp: string, protocol: PacketProtocol, port: number): boolean {
    const peers = r.peers ?? [];
    const ports = r.ports ?? [];
    const peerOk = peers.length === 0 || peers.some((peer) => this.peerMatches(p, peer, local, remoteIp));
    const portOk = ports.length === 0 || ports.some((e) => this.portMatches(e, protocol, port));
    return peerOk && portOk;
  }

  /** Accepted policies of a tier that apply to the VM, in evaluation order. */
  policiesFor(vm: VM, tier: 'Provider' | 'Tenant' | 'Baseline'): SecurityPolicy[] {
    return this.world.policies
      .filter((p) => (p.spec.tier ?? 'Tenant') === tier && isEnforced(p) && this.rejection(p) === null && this.appliesTo(p, vm))
      .sort(
        (a, b) =>
          (a.spec.priority ?? 500) - (b.spec.priority ?? 500) ||
          cmp(a.metadata.name, b.metadata.name) ||
          cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? ''),
      );
  }

  // ---------------------------------------------------------------- the semantics
  /** One vNIC, one direction: which tier, policy and rule decides. */
  decide(vmKey: string, direction: Direction, remoteIp: string, protocol: PacketProtocol, port: number): Decision {
    const vm = this.findVm(vmKey);
    if (!vm) throw new Error(`no VM ${vmKey}`);
    if (vm.status?.phase === 'Quarantined') return { verdict: 'Deny', tier: 'Provider', policy: null, rule: IMPLICIT_RULES.quarantine };
    const rulesOf = (p: SecurityPolicy) => (direction === 'ingress' ? p.spec.ingress : p.spec.egress) ?? [];

    // 1. Provider tier: first match decides; Pass skips the rest of the tier.
    provider: for (const p of this.policiesFor(vm, 'Provider')) {
      for (const r of rulesOf(p)) {
        if (!this.ruleMatches(p, r, vm, remoteIp, protocol, port)) continue;
        if (r.action === 'Pass') break provider;
        return { verdict: r.action, tier: 'Provider', policy: keyOf(p), rule: r.name };
      }
    }

    // 2. Tenant tier: isolated in this direction when any own policy with rules in it applies.
    const tenantPolicies = this.policiesFor(vm, 'Tenant').filter((p) => rulesOf(p).length > 0);
    if (tenantPolicies.length > 0) {
      let passed = false;
      tenant: for (const p of tenantPolicies) {
        for (const r of rulesOf(p)) {
          if (!this.ruleMatches(p, r, vm, remoteIp, protocol, port)) continue;
          if (r.action === 'Pass') {
            passed = true;
            break tenant;
          }
          return { verdict: r.action, tier: 'Tenant', policy: keyOf(p), rule: r.name };
        }
      }
      if (!passed) return { verdict: 'Deny', tier: 'Tenant', policy: null, rule: IMPLICIT_RULES.isolation };
    }

    // 3. Baseline tier: first match decides; Pass goes on to the default.
    baseline: for (const p of this.policiesFor(vm, 'Baseline')) {
      for (const r of rulesOf(p)) {
        if (!this.ruleMatches(p, r, vm, remoteIp, protocol, port)) continue;
        if (r.action === 'Pass') break baseline;
        return { verdict: r.action, tier: 'Baseline', policy: keyOf(p), rule: r.name };
      }
    }

    // 4. Default: same tenant allowed, anything else denied.
    const mine = this.tenantOf(vm);
    if (mine !== null && this.vmsWithIp(remoteIp).some((v) => this.tenantOf(v) === mine))
      return { verdict: 'Allow', tier: 'Default', policy: null, rule: IMPLICIT_RULES.sameTenant };
    return { verdict: 'Deny', tier: 'Default', policy: null, rule: IMPLICIT_RULES.defaultDeny };
  }

  /** The address of an endpoint (a vNIC's IP, default vNIC = the first). */
  addressOf(e: Endpoint): string {
    if ('ip' in e) return e.ip;
    const vm = this.findVm(e.vm);
    if (!vm) throw new Error(`no VM ${e.vm}`);
    const nic = e.vnic === undefined ? vm.spec.vnics[0] : vm.spec.vnics.find((n) => n.name === e.vnic);
    if (!nic) throw new Error(`VM ${e.vm} has no vNIC ${e.vnic}`);
    return nic.ip;
  }

  /** The source vNIC of a packet, or null when the source is an address. */
  private sourceNic(e: Endpoint): VM['spec']['vnics'][number] | null {
    if ('ip' in e) return null;
    const vm = this.findVm(e.vm)!;
    return (e.vnic === undefined ? vm.spec.vnics[0] : vm.spec.vnics.find((n) => n.name === e.vnic)) ?? null;
  }

  /** Rule 0: does the packet claim a source other than its vNIC's own address or MAC? */
  spoofed(pkt: Packet): boolean {
    if (pkt.srcIp === undefined && pkt.srcMac === undefined) return false;
    const nic = this.sourceNic(pkt.from);
    if (!nic) throw new Error('srcIp/srcMac apply to a packet from a vNIC, not from an address');
    if (pkt.srcIp !== undefined && pkt.srcIp !== nic.ip) return true;
    return pkt.srcMac !== undefined && pkt.srcMac.toLowerCase() !== nic.mac.toLowerCase();
  }

  /** A whole packet: egress at the source vNIC, ingress at the destination vNIC; an address side is null. */
  evaluate(pkt: Packet): PacketVerdict {
    this.addressOf(pkt.from); // a missing VM or vNIC is an error before anything else
    if (this.spoofed(pkt)) {
      this.addressOf(pkt.to);
      return { verdict: 'Deny', egress: { verdict: 'Deny', tier: 'Provider', policy: null, rule: IMPLICIT_RULES.spoofguard }, ingress: null };
    }
    const fromIp = this.addressOf(pkt.from);
    const toIp = this.addressOf(pkt.to);
    const egress = 'vm' in pkt.from ? this.decide(pkt.from.vm, 'egress', toIp, pkt.protocol, pkt.port) : null;
    const ingress = 'vm' in pkt.to ? this.decide(pkt.to.vm, 'ingress', fromIp, pkt.protocol, pkt.port) : null;
    const allowed = (d: Decision | null) => d === null || d.verdict === 'Allow';
    return { verdict: allowed(egress) && allowed(ingress) ? 'Allow' : 'Deny', egress, ingress };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
