// The synthetic datacenter: tenants in placement pools, hosts in the same pools, VMs with vNICs whose
// addresses never collide, and policies. Deterministic (same options → same objects), and lean enough
// to build 163,840 VMs with 1.6 million vNICs in a few seconds.
import { API_VERSION, PROVIDER_NAMESPACE, type Host, type SecurityPolicy, type Tag, type Tenant, type VM } from '../api';
import { IpPlanner, MacPlanner } from './addresses';
import { ROLES, providerPolicies, tenantPolicy } from './policies';
import { createRng, type Rng } from './rng';

export interface GenOptions {
  hosts: number;
  vms: number;
  tenants: number;
  /** Most vNICs a VM gets (1–10, default 10); the mix is mostly 1, some more. */
  vnicsPerVm?: number;
  /** Every VM gets exactly `vnicsPerVm` vNICs (the 512 x 320 x 10 scenario). */
  uniformVnics?: boolean;
  /** Placement pools (default 8, at most hosts and tenants). */
  pools?: number;
  /** Policies per tenant (default 1–3, chosen per tenant). */
  policiesPerTenant?: number;
  seed?: number | string;
  /** Pin every VM to a feasible host (spec.hostName), for compile-only benchmarks. */
  pin?: boolean;
  /** Per-host capacity (default 320 VMs / 3200 vNICs). */
  capacity?: { vms: number; vnics: number };
}

export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: { name: string; labels: Record<string, string> };
}

export interface Datacenter {
  namespaces: Namespace[];
  tags: Tag[];
  tenants: Tenant[];
  hosts: Host[];
  vms: VM[];
  policies: SecurityPolicy[];
}

export const NETWORKS = [
  { name: 'prod', vlan: 100 },
  { name: 'backend', vlan: 200 },
  { name: 'storage', vlan: 300 },
] as const;
/** vNIC names and networks, shared strings (1.6 million vNICs must not each own a copy). */
const VNIC_NAMES = Array.from({ length: 10 }, (_, i) => `eth${i}`);
const VNIC_NETWORKS = VNIC_NAMES.map((_, i) => NETWORKS[i % NETWORKS.length]!.name);

export const PCI_TAG = 'pci';
export const GOLD_TAG = 'gold';
/**
 * VM tag lists and labels by [role][pci][gold], shared and frozen: 1.6 million vNICs already cost
 * enough memory without a private copy of the same three strings per VM.
 */
const VM_TAGS = ROLES.map((role) =>
  [false, true].map((pci) =>
    [false, true].map((gold) => Object.freeze([role, ...(pci ? [PCI_TAG] : []), ...(gold ? [GOLD_TAG] : [])]) as string[]),
  ),
);
const VM_LABELS = ROLES.map((role) => Object.freeze({ app: role }) as Record<string, string>);
export const POOL_LABEL = 'vmsafe.io/pool';
export const TENANT_LABEL = 'vmsafe.io/tenant';

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const digits = (n: number) => String(n).length;

/** Split `total`: `min` to each share, the rest in proportion to `weights` (largest remainder). */
export function apportion(total: number, weights: readonly number[], min = 0): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const free = total - min * weights.length;
  const exact = weights.map((w) => (free * w) / sum);
  const shares = exact.map((x) => Math.floor(x));
  let left = free - shares.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left-- <= 0) break;
    shares[i]!++;
  }
  return shares.map((s) => s + min);
}

function validate(o: GenOptions) {
  const int = (name: string, v: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max))
      throw new Error(`${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${v}`);
  };
  int('hosts', o.hosts, 1);
  int('vms', o.vms, 0);
  int('tenants', o.tenants, 1);
  int('vnicsPerVm', o.vnicsPerVm, 1, 10);
  int('pools', o.pools, 1);
  int('policiesPerTenant', o.policiesPerTenant, 0, 100);
}

/** Mostly one vNIC, some two, a few three or four, a tail up to the maximum. */
function vnicCount(rng: Rng, max: number, uniform: boolean): number {
  if (uniform) return max;
  const r = rng.next();
  const n = r < 0.7 ? 1 : r < 0.85 ? 2 : r < 0.93 ? 3 + rng.int(2) : 5 + rng.int(6);
  return Math.min(n, max);
}

