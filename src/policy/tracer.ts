// A packet through the compiled filters (each side on its own host's classifier), beside the
// reference evaluator's answer: what `vmsafe trace` and the differential tests run.
import type { Host, HostFilterSpec, SecurityPolicy, Tag, Tenant, VM } from '../api';
import { withSpoofGuard } from '../dataplane/spoofguard';
import type { Classifier } from '../dataplane/types';
import { PolicyCompiler, type CompilerOptions } from './compile';
import { type Decision, type Direction, IMPLICIT_RULES, type PacketVerdict } from './decision';
import { ReferenceEvaluator, type Endpoint, type Packet } from './reference';

export interface TraceWorld {
  tenants: Tenant[];
  tags: Tag[];
  hosts: Host[];
  vms: VM[];
  policies: SecurityPolicy[];
  providerNamespace?: string;
}

export interface TraceResult {
  /** From the compiled host filters. */
  compiled: PacketVerdict;
  /** From the reference evaluator. */
  reference: PacketVerdict;
  agree: boolean;
  /** Where each vNIC side was judged. */
  hosts: { egress: string | null; ingress: string | null };
}

const sameDecision = (a: Decision | null, b: Decision | null) =>
  a === b || (a !== null && b !== null && a.verdict === b.verdict && a.tier === b.tier && a.policy === b.policy && a.rule === b.rule);

export class Tracer {
  readonly compiler: PolicyCompiler;
  readonly reference: ReferenceEvaluator;
  private readonly classifiers = new Map<string, Classifier>();

  constructor(
    world: TraceWorld,
    private readonly buildClassifier: (spec: HostFilterSpec) => Classifier,
    compilerOptions: Omit<CompilerOptions, 'providerNamespace' | 'inventory'> = {},
    /**
     * A compiler that already holds exactly `world.tenants` and `world.policies` (placeOffline's), which
     * the tracer takes over and adds the rest to: at 40,000 tenants, compiling those twice is a second.
     */
    seeded?: PolicyCompiler,
  ) {
    if (seeded) {
      seeded.apply([...world.tags, ...world.hosts, ...world.vms].map((object) => ({ op: 'upsert' as const, object })));
      this.compiler = seeded;
    } else {
      this.compiler = PolicyCompiler.compileAll(
        [...world.tenants, ...world.tags, ...world.hosts, ...world.vms, ...world.policies],
        { ...compilerOptions, providerNamespace: world.providerNamespace },
      );
    }
    this.reference = new ReferenceEvaluator(world);
  }

  private classifier(host: string): Classifier {
    let c = this.classifiers.get(host);
    if (!c) {
      const spec = this.compiler.spec(host);
      if (!spec) throw new Error(`host ${host} has no compiled filter (no Host object?)`);
      // The spoof guard sits in front of every data path's classifier, as on the agent.
      this.classifiers.set(host, (c = withSpoofGuard(spec, this.buildClassifier(spec))));
    }
    return c;
  }

  /** The vNIC an endpoint names (default: the VM's first vNIC), with its VM's host. */
  resolve(e: Endpoint): ResolvedEnd {
    if ('ip' in e) return { ip: e.ip };
    const rec = this.compiler.inventory.vms.get(e.vm);
    if (!rec) throw new Error(`no VM ${e.vm}`);
    const nic = e.vnic === undefined ? rec.vnics[0] : rec.vnics.find((n) => n.name === e.vnic);
    if (!nic) throw new Error(`VM ${e.vm} has no vNIC ${e.vnic}`);
    const host = rec.hosts[0];
    if (!host) throw new Error(`VM ${e.vm} is not placed on any host`);
    return { vm: rec.key, vnic: nic.name, ip: nic.ip, host };
  }

  trace(pkt: Packet): TraceResult {
    const from = this.resolve(pkt.from);
    const to = this.resolve(pkt.to);
    const compiled = packetVerdict(pkt, from, to, (host) => this.classifier(host));
    const reference = this.reference.evaluate(pkt);
    const agree =
      compiled.verdict === reference.verdict && sameDecision(compiled.egress, reference.egress) && sameDecision(compiled.ingress, reference.ingress);
    return { compiled, reference, agree, hosts: { egress: 'vm' in from ? from.host : null, ingress: 'vm' in to ? to.host : null } };
  }
}

/** A resolved end of a packet: a vNIC on a host, or an address outside every filter. */
export type ResolvedEnd = { vm: string; vnic: string; ip: string; host: string } | { ip: string };

/**
 * The verdict of a packet between two resolved ends, each vNIC side judged by its host's classifier
 * (offline: compiled from manifests; live: built from the cluster's HostFilter): the egress side
 * first; a packet the spoof guard drops never reaches the destination; Allow only if both sides allow.
 */
export function packetVerdict(pkt: Packet, from: ResolvedEnd, to: ResolvedEnd, classifierOf: (host: string) => Classifier): PacketVerdict {
  if (!('vm' in from) && (pkt.srcIp !== undefined || pkt.srcMac !== undefined)) throw new Error('srcIp/srcMac apply to a packet from a vNIC, not from an address');
  const side = (end: ResolvedEnd, direction: Direction, remoteIp: string): Decision | null =>
    'vm' in end
      ? classifierOf(end.host).classify({
          vm: end.vm, vnic: end.vnic, direction, remoteIp, protocol: pkt.protocol, port: pkt.port,
          ...(direction === 'egress' ? { localIp: pkt.srcIp, localMac: pkt.srcMac } : {}),
        })
      : null;
  const egress = side(from, 'egress', to.ip);
  const ingress = egress?.rule === IMPLICIT_RULES.spoofguard ? null : side(to, 'ingress', from.ip);
  const allowed = (d: Decision | null) => d === null || d.verdict === 'Allow';
  return { verdict: allowed(egress) && allowed(ingress) ? 'Allow' : 'Deny', egress, ingress };
}
