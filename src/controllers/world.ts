// The operator's view of the cluster: one informer per kind, parsed at the cache edge, with the
// secondary indexes the controllers fan in through (VMs by host/tag/namespace, hosts by tag, ...).
import {
  addressGroupShard as addressGroupSchema, host as hostSchema, securityPolicy as policySchema, tag as tagSchema,
  tenant as tenantSchema, vm as vmSchema,
  type AddressGroupShard, type Host, type HostFilter, type SecurityPolicy, type Tag, type Tenant, type VM,
} from '../api';
import { Inventory } from '../policy/inventory';
import { firstClaimant } from '../policy/ownership';
import { kindResource, LEASES, NAMESPACES, type KubeClient, type KubeObject, type ResourceInfo } from '../runtime/client';
import { Informer } from '../runtime/informer';
import type { RuntimeMetrics } from '../runtime/metrics';
import type { Logger } from '../util/log';
import { SYSTEM_NAMESPACE, TENANT_LABEL } from './names';

export const ROLEBINDINGS: ResourceInfo = {
  group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', namespaced: true, kind: 'RoleBinding',
};

export interface LeaseObj extends KubeObject {
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number; acquireTime?: string };
}

const uniq = (xs: Array<string | undefined>) => [...new Set(xs.filter((x): x is string => !!x))];

/** Every host a VM occupies or is pinned to, for fan-in from Host/HostFilter changes. */
export const vmHosts = (vm: VM) => uniq([vm.status?.hostName, vm.status?.targetHostName, vm.spec.hostName]);

/**
 * The values of a policy's spec for an index, once per spec object: a list shares one frozen spec
 * among the policies that carry the same text (26,615 specs for 79,729 policies at vmworld), and a
 * status echo keeps the cached spec, so the index is read for both versions from the same spec.
 */
function perSpec(values: (spec: SecurityPolicy['spec']) => string[]): (p: SecurityPolicy) => readonly string[] {
  const memo = new WeakMap<object, readonly string[]>();
  return (p) => {
    let v = memo.get(p.spec);
    if (v === undefined) memo.set(p.spec, (v = Object.freeze(values(p.spec))));
    return v;
  };
}

/** Every tag a policy names (appliesTo and peers): a Tag change re-evaluates these policies. */
export const policyTags = perSpec((spec) => {
  const out = [...(spec.appliesTo.tags ?? [])];
  for (const r of [...spec.ingress, ...spec.egress]) for (const peer of r.peers) out.push(...(peer.vms?.tags ?? []));
  return uniq(out);
});

/** Every tenant a policy names, explicitly (appliesTo and peers). */
export const policyTenants = perSpec((spec) => {
  const out = [...(spec.appliesTo.tenants ?? [])];
  for (const r of [...spec.ingress, ...spec.egress])
    for (const peer of r.peers) out.push(...(peer.tenants ?? []), ...(peer.vms?.tenants ?? []));
  return uniq(out);
});

/** The members of a HostFilter's spec the operator never reads back (it compiled them). */
export const HOSTFILTER_BULK = ['programs', 'addressGroups', 'bindings'] as const;

/** HostFilters listed per page: ~160 KB each at vmworld, so a page is a few MB, not 75. */
export const HOSTFILTER_PAGE = 25;

/** A HostFilter with its spec reduced to name and hash (what the operator's readers use). */
export function slimHostFilter(raw: KubeObject): KubeObject {
  const o = raw as unknown as HostFilter;
  if (!o.spec) return raw;
  return { ...raw, spec: { hostName: o.spec.hostName, hash: o.spec.hash, programs: [], addressGroups: [], bindings: [] } } as unknown as KubeObject;
}

export const hostTags = (h: Host) => uniq([...h.spec.tags, ...h.spec.networks.flatMap((n) => n.tags)]);

export class World {
  readonly tenants: Informer<Tenant>;
  readonly tags: Informer<Tag>;
  readonly hosts: Informer<Host>;
  readonly vms: Informer<VM>;
  readonly policies: Informer<SecurityPolicy>;
  readonly filters: Informer<HostFilter>;
  readonly addressGroups: Informer<AddressGroupShard>;
  readonly leases: Informer<LeaseObj>;
  readonly namespaces: Informer<KubeObject>;
  readonly roleBindings: Informer<KubeObject>;
  private readonly all: Informer<any>[];