/** First-fit over hosts with a cursor: O(VMs + hosts) per pool. */
class Packer {
  private i = 0;
  private readonly vms: number[];
  private readonly vnics: number[];
  constructor(private readonly hosts: readonly Host[], private readonly cap: { vms: number; vnics: number }) {
    this.vms = hosts.map(() => 0);
    this.vnics = hosts.map(() => 0);
  }
  place(vnics: number): string | undefined {
    while (this.i < this.hosts.length) {
      if (this.vms[this.i]! + 1 <= this.cap.vms && this.vnics[this.i]! + vnics <= this.cap.vnics) {
        this.vms[this.i]!++;
        this.vnics[this.i]! += vnics;
        return this.hosts[this.i]!.metadata.name;
      }
      this.i++;
    }
    return undefined;
  }
}

/**
 * Build the datacenter in memory. Layout: hosts, tenants and VMs are split over pools in proportion
 * (so every pool has room for its VMs); each tenant requires its pool tag; a quarter of each pool's
 * hosts (at least one) carry `pci`, a tenth of the tenants are PCI (all their VMs tagged `pci`); host
 * networks carry the host's placement tags, so each VM has feasible hosts in its pool.
 */
export function generateDatacenter(opts: GenOptions): Datacenter {
  validate(opts);
  const rng = createRng(opts.seed ?? 1);
  const maxVnics = opts.vnicsPerVm ?? 10;
  const cap = opts.capacity ?? { vms: 320, vnics: 3200 };
  const P = Math.min(opts.pools ?? 8, opts.hosts, opts.tenants);
  const ones = Array.from({ length: P }, () => 1);
  const hostsPerPool = apportion(opts.hosts, ones, 0);
  const tenantsPerPool = apportion(opts.tenants, hostsPerPool, 1);
  const vmsPerPool = apportion(opts.vms, hostsPerPool, 0);
  const poolTag = (p: number) => `pool-${pad(p + 1, digits(P))}`;
  const hostWidth = Math.max(3, digits(opts.hosts));
  const tenantWidth = Math.max(4, digits(opts.tenants));

  const tags: Tag[] = [];
  const tag = (name: string, enforcement: 'Required' | 'Preferred', description: string) =>
    tags.push({ apiVersion: API_VERSION, kind: 'Tag', metadata: { name }, spec: { description, enforcement } });
  for (let p = 0; p < P; p++) tag(poolTag(p), 'Required', `placement pool ${p + 1}: its tenants run only on its hosts`);
  tag(PCI_TAG, 'Required', 'PCI-DSS scope: PCI workloads run only on PCI-certified hosts and networks');
  tag(GOLD_TAG, 'Preferred', 'gold service tier (informational)');
  for (const r of ROLES) tag(r, 'Preferred', `workload role ${r} (selected by policies, not a placement constraint)`);

  // Hosts, pool by pool.
  const hosts: Host[] = [];
  const poolHosts: { pci: Host[]; plain: Host[] }[] = [];
  for (let p = 0, n = 0; p < P; p++) {
    const groups = { pci: [] as Host[], plain: [] as Host[] };
    for (let i = 0; i < hostsPerPool[p]!; i++, n++) {
      const pci = i % 4 === 0;
      const hostTags = pci ? [poolTag(p), PCI_TAG] : [poolTag(p)];
      if (n % 3 === 1) hostTags.push(GOLD_TAG);
      const netTags = pci ? [poolTag(p), PCI_TAG] : [poolTag(p)];
      const h: Host = {
        apiVersion: API_VERSION,
        kind: 'Host',
        metadata: { name: `host-${pad(n + 1, hostWidth)}`, labels: { [POOL_LABEL]: poolTag(p) } },
        spec: {
          tags: hostTags,
          capacity: { ...cap },
          networks: NETWORKS.map((net) => ({ name: net.name, vlan: net.vlan, tags: [...netTags] })),
          unschedulable: false,
        },
      };
      hosts.push(h);
      (pci ? groups.pci : groups.plain).push(h);
    }
    poolHosts.push(groups);
  }

  const namespaces: Namespace[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PROVIDER_NAMESPACE, labels: { 'vmsafe.io/provider': 'true' } } },
  ];
  const tenants: Tenant[] = [];
  const vms: VM[] = [];
  const policies: SecurityPolicy[] = providerPolicies();
  const ips = new IpPlanner();
  const macs = new MacPlanner();
  const tenantName = (t: number) => `tenant-${pad(t + 1, tenantWidth)}`;
  const otherTenant = (t: number) => (opts.tenants === 1 ? t : (t + 1 + rng.int(opts.tenants - 1)) % opts.tenants);

  for (let p = 0, t = 0; p < P; p++) {
    const pool = poolTag(p);
    const nTenants = tenantsPerPool[p]!;
    const base = Math.floor(vmsPerPool[p]! / nTenants);
    const extra = vmsPerPool[p]! % nTenants;
    const pciVms: VM[] = [];
    const plainVms: VM[] = [];
    for (let k = 0; k < nTenants; k++, t++) {
      const name = tenantName(t);
      const pci = rng.chance(0.1);
      namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [TENANT_LABEL]: name } } });
      const tenantObj: Tenant = {
        apiVersion: API_VERSION,
        kind: 'Tenant',
        metadata: { name, labels: { [POOL_LABEL]: pool } },
        spec: { placementTags: [pool], admins: [] },
      };
      tenants.push(tenantObj);
      const nPolicies = opts.policiesPerTenant ?? 1 + rng.int(3);
      const first = opts.policiesPerTenant === undefined ? rng.int(3) : 0;
      const partners: [string, string] = [tenantName(otherTenant(t)), tenantName(otherTenant(t))];
      for (let j = 0; j < nPolicies; j++) policies.push(tenantPolicy(name, first + j, partners));

      // The tenant's VMs: vNIC counts first, so its address block fits them all.
      const nVms = base + (k < extra ? 1 : 0);
      const counts = Array.from({ length: nVms }, () => vnicCount(rng, maxVnics, opts.uniformVnics ?? false));
      const block = ips.block(counts.reduce((a, b) => a + b, 0));
      tenantObj.spec.addressBlocks = [block.cidr]; // the provider's assignment: the tenant owns its block
      for (let v = 0; v < nVms; v++) {
        const role = v % ROLES.length;
        const vmTags = VM_TAGS[role]![pci ? 1 : 0]![rng.chance(0.2) ? 1 : 0]!;
        const vnics = new Array(counts[v]!);
        for (let i = 0; i < counts[v]!; i++)
          vnics[i] = { name: VNIC_NAMES[i]!, network: VNIC_NETWORKS[i]!, ip: block.next(), mac: macs.next() };
        const vm: VM = {
          apiVersion: API_VERSION,
          kind: 'VM',
          metadata: { name: `vm-${v + 1}`, namespace: name, labels: VM_LABELS[role]! },
          spec: { tags: vmTags, vnics, powerState: 'On' },
        };
        (pci ? pciVms : plainVms).push(vm);
        vms.push(vm);
      }
    }
    if (opts.pin) pinPool(pool, poolHosts[p]!, pciVms, plainVms, cap);
  }
  return { namespaces, tags, tenants, hosts, vms, policies };
}

/** PCI VMs first onto PCI hosts, then the rest onto plain hosts and whatever PCI room is left. */
function pinPool(pool: string, hosts: { pci: Host[]; plain: Host[] }, pciVms: VM[], plainVms: VM[], cap: { vms: number; vnics: number }) {
  const pciPacker = new Packer(hosts.pci, cap);
  for (const vm of pciVms) {
    const h = pciPacker.place(vm.spec.vnics.length);
    if (!h) throw new Error(`pool ${pool}: its PCI hosts cannot hold its ${pciVms.length} PCI VMs; add hosts`);
    vm.spec.hostName = h;
  }
  const plainPacker = new Packer(hosts.plain, cap);
  for (const vm of plainVms) {
    const h = plainPacker.place(vm.spec.vnics.length) ?? pciPacker.place(vm.spec.vnics.length);
    if (!h) throw new Error(`pool ${pool}: its hosts cannot hold its VMs pinned; add hosts or lower --vms`);
    vm.spec.hostName = h;
  }
}
