// Deterministic synthetic datacenters built in memory (already-decoded objects, defaults filled in),
// for the compile benchmarks and scale tests. No randomness: the same options give the same objects.
import type { Host, Rule, SecurityPolicy, Tenant, VM } from '../api';
import { API_VERSION, PROVIDER_NAMESPACE } from '../api';
import { formatIPv4 } from '../dataplane/ip';

export interface SyntheticOptions {
  hosts: number;
  vmsPerHost: number;
  vnicsPerVm: number;
  tenants: number;
  /** Tenants and hosts are split into this many pools; a tenant's VMs run only in its pool. */
  pools: number;
  /** Tenant policies per tenant: exactly this many, or 1..3 varying by tenant when "varied". */
  policiesPerTenant: number | 'varied';
  /**
   * "clustered" (default): consecutive VMs fill a host, as the scheduler does when it prefers hosts
   * already carrying a VM's program; "spread": round-robin over the pool's hosts (worst case: every
   * VM on a host from a different tenant).
   */
  placement?: 'clustered' | 'spread';
}

export interface SyntheticDatacenter {
  tenants: Tenant[];
  hosts: Host[];
  vms: VM[];
  policies: SecurityPolicy[];
}

const BASE_IP = 10 << 24; // 10.0.0.0
const TIERS = ['web', 'app', 'db'] as const;

const tenantName = (i: number) => `t-${i}`;
const hostName = (i: number) => `h-${i}`;

const rule = (name: string, action: Rule['action'], peers: Rule['peers'], ports: Rule['ports']): Rule => ({ name, action, peers, ports });
const tcp = (port: number) => ({ protocol: 'TCP' as const, port });

function securityPolicy(ns: string, name: string, spec: Partial<SecurityPolicy['spec']>): SecurityPolicy {
  return {
    apiVersion: API_VERSION,
    kind: 'SecurityPolicy',
    metadata: { name, namespace: ns },
    spec: { tier: 'Tenant', priority: 500, enforcement: 'Enforced', appliesTo: {}, ingress: [], egress: [], ...spec },
  };
}

/** Provider guardrails and baseline shared by every synthetic datacenter. */
export function providerPolicies(): SecurityPolicy[] {
  const ns = PROVIDER_NAMESPACE;
  return [
    securityPolicy(ns, 'no-telnet', { tier: 'Provider', priority: 10, ingress: [rule('telnet', 'Deny', [], [tcp(23)])] }),
    securityPolicy(ns, 'mgmt-ssh', {
      tier: 'Provider',
      priority: 20,
      ingress: [rule('ssh-from-mgmt', 'Allow', [{ vms: { tags: ['mgmt'] } }], [tcp(22)])],
    }),
    securityPolicy(ns, 'guardrails', {
      tier: 'Provider',
      priority: 30,
      egress: [
        rule('block-metadata', 'Deny', [{ cidr: { cidr: '169.254.169.254/32' } }], []),
        rule('dns-to-baseline', 'Pass', [], [{ protocol: 'UDP', port: 53 }]),
      ],
    }),
    securityPolicy(ns, 'dns', {
      tier: 'Baseline',
      priority: 10,
      egress: [rule('allow-dns', 'Allow', [{ cidr: { cidr: '10.255.0.53/32' } }], [{ protocol: 'UDP', port: 53 }])],
    }),
    securityPolicy(ns, 'monitoring', {
      tier: 'Baseline',
      priority: 20,
      ingress: [rule('node-exporter', 'Allow', [{ cidr: { cidr: '10.254.0.0/16', except: ['10.254.255.0/24'] } }], [tcp(9100)])],
    }),
  ];
}

/** A tenant's own policies: a three-tier app, and a partner tenant in the same pool. */
function tenantPolicies(t: number, count: number, partner: number): SecurityPolicy[] {
  const ns = tenantName(t);
  const own = (tags: string[]) => ({ vms: { tags } });
  const all = [
    securityPolicy(ns, 'web', {
      priority: 100,
      appliesTo: { tags: ['web'] },
      ingress: [rule('http', 'Allow', [], [tcp(80), tcp(443)])],
      egress: [rule('to-app', 'Allow', [own(['app'])], [tcp(8080)])],
    }),
    securityPolicy(ns, 'app', {
      priority: 200,
      appliesTo: { tags: ['app'] },
      ingress: [rule('from-web', 'Allow', [own(['web'])], [tcp(8080)]), rule('no-debug', 'Deny', [], [{ protocol: 'TCP', port: 9000, endPort: 9999 }])],
      egress: [rule('to-db', 'Allow', [own(['db'])], [tcp(5432)])],
    }),
    securityPolicy(ns, 'partner', {
      priority: 300,
      ingress: [
        rule('partner-https', 'Allow', [{ tenants: [tenantName(partner)] }], [tcp(443)]),
        rule('partner-app', 'Allow', [{ vms: { tags: ['app'], tenants: [tenantName(partner)] } }], [tcp(8443)]),
        rule('same-tenant', 'Allow', [{ sameTenant: true }], []),
      ],
      egress: [
        rule('internet', 'Allow', [{ cidr: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }], [tcp(443)]),
        rule('same-tenant', 'Allow', [{ sameTenant: true }], []),
      ],
    }),
  ];
  return all.slice(0, count);
}

