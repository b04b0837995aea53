// `vmsafe trace --live`: a packet's verdict from what the cluster enforces now, not from manifests.
// Each vNIC end is judged by the classifier the agent of its VM's host builds: the HostFilter the
// operator compiled for that host, plus the members of the shared AddressGroups its rules name.
// Only what the packet needs is read (the endpoint VMs, their hosts' filters, the shards of the shared
// groups those vNICs' programs use: a handful of GETs and paged lists), so it answers in well under a
// second at datacenter scale. When an agent has not applied its filter's current compile yet, the
// answer says so (`pending`): the verdict is the compiled one, which that host will enforce next.
import type { AddressGroupShard, HostFilter, HostFilterSpec, VM } from '../api';
import { buildClassifier } from '../dataplane/classifier';
import { SharedGroupSets } from '../dataplane/shared-groups';
import { withSpoofGuard } from '../dataplane/spoofguard';
import type { Classifier } from '../dataplane/types';
import type { KubeClient } from '../runtime/client';
import { isNotFound } from '../runtime/errors';
import type { Endpoint, Packet } from './reference';
import { ProbeError } from './trace-format';
import { packetVerdict, type ResolvedEnd, type TraceResult } from './tracer';

/** Label on AddressGroup shards naming their shared group (the operator's ADDRESS_GROUP_LABEL). */
export const ADDRESS_GROUP_LABEL = 'vmsafe.io/address-group';
/** Page size for listing a shared group's shards (each shard holds one /16's members). */
const PAGE = 100;

/** What the cluster holds, as much as a trace reads of it. */
export interface LiveSource {
  vm(key: string): Promise<VM | undefined>;
  hostFilter(host: string): Promise<HostFilter | undefined>;
  /** Every shard of one shared address group. */
  shards(group: string): Promise<AddressGroupShard[]>;
}

/** The cluster through the API server: GETs for objects, paged (limit/continue) lists for shards. */
export function kubeSource(client: KubeClient): LiveSource {
  const get = async <T>(p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    vm: (key) => {
      const [namespace, name] = key.split('/') as [string, string];
      return get(client.kind<VM & { metadata: { name: string } }>('VM').get({ namespace, name }));
    },
    hostFilter: (host) => get(client.kind<HostFilter & { metadata: { name: string } }>('HostFilter').get(host)),
    async shards(group) {
      const out: AddressGroupShard[] = [];
      let cont: string | undefined;
      do {
        const page = await client.kind<AddressGroupShard & { metadata: { name: string } }>('AddressGroup').list({
          labelSelector: `${ADDRESS_GROUP_LABEL}=${group}`,
          limit: PAGE,
          continue: cont,
        });
        out.push(...page.items);
        cont = page.metadata.continue || undefined;
      } while (cont);
      return out;
    },
  };
}

export interface LiveResult extends TraceResult {
  /** Hosts whose agent has not applied the filter's current compile (status.appliedHash ≠ spec.hash). */
  pending: string[];
}

/** Traces packets against a LiveSource, reading each object once however many packets need it. */
export class LiveTracer {
  private readonly vms = new Map<string, Promise<VM | undefined>>();
  private readonly filters = new Map<string, Promise<HostFilter | undefined>>();
  private readonly classifiers = new Map<string, Promise<Classifier>>();
  private readonly shared = new SharedGroupSets();
  private readonly groupsRead = new Map<string, Promise<void>>();

  constructor(private readonly source: LiveSource) {}

  private vm(key: string): Promise<VM | undefined> {
    let p = this.vms.get(key);
    if (!p) this.vms.set(key, (p = this.source.vm(key)));
    return p;
  }

  private filter(host: string): Promise<HostFilter | undefined> {
    let p = this.filters.get(host);
    if (!p) this.filters.set(host, (p = this.source.hostFilter(host)));
    return p;
  }

  /** Read the shards of the shared groups the given programs use (each group once). */
  private async readGroups(spec: HostFilterSpec, programs: Set<string>): Promise<void> {
    const shared = new Set(spec.addressGroups.filter((g) => g.shared).map((g) => g.id));
    if (shared.size === 0) return;
    const used = new Set<string>();
    for (const p of spec.programs)
      if (programs.has(p.id)) for (const r of [...p.egress, ...p.ingress]) for (const peer of r.peers) if (peer.group && shared.has(peer.group)) used.add(peer.group);
    await Promise.all(
      [...used].map((g) => {
        let p = this.groupsRead.get(g);
        if (!p) {
          p = this.source.shards(g).then((shards) => {
            for (const s of shards) this.shared.put(s.metadata.name, s.spec);
          });
          this.groupsRead.set(g, p);
        }
        return p;
      }),
    );
  }

  /** The agent's classifier for a host (its filter must exist; the caller checked). */
  private classifier(host: string, spec: HostFilterSpec): Promise<Classifier> {
    let c = this.classifiers.get(host);
    if (!c) {
      // Every program bound on the host: a later packet may need another vNIC's program here.
      c = this.readGroups(spec, new Set(spec.bindings.map((b) => b.program))).then(() =>
        withSpoofGuard(spec, buildClassifier(spec, { sharedGroups: this.shared })),
      );
      this.classifiers.set(host, c);
    }
    return c;
  }

  /** An end as the data path sees it: the vNIC, its address and the host it runs on. */
  private async resolve(e: Endpoint): Promise<ResolvedEnd> {
    if ('ip' in e) return { ip: e.ip };
    const vm = await this.vm(e.vm);
    if (!vm) throw new ProbeError(`no VM ${e.vm}`);
    const nic = e.vnic === undefined ? vm.spec.vnics[0] : vm.spec.vnics.find((n) => n.name === e.vnic);
    if (!nic) throw new ProbeError(e.vnic === undefined ? `VM ${e.vm} has no vNIC` : `VM ${e.vm} has no vNIC ${e.vnic}`);
    const host = vm.status?.hostName;
    if (!host) throw new ProbeError(`VM ${e.vm} runs on no host (phase ${vm.status?.phase ?? 'Pending'}): no filter judges its packets`);
    return { vm: e.vm, vnic: nic.name, ip: nic.ip, host };
  }

  async trace(pkt: Packet): Promise<LiveResult> {
    const [from, to] = await Promise.all([this.resolve(pkt.from), this.resolve(pkt.to)]);
    const hosts = [...new Set([from, to].flatMap((e) => ('vm' in e ? [e.host] : [])))];
    const filters = await Promise.all(hosts.map((h) => this.filter(h)));
    const pending: string[] = [];
    const classifiers = new Map<string, Classifier>();
    for (const [i, host] of hosts.entries()) {
      const f = filters[i];
      // No filter: the operator has compiled nothing for this host yet; a trace cannot say what it enforces.
      if (!f) throw new ProbeError(`host ${host} has no HostFilter yet (the operator has not compiled it): nothing to trace against`);
      if (f.status?.appliedHash !== f.spec.hash) pending.push(host);
      classifiers.set(host, await this.classifier(host, f.spec));
    }
    let compiled;
    try {
      compiled = packetVerdict(pkt, from, to, (h) => classifiers.get(h)!);
    } catch (err) {
      throw new ProbeError((err as Error).message);
    }
    // Live there is no second opinion to hold the filter to: the filter is what runs.
    return { compiled, reference: compiled, agree: true, hosts: { egress: 'vm' in from ? from.host : null, ingress: 'vm' in to ? to.host : null }, pending };
  }
}