  constructor(client: KubeClient, opts: { logger: Logger; metrics?: RuntimeMetrics }) {
    const mk = <T extends object>(resource: ResourceInfo, extra: Partial<ConstructorParameters<typeof Informer<T>>[0]> = {}) =>
      new Informer<T>({
        client,
        resource,
        logger: opts.logger,
        metrics: opts.metrics?.informerHooks?.(resource.plural),
        shareEqualParts: true,
        ...extra,
      });
    this.tenants = mk<Tenant>(kindResource('Tenant'), { schema: tenantSchema as never });
    this.tags = mk<Tag>(kindResource('Tag'), { schema: tagSchema as never });
    this.hosts = mk<Host>(kindResource('Host'), { schema: hostSchema as never });
    this.vms = mk<VM>(kindResource('VM'), { schema: vmSchema as never });
    this.policies = mk<SecurityPolicy>(kindResource('SecurityPolicy'), { schema: policySchema as never, memoParts: ['spec', 'status'] });
    // No schema for HostFilters, and only the hash of their spec is kept: the operator writes the spec
    // itself (the compiler holds it) and reads the hash and the agent's status. Decoding every ~160 KB
    // filter on each event cost CPU, and holding 512 of them ~300 MB of heap, which the collector
    // then walked over and over at cold start.
    // A list drops those members before parsing (at restart, 512 filters are ~75 MB of JSON), in
    // pages of 25 (~4 MB): a page of 500 filters was one 73 MB response, held in chunks until its
    // last byte and then joined, ~150 MB outside the heap through most of a restart's lists.
    this.filters = mk<HostFilter>(kindResource('HostFilter'), { transform: slimHostFilter, dropMembers: { spec: HOSTFILTER_BULK }, shareEqualParts: false, pageSize: HOSTFILTER_PAGE });
    this.addressGroups = mk<AddressGroupShard>(kindResource('AddressGroup'), { schema: addressGroupSchema as never, shareEqualParts: false });
    this.leases = mk<LeaseObj>(LEASES, { namespace: SYSTEM_NAMESPACE });
    // Every namespace has the same spec and status (kube-apiserver's finalizer, phase Active): 40,000
    // copies at vmworld, parsed once.
    this.namespaces = mk<KubeObject>(NAMESPACES, { memoParts: ['spec', 'status'] });
    this.roleBindings = mk<KubeObject>(ROLEBINDINGS, { labelSelector: TENANT_LABEL });
    this.all = [this.tenants, this.tags, this.hosts, this.vms, this.policies, this.filters, this.addressGroups, this.leases, this.namespaces, this.roleBindings];

    this.vms.addIndex('host', vmHosts);
    this.vms.addIndex('tag', (vm) => vm.spec.tags);
    this.vms.addIndex('namespace', (vm) => [vm.metadata.namespace ?? '']);
    this.hosts.addIndex('tag', hostTags);
    this.tenants.addIndex('namespace', (t) => Inventory.namespacesOf(t));
    this.tenants.addIndex('tag', (t) => t.spec.placementTags);
    this.policies.addIndex('namespace', (p) => [p.metadata.namespace ?? '']);
    this.policies.addIndex('tag', policyTags);
    this.policies.addIndex('tenant', policyTenants);
  }

  start(): this {
    for (const i of this.all) i.start();
    return this;
  }

  async waitForSync(timeoutMs: number): Promise<boolean> {
    const r = await Promise.all(this.all.map((i) => i.waitForSync(timeoutMs)));
    return r.every(Boolean);
  }

  hasSynced(): boolean {
    return this.all.every((i) => i.hasSynced());
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
  }

  /**
   * The tenant that owns a namespace: the first claimant by creation (ownership.ts; a later claimant
   * gets NamespaceConflict on its status). The provider namespace belongs to no tenant.
   */
  tenantOfNamespace(ns: string | undefined): Tenant | undefined {
    if (!ns || ns === SYSTEM_NAMESPACE) return undefined;
    const owners = this.tenants.byIndex('namespace', ns);
    return owners.length <= 1 ? owners[0] : firstClaimant(owners);
  }

  tagsByName(): Map<string, Tag> {
    return new Map(this.tags.list().map((t) => [t.metadata.name, t]));
  }
}