/**
 * Hosts split into pools; a tenant's VMs are consecutive within its pool and run on its pool's hosts
 * (filled in order, or round-robin with placement "spread").
 * VM g gets addresses 10.0.0.0 + 16·g …, one per vNIC.
 */
export function syntheticDatacenter(o: SyntheticOptions): SyntheticDatacenter {
  const hostsPerPool = Math.ceil(o.hosts / o.pools);
  const hosts: Host[] = [];
  for (let h = 0; h < o.hosts; h++) {
    const pool = Math.floor(h / hostsPerPool);
    hosts.push({
      apiVersion: API_VERSION,
      kind: 'Host',
      metadata: { name: hostName(h), labels: { pool: `pool-${pool}` } },
      spec: { tags: [`pool-${pool}`], capacity: { vms: o.vmsPerHost, vnics: o.vmsPerHost * o.vnicsPerVm }, networks: [{ name: 'prod', tags: [] }], unschedulable: false },
    });
  }
  const tenantsPerPool = Math.ceil(o.tenants / o.pools);
  const tenants: Tenant[] = [];
  const policies: SecurityPolicy[] = providerPolicies();
  for (let t = 0; t < o.tenants; t++) {
    const pool = Math.floor(t / tenantsPerPool);
    tenants.push({
      apiVersion: API_VERSION,
      kind: 'Tenant',
      metadata: { name: tenantName(t) },
      spec: { placementTags: [`pool-${pool}`], admins: [] },
    });
    const poolStart = pool * tenantsPerPool;
    const poolSize = Math.min(tenantsPerPool, o.tenants - poolStart);
    const partner = poolStart + ((t - poolStart + 1) % poolSize);
    const count = o.policiesPerTenant === 'varied' ? 1 + (t % 3) : o.policiesPerTenant;
    policies.push(...tenantPolicies(t, count, partner));
  }
  const vms: VM[] = [];
  const perTenant = new Int32Array(o.tenants);
  let g = 0;
  for (let pool = 0; pool < o.pools; pool++) {
    const firstHost = pool * hostsPerPool;
    const poolHosts = Math.min(hostsPerPool, o.hosts - firstHost);
    const firstTenant = pool * tenantsPerPool;
    const poolTenants = Math.min(tenantsPerPool, o.tenants - firstTenant);
    if (poolHosts <= 0 || poolTenants <= 0) continue;
    const poolVms = poolHosts * o.vmsPerHost;
    for (let j = 0; j < poolVms; j++, g++) {
      const t = firstTenant + Math.floor((j * poolTenants) / poolVms);
      const inTenant = perTenant[t]!++;
      const vnics = [];
      for (let k = 0; k < o.vnicsPerVm; k++) {
        const n = g * 16 + k;
        vnics.push({
          name: `eth${k}`,
          network: 'prod',
          ip: formatIPv4(BASE_IP + n),
          mac: `02:${hex(n >>> 24)}:${hex(n >>> 16)}:${hex(n >>> 8)}:${hex(n)}:00`,
        });
      }
      const tags: string[] = [TIERS[inTenant % 3]!];
      if (g % 640 === 0) tags.push('mgmt');
      const hostIdx = firstHost + (o.placement === 'spread' ? j % poolHosts : Math.floor(j / o.vmsPerHost));
      vms.push({
        apiVersion: API_VERSION,
        kind: 'VM',
        metadata: { name: `vm-${g}`, namespace: tenantName(t), labels: { app: tags[0]! } },
        spec: { tags, hostName: hostName(hostIdx), vnics, powerState: 'On' },
        status: { phase: 'Running', hostName: hostName(hostIdx) },
      });
    }
  }
  return { tenants, hosts, vms, policies };
}

const hex = (n: number) => (n & 255).toString(16).padStart(2, '0');
