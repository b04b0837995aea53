// Fixture builders: host('h1').withTags('pool-a').net('prod', 'pool-a').build(), vm('web-1').inTenant(...)...
import type { HostState, TagLike, TenantLike, VmStatusLike } from '../../src/placement';
import type { VmLike } from '../../src/placement';

export class HostBuilder {
  private s: HostState;
  constructor(name: string) {
    this.s = {
      name,
      ready: true,
      unschedulable: false,
      tags: new Set(),
      networks: new Map(),
      capacity: { vms: 320, vnics: 3200 },
      allocated: { vms: 0, vnics: 0 },
    };
  }
  withTags(...tags: string[]) {
    this.s.tags = new Set(tags);
    return this;
  }
  net(name: string, ...tags: string[]) {
    (this.s.networks as Map<string, ReadonlySet<string>>).set(name, new Set(tags));
    return this;
  }
  notReady() {
    this.s.ready = false;
    return this;
  }
  cordoned() {
    this.s.unschedulable = true;
    return this;
  }
  capacity(vms: number, vnics: number) {
    this.s.capacity = { vms, vnics };
    return this;
  }
  allocated(vms: number, vnics: number) {
    this.s.allocated = { vms, vnics };
    return this;
  }
  build(): HostState {
    return { ...this.s, allocated: { ...this.s.allocated } };
  }
}
export const host = (name: string) => new HostBuilder(name);

/** A host tagged `tags` whose `prod` network carries the same tags. */
export const poolHost = (name: string, ...tags: string[]) => host(name).withTags(...tags).net('prod', ...tags);

export type TestVm = VmLike & { status?: VmStatusLike };

export class VmBuilder {
  private v: TestVm;
  constructor(name: string) {
    this.v = { metadata: { name, namespace: 'acme' }, spec: { tags: [], vnics: [{ name: 'eth0', network: 'prod' }] } };
  }
  inNamespace(ns: string) {
    this.v.metadata.namespace = ns;
    return this;
  }
  withTags(...tags: string[]) {
    this.v.spec.tags = tags;
    return this;
  }
  vnics(...networks: string[]) {
    this.v.spec.vnics = networks.map((network, i) => ({ name: `eth${i}`, network }));
    return this;
  }
  pinnedTo(hostName: string) {
    this.v.spec.hostName = hostName;
    return this;
  }
  off() {
    this.v.spec.powerState = 'Off';
    return this;
  }
  status(s: VmStatusLike) {
    this.v.status = s;
    return this;
  }
  build(): TestVm {
    return structuredClone(this.v);
  }
}
export const vm = (name: string) => new VmBuilder(name);

export const tenant = (...placementTags: string[]): TenantLike => ({ spec: { placementTags } });
export const tags = (entries: Record<string, 'Required' | 'Preferred'>): Map<string, TagLike> =>
  new Map(Object.entries(entries).map(([name, enforcement]) => [name, { spec: { enforcement } }]));
export const hostMap = (...hs: HostState[]) => new Map(hs.map((h) => [h.name, h]));
