// Policy templates of the synthetic datacenter: provider guardrails, a baseline, and tenant policies
// that select by tag and reference other tenants. Objects carry every defaulted field, so they equal
// their decoded form.
import { API_VERSION, PROVIDER_NAMESPACE, type PortSpec, type Rule, type SecurityPolicy } from '../api';

type Spec = SecurityPolicy['spec'];

const tcp = (port: number): PortSpec => ({ protocol: 'TCP', port });
const udp = (port: number): PortSpec => ({ protocol: 'UDP', port });
const rule = (name: string, action: Rule['action'], peers: Rule['peers'], ports: PortSpec[] = []): Rule => ({ name, action, peers, ports });
const cidr = (c: string) => ({ cidr: { cidr: c } });

function policy(namespace: string, name: string, spec: Partial<Spec> & Pick<Spec, 'tier' | 'priority'>): SecurityPolicy {
  const { tier, priority, ...rest } = spec;
  return {
    apiVersion: API_VERSION,
    kind: 'SecurityPolicy',
    metadata: { name, namespace },
    spec: { tier, priority, enforcement: 'Enforced', appliesTo: {}, ingress: [], egress: [], ...rest },
  } as SecurityPolicy;
}

/** Provider guardrails and the provider baseline, in the provider namespace. */
export function providerPolicies(): SecurityPolicy[] {
  const ns = PROVIDER_NAMESPACE;
  return [
    policy(ns, 'deny-known-bad-networks', {
      tier: 'Provider',
      priority: 10,
      ingress: [rule('deny-bad-sources', 'Deny', [cidr('203.0.113.0/24')])],
      egress: [rule('deny-bad-destinations', 'Deny', [cidr('198.51.100.0/24')])],
    }),
    policy(ns, 'allow-dns', {
      tier: 'Provider',
      priority: 20,
      egress: [rule('dns', 'Allow', [cidr('192.0.2.53/32')], [udp(53), tcp(53)])],
    }),
    policy(ns, 'pci-isolation', {
      tier: 'Provider',
      priority: 30,
      appliesTo: { tags: ['pci'] },
      ingress: [
        rule('same-tenant-to-tenant-tier', 'Pass', [{ sameTenant: true }]),
        rule('deny-other-tenants', 'Deny', [{ vms: {} }]),
      ],
    }),
    policy(ns, 'allow-ssh-from-jump-hosts', {
      tier: 'Baseline',
      priority: 100,
      ingress: [rule('ssh', 'Allow', [cidr('192.0.2.0/28')], [tcp(22)])],
    }),
    policy(ns, 'deny-smb-out', {
      tier: 'Baseline',
      priority: 200,
      egress: [rule('smb', 'Deny', [], [tcp(445)])],
    }),
  ];
}

export const ROLES = ['web', 'app', 'db'] as const;

/** Deep-freeze: pieces shared by thousands of generated objects must never be changed in place. */
function frozen<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) frozen(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * Tenant-independent parts of the templates, built once and shared (frozen): at 40,000 tenants this
 * saves millions of small objects and most of the generator's garbage-collection time.
 */
const SHARED = frozen({
  webSelector: { tags: ['web'] },
  dbSelector: { tags: ['db'] },
  appSelector: { tags: ['app'] },
  https: rule('https', 'Allow', [], [tcp(443), tcp(80)]),
  fromOwnWeb: rule('from-own-web', 'Allow', [{ vms: { tags: ['web'] } }], [tcp(8080)]),
  toOwnDb: rule('to-own-db', 'Allow', [{ vms: { tags: ['db'] } }], [tcp(5432)]),
  none: [] as Rule[],
});
const fromAppCache = new Map<number, Rule>();
const fromApp = (port: number) => {
  let r = fromAppCache.get(port);
  if (!r) fromAppCache.set(port, (r = frozen(rule('from-app', 'Allow', [{ vms: { tags: ['app'] } }], [tcp(port)]))));
  return r;
};
const specCache = new Map<string, Spec>();
const sharedSpec = (key: string, make: () => Spec) => {
  let s = specCache.get(key);
  if (!s) specCache.set(key, (s = frozen(make())));
  return s;
};

function tenantPolicyObject(namespace: string, name: string, spec: Spec): SecurityPolicy {
  return { apiVersion: API_VERSION, kind: 'SecurityPolicy', metadata: { name, namespace }, spec };
}

/**
 * The k-th policy of a tenant (templates cycle): web ingress, database access, and a partner API
 * that references two other tenants (`partners`; the tenant itself when it is alone).
 */
export function tenantPolicy(namespace: string, k: number, partners: readonly [string, string]): SecurityPolicy {
  const priority = 100 + 10 * k;
  const suffix = k < 3 ? '' : `-${k}`;
  switch (k % 3) {
    case 0:
      return tenantPolicyObject(namespace, `web-ingress${suffix}`, sharedSpec(`web/${k}`, () => ({
        tier: 'Tenant',
        priority,
        enforcement: 'Enforced',
        appliesTo: SHARED.webSelector,
        ingress: [SHARED.https, fromApp(8080 + k)],
        egress: SHARED.none,
      })));
    case 1:
      return tenantPolicyObject(namespace, `db-access${suffix}`, sharedSpec(`db/${k}`, () => ({
        tier: 'Tenant',
        priority,
        enforcement: 'Enforced',
        appliesTo: SHARED.dbSelector,
        ingress: [fromApp(5432 + k)],
        egress: SHARED.none,
      })));
    default:
      return tenantPolicyObject(namespace, `partner-api${suffix}`, {
        tier: 'Tenant',
        priority,
        enforcement: 'Enforced',
        appliesTo: SHARED.appSelector,
        ingress: [rule('from-partner', 'Allow', [{ tenants: [partners[0]] }], [tcp(8443)]), SHARED.fromOwnWeb],
        egress: [SHARED.toOwnDb, rule('to-partner-web', 'Allow', [{ vms: { tenants: [partners[1]], tags: ['web'] } }], [tcp(443)])],
      });
  }
}
